"""The pieces the slice-structured specs add: planted rows, label lists, whole-tensor units,
and Piecewise branches that divide."""

import mpmath
import numpy as np
import sympy as sp
from losscheck.derivations.evaluators import make_mpmath
from losscheck.derivations.units import split_units
from losscheck.spec import get_spec
from losscheck.spec.core import REAL, planted_rows
from losscheck.spec.multilabel_margin_loss import LabelLists, label_counts


def test_label_counts_stop_at_the_first_negative_and_count_duplicates():
    assert label_counts(np.array([3, 3, -1, 0])).tolist() == [0, 0, 0, 2]
    assert label_counts(np.array([-1, 1, 2, 3])).tolist() == [0, 0, 0, 0]
    assert label_counts(np.array([1, 0, 1, 2])).tolist() == [1, 2, 1, 0]


def test_label_lists_plant_a_full_and_an_empty_row():
    rows = LabelLists("labels", lo=-1).sample_classes(np.random.default_rng(0), (3, 4), 4)
    assert sum(bool((row >= 0).all()) for row in rows) >= 1
    assert sum(row[0] == -1 for row in rows) >= 1
    assert rows.min() >= -1 and rows.max() < 4


def test_planted_rows_replace_a_whole_row_and_leave_one_row_drawn():
    domain = planted_rows(REAL, "real, a zero row", (0.0,))
    batch = domain.sample(np.random.default_rng(1), (4, 3))
    assert sum(not row.any() for row in batch) == 1
    single = domain.sample(np.random.default_rng(1), (3,))
    assert single.all()


def test_whole_tensor_slice_is_one_unit_over_flat_positions():
    spec = get_spec("cosine_similarity_loss")
    tensors = {"input": np.arange(6.0).reshape(2, 3), "target": np.ones((2, 3))}
    table = split_units(spec, tensors, {"eps": 1e-6})
    assert table.out_shape == () and table.num_classes == 6
    assert table.positions["input"].tolist() == [list(range(6))]


def test_a_dividing_branch_is_not_evaluated_where_it_is_not_taken():
    """1/p, common to two branches taken only for p > 0, must not be hoisted and evaluated at p = 0."""
    p = sp.Symbol("p", real=True)
    outputs = [sp.Piecewise((0, p <= 0), (1 / p, True)), sp.Piecewise((1, p <= 0), (3 / p + 1, True))]
    evaluate = make_mpmath([p], outputs)
    assert list(evaluate(mpmath.mpf(0))) == [0, 1]
    assert list(evaluate(mpmath.mpf(2))) == [0.5, 2.5]
