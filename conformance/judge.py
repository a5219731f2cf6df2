"""The judge: an observation against the exact reference, under the tolerance policy.

It reads only what a worker reported (``driver.Observation``) and what the parent computed
itself (the reference, the tangents it chose, the digests of the inputs it sent). No allowance
depends on what the implementation returned: the tolerance comes from the reference's bounds,
and a known deviation explains a failure only where its entry says.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import mpmath
import numpy as np

from ..spec import LossSpec
from .cases import COMPLEX_DTYPES, Case
from .compare import Comparison, compare
from .deviations import find_known, find_known_claim, find_known_shape
from .driver import Raised, Returned
from .extra_checks import hvp_claim, jvp_claim
from .oracle import Reference
from .results import QuantityResult, Status
from .tolerance import branch_ambiguous, ulp


@dataclass
class Trial:
    """One case in one dtype as the judge sees it: exact inputs, reference, and how to make a result."""

    spec: LossSpec
    case: Case
    dtype: str
    tensors: dict[str, np.ndarray]
    upstream: np.ndarray
    reference: Reference
    wrt: list[str]
    ledgers: Sequence[str]
    make: Callable[..., QuantityResult]


def _format(value: Any) -> str:
    """17 significant digits of an exact value (enough to tell float64 neighbours apart), whatever
    precision mpmath's global context happens to hold: a report must not depend on it."""
    if value is None:
        return ""
    if isinstance(value, (mpmath.mpf, mpmath.mpc, float, int)):
        return mpmath.nstr(value, 17)
    return str(value)


def judge_elements(trial: Trial, quantity: str, exact: Sequence, bounds: Sequence, got: np.ndarray) -> QuantityResult:
    """Compare element by element, then look failures up among the target's known deviations.

    A known deviation's elements are left out of the reported error figures, so the rest of the
    tensor's accuracy stays visible.
    """
    derivative = quantity != "value"
    comparison = compare(exact, bounds, got, trial.dtype, derivative=derivative)
    status, message = Status.PASS, ""
    if not comparison.ok:
        known = find_known(trial.case, quantity, trial.dtype, trial.tensors, trial.reference, comparison.failing, got,
                           trial.ledgers)
        status = Status.KNOWN if known else Status.FAIL
        message = f"known deviation {known}" if known else (
            f"{len(comparison.failing)} of {got.size} elements outside tolerance" + _convention_note(trial, comparison))
        if known:
            comparison = compare(exact, bounds, got, trial.dtype, skip=set(comparison.failing), derivative=derivative)
    return trial.make(quantity, status, worst_ulps=comparison.worst_ulps, worst_relative=comparison.worst_relative,
                      worst_ratio=comparison.worst_ratio, worst_index=comparison.worst_index,
                      expected=_format(comparison.worst_exact), got=_format(comparison.worst_got), message=message)


def _convention_note(trial: Trial, comparison: Comparison) -> str:
    """Names a failure at an exact kink a convention mismatch, with the conventions the spec states."""
    if not comparison.at_kink:
        return ""
    at_kinks = [c for c in trial.spec.conventions if c.kink]
    stated = "; ".join(f"{c.name}: {c.text}" for c in at_kinks) or "none stated at kinks"
    return (f"; convention mismatch at a kink: {len(comparison.at_kink)} of them read a unit exactly on a kink "
            f"(a branch argument is 0), where the spec states PyTorch's convention ({stated})")


def returned_problem(got: Returned, dtype: str, device: str, shape: tuple[int, ...], what: str) -> str:
    """Why a returned tensor cannot be judged ('' if its type, dtype, device and shape are right)."""
    if not got.is_tensor:
        return f"{what} is {got.dtype}, not a tensor"
    if got.dtype != dtype:
        return f"{what} dtype {got.dtype}, expected {dtype}"
    if got.device != device.split(":")[0]:
        return f"{what} on {got.device}, expected {device}"
    if got.shape != shape:
        return f"{what} shape {got.shape}, expected {shape}"
    return ""


def judge_value(trial: Trial, output: Returned, known_shape: str = "") -> QuantityResult:
    """The output, already of the right dtype, device and shape (``returned_problem``), element by element.

    ``known_shape``: the id of a known deviation that explains the output's wrong shape; its elements
    are judged all the same, and the shape's deviation is named with theirs."""
    result = judge_elements(trial, "value", trial.reference.value, trial.reference.value_bounds, output.values)
    if not known_shape or result.status == Status.FAIL:
        return result
    known = ", ".join([known_shape, *([result.message.removeprefix("known deviation ")] if result.message else [])])
    return replace(result, status=Status.KNOWN, message=f"known deviation {known}")


