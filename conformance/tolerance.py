"""The tolerance policy: per-dtype constants (data) and one function that uses them.

An implementation's result q for an exact value v with rounding magnitude M
(see ``losscheck.derivations.magnitude``) over a reduction of n units passes when

    |q − v| ≤ rounding_ulps·ulp(v) + condition·(u·M + η·A) + accumulation·g(n)·(u·S + η·A)

with g(n) = n − 1 or log2(n) per dtype (see DtypeTolerance), n the number of
terms a reduction adds into this value and S the sum of their magnitudes.

u is the dtype's unit roundoff 2^-p, η half its smallest subnormal, ulp(v)
its spacing at v (subnormal spacing below the smallest normal), and A the
underflow magnitude, which carries the absolute error of intermediates that
fall into the subnormal range (it matters in float16 only). The first term is the final rounding
plus a few correctly rounded operations; the second is what a backward-stable
evaluation of the formula can lose through cancellation and conditioning;
the third is summation error, which grows with the number of terms summed
(Higham §4.2: Σ_k |partial sum_k| ≤ (n − 1)·Σ|terms|), charged on the terms'
magnitudes S, not on their conditioning M.
Special values never get a tolerance: NaN must meet NaN and ±inf the same
±inf, and a finite v that rounds past the dtype's largest value expects ±inf.

The error model behind M, A and P (derived per algorithm class, never fitted to a seed):

* Each operation rounds once in the dtype: fl(a ∘ b) = (a ∘ b)(1 + δ) + η', |δ| ≤ u, |η'| ≤ η, which
  holds for float16 and bfloat16 as PyTorch's CPU kernels evaluate them too (float32 arithmetic, one
  rounding to the half type per operation). M propagates the δ terms, A the η' terms.
* A result may land below the dtype's normal range at any operation, not only the last. A counts every
  operation of the forward formula (``underflow_magnitude``) and, for a gradient, every adjoint the
  backward forms: the adjoint c·∂l/∂v of each forward operation v is multiplied down to the input s,
  so one that rounds into the subnormal range reaches the gradient as η·|∂v/∂s| (``adjoint_underflow``;
  PyTorch's float16 cosine_embedding_loss at c = 2^-12 forms c·∂l/∂p for the radicand p of its root far
  below float16's smallest normal). Where every adjoint is normal, |c·∂l/∂v| ≥ 2^e_min and η = u·2^e_min,
  so each such term is at most u·|c·∂l/∂v·∂v/∂s|: one more rounding of a path M already charges.
* Products are formed before a scale: the upstream c is multiplied in first (A is not scaled down by
  |c| < 1), a kernel may multiply a gradient's factors in any order and forms the radicand of a root
  of a product (P counts both, past which no claim is made).
* A reduction's value reads every unit: a gradient term that reads a mean L (the −δ·L/Σw·∂d/∂s of a
  weighted mean) carries L's whole error, u·M(L) and L's summation over its N units, not u·|L|.
"""

from __future__ import annotations

import functools
import math
from dataclasses import asdict, dataclass
from typing import Any

import mpmath
import torch


@dataclass(frozen=True)
class DtypeFormat:
    """Precision p (bits, with the implicit one), smallest normal exponent, largest value."""

    precision: int
    min_exponent: int
    max_value: float

    @property
    def unit_roundoff(self) -> mpmath.mpf:
        return mpmath.ldexp(1, -self.precision)

    @property
    def underflow_unit(self) -> mpmath.mpf:
        """η: half the smallest subnormal, the absolute error of rounding into the subnormal range."""
        return mpmath.ldexp(1, self.min_exponent - self.precision)


DTYPES = ("float64", "float32", "float16", "bfloat16")


def _format(dtype: str) -> DtypeFormat:
    info = torch.finfo(getattr(torch, dtype))
    return DtypeFormat(1 - int(math.log2(info.eps)), int(math.log2(info.tiny)), info.max)


FORMATS = {dtype: _format(dtype) for dtype in DTYPES}


@dataclass(frozen=True)
class DtypeTolerance:
    """``growth`` is how summation error grows with the reduction size n: ``linear`` (n − 1, the
    deterministic bound γ_{n−1} of recursive summation in the working precision, Higham §4.2: float32
    and float64 kernels sum in their own type, and the gate's large batches cycle a few rows, so their
    rounding errors repeat rather than cancel as a √n rule assumes: PyTorch's float64 GEMM for
    fused_linear_cross_entropy's weight gradient over 4097 rows errs by 1.1× a √n allowance at seed 1)
    or ``log2`` (half types, which PyTorch accumulates in float32, so only a pairwise-like log2(n) is
    allowed and a float16 accumulator stands out). ``second_order`` scales the
    allowance of double-backward (HVP) claims, whose rounding magnitude is not derived
    symbolically; 0 means such claims are not judged in this dtype."""

    rounding_ulps: float
    condition: float
    accumulation: float
    growth: str
    second_order: float


TOLERANCES = {
    "float64": DtypeTolerance(rounding_ulps=4, condition=4, accumulation=1, growth="linear", second_order=1024),
    "float32": DtypeTolerance(rounding_ulps=4, condition=4, accumulation=1, growth="linear", second_order=1024),
    "float16": DtypeTolerance(rounding_ulps=4, condition=4, accumulation=1, growth="log2", second_order=0),
    "bfloat16": DtypeTolerance(rounding_ulps=4, condition=4, accumulation=1, growth="log2", second_order=0),
}


