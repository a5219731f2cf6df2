"""What the oracle returns: the exact value and gradients of one case (``Reference``), each quantity with
the error scales (``Bound``) the tolerance policy reads, and their exact encoding for the on-disk cache.

The encoding keeps every number's binary value (an mpf's sign, mantissa, exponent and bit count), so a
decoded Reference is the very one that was encoded.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

import mpmath
from mpmath.libmp import MPZ


@dataclass(frozen=True)
class Bound:
    """The error scales of one quantity: M (rounding magnitude), A (underflow magnitude), P (peak),
    and how close its units are to a kink.

    The tolerance policy allows about u·M + η·A (see ``losscheck.derivations.magnitude``); P is
    the largest intermediate of the per-unit formula (no reduction sum), past which a dtype
    may overflow. ``slack`` is the least |z|/M(z) over the branch arguments z ≠ 0 of the units
    it reads, and ``at_kink`` says whether one of them is exactly 0 (``derivations.kinks``).
    ``count`` terms are summed into the quantity, their magnitudes adding up to ``summands`` (S):
    the summation error the policy allows grows with them. ``undefined`` marks a gradient taken
    through a mean whose denominator is 0 (every selected weight 0): the value is NaN or ±inf and
    is held to that, but its derivative is not defined (PyTorch gives NaN where δ/0 meets the unit's
    local derivative and 0 elsewhere for nll_loss, NaN everywhere for cross_entropy).
    """

    magnitude: mpmath.mpf
    underflow: mpmath.mpf
    peak: mpmath.mpf = field(default_factory=lambda: mpmath.mpf(0))
    slack: mpmath.mpf = field(default_factory=lambda: mpmath.inf)
    at_kink: bool = False
    summands: mpmath.mpf = field(default_factory=lambda: mpmath.mpf(0))
    count: int = 1
    undefined: bool = False

    @staticmethod
    def zero() -> Bound:
        return Bound(mpmath.mpf(0), mpmath.mpf(0))

    @staticmethod
    def sum(bounds: Sequence[Bound]) -> Bound:
        return Bound(mpmath.fsum(b.magnitude for b in bounds), mpmath.fsum(b.underflow for b in bounds),
                     max((b.peak for b in bounds), default=mpmath.mpf(0)),
                     min((b.slack for b in bounds), default=mpmath.inf), any(b.at_kink for b in bounds),
                     mpmath.fsum(b.summands for b in bounds), sum(b.count for b in bounds),
                     any(b.undefined for b in bounds))


_NO_BOUND = Bound.zero()  # the Bound of every quantity of a pass that only confirms values


@dataclass
class Reference:
    """Exact value and gradients of one case, flattened in C order.

    ``value`` has the output's shape (``shape``); ``grads[name]`` the shape of
    tensor ``name``. Each quantity has a Bound the tolerance policy scales by;
    ``unit_total`` is the units' exact sum Σ l_u before any division. ``math_grads`` holds the derivative
    of the math where the spec states a backward convention that differs from
    it (``grads`` is then the convention); None otherwise.
    """

    shape: tuple[int, ...]
    value: list[mpmath.mpf]
    value_bounds: list[Bound]
    grads: dict[str, list[mpmath.mpf]]
    grad_bounds: dict[str, list[Bound]]
    unit_total: mpmath.mpf
    unstable: list[str] = field(default_factory=list)
    math_grads: dict[str, list[mpmath.mpf]] | None = None

    def encode(self) -> bytes:
        """Exact bytes of this Reference: every mpf's binary value (sign, mantissa, exponent, bit count), and
        Python ints (a generated evaluator's constant 0) as ints. Numbers and Bounds go into tables, each
        object once (the cycled rows of a large reduction share theirs); TypeError for any other kind of
        number."""
        numbers: list = []
        number_at: dict[int, int] = {}  # by id: the objects live as long as self
        bounds: list[list] = []
        bound_at: dict[int, int] = {}

        def number(x: mpmath.mpf | int) -> int:
            at = number_at.get(id(x))
            if at is None:
                if isinstance(x, mpmath.mpf):
                    sign, mantissa, exponent, bits = x._mpf_
                    numbers.append([sign, f"{int(mantissa):x}", exponent, bits])
                elif type(x) is int:
                    numbers.append(x)
                else:
                    raise TypeError(f"cannot encode {type(x).__name__} {x!r} exactly")
                at = number_at[id(x)] = len(numbers) - 1
            return at

        def bound(b: Bound) -> int:
            at = bound_at.get(id(b))
            if at is None:
                bounds.append([number(b.magnitude), number(b.underflow), number(b.peak), number(b.slack),
                               b.at_kink, number(b.summands), b.count, b.undefined])
                at = bound_at[id(b)] = len(bounds) - 1
            return at

        document = {
            "shape": list(self.shape),
            "value": [number(v) for v in self.value],
            "value_bounds": [bound(b) for b in self.value_bounds],
            "grads": {n: [number(v) for v in g] for n, g in self.grads.items()},
            "grad_bounds": {n: [bound(b) for b in g] for n, g in self.grad_bounds.items()},
            "unit_total": number(self.unit_total),
            "unstable": self.unstable,
            "math_grads": None if self.math_grads is None else {n: [number(v) for v in g]
                                                                for n, g in self.math_grads.items()},
        }
        document["numbers"], document["bounds"] = numbers, bounds
        return json.dumps(document, separators=(",", ":")).encode()

    @staticmethod
    def decode(data: bytes) -> Reference:
        """The Reference ``encode`` wrote, with the very same mpf values."""
        document = json.loads(data)
        numbers = [n if isinstance(n, int) else mpmath.mp.make_mpf((n[0], MPZ(int(n[1], 16)), n[2], n[3]))
                   for n in document["numbers"]]
        bounds = [Bound(numbers[m], numbers[a], numbers[p], numbers[slack], at_kink, numbers[summands], count,
                        undefined)
                  for m, a, p, slack, at_kink, summands, count, undefined in document["bounds"]]
        math_grads = document["math_grads"]
        return Reference(
            shape=tuple(document["shape"]),
            value=[numbers[i] for i in document["value"]],
            value_bounds=[bounds[i] for i in document["value_bounds"]],
            grads={n: [numbers[i] for i in g] for n, g in document["grads"].items()},
            grad_bounds={n: [bounds[i] for i in g] for n, g in document["grad_bounds"].items()},
            unit_total=numbers[document["unit_total"]],
            unstable=document["unstable"],
            math_grads=None if math_grads is None else {n: [numbers[i] for i in g] for n, g in math_grads.items()},
        )
