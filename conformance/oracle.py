"""The exact reference: a spec evaluated in mpmath at the exact values of the inputs.

Inputs are the binary values of dtype-rounded tensors, held as float64 and
turned into ``mpf`` exactly. Units are evaluated with the derivation's
generated mpmath functions and reduced with ``mpmath.fsum``. The values and
gradients are evaluated at the working precision (50 digits), and again with
their error scales (Bound) at a higher one (70); a quantity that moves between
the two is reported unstable rather than used. The Bounds are evaluated once:
they scale the tolerance and need no confirmation to 30 digits.

The reduction of the units, and the evaluation of a ``Sequences`` (recursion) spec, are
``exact_reduction``'s.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

import mpmath
import numpy as np

from ..derivations.symbolic import derive, variant_key
from ..derivations.units import real_view, split_units
from ..spec.core import LossSpec
from . import first_pass, oracle_cache
from .exact_reduction import as_mpf, divide, evaluation, position, prepare, reduce_units, upstream_values
from .oracle_cache import OracleCache
from .reference import Bound, Reference  # noqa: F401  (the oracle's result types; importable from here too)

WORKING_DIGITS = 50
CHECK_DIGITS = 70
STABLE_RELATIVE = mpmath.mpf(10) ** -30


def differentiated(spec: LossSpec, tensors: Mapping[str, np.ndarray], options: Mapping[str, Any]) -> list[str]:
    """The tensors the reference differentiates (not class indices or encoded rows), without evaluating it."""
    if not spec.structure.closed_form:  # a recursion differentiates its sequence (Sequences)
        return [spec.structure.sequence]
    table = split_units(spec, tensors, options)
    wrt = derive(spec, variant_key(spec, tuple(tensors), table, options)).wrt
    return list(dict.fromkeys(name for name, _ in wrt))


def same_value(a: mpmath.mpf, b: mpmath.mpf, scale: mpmath.mpf) -> bool:
    """Equal to 30 digits relative to max(|b|, scale), or the same special value."""
    if mpmath.isnan(a) or mpmath.isnan(b):
        return bool(mpmath.isnan(a) and mpmath.isnan(b))
    if mpmath.isinf(a) or mpmath.isinf(b):
        return a == b
    return abs(a - b) <= STABLE_RELATIVE * max(abs(b), scale)


def exact_reference(spec: LossSpec, tensors: Mapping[str, np.ndarray], options: Mapping[str, Any],
                    upstream: np.ndarray, digits: tuple[int, int] = (WORKING_DIGITS, CHECK_DIGITS), *,
                    conventions: bool = True, cache: OracleCache | bool = True, dtype: str | None = None) -> Reference:
    """The exact value and VJP (w.r.t. every differentiable input) of one case.

    ``tensors`` holds the present tensors as float64 (class indices as ints);
    ``upstream`` is δ, shaped like the output. ``digits`` are the working and
    the checking precision; the result is the latter's. The VJP follows the
    spec's gradient conventions (what PyTorch's backward computes); with
    ``conventions=False`` it is ``sympy.diff`` of the loss throughout.
    ``cache``: True uses the process's oracle cache (``oracle_cache.active()``: on disk, keyed by
    everything the reference depends on), False computes afresh, an ``OracleCache`` uses that one.
    ``dtype``: the dtype the reference will judge; for float32, float16 and bfloat16 the float64 first
    pass is tried first (``first_pass``) and kept where it is certified for that dtype.
    """
    fast = dtype if (first_pass.enabled(dtype) and conventions and not spec.gradient_conventions
                     and spec.structure.closed_form) else None  # see float64_reference
    store = oracle_cache.active() if cache is True else cache or None
    key = store and oracle_cache.reference_key(spec, tensors, options, upstream, digits, conventions, fast)
    if key:
        stored = store.load(key)
        if stored is not None:
            try:
                return Reference.decode(stored)
            except (ValueError, KeyError, TypeError, IndexError):
                pass  # a checksummed entry from a different encoding: recompute and overwrite it
    reference = float64_reference(spec, tensors, options, upstream, fast)[0] if fast else None
    if reference is None:
        reference = _exact_reference(spec, tensors, options, upstream, digits, conventions)
    if key:
        with contextlib.suppress(TypeError):  # a number the encoding cannot hold exactly: not cached
            store.save(key, reference.encode())
    return reference


def float64_reference(spec: LossSpec, tensors: Mapping[str, np.ndarray], options: Mapping[str, Any],
                      upstream: np.ndarray, dtype: str) -> tuple[Reference | None, str]:
    """The first pass: (the Reference from float64 rows, '') where ``first_pass.certify`` keeps it for
    judging ``dtype``, else (None, why not)."""
    if not spec.structure.closed_form:
        return None, "a recursion (Sequences) spec"
    if spec.gradient_conventions:
        # the runner compares such a reference with the math's own gradient (high precision) to 30 digits
        return None, "a stated gradient convention"
    prepared = prepare(spec, tensors, options)
    reason = first_pass.unsupported(prepared)
    if reason:
        return None, reason
    rows = first_pass.evaluate_rows(prepared)
    if isinstance(rows, str):
        return None, rows
    reference = first_pass.reference(prepared, rows, options.get("reduction", "mean"), upstream, dtype)
    return (None, reference) if isinstance(reference, str) else (reference, "")


def _exact_reference(spec: LossSpec, tensors: Mapping[str, np.ndarray], options: Mapping[str, Any],
                     upstream: np.ndarray, digits: tuple[int, int], conventions: bool) -> Reference:
    """``exact_reference`` computed: at the working precision (values only) and at the checking one."""
    evaluate = evaluation(spec.structure, spec, tensors, options, upstream, conventions)
    working_digits, check_digits = digits
    with mpmath.workdps(working_digits):
        working = evaluate(bounds=False)  # confirms the values only: the Bounds are scales, evaluated once
    with mpmath.workdps(check_digits):
        checked = evaluate()
    for i, (a, b, bound) in enumerate(zip(working.value, checked.value, checked.value_bounds)):
        if not same_value(a, b, bound.magnitude):
            checked.unstable.append(f"value[{i}]: {mpmath.nstr(a, 20)} at {working_digits} digits, "
                                    f"{mpmath.nstr(b, 20)} at {check_digits}")
    for name, values in checked.grads.items():
        compared: set[tuple[int, int]] = set()  # repeated units hold the very same objects
        for i, (a, b) in enumerate(zip(working.grads[name], values)):
            if (id(a), id(b)) in compared:
                continue
            compared.add((id(a), id(b)))
            if not same_value(a, b, checked.grad_bounds[name][i].magnitude):
                checked.unstable.append(f"grad {name}[{i}]: {mpmath.nstr(a, 20)} at {working_digits}"
                                        f" digits, {mpmath.nstr(b, 20)} at {check_digits}")
    return checked


def projected_loss(spec: LossSpec, tensors: Mapping[str, np.ndarray], options: Mapping[str, Any],
                   upstream: np.ndarray) -> mpmath.mpf:
    """⟨δ, L(tensors)⟩ at the current mpmath precision; tensors may hold mpf objects."""
    reference = evaluation(spec.structure, spec, tensors, options, upstream)(with_grads=False)
    return mpmath.fsum(a * b for a, b in zip(upstream_values(upstream), reference.value))


def projected_jvp(spec: LossSpec, tensors: Mapping[str, np.ndarray], options: Mapping[str, Any],
                  upstream: np.ndarray, tangents: Mapping[str, np.ndarray]) -> mpmath.mpf:
    """⟨δ, J·ṫ⟩ by forward mode: the derivation's JVP expressions, reduced like the loss.

    mean: d(Σl/D) = Σ l̇/D − (L/D)·Σ ḋ. ``tangents`` holds ṫ for every differentiable tensor
    (complex for a complex tensor).
    """
    prepared = prepare(spec, tensors, options)
    d, table = prepared.derivation, prepared.table
    reduction = options.get("reduction", "mean")
    forward = d.evaluator("forward")
    jvp = d.evaluator("jvp")
    delta = upstream_values(upstream)
    loss_dots, share_dots, losses, shares = [], [], [], []
    for u, args in zip(table.kept_units, prepared.unit_args):
        dots = [as_mpf(real_view(tangents[name])[position(table, name, u, slot)])
                for name, slot in d.wrt]
        loss_dot, share_dot = jvp(*args, *prepared.option_args, *dots)
        loss, share = forward(*args, *prepared.option_args)
        loss_dots.append(loss_dot)
        share_dots.append(share_dot)
        losses.append(loss)
        shares.append(share)
    if reduction == "none":
        return mpmath.fsum(delta[u] * dot for u, dot in zip(table.kept_units, loss_dots))
    if reduction == "sum":
        return delta[0] * mpmath.fsum(loss_dots)
    if reduction == "batchmean":
        return delta[0] * mpmath.fsum(loss_dots) / table.batch_size
    denominator = mpmath.fsum(shares)
    loss = mpmath.fsum(losses) / denominator
    return delta[0] * (mpmath.fsum(loss_dots) - loss * mpmath.fsum(share_dots)) / denominator


def second_order_magnitude(spec: LossSpec, tensors: Mapping[str, np.ndarray], options: Mapping[str, Any],
                           upstream: np.ndarray, w: Mapping[str, np.ndarray], v: Mapping[str, np.ndarray]
                           ) -> mpmath.mpf:
    """Σ_u |c_u|·M_u: the rounding magnitude of a double backward ⟨∂⟨vjp(δ), w⟩/∂x, v⟩, unit by unit, with
    c_u the reduction's coefficient (δ_u, δ, δ/D or δ/B); M_u from ``Derivation.second_order_magnitude``."""
    prepared = prepare(spec, tensors, options)
    d, table = prepared.derivation, prepared.table
    reduction = options.get("reduction", "mean")
    delta = upstream_values(upstream)
    if reduction == "mean":
        forward = d.evaluator("forward")
        divisor = abs(mpmath.fsum(forward(*args, *prepared.option_args)[1] for args in prepared.unit_args))
    else:
        divisor = mpmath.mpf(table.batch_size if reduction == "batchmean" else 1)
    evaluate = d.evaluator("second order")
    total = []
    for u, args in zip(table.kept_units, prepared.unit_args):
        directions = [as_mpf(real_view(t[name])[position(table, name, u, slot)]) for t in (w, v)
                      for name, slot in d.wrt]
        c = abs(delta[u] if reduction == "none" else divide(delta[0], divisor))
        total.append(c * evaluate(*args, *prepared.option_args, *directions)[0])
    return mpmath.fsum(total)


def gradient_at(spec: LossSpec, tensors: Mapping[str, np.ndarray], options: Mapping[str, Any],
                upstream: np.ndarray) -> dict[str, list[mpmath.mpf]]:
    """vjp(δ) at the current mpmath precision, w.r.t. every differentiable tensor; tensors may hold mpf objects."""
    prepared = prepare(spec, tensors, options)
    return reduce_units(prepared, options.get("reduction", "mean"), upstream, with_grads=True).grads
