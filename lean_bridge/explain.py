"""Say what a TorchLean definition that differs from its linked spec computes instead.

A forward value ``L`` that differs from the spec's ``S`` is tried, in order, as

* a constant multiple ``L = k·S`` at every sample point with ``k = 1/C``, ``C`` the size of the
  class axis: "averages over all elements (factor C)";
* another spec, or the same spec with other option values: each spec whose tensors include the
  link's, with each continuous option at the link's own parameter values, at 1 and at its
  default (reduction as the link's). A match reads "equals smooth_l1_loss with beta = 3/4, not
  huber_loss with delta = 3/4";
* the spec's formula with one function applied on top or inside: TorchLean's expression with a
  ``log`` around a softplus removed, or with ``log(softplus(u) + ε)`` read as ``log(u)`` (ε → 0),
  equals the spec: "takes log(softplus(u) + ε) where log(u) belongs";
* any other constant multiple: "is k times losscheck's value".

A derivative ``g`` that differs from ``∂L/∂p`` (``d``) of a loss of two vectors ``p`` and ``t`` is
written as ``g = a·p + b·t`` and ``d = a'·p + b'·t`` (least squares, exact when the gradient lies
in their span, as a cosine's does); a ratio ``a/a'`` that is a power of ``‖p‖`` reads
"its p term is ‖p‖ times the true one". Nothing found reads as the empty string.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import sympy as sp

from ..derivations.expanded import expanded_loss
from ..spec.core import LossSpec

RATIO_TOLERANCE = 1e-12
Point = Mapping[sp.Symbol, sp.Float]


def _same(values: Sequence[float], tolerance: float = RATIO_TOLERANCE) -> bool:
    return all(abs(v - values[0]) <= tolerance * max(1.0, abs(values[0])) for v in values)


def _rational(value: float) -> sp.Rational | None:
    guess = sp.nsimplify(value, rational=True, tolerance=1e-12)
    return guess if guess.q <= 1000 and abs(float(guess) - value) <= 1e-12 * max(1.0, abs(value)) else None


def constant_factor(lean: Sequence[float], spec: Sequence[float]) -> sp.Rational | None:
    """``k`` when ``L = k·S`` at every point with ``k ≠ 1`` a small rational, else None."""
    if any(s == 0 for s in spec):
        return None
    ratios = [a / b for a, b in zip(lean, spec)]
    k = _rational(ratios[0]) if _same(ratios) else None
    return None if k is None or k == 1 else k


def name_factor(k: sp.Rational, shape: tuple[int, ...], class_axis: int | None, class_only: bool) -> str:
    """``L = k·S`` in words: a class-axis denominator by name, else (unless ``class_only``) the factor."""
    numel = int(np.prod(shape)) if shape else 1
    if class_axis is not None and shape:
        classes = shape[class_axis]
        if k == sp.Rational(1, classes):
            return (f"averages over all {numel} elements, not the {numel // classes} slices orthogonal to the "
                    f"class axis (factor C = {classes})")
        if k == classes:
            return f"sums over the class axis without averaging its slices (factor C = {classes})"
    return "" if class_only else f"is {k} times losscheck's value at every point (a different denominator)"


_W = sp.Wild("w")
_C = sp.Wild("c", properties=[lambda c: c.is_number or c == sp.Symbol("epsilon", positive=True)])
_SOFTPLUS = sp.log(1 + sp.exp(_W))
REWRITES: tuple[tuple[str, Callable[[sp.Expr], sp.Expr]], ...] = (
    ("takes log of softplus(u) where softplus(u) belongs", lambda e: e.replace(sp.log(_SOFTPLUS), _SOFTPLUS)),
    ("takes log(softplus(u) + ε) where log(u) belongs",
     lambda e: e.replace(sp.log(_SOFTPLUS + _C), sp.log(_W)).replace(sp.log(_SOFTPLUS), sp.log(_W))),
)


def misplaced_function(lean: sp.Expr, spec_at: Sequence[float], points: Sequence[Point],
                       evaluate: Callable[[Any, Point], float]) -> str:
    """A rewrite of ``REWRITES`` after which TorchLean's expression equals the spec at ``points``."""
    for description, rewrite in REWRITES:
        rewritten = rewrite(lean)
        if rewritten == lean:
            continue
        try:
            got = [evaluate(rewritten, point) for point in points]
        except TypeError:  # complex or undefined after the rewrite
            continue
        if all(abs(a - b) <= 1e-12 * max(1.0, abs(b)) for a, b in zip(got, spec_at)):
            return description
    return ""


