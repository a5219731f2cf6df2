"""A checksummed, concurrency-safe on-disk key → bytes store, and where losscheck keeps its stores.

An entry is one file, ``<dir>/<key[:2]>/<key>``:

    MAGIC, then one JSON header line {"key": key, "sha256": digest of the payload}, then the zlib payload

Writes go to a temporary file in the same folder, then ``os.replace``: a concurrent reader sees the old
entry or the new one, never half of one. A read checks the magic, the stored key and the payload's
checksum; an entry that fails any of them (torn, corrupt, another key's) is a miss, and the caller
recomputes and rewrites it. Keys include ``code_hash()``, so editing a spec or a derivation retires
every entry that depends on it.

The root is ``$LOSSCHECK_CACHE_DIR``, else ``$XDG_CACHE_HOME/losscheck``, else ``~/.cache/losscheck``;
each store is a folder in it (``references``, ``evaluators``). ``LOSSCHECK_NO_CACHE=1`` or
``configure(None)`` turns every store off; ``configure(DIR)`` moves the root (``--no-cache``,
``--cache-dir``).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zlib
from functools import cache
from pathlib import Path
from typing import Any

import mpmath
import sympy

MAGIC = b"losscheck-cache-entry 1\n"
ENV_DIRECTORY = "LOSSCHECK_CACHE_DIR"
ENV_DISABLE = "LOSSCHECK_NO_CACHE"
_PACKAGE = Path(__file__).resolve().parent.parent


@cache
def code_hash(*extra_sources: str) -> str:
    """sha256 over the spec and derivation sources (and ``extra_sources``, paths in the package), and the
    mpmath/sympy versions and mpmath's backend."""
    digest = hashlib.sha256()
    for versioned in (mpmath.__version__, sympy.__version__, mpmath.libmp.BACKEND):
        digest.update(versioned.encode() + b"\0")
    for source in ("spec", "derivations", *extra_sources):
        root = _PACKAGE / source
        for path in sorted(root.rglob("*.py")) if root.is_dir() else [root]:
            digest.update(str(path.relative_to(_PACKAGE)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


class DiskCache:
    """Entries (bytes) under ``directory``, one file per key, written atomically and verified on read."""

    def __init__(self, directory: str | os.PathLike) -> None:
        self.directory = Path(directory)

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / key

    def load(self, key: str) -> bytes | None:
        """The payload stored under ``key``, or None: absent, unreadable, torn, corrupt or another key's."""
        try:
            data = self._path(key).read_bytes()
        except OSError:
            return None
        if not data.startswith(MAGIC):
            return None
        header, _, body = data[len(MAGIC):].partition(b"\n")
        try:
            stored = json.loads(header)
            payload = zlib.decompress(body)
        except (ValueError, zlib.error):
            return None
        if stored.get("key") != key or stored.get("sha256") != hashlib.sha256(payload).hexdigest():
            return None
        return payload

    def save(self, key: str, payload: bytes) -> None:
        """Store ``payload`` under ``key`` (tmp file + os.replace); a failure to write is not an error."""
        folder = self._path(key).parent
        header = json.dumps({"key": key, "sha256": hashlib.sha256(payload).hexdigest()}).encode()
        try:
            folder.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{key[:8]}.", suffix=".tmp")
            try:
                with os.fdopen(handle, "wb") as out:
                    out.write(MAGIC + header + b"\n" + zlib.compress(payload, 1))
                os.replace(temporary, self._path(key))
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
        except OSError:
            return  # a read-only or full disk costs speed, never a result


def default_root() -> Path:
    """``$LOSSCHECK_CACHE_DIR``, else ``$XDG_CACHE_HOME/losscheck``, else ``~/.cache/losscheck``."""
    if os.environ.get(ENV_DIRECTORY):
        return Path(os.environ[ENV_DIRECTORY])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "losscheck"


_UNSET = object()
_configured: Any = _UNSET


def configure(root: str | os.PathLike | None) -> None:
    """Keep this process's stores under ``root``; None turns them off (what ``--no-cache`` does)."""
    global _configured
    _configured = None if root is None else Path(root)


def configuration() -> tuple[str, str]:
    """What ``configure`` set in this process, as plain data for ``restore`` in a process it starts (a judge
    process of ``--jobs``, a sweep worker): ("unset", ""), ("off", "") or ("root", DIR)."""
    if _configured is _UNSET:
        return ("unset", "")
    return ("off", "") if _configured is None else ("root", str(_configured))


def restore(carried: tuple[str, str]) -> None:
    """Configure this process as ``configuration()`` described another."""
    global _configured
    kind, root = carried
    _configured = _UNSET if kind == "unset" else None if kind == "off" else Path(root)


def store(name: str) -> DiskCache | None:
    """The store ``name`` under the configured root, else the environment's; None when caching is off."""
    if _configured is not _UNSET:
        return None if _configured is None else DiskCache(_configured / name)
    if os.environ.get(ENV_DISABLE, "") not in ("", "0"):
        return None
    return DiskCache(default_root() / name)
