"""The key of an exact reference in the on-disk cache: everything a reference is a function of.

A reference is a pure function of the spec, derivation and oracle code, the library versions, the
options, the exact input bytes, the upstream gradient, the precision and ``conventions``; never of the
implementation under test. ``reference_key`` hashes those (None for a spec that is not the registry's,
or where an option carries user code: their math lives outside the package's source). The store
itself, its directory and its switches are ``losscheck.derivations.disk_cache``'s; references live in
its ``references`` folder.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..derivations.disk_cache import DiskCache, code_hash, configure, store
from ..spec import all_specs
from ..spec.core import LossSpec

OracleCache = DiskCache  # a store of encoded References (``Reference.encode``)
STORE = "references"
ORACLE_SOURCES = ("conformance/oracle.py", "conformance/exact_reduction.py", "conformance/oracle_cache.py",
                  "conformance/reference.py", "conformance/first_pass.py", "conformance/float64_reduction.py",
                  "conformance/tolerance.py")
"""The oracle's own source files (besides spec/ and derivations/): a reference is a function of them too."""
__all__ = ["STORE", "OracleCache", "active", "configure", "reference_key"]


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
                  upstream: np.ndarray, digits: tuple[int, int], conventions: bool,
                  first_pass: str | None = None) -> str | None:
    """The key of one reference, or None when it cannot be keyed: a spec other than the registry's (built or
    altered at run time: its math is not spec/'s source), or an option holding user code or non-plain data.
    ``first_pass`` names the dtype a reference that may come from the float64 first pass judges (None: the
    high-precision reference), since whether it is kept depends on that dtype."""
    if all_specs().get(spec.name) is not spec:
        return None
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
    document = {"code": code_hash(*ORACLE_SOURCES), "loss": spec.name,
                "options": plain, "tensors": {name: _array(np.asarray(t)) for name, t in sorted(tensors.items())},
                "upstream": _array(np.asarray(upstream, dtype=np.float64)), "digits": list(digits),
                "conventions": conventions, "first_pass": first_pass}
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()


def active() -> OracleCache | None:
    """The reference store ``exact_reference`` uses by default (None when caching is off)."""
    return store(STORE)
