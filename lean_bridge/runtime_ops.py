"""The operations of TorchLean's runtime autograd layer (``NN/Runtime/**``), as pure functions.

Runtime losses are straight-line ``do`` code over an ``Ops`` monad: ``let d ← sub yhat y``,
``let l ← safeLog p (ε := ε)``, ``reduce l reduction``. Each operation records a tape node whose
forward value is a spec-layer function, so it reads here as that function of its inputs:

* elementwise ``sub a b = a − b``, ``add``, ``mul``, ``scale x c = c·x``, ``F.square x = x²``,
  ``const t = t``, ``Spec.fill v s`` (every element ``v``);
* reductions ``sum x = Σ x``, ``F.mean x = Σ x / numel``, ``mseLoss a b = mean((a − b)²)``;
* ``softplus`` and ``safeLog`` are read from the checkout's ``Activation.softplusSpec`` and
  ``Activation.safeLogSpec`` (what their tape nodes compute); where the checkout lacks them,
  TorchLean's documented ``softplus(x) = log(1 + exp x)`` and ``safeLog(x; ε) = log(softplus(x) + ε)``;
* shape helpers ``lastDim s`` (the innermost size) and ``Shape.axisSize s k``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import sympy as sp

from .lean_values import EPSILON, Builtin, ShapeValue
from .vocabulary import VOCABULARY, _map, _softplus, _total

SPEC_FUNCTIONS = {  # runtime operation -> the spec-layer declaration its tape node evaluates
    "softplus": "Activation.softplusSpec",
    "safeLog": "Activation.safeLogSpec",
}


def _array(value: Any) -> np.ndarray:
    return np.asarray(value, dtype=object)


def _mean(value: Any) -> Any:
    return _total(value) / max(_array(value).size, 1)


def _last_dim(shape: ShapeValue) -> sp.Integer:
    return sp.Integer(shape.dims[-1] if shape.dims else 1)


RUNTIME_OPS: dict[str, Builtin] = {b.name: b for b in (
    Builtin("sub", 2, lambda a, n, call: _array(a[0]) - _array(a[1])),
    Builtin("add", 2, lambda a, n, call: _array(a[0]) + _array(a[1])),
    Builtin("mul", 2, lambda a, n, call: _array(a[0]) * _array(a[1])),
    Builtin("scale", 2, lambda a, n, call: _array(a[0]) * a[1]),
    Builtin("const", 1, lambda a, n, call: a[0]),
    Builtin("Spec.fill", 2, lambda a, n, call: np.full(a[1].dims, a[0], dtype=object)),
    Builtin("F.square", 1, lambda a, n, call: _array(a[0]) * _array(a[0])),
    Builtin("sum", 1, lambda a, n, call: _total(a[0])),
    Builtin("F.mean", 1, lambda a, n, call: _mean(a[0])),
    Builtin("mseLoss", 2, lambda a, n, call: _mean((_array(a[0]) - _array(a[1])) ** 2)),
    Builtin("softplus", 1, lambda a, n, call: _map(_softplus, a[0])),
    Builtin("safeLog", 1, lambda a, n, call: _map(lambda x: sp.log(_softplus(x) + n.get("ε", EPSILON)), a[0])),
    Builtin("lastDim", 1, lambda a, n, call: _last_dim(a[0])),
    Builtin("Shape.axisSize", 2, lambda a, n, call: sp.Integer(a[0].dims[int(a[1])])),
)}

RUNTIME_VOCABULARY: dict[str, Builtin] = {**VOCABULARY, **RUNTIME_OPS}
