"""The pieces the slice-structured specs add: planted rows, label lists, whole-tensor units,
shared tensors, and Piecewise branches that divide."""

import mpmath
import numpy as np
import sympy as sp
from losscheck.conformance.oracle import exact_reference
from losscheck.derivations.evaluators import make_mpmath
from losscheck.derivations.units import split_units
from losscheck.drawing import sample, sample_classes
from losscheck.spec import get_spec
from losscheck.spec.core import (
    CLASS_INDEX,
    REAL,
    LabelLists,
    LossSpec,
    Option,
    ShapeCase,
    Slices,
    TensorArg,
    planted_rows,
)
from losscheck.spec.multilabel_margin_loss import label_counts


def test_label_counts_stop_at_the_first_negative_and_count_duplicates():
    assert label_counts(np.array([3, 3, -1, 0])) == [0, 0, 0, 2]
    assert label_counts(np.array([-1, 1, 2, 3])) == [0, 0, 0, 0]
    assert label_counts(np.array([1, 0, 1, 2])) == [1, 2, 1, 0]


def test_the_spec_package_is_math_only():
    """spec/ imports no NumPy, torch or mpmath: drawing lives in losscheck.drawing, evaluation in derivations."""
    import ast
    from pathlib import Path

    import losscheck.spec

    for source in Path(losscheck.spec.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            names = ([node.module or ""] if isinstance(node, ast.ImportFrom)
                     else [a.name for a in node.names] if isinstance(node, ast.Import) else [])
            assert not any(n.split(".")[0] in ("numpy", "torch", "mpmath") for n in names), (source.name, names)


def test_label_lists_plant_a_full_and_an_empty_row():
    rows = sample_classes(LabelLists("labels", lo=-1), np.random.default_rng(0), (3, 4), 4)
    assert sum(bool((row >= 0).all()) for row in rows) >= 1
    assert sum(row[0] == -1 for row in rows) >= 1
    assert rows.min() >= -1 and rows.max() < 4


def test_planted_rows_replace_a_whole_row_and_leave_one_row_drawn():
    domain = planted_rows(REAL, "real, a zero row", (0.0,))
    batch = sample(domain, np.random.default_rng(1), (4, 3))
    assert sum(not row.any() for row in batch) == 1
    single = sample(domain, np.random.default_rng(1), (3,))
    assert single.all()


def test_whole_tensor_slice_is_one_unit_over_flat_positions():
    spec = get_spec("cosine_similarity_loss")
    tensors = {"input": np.arange(6.0).reshape(2, 3), "target": np.ones((2, 3))}
    table = split_units(spec, tensors, {"eps": 1e-6})
    assert table.out_shape == () and table.num_classes == 6
    assert table.positions["input"].tolist() == [list(range(6))]


def _selected_score(u):
    """l_n = Σ_v y_v·(Σ_h W[v, h]·x_h + b_v): the score of the target's row, W read row-major."""
    h = len(u.input)
    scores = [sum(w * x for w, x in zip(u.weight[v * h:(v + 1) * h], u.input)) + u.bias[v]
              for v in range(u.num_classes)]
    return sum(y * z for y, z in zip(u.target, scores))


SHARED = LossSpec(
    name="selected_score", formula="Σ_v y_v·(W·x + b)_v",
    tensors=(TensorArg("input", REAL, True), TensorArg("weight", REAL, True), TensorArg("target", CLASS_INDEX, False),
             TensorArg("bias", REAL, True, optional=True, absent=0)),
    options=(Option("ignore_index", -100, grid=(-100,), in_formula=False),
             Option("reduction", "sum", grid=("sum",), in_formula=False)),
    structure=Slices(sliced=("input",), index_target="target", per_class=("bias",), shared=("weight",),
                     classes=("weight", 0)),
    loss=_selected_score, denominator=lambda u: u.keep,
    shape_cases=(ShapeCase("(N,H)", {"input": (3, 2), "weight": (4, 2), "target": (3,), "bias": (4,)}),),
)


def test_a_shared_tensor_is_read_whole_by_every_unit_and_its_gradient_sums_over_units():
    rng = np.random.default_rng(4)
    x, w, b = rng.standard_normal((3, 2)), rng.standard_normal((4, 2)), rng.standard_normal(4)
    target = np.array([2, 1, 2])
    options = {"ignore_index": 1, "reduction": "sum"}
    table = split_units(SHARED, {"input": x, "weight": w, "target": target}, options)
    assert table.num_classes == 4 and table.values["target"].shape == (3, 4)
    assert table.positions["weight"].tolist() == [list(range(8))] * 3
    assert table.kept.tolist() == [True, False, True]

    onehot = np.eye(4)[target] * table.kept[:, None]  # ignored rows contribute nothing
    without = exact_reference(SHARED, {"input": x, "weight": w, "target": target}, options, np.array(1.5))
    with_bias = exact_reference(SHARED, {"input": x, "weight": w, "target": target, "bias": b}, options,
                                np.array(1.5))
    scores = np.einsum("vh,nh->nv", w, x)
    np.testing.assert_allclose(float(without.value[0]), (onehot * scores).sum(), rtol=1e-14)  # absent bias is 0
    np.testing.assert_allclose(float(with_bias.value[0]), (onehot * (scores + b)).sum(), rtol=1e-14)
    grads = {name: np.array([float(g) for g in values]) for name, values in with_bias.grads.items()}
    np.testing.assert_allclose(grads["weight"], 1.5 * (onehot.T @ x).reshape(-1), rtol=1e-14)
    np.testing.assert_allclose(grads["bias"], 1.5 * onehot.sum(axis=0), rtol=1e-14)
    np.testing.assert_allclose(grads["input"], 1.5 * (onehot @ w).reshape(-1), rtol=1e-14)


def test_a_dividing_branch_is_not_evaluated_where_it_is_not_taken():
    """1/p, common to two branches taken only for p > 0, must not be hoisted and evaluated at p = 0."""
    p = sp.Symbol("p", real=True)
    outputs = [sp.Piecewise((0, p <= 0), (1 / p, True)), sp.Piecewise((1, p <= 0), (3 / p + 1, True))]
    evaluate = make_mpmath([p], outputs)
    assert list(evaluate(mpmath.mpf(0))) == [0, 1]
    assert list(evaluate(mpmath.mpf(2))) == [0.5, 2.5]


def test_gathered_tensors_give_each_position_its_own_weight_slab():
    """linear_cross_entropy's K-dim layout by brute force: unit (n, s1, s2) reads input row n, W[:, s1, s2, :]
    and b[:, s1, s2], its class-index target t[n, s1, s2] or probability row y[n, :, s1, s2]."""
    from losscheck.conformance.cases import batch_tensors

    spec = get_spec("linear_cross_entropy")
    rng = np.random.default_rng(3)
    n, c, d1, d2, h = 2, 4, 3, 2, 5
    x, w, b = rng.standard_normal((n, h)), rng.standard_normal((c, d1, d2, h)), rng.standard_normal((c, d1, d2))
    index = rng.integers(0, c, (n, d1, d2))
    probs = rng.uniform(size=(n, c, d1, d2))
    for target in (index, probs):
        tensors = {"input": x, "linear_weight": w, "target": target, "linear_bias": b}
        table = split_units(spec, tensors, {"ignore_index": None})
        assert table.out_shape == (n, d1, d2) and table.num_classes == c
        assert table.index_target == (target is index)
        for u, (i, s1, s2) in enumerate(np.ndindex(n, d1, d2)):
            assert table.values["input"][u].tolist() == x[i].tolist()
            assert table.values["linear_weight"][u].tolist() == w[:, s1, s2, :].reshape(-1).tolist()
            assert table.values["linear_bias"][u].tolist() == b[:, s1, s2].tolist()
            expected = np.eye(c)[index[i, s1, s2]] if target is index else probs[i, :, s1, s2]
            assert table.values["target"][u].tolist() == expected.tolist()
            where = table.positions["linear_weight"][u]
            assert w.reshape(-1)[where].tolist() == w[:, s1, s2, :].reshape(-1).tolist()
    unbatched = split_units(spec, {"input": x[0], "linear_weight": w[:, 0, 0], "target": np.array(1)},
                            {"ignore_index": 1})
    assert unbatched.out_shape == () and unbatched.kept.tolist() == [False]
    assert split_units(spec, {"input": x, "linear_weight": w[:, 0, 0], "target": index[:, 0, 0]},
                       {"ignore_index": None}).kept.all()  # None is -100: nothing ignored
    case = next(sc for sc in spec.shape_cases if sc.name.startswith("index K-dim"))
    assert batch_tensors(spec, case) == ("input", "target")  # the weight and bias have no batch dim
