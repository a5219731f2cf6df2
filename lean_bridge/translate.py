"""Lean definitions to SymPy: evaluate a TorchLean declaration on symbolic tensors of a fixed shape.

A tensor ``Tensor α s`` becomes a NumPy object array of SymPy symbols named after the Lean
parameter (``predicted[0, 1]``); a scalar ``α`` a SymPy expression; ``if c then a else b``
a ``Piecewise``; ``fun`` a closure. The vocabulary below gives each TorchLean operation its
meaning (``subSpec a b = a − b``, ``sumSpec t = Σ t``, ``meanOver x = x / max(numel, 1)``, …).
A name that is neither local, nor in the vocabulary, nor another declaration of the checkout
raises ``Untranslatable`` with its line. Tape nodes (``Node.ofVec (f := …) (jvp := …) (vjp := …)``)
evaluate to a ``TapeNode`` whose closures take ``Context`` values (``xV``, ``dxV``) and ``δV``.

What the checkout itself says comes first where the vocabulary could only guess: a constant
field such as ``Numbers.two`` is read from the checkout's ``instance : Numbers ℝ``
(``constants``), and a vocabulary entry with a signature (``Activation.logSoftmaxSpec``) takes
the parameters the checkout declares, so an older one-argument last-axis version and the newer
``axis``-first one both translate. A constructor ``.mean`` is a ``Tag``; ``match`` picks its arm.
A definition by equations on shapes (``| .scalar => 1 | .dim n rest => n * size rest``) takes the
parameters its type lists (implicit ones by name) and evaluates the first arm whose patterns
(``_``, a variable, ``.scalar``, ``.dim p q``, a constructor, a numeral) match.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp

from ..derivations.primitives import PRIMITIVES, Mathlib
from .lean_source import Checkout, Declaration
from .syntax import (
    App,
    Ascribe,
    BinOp,
    Equations,
    If,
    Lambda,
    Let,
    Match,
    Name,
    Node,
    Number,
    Opaque,
    UnOp,
    Untranslatable,
    parse,
)

EPSILON = sp.Symbol("epsilon", positive=True)


@dataclass(frozen=True)
class ShapeValue:
    dims: tuple[int, ...]

    @property
    def size(self) -> int:
        return math.prod(self.dims)


@dataclass(frozen=True)
class TapeIdx:
    """A tape node input ``Idx Γ s``: read from a Context with ``CtxVec.get``."""

    name: str


@dataclass(frozen=True)
class Context:
    """A point of the tape context (``xV``) or a tangent (``dxV``): flat arrays by input name."""

    values: Mapping[str, np.ndarray]


@dataclass(frozen=True)
class Grad:
    """A VJP result: ``CtxVec.single idx v`` summed over inputs."""

    parts: Mapping[str, np.ndarray]

    def __add__(self, other: Grad) -> Grad:
        merged = dict(self.parts)
        for name, value in other.parts.items():
            merged[name] = merged[name] + value if name in merged else value
        return Grad(merged)


@dataclass
class Closure:
    """A ``fun``: its body is evaluated in ``env``, names resolved from ``namespace``."""

    params: tuple[str, ...]
    body: Node
    env: dict[str, Any]
    namespace: str = ""


@dataclass
class Builtin:
    """A vocabulary entry: ``fn(args, named, call)`` once ``arity`` positional arguments are given.

    ``call(f)`` turns a Lean function value into a Python callable (for ``mapSpec`` and friends).
    ``signature`` names the roles of the positional arguments (``axis``, ``tensor``) with the value a
    missing role takes, for entries whose parameters differ between TorchLean versions.
    """

    name: str
    arity: int
    fn: Callable[[list[Any], dict[str, Any], Callable], Any]
    args: tuple[Any, ...] = ()
    named: dict[str, Any] = field(default_factory=dict)
    signature: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True)
class Tag:
    """A constructor without arguments (``.mean``, ``Reduction.sum``), chosen among by ``match``."""

    name: str


@dataclass(frozen=True)
class TapeNode:
    f: Any
    jvp: Any
    vjp: Any


# ------------------------------------------------------------ vocabulary ---

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

_OPAQUE_NAMES = {"ℝ", "α", "Γ", "τ", "Nat", "Shape"}


def _number(value: Any) -> Any:
    return sp.Integer(value) if isinstance(value, (int, np.integer)) and not isinstance(value, bool) else value


def _compare(op: str, a: Any, b: Any) -> Any:
    relation = {"<": sp.Lt, ">": sp.Gt, "≤": sp.Le, "<=": sp.Le, "≥": sp.Ge, ">=": sp.Ge,
                "=": sp.Eq, "≠": sp.Ne}[op]
    return _map2(lambda x, y: relation(_number(x), _number(y)), a, b)


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


class Interpreter:
    """Evaluates parsed Lean terms; declarations of ``checkout`` are resolved from ``namespace`` outwards.

    ``vocabulary`` is the table of known operations (``VOCABULARY``; the runtime layer adds its own);
    ``aliases`` maps an operation to the checkout declaration that defines it, preferred when present.
    """

    def __init__(self, checkout: Checkout | None, namespace: str = "",
                 vocabulary: Mapping[str, Builtin] | None = None, aliases: Mapping[str, str] | None = None):
        self.checkout = checkout
        self.namespace = namespace
        self.vocabulary = VOCABULARY if vocabulary is None else vocabulary
        self.aliases = aliases or {}

    # -- names
    def lookup(self, name: str, env: dict[str, Any], line: int) -> Any:
        if name in env:
            return env[name]
        head = name.rsplit(".", 1)[0]
        if "." in name and isinstance(env.get(head), Opaque):
            return env[head]  # a field of a proof (``hsz.symm``)
        if name in _OPAQUE_NAMES or name == "_":
            return Opaque(line, name)
        if name in self.aliases and self.checkout is not None:
            defined = self.checkout.find(self.aliases[name])
            if defined is not None:
                return defined
        builtin = self.vocabulary.get(name) or next(
            (b for key, b in self.vocabulary.items() if key.endswith("." + name) and not key.startswith(".")), None)
        if builtin is not None:
            if builtin.signature and self.checkout is not None:
                declared = self.checkout.find(builtin.name)
                builtin = builtin if declared is None else with_declared_signature(builtin, declared)
            return self.apply(builtin, [], {}, line) if builtin.arity == 0 and not name.startswith("Node") else builtin
        constant = self.checkout.constant(name) if self.checkout is not None else None
        if constant is not None:
            text, value_line = constant
            return self.eval(parse(text, value_line), {})
        if name.startswith(".") and "." not in name[1:]:
            return Tag(name[1:])
        declaration = self.find(name)
        if declaration is not None:
            return declaration
        raise Untranslatable(name, line, "unknown name: not local, not in the translator's vocabulary, "
                                         "and not a declaration of the checkout")

    def find(self, name: str) -> Declaration | None:
        if self.checkout is None:
            return None
        parts = self.namespace.split(".") if self.namespace else []
        for k in range(len(parts), -1, -1):
            found = self.checkout.find(".".join([*parts[:k], name]))
            if found is not None:
                return found
        return None

    # -- application
    def apply(self, fn: Any, args: list[Any], named: dict[str, Any], line: int) -> Any:
        if isinstance(fn, np.ndarray):
            value = fn.reshape(-1)[int(args[0])]
            return self.apply(value, args[1:], named, line) if len(args) > 1 else value
        if isinstance(fn, Builtin):
            args, named = [*fn.args, *args], {**fn.named, **named}
            if len(args) < fn.arity or (fn.arity == 0 and fn.name == "Node.ofVec" and not named):
                return Builtin(fn.name, fn.arity, fn.fn, tuple(args), named)
            def call(f: Any) -> Callable[..., Any]:
                return lambda *xs: self.apply(f, list(xs), {}, line)

            try:
                result = fn.fn(args[:fn.arity], named, call)
            except (KeyError, ValueError, TypeError, AttributeError, IndexError) as error:
                raise Untranslatable(fn.name, line, f"cannot apply it here ({error})") from None
            rest = args[fn.arity:]
            return self.apply(result, rest, {}, line) if rest else result
        if isinstance(fn, Closure):
            env = dict(fn.env)
            params = list(fn.params)
            while params and args:
                env[params.pop(0)] = args.pop(0)
            if params:
                return Closure(tuple(params), fn.body, env, fn.namespace)
            outer, self.namespace = self.namespace, fn.namespace
            try:
                result = self.eval(fn.body, env)
            finally:
                self.namespace = outer
            return self.apply(result, args, {}, line) if args else result
        if isinstance(fn, Declaration):
            return self.instantiate(fn, args, named)
        raise Untranslatable(type(fn).__name__, line, "applied to arguments but is not a function")

    def instantiate(self, declaration: Declaration, args: list[Any], named: dict[str, Any]) -> Any:
        """Evaluate ``declaration`` with positional ``args`` for its explicit binders and ``named`` by name."""
        env: dict[str, Any] = {}
        positional = list(args)
        for binder in declaration.binders:
            if not binder.name:
                continue
            if binder.name in named:
                env[binder.name] = named[binder.name]
            elif binder.kind == "explicit" and positional:
                env[binder.name] = positional.pop(0)
            elif binder.default is not None:
                env[binder.name] = self.eval(parse(binder.default, binder.line), env)
            elif binder.kind == "explicit":
                raise Untranslatable(f"parameter {binder.name}", binder.line, "no value given")
            else:
                env[binder.name] = Opaque(binder.line, binder.name)
        outer = self.namespace
        self.namespace = declaration.name.rsplit(".", 1)[0] if "." in declaration.name else ""
        try:
            node = parse(declaration.body, declaration.body_line)
            if isinstance(node, Equations):
                result = self._equations(node, self._arrow_arguments(declaration, positional, named), env)
            else:
                result = self.eval(node, env)
        except Untranslatable as error:
            error.path = error.path or str(declaration.path)
            raise
        finally:
            self.namespace = outer
        return self.apply(result, positional, {}, declaration.line) if positional else result

    @staticmethod
    def _arrow_arguments(declaration: Declaration, positional: list[Any], named: dict[str, Any]) -> list[Any]:
        """Values for the parameters of ``declaration``'s type, consumed from ``positional``."""
        values = []
        for binder in declaration.arrow_parameters():
            if binder.name and binder.name in named:
                values.append(named[binder.name])
            elif binder.kind == "explicit" and positional:
                values.append(positional.pop(0))
            elif binder.kind == "explicit":
                raise Untranslatable(f"parameter {binder.type_text}", declaration.line, "no value given")
            else:
                values.append(Opaque(declaration.line, binder.name or binder.type_text))
        return values

    def _equations(self, node: Equations, values: list[Any], env: dict[str, Any]) -> Any:
        for patterns, body in node.arms:
            if len(patterns) != len(values):
                raise Untranslatable("|", node.line, f"{len(patterns)} patterns for {len(values)} parameters")
            bound: dict[str, Any] = {}
            if all(self._bind(p, v, bound) for p, v in zip(patterns, values)):
                return self.eval(body, {**env, **bound})
        raise Untranslatable("|", node.line, "no equation matches these arguments")

    def _bind(self, pattern: Node, value: Any, bound: dict[str, Any]) -> bool:
        """Does ``value`` match ``pattern``? Variables it binds go to ``bound``."""
        if isinstance(pattern, Name) and pattern.name == "_":
            return True
        if isinstance(pattern, Name) and pattern.name.startswith("."):
            if isinstance(value, ShapeValue) and pattern.name == ".scalar":
                return value.dims == ()
            if isinstance(value, ShapeValue) and pattern.name == ".dim":
                return False
            if isinstance(value, Tag):
                return value.name == pattern.name[1:]
            raise Untranslatable(pattern.name, pattern.line, "a constructor pattern on a value that is not known")
        if isinstance(pattern, Name) and "." not in pattern.name:
            bound[pattern.name] = value
            return True
        if isinstance(pattern, Number):
            return value == sp.Rational(pattern.text)
        if isinstance(pattern, App) and isinstance(pattern.fn, Name) and pattern.fn.name == ".dim" \
                and len(pattern.args) == 2 and isinstance(value, ShapeValue):
            return bool(value.dims) and self._bind(pattern.args[0], sp.Integer(value.dims[0]), bound) \
                and self._bind(pattern.args[1], ShapeValue(value.dims[1:]), bound)
        raise Untranslatable(getattr(pattern, "name", type(pattern).__name__), pattern.line,
                             "a pattern that is not `_`, a variable, a numeral, `.scalar`, `.dim n rest` or a tag")

    # -- terms
    def eval(self, node: Node, env: dict[str, Any]) -> Any:
        if isinstance(node, Number):
            return sp.Rational(node.text)
        if isinstance(node, Name):
            return self.lookup(node.name, env, node.line)
        if isinstance(node, Opaque):
            return node
        if isinstance(node, Ascribe):
            return _number(self.eval(node.expr, env))
        if isinstance(node, Let):
            return self.eval(node.body, {**env, node.name: self.eval(node.value, env)})
        if isinstance(node, Lambda):
            return Closure(node.params, node.body, dict(env), self.namespace)
        if isinstance(node, If):
            return self._if(node, env)
        if isinstance(node, Match):
            return self._match(node, env)
        if isinstance(node, UnOp):
            return self._unary(node, self.eval(node.operand, env))
        if isinstance(node, BinOp):
            return self._binary(node, self.eval(node.left, env), self.eval(node.right, env))
        if isinstance(node, App):
            fn = self.eval(node.fn, env)
            args = [self.eval(a, env) for a in node.args]
            named = {k: self.eval(v, env) for k, v in node.named}
            return self.apply(fn, args, named, node.line)
        raise Untranslatable(type(node).__name__, node.line)

    def _if(self, node: If, env: dict[str, Any]) -> Any:
        cond = self.eval(node.cond, env)
        if cond in (True, sp.true):
            return self.eval(node.then, env)
        if cond in (False, sp.false):
            return self.eval(node.orelse, env)
        then, orelse = self.eval(node.then, env), self.eval(node.orelse, env)
        if isinstance(cond, np.ndarray) or isinstance(then, np.ndarray) or isinstance(orelse, np.ndarray):
            raise Untranslatable("if", node.line, "a condition or branch that is a whole tensor")
        return sp.Piecewise((_number(then), cond), (_number(orelse), True))

    def _match(self, node: Match, env: dict[str, Any]) -> Any:
        value = self.eval(node.scrutinee, env)
        if not isinstance(value, Tag):
            raise Untranslatable("match", node.line, "on a value that is not a constructor")
        arm = next((body for pattern, body in node.arms if pattern.rsplit(".", 1)[-1] == value.name), None)
        if arm is None:
            raise Untranslatable(f"match .{value.name}", node.line, "no arm for this constructor")
        return self.eval(arm, env)

    def _unary(self, node: UnOp, value: Any) -> Any:
        self._check_value(value, node)
        if node.op == "-":
            return -_number(value)
        if node.op == "¬":
            return sp.Not(value)
        if node.op == "⁻¹":
            return _map(lambda v: 1 / _number(v), value)
        if isinstance(value, np.ndarray):  # ‖v‖, the Euclidean norm
            return sp.sqrt(_total(value * value))
        return sp.Abs(value)

    def _binary(self, node: BinOp, a: Any, b: Any) -> Any:
        self._check_value(a, node)
        self._check_value(b, node)
        a, b = _number(a), _number(b)
        if node.op == "+":
            return a + b
        if node.op == "-":
            return a - b
        if node.op in ("*", "•"):
            return a * b
        if node.op == "/":
            return a / b
        if node.op == "^":
            return _map(lambda v: v ** b, a)
        if node.op in ("∧", "∨"):
            return (sp.And if node.op == "∧" else sp.Or)(a, b)
        return _compare(node.op, a, b)

    @staticmethod
    def _check_value(value: Any, node: Node) -> None:
        if isinstance(value, (Opaque, Closure, Builtin, Declaration, TapeIdx, Context, ShapeValue, Tag)):
            what = value.kind if isinstance(value, Opaque) else type(value).__name__
            raise Untranslatable(what, node.line, "used as a number")


def evaluate(checkout: Checkout | None, declaration: Declaration, bindings: Mapping[str, Any],
             vocabulary: Mapping[str, Builtin] | None = None, aliases: Mapping[str, str] | None = None) -> Any:
    """The value of ``declaration`` with its binders taken from ``bindings`` (by name) or their defaults."""
    return Interpreter(checkout, vocabulary=vocabulary, aliases=aliases).instantiate(declaration, [], dict(bindings))


def call(checkout: Checkout | None, function: Any, *args: Any) -> Any:
    """Apply a Lean function value (a tape node's ``f``, ``jvp`` or ``vjp``) to ``args``."""
    return Interpreter(checkout).apply(function, list(args), {}, 0)
