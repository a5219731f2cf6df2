"""multilabel_margin_loss: l_n = Σ_{j∈J} Σ_{i∉set(J)} max(0, 1 − (x[y_j] − x[i])) / C.

Input (N, C) or unbatched (C,); target of the input's shape holds integer
labels, and J is the labels before the first −1 (a duplicate label counts
twice; labels after the −1 are ignored). The unit reads the label row as
per-class counts k_c, so l_n = Σ_c k_c·Σ_{i: k_i = 0} max(0, 1 − x_c + x_i) / C.
mean is over the rows N. Gradients w.r.t. input only.
Reference: ``torch.nn.functional.multilabel_margin_loss``.
"""

from typing import Any

import sympy as sp

from .core import (
    REAL,
    Convention,
    LabelLists,
    LossSpec,
    ShapeCase,
    Slices,
    TensorArg,
    Unit,
    planted_rows,
    reduction_option,
)


def label_counts(row: Any) -> list[int]:
    """k_c: how often class c occurs among the labels before the first negative one."""
    counts = [0] * len(row)
    for label in row:
        if label < 0:
            break
        counts[int(label)] += 1
    return counts


def hinge(z):
    """max(0, z), active only where z > 0 (PyTorch's forward and backward test z > 0)."""
    return sp.Piecewise((z, z > 0), (0, True))


def loss(u: Unit):
    """Σ_c k_c·Σ_i [k_i = 0]·hinge(1 − x_c + x_i) / C."""
    outside = [sp.Piecewise((1, sp.Eq(k, 0)), (0, True)) for k in u.target]
    terms = [k * o * hinge(1 - x_c + x_i)
             for k, x_c in zip(u.target, u.input) for o, x_i in zip(outside, u.input)]
    return sp.Add(*terms) / u.num_classes


# One row of every batched input is a ladder of step 0.5: some x[y_j] − x[i] is exactly 1.
_INPUT = planted_rows(REAL, "real, one row a ladder of step 0.5", (0.0, 0.5, 1.0, 1.5))


def denominator(u: Unit):
    """mean is over rows."""
    return sp.Integer(1)


SPEC = LossSpec(
    name="multilabel_margin_loss",
    formula="l_n = Σ_{j∈J} Σ_{i∉set(J)} max(0, 1 − (x[y_j] − x[i])) / C;  J = labels before the first −1",
    tensors=(
        TensorArg("input", _INPUT, differentiable=True, doc="scores (N, C) or (C,)"),
        TensorArg("target", LabelLists("label list", lo=-1), differentiable=False,
                  doc="int labels, input's shape, ended by −1"),
    ),
    options=(reduction_option(),),
    structure=Slices(sliced=("input",), axis=-1, encode={"target": label_counts}),
    loss=loss,
    denominator=denominator,
    shape_cases=(
        ShapeCase("(N,C)", {"input": (3, 4), "target": (3, 4)}),
        ShapeCase("(N,C), C = 3", {"input": (4, 3), "target": (4, 3)}),
        ShapeCase("unbatched (C,)", {"input": (4,), "target": (4,)}),
    ),
    conventions=(
        Convention("label list", "labels are read up to the first −1; later entries are ignored"),
        Convention("duplicate labels", "a label listed twice counts twice in the outer sum; the inner sum "
                   "runs over classes not in the set"),
        Convention("hinge kink", "at x[y_j] − x[i] = 1 exactly the hinge is inactive: value 0, gradient 0", kink=True),
        Convention("class average", "each row's sum is divided by C"),
        Convention("row mean", "mean divides by the number of rows N"),
    ),
)
