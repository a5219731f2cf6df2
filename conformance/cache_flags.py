"""``--cache-dir PATH`` and ``--no-cache``: where a run keeps its oracle cache, checked before the run.

The cache root otherwise follows the environment (``derivations.disk_cache``: ``$LOSSCHECK_CACHE_DIR``,
``$XDG_CACHE_HOME/losscheck``, ``~/.cache/losscheck``). The choice is this process's; ``schedule`` carries
it to the ``--jobs`` judge processes and ``sweep`` to its workers.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..derivations import disk_cache
from .implementations import UsageError


def configure_cache(cache_dir: str | None, no_cache: bool) -> None:
    """Apply the flags; UsageError for both together or a PATH that cannot hold a cache."""
    if no_cache and cache_dir is not None:
        raise UsageError("--cache-dir and --no-cache contradict each other: give one")
    if no_cache:
        disk_cache.configure(None)
        return
    if cache_dir is None:
        return
    if not cache_dir.strip():
        raise UsageError("--cache-dir needs a directory, got an empty path")
    root = Path(cache_dir)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise UsageError(f"--cache-dir {cache_dir!r} is not a directory") from None
    except OSError as error:
        raise UsageError(f"--cache-dir {cache_dir!r}: cannot create it: {error.strerror}") from None
    if not os.access(root, os.W_OK | os.X_OK):
        raise UsageError(f"--cache-dir {cache_dir!r} is not writable")
    disk_cache.configure(root)
