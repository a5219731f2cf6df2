"""What each TorchLean operation means, as a ``Builtin`` evaluating it on SymPy values (``VOCABULARY``).

``subSpec a b = a − b``, ``sumSpec t = Σ t``, ``meanOver x = x / max(numel, 1)``, …; the Mathlib functions
come from the primitives' declarations (``derivations.primitives``). ``with_declared_signature`` adapts an
entry to the parameters a checkout declares for it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import sympy as sp

from ..derivations.primitives import PRIMITIVES, Mathlib
from .lean_source import Declaration
from .lean_values import EPSILON, Builtin, Grad, ShapeValue, TapeNode


def _map(fn: Callable[[Any], Any], value: Any) -> Any:
    if isinstance(value, np.ndarray):
        out = np.empty(value.shape, dtype=object)
        for index in np.ndindex(value.shape):
            out[index] = fn(value[index])
        return out
    return fn(value)


def _map2(fn: Callable[[Any, Any], Any], a: Any, b: Any) -> Any:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.broadcast_arrays(np.asarray(a, dtype=object), np.asarray(b, dtype=object))
        out = np.empty(a.shape, dtype=object)
        for index in np.ndindex(a.shape):
            out[index] = fn(a[index], b[index])
        return out
    return fn(a, b)


def _total(value: Any) -> Any:
    return sp.Add(*np.asarray(value, dtype=object).reshape(-1).tolist())


def _shape(named: dict[str, Any], key: str, what: str) -> ShapeValue:
    shape = named.get(key)
    if not isinstance(shape, ShapeValue):
        raise ValueError(f"{what} needs ({key} := …) naming a shape")
    return shape


def _slices(shape: ShapeValue, axis: int) -> int:
    count = shape.size // shape.dims[axis] if shape.dims[axis] else 0
    return count if count else 1


def _softmax(x: np.ndarray, axis: int) -> np.ndarray:
    exps = _map(sp.exp, x)
    return exps / np.sum(exps, axis=axis, keepdims=True)


def _log_softmax(x: np.ndarray, axis: int) -> np.ndarray:
    lse = _map(sp.log, np.sum(_map(sp.exp, x), axis=axis, keepdims=True))
    return x - lse


def _rows(vector: np.ndarray, named: dict[str, Any]) -> np.ndarray:
    return np.asarray(vector, dtype=object).reshape(int(named["m"]), int(named["n"]))


def _softplus(x: Any) -> Any:
    return sp.log(1 + sp.exp(x))


def _sigmoid(x: Any) -> Any:
    return 1 / (1 + sp.exp(-x))


def _vec_of_fun(args: list[Any], named: dict[str, Any], call: Callable) -> np.ndarray:
    size = int(named["n"])
    return np.array([call(args[0])(i) for i in range(size)] + [None], dtype=object)[:-1]


def _primitive_builtins() -> list[Builtin]:
    """Each primitive whose Lean term is its Mathlib name applied (``derivations.primitives``), read back as it:
    a unary one elementwise, under its own name and as ``MathFunctions.f`` and ``Real.f``; Mathlib's max and
    min (SymPy's of any number of arguments) are binary. √ is the power ½, not a primitive."""
    found = [Builtin(f"{space}.sqrt", 1, lambda a, n, call: _map(sp.sqrt, a[0])) for space in ("MathFunctions", "Real")]
    for primitive in PRIMITIVES:
        if not (isinstance(primitive.mathlib, Mathlib) and primitive.mathlib.applied):
            continue
        f, name = primitive.function, primitive.mathlib.name
        if not f.nargs.is_finite_set:  # max, min of any number of arguments
            found.append(Builtin(name, 2, lambda a, n, call, f=f: f(a[0], a[1])))
            continue
        short = name.rsplit(".", 1)[-1]
        found += [Builtin(full, 1, lambda a, n, call, f=f: _map(f, a[0]))
                  for full in dict.fromkeys((name, f"MathFunctions.{short}", f"Real.{short}"))]
    return found


VOCABULARY: dict[str, Builtin] = {b.name: b for b in (
    # elementwise tensor operations of the spec layer
    Builtin("subSpec", 2, lambda a, n, call: a[0] - a[1]),
    Builtin("addSpec", 2, lambda a, n, call: a[0] + a[1]),
    Builtin("mulSpec", 2, lambda a, n, call: a[0] * a[1]),
    Builtin("divSpec", 2, lambda a, n, call: a[0] / a[1]),
    Builtin("negSpec", 1, lambda a, n, call: -a[0]),
    Builtin("absSpec", 1, lambda a, n, call: _map(sp.Abs, a[0])),
    Builtin("logSpec", 1, lambda a, n, call: _map(sp.log, a[0])),
    Builtin("expSpec", 1, lambda a, n, call: _map(sp.exp, a[0])),
    Builtin("sqrtSpec", 1, lambda a, n, call: _map(sp.sqrt, a[0])),
    Builtin("scaleSpec", 2, lambda a, n, call: a[0] * a[1]),
    Builtin("mapSpec", 2, lambda a, n, call: _map(call(a[0]), a[1])),
    Builtin("map2Spec", 3, lambda a, n, call: _map2(call(a[0]), a[1], a[2])),
    # reductions and the loss helpers
    Builtin("sumSpec", 1, lambda a, n, call: _total(a[0])),
    Builtin("toScalarSpec", 1, lambda a, n, call: _total(a[0])),
    Builtin("meanDenominator", 1, lambda a, n, call: sp.Integer(max(a[0].size, 1))),
    Builtin("meanOver", 1, lambda a, n, call: a[0] / max(_shape(n, "s", "meanOver").size, 1)),
    Builtin("axisSliceCount", 2, lambda a, n, call: sp.Integer(a[0].size // a[0].dims[int(a[1])])),
    Builtin("axisMeanDenom", 2, lambda a, n, call: sp.Integer(_slices(a[0], int(a[1])))),
    Builtin("meanOverAxisSlices", 2,
            lambda a, n, call: a[1] / _slices(_shape(n, "s", "meanOverAxisSlices"), int(a[0]))),
    Builtin("reduceDim", 3, lambda a, n, call: np.sum(a[2], axis=int(a[1]))),
    Builtin("broadcastAfterSum", 3,
            lambda a, n, call: np.broadcast_to(np.expand_dims(a[2], int(a[1])), a[0].dims).copy()),
    # without an axis parameter (TorchLean before the axis argument) they act on the last axis
    Builtin("Activation.softmaxSpec", 2, lambda a, n, call: _softmax(a[1], int(a[0])),
            signature=(("axis", -1), ("tensor", None))),
    Builtin("Activation.logSoftmaxSpec", 2, lambda a, n, call: _log_softmax(a[1], int(a[0])),
            signature=(("axis", -1), ("tensor", None))),
    Builtin("Activation.Math.softplusSpec", 1, lambda a, n, call: _map(_softplus, a[0])),
    Builtin("Activation.Math.softplusDerivSpec", 1, lambda a, n, call: _map(_sigmoid, a[0])),
    Builtin("Activation.Math.sigmoidSpec", 1, lambda a, n, call: _map(_sigmoid, a[0])),
    Builtin("Context.defaultEpsilon", 0, lambda a, n, call: EPSILON),
    Builtin("Real.pi", 0, lambda a, n, call: sp.pi),
    Builtin("True", 0, lambda a, n, call: sp.true),
    Builtin("False", 0, lambda a, n, call: sp.false),
    *_primitive_builtins(),
    # shapes
    Builtin("Shape.size", 1, lambda a, n, call: a[0].size),
    Builtin("Shape.scalar", 0, lambda a, n, call: ShapeValue(())),
    Builtin(".scalar", 0, lambda a, n, call: ShapeValue(())),
    Builtin(".dim", 2, lambda a, n, call: ShapeValue((int(a[0]), *a[1].dims))),
    # tape nodes
    Builtin("Node.ofVec", 0, lambda a, n, call: TapeNode(n.get("f"), n.get("jvp"), n.get("vjp"))),
    Builtin("CtxVec.get", 2, lambda a, n, call: a[1].values[a[0].name]),
    Builtin("CtxVec.single", 2, lambda a, n, call: Grad({a[0].name: np.asarray(a[1], dtype=object)})),
    Builtin("castVec", 2, lambda a, n, call: a[1]),
    Builtin("vecOfFun", 1, _vec_of_fun),
    Builtin("elemwiseVec", 1, lambda a, n, call: _map(call(n["f"]), a[0])),
    Builtin("sumCLM", 1, lambda a, n, call: _total(a[0])),
    Builtin("inner", 3, lambda a, n, call: _total(np.asarray(a[1], dtype=object) * np.asarray(a[2], dtype=object))),
    Builtin("LogSoftmaxLastAxis.forwardMN", 1, lambda a, n, call: _log_softmax(_rows(a[0], n), 1).reshape(-1)),
    Builtin("LogSoftmaxLastAxis.jvpMN", 2, lambda a, n, call: (
        _rows(a[1], n) - np.sum(_softmax(_rows(a[0], n), 1) * _rows(a[1], n), axis=1, keepdims=True)).reshape(-1)),
    Builtin("LogSoftmaxLastAxis.vjpMN", 2, lambda a, n, call: (
        _rows(a[1], n) - _softmax(_rows(a[0], n), 1) * np.sum(_rows(a[1], n), axis=1, keepdims=True)).reshape(-1)),
    Builtin("⟨⟩", 1, lambda a, n, call: a[0]),
    Builtin("⟪⟫", 2, lambda a, n, call: _total(np.asarray(a[0], dtype=object) * np.asarray(a[1], dtype=object))),
)}


def _role(type_text: str) -> str | None:
    words = type_text.replace("(", " ").replace(")", " ").split()
    if {"Tensor", "RefTy", "Var"} & set(words):
        return "tensor"
    if words and words[0] in ("Nat", "ℕ"):
        return "axis"
    return None


def with_declared_signature(builtin: Builtin, declaration: Declaration) -> Builtin:
    """``builtin`` taking the explicit parameters ``declaration`` has, each by its role.

    A role the declaration lacks takes the builtin's default for it (no ``axis``: the last axis).
    A parameter of a role the builtin does not know leaves the builtin as it is.
    """
    roles = [_role(t) for t in declaration.explicit_types()]
    known = dict(builtin.signature)
    if not builtin.signature or any(r not in known for r in roles) or len(set(roles)) != len(roles):
        return builtin

    def adapted(args: list[Any], named: dict[str, Any], call: Callable) -> Any:
        given = dict(zip(roles, args))
        return builtin.fn([given.get(role, default) for role, default in builtin.signature], named, call)

    return Builtin(builtin.name, len(roles), adapted)
