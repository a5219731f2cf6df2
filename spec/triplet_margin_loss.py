"""triplet_margin_loss: l = max(0, margin + d(a, p) − d_neg), d(u, v) = ‖u − v + eps‖_p.

The distance runs over the last dim, with ``eps`` added to every element of
the difference (so d(u, u) = eps·D^(1/p)); d_neg = d(a, n), or with ``swap``
min(d(a, n), d(p, n)) (Balntas et al., "Learning local feature descriptors
with triplets and shallow convolutional neural networks", BMVC 2016).
Anchor, positive and negative are (N, D), or unbatched (D,), all with the same
number of dims; the output of ``none`` is (N,) or (); mean is over rows.
Gradients w.r.t. all three. PyTorch raises for margin ≤ 0. It accepts any
real p (p = 0 counts non-zeros, p < 1 is no norm, inf is the max); the spec
models p ∈ {1, 2, 3} (a fractional p < 2 has an unbounded gradient error at a zero element).
Reference: ``torch.nn.functional.triplet_margin_loss``.
"""

from typing import Any

import sympy as sp

from .core import REAL, Convention, Lattice, LossSpec, Option, ShapeCase, Slices, TensorArg, Unit, reduction_option
from .functions import pnorm


def distance(u: list, v: list, p: Any, eps: Any) -> sp.Expr:
    """‖u − v + eps‖_p = (Σ_i |u_i − v_i + eps|^p)^(1/p); its gradient is 0 where u − v + eps = 0."""
    return pnorm(sp.nsimplify(p), *[a - b + eps for a, b in zip(u, v)])


def smaller(x: sp.Expr, y: sp.Expr) -> sp.Expr:
    """min(x, y), with the gradient split ½–½ at a tie (torch.minimum's backward)."""
    return sp.Piecewise((x, x < y), (y, y < x), ((x + y) / 2, True))


def triplet(positive_distance: sp.Expr, negative_distance: sp.Expr, swap_distance: sp.Expr | None,
            margin: Any) -> sp.Expr:
    """max(0, margin + d(a, p) − d_neg), d_neg = d(a, n) or min(d(a, n), d(p, n)); active at 0.

    The hinge's condition z ≥ 0 is written on the distances themselves (z ≥ 0 iff margin + d(a, p)
    exceeds one of the negative distances), never on the Piecewise minimum.
    """
    negatives = [negative_distance] if swap_distance is None else [negative_distance, swap_distance]
    negative = negatives[0] if swap_distance is None else smaller(negative_distance, swap_distance)
    active = sp.Or(*[margin + positive_distance - d >= 0 for d in negatives])
    return sp.Piecewise((margin + positive_distance - negative, active), (0, True))


def loss(u: Unit) -> sp.Expr:
    """triplet() of the p-norm distances."""
    swap = distance(u.positive, u.negative, u.p, u.eps) if u.swap else None
    return triplet(distance(u.anchor, u.positive, u.p, u.eps), distance(u.anchor, u.negative, u.p, u.eps),
                   swap, u.margin)


def denominator(u: Unit) -> sp.Expr:
    """mean is over rows."""
    return sp.Integer(1)


def _lattice(name: str, *rows: tuple[float, ...]) -> Lattice:
    """Multiples of 0.5 in [-1, 1] whose leading rows are fixed, the same rows in anchor, positive and negative:
    a = p gives a zero difference (at eps = 0) and a swap tie d(a, n) = d(p, n) at every eps."""
    return Lattice(f"{name}: multiples of 0.5 in [-1, 1], leading rows fixed", -1.0, 1.0, step=0.5, leading_rows=rows)


