"""Lean definitions to SymPy: evaluate a TorchLean declaration on symbolic tensors of a fixed shape.

A tensor ``Tensor α s`` becomes a NumPy object array of SymPy symbols named after the Lean
parameter (``predicted[0, 1]``); a scalar ``α`` a SymPy expression; ``if c then a else b``
a ``Piecewise``; ``fun`` a closure. The vocabulary (``vocabulary``) gives each TorchLean operation its
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

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import sympy as sp

from .lean_source import Checkout, Declaration
from .lean_values import Builtin, Closure, Context, ShapeValue, Tag, TapeIdx
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
from .vocabulary import VOCABULARY, _map, _map2, _total, with_declared_signature

_OPAQUE_NAMES = {"ℝ", "α", "Γ", "τ", "Nat", "Shape"}


def _number(value: Any) -> Any:
    return sp.Integer(value) if isinstance(value, (int, np.integer)) and not isinstance(value, bool) else value


def _compare(op: str, a: Any, b: Any) -> Any:
    relation = {"<": sp.Lt, ">": sp.Gt, "≤": sp.Le, "<=": sp.Le, "≥": sp.Ge, ">=": sp.Ge,
                "=": sp.Eq, "≠": sp.Ne}[op]
    return _map2(lambda x, y: relation(_number(x), _number(y)), a, b)


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