def ulp(value: mpmath.mpf, dtype: str) -> mpmath.mpf:
    """Spacing of ``dtype`` at the exact ``value`` (not at a rounded one)."""
    fmt = FORMATS[dtype]
    exponent = fmt.min_exponent
    if value != 0 and mpmath.isfinite(value):
        _, binary_exponent = mpmath.frexp(value)  # |value| = m·2^e with m in [0.5, 1), exactly
        exponent = max(int(binary_exponent) - 1, fmt.min_exponent)
    return mpmath.ldexp(1, exponent - fmt.precision + 1)


@functools.cache
def overflow_threshold(dtype: str) -> mpmath.mpf:
    """The least |value| that round-to-nearest sends to ±inf in ``dtype``: max + ulp(max)/2, exactly."""
    with mpmath.workprec(64):
        largest = mpmath.mpf(FORMATS[dtype].max_value)
        return largest + ulp(largest, dtype) / 2


def overflows(value: mpmath.mpf, dtype: str) -> bool:
    """True when round-to-nearest sends the finite ``value`` to ±inf in ``dtype``."""
    return abs(value) >= overflow_threshold(dtype)


def allowed_error(dtype: str, exact: mpmath.mpf, magnitude: mpmath.mpf, underflow: mpmath.mpf,
                  count: int = 1, summands: mpmath.mpf | None = None, scale: float = 1.0) -> mpmath.mpf:
    """The largest |got − exact| the policy accepts (see the module docstring): ``count`` terms summed,
    whose absolute values add up to ``summands`` (default: ``magnitude``)."""
    tol = TOLERANCES[dtype]
    fmt = FORMATS[dtype]
    n = max(count, 1)
    growth = (n - 1) if tol.growth == "linear" else math.log2(n)
    summed = magnitude if summands is None else summands
    return scale * (tol.rounding_ulps * ulp(exact, dtype)
                    + tol.condition * (fmt.unit_roundoff * magnitude + fmt.underflow_unit * underflow)
                    + tol.accumulation * growth * (fmt.unit_roundoff * summed + fmt.underflow_unit * underflow))


def branch_ambiguous(dtype: str, slack: mpmath.mpf) -> bool:
    """Could a correct kernel take the other branch of a kink? True when a branch argument z ≠ 0 lies
    within the policy's error of evaluating it, |z| ≤ (2·rounding_ulps + condition)·u·M(z) (the policy
    with ulp(z) ≤ 2u·|z| ≤ 2u·M(z)); ``slack`` is |z|/M(z). A derivative there carries no claim."""
    tol = TOLERANCES[dtype]
    return slack <= (2 * tol.rounding_ulps + tol.condition) * FORMATS[dtype].unit_roundoff


def withheld(bound: Any, exact: mpmath.mpf, dtype: str, derivative: bool) -> str:
    """Why the policy makes no claim on one element ('' when it makes one). ``bound`` is the element's
    ``oracle.Bound``. No claim where an intermediate of the per-unit formula overflows the dtype (its
    peak), nor on a derivative through a mean whose denominator is 0 (its NaN value is held), nor on a
    derivative within rounding of a kink (``branch_ambiguous``). Nothing the implementation returned
    enters this decision."""
    if mpmath.isfinite(bound.peak) and overflows(bound.peak, dtype) and mpmath.isfinite(exact):
        return "an intermediate overflows"
    if derivative and bound.undefined:
        return "derivative of a 0/0 mean"
    if derivative and branch_ambiguous(dtype, bound.slack):
        return "within rounding of a kink"
    return ""


def describe_policy() -> dict:
    """The policy as data, for reports."""
    return {
        "formula": "|got - exact| <= rounding_ulps*ulp(exact) + condition*(u*M + eta*A) "
                   "+ accumulation*g(n)*(u*S + eta*A), n terms summed with magnitudes adding to S, "
                   "g(n) = n - 1 or log2(n) per dtype; HVP claims: the same with S = M, times second_order",
        "branch_ambiguity": "derivatives carry no claim where a branch argument z != 0 of a unit has "
                            "|z| <= (2*rounding_ulps + condition)*u*M(z): a correct kernel may take the other branch",
        "tolerances": {dtype: asdict(t) for dtype, t in TOLERANCES.items()},
        "unit_roundoff": {dtype: f"2^-{f.precision}" for dtype, f in FORMATS.items()},
        "underflow_unit": {dtype: f"2^{f.min_exponent - f.precision}" for dtype, f in FORMATS.items()},
    }


def policy_line() -> str:
    """The policy in one line: the formula and each dtype's constants."""
    constants = "; ".join(f"{dtype} {t.rounding_ulps:g}/{t.condition:g}/{t.accumulation:g}/{t.growth}/"
                          f"{t.second_order:g}" for dtype, t in TOLERANCES.items())
    return (f"{describe_policy()['formula']}, rounding_ulps/condition/accumulation/g/second_order = {constants}; "
            "no claim where an intermediate of the per-unit formula overflows the dtype, nor on a derivative "
            "where a branch argument z != 0 has |z| <= (2*rounding_ulps + condition)*u*M(z); elsewhere "
            "non-finite values must match the exact value's")
