"""``LossSpec``: what one loss is, assembled from its signature, structure and per-unit math."""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import sympy as sp

from .signature import Convention, Option, ShapeCase, TensorArg
from .structure import Structure
from .unit import Unit


@dataclass(frozen=True, eq=False)
class LossSpec:
    """What one loss is.

    ``loss(unit)`` is the per-unit loss and ``denominator(unit)`` its share of
    the ``mean`` denominator (mean = sum of losses / sum of denominators);
    ``batchmean`` divides the sum by the input's first dimension instead.
    ``computational_forms`` are algebraically equal rewrites of ``loss`` that
    real kernels evaluate (PyTorch's own among them); each is checked equal to
    ``loss``, and the tolerance allows the rounding error of any of them.

    ``gradient_conventions`` maps a tensor name to the gradient ∂l/∂s of one
    unit that PyTorch's backward computes for it (a list for a row), where
    that is not the derivative of the forward: BCE's backward clamp, a clamp
    applied without grad. The oracle and the tolerance use it instead of
    ``sympy.diff``. The gradient self-check verifies, at every unit of points
    inside the domain, that the convention equals the derivative of the loss
    once every ``functions.clamp_min`` is removed from both: so a clamp that
    can be active inside the domain (a variance floor) must be a ``clamp_min``.

    ``reference`` is ``MODULE:ATTR`` of the implementation a default run checks for a loss that
    ``torch.nn.functional`` lacks (a library's, such as torchvision's), named here so that adding such
    a loss takes its spec file alone.
    """

    name: str
    formula: str
    tensors: Sequence[TensorArg]
    options: Sequence[Option]
    structure: Structure
    loss: Callable[[Unit], sp.Expr]
    denominator: Callable[[Unit], sp.Expr]
    shape_cases: Sequence[ShapeCase]
    conventions: Sequence[Convention] = ()
    computational_forms: Sequence[Callable[[Unit], sp.Expr]] = ()
    aliases: Mapping[str, str] = field(default_factory=dict)
    gradient_conventions: Mapping[str, Callable[[Unit], Any]] = field(default_factory=dict)
    reference: str | None = None

    def __post_init__(self) -> None:
        tensors, options = {t.name for t in self.tensors}, {o.name for o in self.options}
        readable = {"tensor": tensors, "option": options, None: tensors | options | _UNIT_FIELDS}
        functions = (self.loss, self.denominator, *self.computational_forms, *self.gradient_conventions.values())
        for function in functions:
            for name, namespace in _names_read(function):
                if name not in readable[namespace]:
                    where = f"u.{namespace}.{name}" if namespace else f"u.{name}"
                    raise TypeError(f"spec {self.name!r}: {function.__name__} reads {where}, but its tensors are "
                                    f"{', '.join(sorted(tensors)) or 'none'} and its options "
                                    f"{', '.join(sorted(options)) or 'none'}")

    def tensor(self, name: str) -> TensorArg:
        return next(t for t in self.tensors if t.name == name)

    def option(self, name: str) -> Option:
        return next(o for o in self.options if o.name == name)

    @property
    def required_tensors(self) -> list[TensorArg]:
        return [t for t in self.tensors if not t.optional]

    @property
    def optional_tensors(self) -> list[TensorArg]:
        return [t for t in self.tensors if t.optional]


_UNIT_FIELDS = {f.name for f in fields(Unit)} | {"tensor", "option"}


def _names_read(function: Callable) -> list[tuple[str, str | None]]:
    """(name, namespace) for each ``u.NAME`` (namespace None), ``u.tensor.NAME`` and ``u.option.NAME`` in
    ``function``'s source, ``u`` its first parameter; nothing where the source is not a plain ``def``."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    except (OSError, TypeError, SyntaxError):
        return []
    definition = tree.body[0] if tree.body else None
    if not isinstance(definition, ast.FunctionDef) or not definition.args.args:
        return []
    unit = definition.args.args[0].arg
    found: list[tuple[str, str | None]] = []
    for node in ast.walk(definition):
        if not isinstance(node, ast.Attribute):
            continue
        if isinstance(node.value, ast.Name) and node.value.id == unit:
            found.append((node.attr, None))
        elif (isinstance(node.value, ast.Attribute) and node.value.attr in ("tensor", "option")
              and isinstance(node.value.value, ast.Name) and node.value.value.id == unit):
            found.append((node.attr, node.value.attr))
    return found
