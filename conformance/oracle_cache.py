"""An on-disk store of exact references, keyed by everything a reference is a function of.

A reference is a pure function of the spec and oracle code, the library versions, the options, the
exact input bytes, the upstream gradient and the precision; never of the implementation under test.
``reference_key`` hashes those into a key (None where an option carries user code: a function-valued
option's math lives outside this package). An entry is one file, ``<dir>/<key[:2]>/<key>``:

    MAGIC, then one JSON header line {"key": key, "sha256": digest of the payload}, then the payload

Writes go to a temporary file in the same folder, then ``os.replace``: a concurrent reader sees the
old entry or the new one, never half of one. A read checks the magic, the stored key and the payload's
checksum; an entry that fails any of them (torn, corrupt, another key's) is a miss, and the caller
recomputes and rewrites it. The code hash in the key retires every entry when the spec, derivation or
oracle code changes.

The directory is ``$LOSSCHECK_CACHE_DIR``, else ``$XDG_CACHE_HOME/losscheck/oracle``, else
``~/.cache/losscheck/oracle``; ``LOSSCHECK_NO_CACHE=1`` (or ``configure(None)``) turns the cache off.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zlib
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import mpmath
import numpy as np
import sympy

from ..spec.core import LossSpec

MAGIC = b"losscheck-oracle-entry 1\n"
ENV_DIRECTORY = "LOSSCHECK_CACHE_DIR"
ENV_DISABLE = "LOSSCHECK_NO_CACHE"
_PACKAGE = Path(__file__).resolve().parent.parent
_SOURCES = ("spec", "derivations", "conformance/oracle.py", "conformance/oracle_cache.py")


@cache
def code_hash() -> str:
    """sha256 over the spec and derivation sources, the oracle's, and the mpmath/sympy versions and backend."""
    digest = hashlib.sha256()
    for versioned in (mpmath.__version__, sympy.__version__, mpmath.libmp.BACKEND):
        digest.update(versioned.encode() + b"\0")
    for source in _SOURCES:
        root = _PACKAGE / source
        for path in sorted(root.rglob("*.py")) if root.is_dir() else [root]:
            digest.update(str(path.relative_to(_PACKAGE)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _plain(value: Any) -> Any:
    """An option value as JSON, or raise TypeError for one that is not plain data."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"option value {value!r} is not plain data")


def _array(a: np.ndarray) -> list:
    a = np.ascontiguousarray(a)
    return [a.dtype.str, list(a.shape), hashlib.sha256(a.tobytes()).hexdigest()]


def reference_key(spec: LossSpec, tensors: Mapping[str, np.ndarray], options: Mapping[str, Any],
                  upstream: np.ndarray, digits: tuple[int, int], conventions: bool) -> str | None:
    """The key of one reference, or None when it cannot be keyed (an option holds user code or a non-plain
    value)."""
    names = {o.name: o for o in spec.options}
    try:
        plain = {}
        for name, value in options.items():
            option = names.get(name)
            if option is not None and option.callable_with is not None and value is not None:
                return None  # a user function's math (its .symbolic) is outside the code hash
            plain[name] = _plain(value)
    except TypeError:
        return None
    document = {"code": code_hash(), "loss": spec.name, "options": plain,
                "tensors": {name: _array(np.asarray(t)) for name, t in sorted(tensors.items())},
                "upstream": _array(np.asarray(upstream, dtype=np.float64)), "digits": list(digits),
                "conventions": conventions}
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()


class OracleCache:
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
            return  # a read-only or full disk costs speed, never a verdict


def default_directory() -> Path:
    """``$LOSSCHECK_CACHE_DIR``, else ``$XDG_CACHE_HOME/losscheck/oracle``, else ``~/.cache/losscheck/oracle``."""
    if os.environ.get(ENV_DIRECTORY):
        return Path(os.environ[ENV_DIRECTORY])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "losscheck" / "oracle"


_UNSET = object()
_configured: Any = _UNSET


def configure(directory: str | os.PathLike | None) -> None:
    """Use ``directory`` for this process's cache; None turns the cache off (what ``--no-cache`` does)."""
    global _configured
    _configured = None if directory is None else OracleCache(directory)


def active() -> OracleCache | None:
    """The cache ``exact_reference`` uses by default: the configured one, else the environment's."""
    if _configured is not _UNSET:
        return _configured
    if os.environ.get(ENV_DISABLE, "") not in ("", "0"):
        return None
    return OracleCache(default_directory())