# Row 0: a = p, n elsewhere (a swap tie). Row 1: a = p = 0, n = (1, 0): d(a, n) = 1 for every p, so at
# eps = 0 and margin 1 the hinge sits exactly on its kink. The other rows repeat by chance on so small a lattice.
KINK_ANCHOR = _lattice("anchor", (0.5, 0.5), (0.0, 0.0))
KINK_POSITIVE = _lattice("positive", (0.5, 0.5), (0.0, 0.0))
KINK_NEGATIVE = _lattice("negative", (1.0, 0.5), (1.0, 0.0))

TENSORS = (
    TensorArg("anchor", REAL, differentiable=True, doc="embeddings (N, D) or (D,)"),
    TensorArg("positive", REAL, differentiable=True, doc="embeddings, the anchor's shape"),
    TensorArg("negative", REAL, differentiable=True, doc="embeddings, the anchor's shape"),
)
STRUCTURE = Slices(sliced=("anchor", "positive", "negative"), axis=-1)
MARGIN = Option("margin", 1.0, grid=(1.0, 0.5, 2.0), interval=(0.0, float("inf")), closed=(False, False),
                doc="the gap the negative must be farther by (PyTorch raises for margin ≤ 0)")
SWAP = Option("swap", False, grid=(False, True), choices=(False, True),
              doc="use min(d(a, n), d(p, n)) as the negative distance")
# eps 1e-6 is left out on the lattice: it turns the lattice's exact ties into ties broken by ~1e-6,
# below float16's and bfloat16's resolution at 0.5, where a min or hinge branch flips in any kernel.
KINK_DOMAINS = {"anchor": KINK_ANCHOR, "positive": KINK_POSITIVE, "negative": KINK_NEGATIVE}
SHARED_CONVENTIONS = (
    Convention("hinge kink", "at margin + d(a, p) − d_neg = 0 the hinge is active: value 0, the linear "
               "piece's gradient (clamp_min passes the gradient at equality)", kink=True),
    Convention("swap tie", "at d(a, n) = d(p, n) the gradient of the minimum is split ½–½ (torch.minimum)", kink=True),
    Convention("row mean", "mean divides by the number of rows N"),
    Convention("same ndim", "anchor, positive and negative must have the same number of dims"),
)

SPEC = LossSpec(
    name="triplet_margin_loss",
    formula="l = max(0, margin + d(a, p) − d_neg);  d(u, v) = ‖u − v + eps‖_p over the last dim, "
            "d_neg = d(a, n), or min(d(a, n), d(p, n)) with swap;  mean over rows",
    tensors=TENSORS,
    options=(
        MARGIN,
        Option("p", 2, grid=(2, 1, 3), choices=(1, 2, 3), doc="the norm's degree"),
        Option("eps", 1e-6, grid=(1e-6, 0.0, 0.1), interval=(0.0, float("inf")), closed=(True, False),
               doc="added to every element of each difference"),
        SWAP,
        reduction_option(),
    ),
    structure=STRUCTURE,
    loss=loss,
    denominator=denominator,
    shape_cases=(
        ShapeCase("(N,D)", {"anchor": (4, 3), "positive": (4, 3), "negative": (4, 3)}, skip_options=("margin", "eps")),
        ShapeCase("unbatched (D,)", {"anchor": (3,), "positive": (3,), "negative": (3,)},
                  skip_options=("p", "eps")),
        ShapeCase("kinks: lattice, a = p rows", {"anchor": (6, 2), "positive": (6, 2), "negative": (6, 2)},
                  domains=KINK_DOMAINS, skip_options=("margin", "reduction"), grids={"eps": (0.0, 0.1)}),
    ),
    conventions=(
        Convention("eps in the difference", "eps is added to every element of u − v before the norm, not to the "
                   "norm: d(u, u) = eps·D^(1/p), and d(u, v) ≠ d(v, u) for eps ≠ 0"),
        Convention("norm gradient at 0", "where u − v + eps is the zero vector the norm's gradient is 0, for "
                   "every p; for p = 1 an element of 0 gets sign(0) = 0"),
        *SHARED_CONVENTIONS,
    ),
)