def judge_gradient(trial: Trial, name: str, grad: Returned | None, device: str) -> QuantityResult:
    """``None``: not connected to the output, i.e. a zero gradient, judged as such."""
    quantity = f"grad {name}"
    values = trial.tensors[name]
    complex_input = values.dtype.kind == "c"
    if grad is None:
        got = np.zeros(values.shape + ((2,) if complex_input else ()))
    else:
        expected_dtype = COMPLEX_DTYPES.get(trial.dtype, "complex128") if complex_input else trial.dtype
        problem = returned_problem(grad, expected_dtype, device, tuple(values.shape), "gradient")
        if problem:
            return trial.make(quantity, Status.FAIL, message=problem)
        got = grad.values
    return judge_elements(trial, quantity, trial.reference.grads[name], trial.reference.grad_bounds[name], got)


def judge_scalar(trial: Trial, quantity: str, exact: Any, got: Any, allowed: Any) -> QuantityResult:
    """A projected claim (jvp, hvp): |got − exact| ≤ allowed, special values exactly."""
    shown = f"projection {mpmath.nstr(got, 12)} against exact {mpmath.nstr(exact, 12)}"
    expected, returned = _format(exact), _format(got)
    projection = float(got)  # what the target showed: a known deviation must show exactly that
    if not (mpmath.isfinite(got) and mpmath.isfinite(exact)):  # special values must match exactly
        same = (mpmath.isnan(got) and mpmath.isnan(exact)) or got == exact
        exact, got, allowed = mpmath.mpf(1), mpmath.mpf(1 if same else "inf"), mpmath.mpf(1)
    error = abs(got - exact)
    ratio = float(error / allowed) if allowed else (0.0 if error == 0 else float("inf"))
    ulps = float(error / ulp(exact, trial.dtype))
    relative = float(error / abs(exact)) if exact else 0.0
    status, message = Status.PASS, ""
    if not error <= allowed:
        known = find_known_claim(trial.case, quantity, trial.dtype, trial.reference, relative, trial.ledgers,
                                 got=projection)
        status = Status.KNOWN if known else Status.FAIL
        message = f"known deviation {known}" if known else f"{shown}, allowed ±{mpmath.nstr(allowed, 3)}"
    return trial.make(quantity, status, worst_ulps=ulps, worst_relative=relative, worst_ratio=ratio,
                      worst_index=0, expected=expected, got=returned, message=message)


def judge_jvp(trial: Trial, tangent: Returned, tangents: dict[str, np.ndarray], device: str) -> QuantityResult | None:
    if any(branch_ambiguous(trial.dtype, b.slack) for n in trial.wrt for b in trial.reference.grad_bounds[n]):
        return None  # within rounding of a kink a correct kernel may take either branch (tolerance.withheld)
    if any(mpmath.isnan(v) for v in trial.reference.value):
        return None  # a NaN loss (an all-ignored mean, 0/0) has no derivative to hold a tangent to
    problem = returned_problem(tangent, trial.dtype, device, trial.reference.shape, "output tangent")
    if problem and not (tangent.is_tensor and find_known_shape(trial.case, trial.dtype, trial.reference, tangent.shape,
                                                               trial.ledgers)):
        return trial.make("jvp", Status.FAIL, message=problem)
    exact, projected, allowed = jvp_claim(trial.reference, trial.upstream, tangents, tangent.values, trial.dtype,
                                          max(sum(t.size for t in tangents.values()), 1))
    return judge_scalar(trial, "jvp", exact, projected, allowed)


def judge_hvp(trial: Trial, products: dict[str, Returned | None], w: dict[str, np.ndarray],
              v: dict[str, np.ndarray], device: str) -> QuantityResult | None:
    got = {}
    for name in trial.wrt:
        h = products.get(name)
        if h is None:
            got[name] = np.zeros(trial.tensors[name].shape)
            continue
        problem = returned_problem(h, trial.dtype, device, tuple(trial.tensors[name].shape), "double backward")
        if problem:
            return trial.make("hvp", Status.FAIL, message=problem)
        got[name] = h.values
    claim = hvp_claim(trial.spec, trial.tensors, trial.case.options, trial.upstream, w, v, got, trial.dtype,
                      max(sum(t.size for t in w.values()), 1))
    if claim is None:  # not smooth at this point: no second-order claim
        return None
    return judge_scalar(trial, "hvp", *claim)


def judge_repeat(trial: Trial, first: Returned, repeat: tuple[Returned | Raised, Returned | Raised],
                 repeat_grads: tuple[list[str], list[str]] | Raised | None) -> QuantityResult:
    """``twice``: a second call gives the first call's bits; two more backward passes agree bit for bit."""
    second, third = repeat
    problem = ""
    for again in (second, third):
        if isinstance(again, Raised):
            problem = f"a repeated call raised {again}"
            break
    if not problem and second.digest != first.digest:
        problem = "a second call on the same inputs returned a different value"
    elif not problem and isinstance(repeat_grads, Raised):
        problem = f"a repeated backward raised {repeat_grads}"
    elif not problem and repeat_grads is not None and repeat_grads[0] != repeat_grads[1]:
        problem = "two backward passes on the same inputs gave different gradients"
    return trial.make("twice", Status.FAIL if problem else Status.PASS, message=problem)
