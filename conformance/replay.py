"""Reproducer files: one failing case, its exact inputs and what it must show, as JSON.

A file holds the loss, the implementation (``MODULE:ATTR``, or null for
PyTorch's own), the dtype and device, the options, layout and extra checks,
every input tensor and the upstream gradient as exact hexadecimal floats
(``float.hex``), the failing quantity, and the oracle's value against the
implementation's. ``losscheck repro FILE`` rebuilds the case from it, runs the
oracle and the implementation again, and prints expected against got.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..spec import get_spec
from ..spec.core import LossSpec
from .cases import Case
from .implementations import NamedCallable, resolve_option

FORMAT = "losscheck-repro/1"


@dataclass(frozen=True)
class ReplayCase(Case):
    """A case whose tensors and upstream gradient are given (already rounded to their dtype), not drawn."""

    given: Mapping[str, np.ndarray] = field(default_factory=dict, hash=False, compare=False)
    given_upstream: np.ndarray | None = field(default=None, hash=False, compare=False)

    def raw_tensors(self) -> dict[str, np.ndarray]:
        return {name: values.copy() for name, values in self.given.items()}

    def upstream(self, dtype: str) -> np.ndarray:
        return np.array(self.given_upstream, copy=True)


def replay_case(case: Case, tensors: Mapping[str, np.ndarray], upstream: np.ndarray, label: str = "") -> ReplayCase:
    """``case`` with ``tensors`` and ``upstream`` fixed; ``label`` is added to its name's shape part."""
    shape_case = case.shape_case
    if label:
        from dataclasses import replace

        shape_case = replace(shape_case, name=f"{shape_case.name} {label}")
    return ReplayCase(case.spec, shape_case, tuple(tensors), dict(case.options), case.regime, case.seed, case.number,
                      None, case.layout, case.checks, given=dict(tensors), given_upstream=np.asarray(upstream))


def _encode(values: np.ndarray) -> dict[str, Any]:
    flat = np.asarray(values).reshape(-1)
    if flat.dtype.kind in "iu":
        return {"kind": "int", "shape": list(values.shape), "values": [int(v) for v in flat]}
    if flat.dtype.kind == "c":
        return {"kind": "complex", "shape": list(values.shape),
                "values": [[float(v.real).hex(), float(v.imag).hex()] for v in flat]}
    return {"kind": "float", "shape": list(values.shape), "values": [float(v).hex() for v in flat]}


def _decode(entry: Mapping[str, Any]) -> np.ndarray:
    shape = tuple(entry["shape"])
    if entry["kind"] == "int":
        return np.asarray(entry["values"], dtype=np.int64).reshape(shape)
    if entry["kind"] == "complex":
        return np.asarray([complex(float.fromhex(a), float.fromhex(b)) for a, b in entry["values"]],
                          dtype=np.complex128).reshape(shape)
    return np.asarray([float.fromhex(v) for v in entry["values"]], dtype=np.float64).reshape(shape)


def write_reproducer(path: Path, case: Case, dtype: str, device: str, impl: str | None, quantity: str,
                     expected: str, got: str, message: str) -> None:
    """Save ``case`` in ``dtype`` (its exact rounded inputs) and what it showed to ``path``."""
    document = {
        "format": FORMAT,
        "loss": case.spec.name,
        "impl": impl,
        "dtype": dtype,
        "device": device,
        "case": case.name,
        "seed": case.seed,
        "number": case.number,
        "options": {k: v.name if isinstance(v, NamedCallable) else v for k, v in case.options.items()},
        "layout": case.layout,
        "checks": list(case.checks),
        "tensors": {name: _encode(values) for name, values in case.tensors(dtype).items()},
        "upstream": _encode(case.upstream(dtype)),
        "quantity": quantity,
        "expected": expected,
        "got": got,
        "message": message,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=1), encoding="utf-8")


@dataclass
class Reproducer:
    """A reproducer file, read back: the case to run and what was recorded."""

    spec: LossSpec
    case: ReplayCase
    dtype: str
    device: str
    impl: str | None
    quantity: str
    expected: str
    got: str


def read_reproducer(path: Path) -> Reproducer:
    """Read a file written by ``write_reproducer``; ValueError naming what is wrong with it."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ValueError(f"cannot read reproducer {str(path)!r}: {error.strerror}") from None
    except json.JSONDecodeError as error:
        raise ValueError(f"reproducer {str(path)!r} is not JSON: {error.msg} at line {error.lineno}") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ValueError(f"{str(path)!r} is not a losscheck reproducer (format {FORMAT!r})")
    try:
        spec = get_spec(document["loss"])
        tensors = {name: _decode(entry) for name, entry in document["tensors"].items()}
        upstream = _decode(document["upstream"])
        shape_case = spec.shape_cases[0].__class__(f"replayed {document['case']}",
                                                   {n: t.shape for n, t in tensors.items()})
        options = {k: resolve_option(spec.option(k), v) for k, v in document["options"].items()}
        case = ReplayCase(spec, shape_case, tuple(tensors), options, "given",
                          int(document.get("seed", 0)), int(document.get("number", 0)), None,
                          document.get("layout", "contiguous"), tuple(document.get("checks", ())),
                          given=tensors, given_upstream=upstream)
        return Reproducer(spec, case, document["dtype"], document.get("device", "cpu"), document.get("impl"),
                          document["quantity"], document.get("expected", ""), document.get("got", ""))
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"reproducer {str(path)!r} is malformed: {type(error).__name__}: {error}") from None