def _option_values(spec: LossSpec, own: Mapping[str, Any], numbers: Sequence[float]) -> list[dict[str, Any]]:
    """Option settings to try: continuous options over ``numbers``, 1 and the default; the rest as ``own``."""
    fixed = {o.name: own[o.name] for o in spec.options if o.name in own and not o.continuous}
    axes = []
    for option in spec.options:
        if option.continuous:
            axes.append([(option.name, v) for v in dict.fromkeys([*numbers, 1.0, float(option.default)])])
    return [{**fixed, **dict(combo)} for combo in itertools.product(*axes)]


def _show(options: Mapping[str, Any]) -> str:
    shown = [f"{k} = {sp.nsimplify(v) if isinstance(v, float) else v}" for k, v in options.items() if k != "reduction"]
    return " with " + ", ".join(shown) if shown else ""


def other_spec(lean_at: Sequence[float], tensors: Mapping[str, np.ndarray], points: Sequence[Point],
               evaluate: Callable[[Any, Point], float], linked: LossSpec, linked_options: Mapping[str, Any],
               specs: Mapping[str, LossSpec], numbers: Sequence[float]) -> str:
    """The first spec and option setting equal to TorchLean's values at ``points``, named; '' if none."""
    names = set(tensors)
    candidates = [linked, *(s for s in specs.values() if s.name != linked.name)]
    for spec in candidates:
        own = {t.name for t in spec.tensors}
        if not names <= own or not {t.name for t in spec.required_tensors} <= names:
            continue
        for options in _option_values(spec, linked_options, numbers):
            if spec is linked and all(options.get(k) == v for k, v in linked_options.items() if k in options):
                continue
            try:
                (value,) = expanded_loss(spec, tensors, options)
                got = [evaluate(value, point) for point in points]
            except Exception:  # a spec that does not fit these tensors (class indices, shapes) is no candidate
                continue
            if all(abs(a - b) <= 1e-12 * max(1.0, abs(a)) for a, b in zip(lean_at, got)):
                return f"equals {spec.name}{_show(options)}, not {linked.name}{_show(linked_options)}"
    return ""


def radial_term(lean: np.ndarray, true: np.ndarray, p: np.ndarray, t: np.ndarray, wrt: str, other: str) -> str:
    """Name a derivative error along ``p`` or ``t``: float arrays at one point; '' when it is not one."""
    if p.size < 3:
        return ""
    basis = np.stack([p, t], axis=1)
    (a, b), residual_lean = np.linalg.lstsq(basis, lean, rcond=None)[:2]
    (a0, b0), residual_true = np.linalg.lstsq(basis, true, rcond=None)[:2]
    scale = max(1.0, float(np.abs(true).max()))
    if any(r.size and r[0] > 1e-20 * scale for r in (residual_lean, residual_true)):
        return ""
    norm = float(np.linalg.norm(p))
    parts = []
    for term, got, want in ((wrt, a, a0), (other, b, b0)):
        if abs(got - want) <= 1e-9 * max(abs(want), 1e-300):
            continue
        ratio = got / want if want else float("inf")
        power = next((k for k in (1, 2, -1, -2) if abs(ratio - norm ** k) <= 1e-9 * abs(ratio)), None)
        if power is None:
            parts.append(f"its {term} term is {ratio:.6g} times the true one")
        else:
            factor = f"‖{wrt}‖" if power == 1 else f"‖{wrt}‖^{power}"
            parts.append(f"its {term} term is {factor} times the true one")
    return "; ".join(parts)
