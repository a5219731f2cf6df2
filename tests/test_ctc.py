"""ctc_loss against independent truth.

* the spec's alpha recursion (the oracle's loss) against brute force over every
  path of length T over C symbols that collapses to the target;
* its alpha-beta gradient against the brute-force gradient, finite
  differences, and ``sympy.diff`` of the recursion unrolled into one SymPy
  expression (the SymPy backend);
* PyTorch's backward convention exp(x) − γ: what it is, and that it is the
  derivative along normalised log-probabilities (through a log_softmax);
* zero_infinity, the mean over target lengths, and the target layouts.
"""

import itertools
import warnings

import mpmath
import numpy as np
import pytest
import sympy as sp
import torch
import torch.nn.functional as F
from losscheck.conformance.api import check
from losscheck.conformance.oracle import exact_reference
from losscheck.derivations.recursion import FLOAT64, MPMATH, SYMPY
from losscheck.spec import get_spec
from losscheck.spec.core import Unit

SPEC = get_spec("ctc_loss")
STRUCTURE = SPEC.structure


def make_unit(rows, labels, blank, ops=MPMATH, steps=None, zero_infinity=False):
    tensors = {"log_probs": rows, "targets": list(labels), "input_lengths": steps or len(rows),
               "target_lengths": len(labels)}
    options = {"blank": blank, "zero_infinity": zero_infinity, "reduction": "none"}
    return Unit(tensors, options, num_classes=len(rows[0]), ops=ops)


def collapse(path, blank):
    """B(π): merge repeats, then drop blanks."""
    merged = [k for i, k in enumerate(path) if i == 0 or k != path[i - 1]]
    return [k for k in merged if k != blank]


def brute_force(rows, labels, blank, steps):
    """−log Σ_π P(π) over all C^steps paths with B(π) = labels, and −Σ_{π: π_t = k} P(π)/p."""
    classes = len(rows[0])
    weights = {}
    for path in itertools.product(range(classes), repeat=steps):
        if collapse(path, blank) == list(labels):
            weights[path] = mpmath.exp(mpmath.fsum(rows[t][k] for t, k in enumerate(path)))
    total = mpmath.fsum(weights.values())
    if total == 0:
        return mpmath.inf, None
    grad = [[-mpmath.fsum(w for path, w in weights.items() if t < steps and path[t] == k) / total
             for k in range(classes)] for t in range(len(rows))]
    return -mpmath.log(total), grad


def random_rows(seed, steps, classes, normalised=False):
    rng = np.random.default_rng(seed)
    values = rng.standard_normal((steps, classes)) * 1.5
    if normalised:
        values = torch.tensor(values).log_softmax(-1).numpy()
    return [[mpmath.mpf(float(v)) for v in row] for row in values]


# (T, C, labels, blank, steps used): zero-length targets, repeats, blank = C − 1, short inputs, infeasible
TINY = [
    (1, 2, [], 0, 1),
    (1, 2, [1], 0, 1),
    (3, 2, [], 1, 3),
    (2, 3, [1, 1], 0, 2),  # infeasible: a repeat needs a blank between
    (3, 3, [1, 1], 0, 3),
    (4, 3, [0, 1], 2, 4),
    (4, 3, [0, 0], 2, 4),
    (4, 4, [3, 3], 0, 3),  # the last step is past the input length
    (5, 3, [2, 1, 2], 0, 5),
    (5, 3, [2], 1, 4),
    (6, 2, [1, 1, 1], 0, 6),
    (3, 3, [1, 2, 1], 0, 3),
    (4, 3, [1, 2, 1], 0, 4),
]


@pytest.mark.parametrize("steps_total, classes, labels, blank, steps", TINY)
def test_recursion_and_gradient_equal_brute_force(steps_total, classes, labels, blank, steps):
    with mpmath.workdps(50):
        rows = random_rows(steps_total * 31 + classes, steps_total, classes)
        unit = make_unit(rows, labels, blank, steps=steps)
        exact_loss, exact_grad = brute_force(rows, labels, blank, steps)
        loss = SPEC.loss(unit)
        if exact_grad is None:
            assert loss == mpmath.inf
            assert all(g == 0 for row in STRUCTURE.gradient(unit) for g in row)
            return
        assert mpmath.almosteq(loss, exact_loss, rel_eps=mpmath.mpf(10) ** -40)
        for got_row, exact_row in zip(STRUCTURE.gradient(unit), exact_grad):
            for got, exact in zip(got_row, exact_row):
                assert mpmath.almosteq(got, exact, rel_eps=mpmath.mpf(10) ** -40, abs_eps=mpmath.mpf(10) ** -45)


@pytest.mark.parametrize("case", [c for c in TINY if c[0] >= 3], ids=str)
def test_gradient_equals_finite_differences(case):
    steps_total, classes, labels, blank, steps = case
    with mpmath.workdps(50):
        rows = random_rows(7 + steps_total, steps_total, classes)
        rng = np.random.default_rng(1)
        direction = [[mpmath.mpf(float(v)) for v in row] for row in rng.uniform(-1, 1, (steps_total, classes))]
        unit = make_unit(rows, labels, blank, steps=steps)
        if SPEC.loss(unit) == mpmath.inf:
            pytest.skip("infeasible: the loss is +inf everywhere near x")

        def along(h):
            moved = [[x + h * d for x, d in zip(r, dr)] for r, dr in zip(rows, direction)]
            return SPEC.loss(make_unit(moved, labels, blank, steps=steps))

        projected = mpmath.fsum(g * d for gr, dr in zip(STRUCTURE.gradient(unit), direction)
                                for g, d in zip(gr, dr))
        assert mpmath.almosteq(mpmath.diff(along, 0), projected, rel_eps=mpmath.mpf(10) ** -30)


def test_sympy_unrolling_matches_the_recursion_and_its_gradient():
    """The recursion on SymPy symbols is one closed expression; sympy.diff of it is the spec's gradient."""
    steps, classes, labels, blank = 4, 3, [1, 2], 0
    symbols = [list(sp.symbols(f"x_{t}_0:{classes}", real=True)) for t in range(steps)]
    expression = SPEC.loss(make_unit(symbols, labels, blank, ops=SYMPY))
    rows = random_rows(3, steps, classes)
    at = {s: sp.Rational(float(v)) for row_s, row_v in zip(symbols, rows) for s, v in zip(row_s, row_v)}
    with mpmath.workdps(50):
        unit = make_unit(rows, labels, blank)
        assert mpmath.almosteq(mpmath.mpf(str(expression.evalf(45, subs=at))), SPEC.loss(unit),
                               rel_eps=mpmath.mpf(10) ** -35)
        for row_s, row_g in zip(symbols, STRUCTURE.gradient(unit)):
            for symbol, grad in zip(row_s, row_g):
                derivative = mpmath.mpf(str(sp.diff(expression, symbol).evalf(45, subs=at)))
                assert mpmath.almosteq(derivative, grad, rel_eps=mpmath.mpf(10) ** -35, abs_eps=mpmath.mpf(10) ** -40)


def test_float64_backend_matches_mpmath():
    rows = random_rows(5, 5, 3)
    exact = SPEC.loss(make_unit(rows, [1, 1], 0))
    fast = SPEC.loss(make_unit([[float(v) for v in r] for r in rows], [1, 1], 0, ops=FLOAT64))
    assert abs(fast - float(exact)) <= 1e-13 * abs(float(exact))


def _torch_sum_grad(rows, labels, blank, steps):
    x = torch.tensor([[float(v) for v in r] for r in rows], dtype=torch.float64).requires_grad_()
    out = F.ctc_loss(x, torch.tensor(labels), torch.tensor(steps), torch.tensor(len(labels)), blank=blank,
                     reduction="sum")
    (grad,) = torch.autograd.grad(out, x)
    return out.item(), grad.numpy()


@pytest.mark.parametrize("normalised", [True, False])
def test_pytorch_backward_is_exp_minus_gamma(normalised):
    """PyTorch's log_probs gradient is exp(x) − γ: the math derivative −γ plus exp(x), normalised or not."""
    rows = random_rows(11, 5, 4, normalised=normalised)
    labels, blank, steps = [1, 1, 3], 0, 5
    value, grad = _torch_sum_grad(rows, labels, blank, steps)
    exact_loss, exact_grad = brute_force(rows, labels, blank, steps)
    assert value == pytest.approx(float(exact_loss), rel=1e-13)
    expected = np.array([[float(mpmath.exp(x) + g) for x, g in zip(r, gr)] for r, gr in zip(rows, exact_grad)])
    np.testing.assert_allclose(grad, expected, rtol=1e-12, atol=1e-14)
    math_grad = np.array([[float(g) for g in gr] for gr in exact_grad])
    assert np.abs(grad - math_grad).max() > 0.05  # not the derivative w.r.t. log_probs


def test_convention_is_the_derivative_through_log_softmax():
    """d/dh L(log_softmax(z + h·ż)) = ⟨exp(x) − γ, ż⟩ at x = log_softmax(z): the convention is exact there."""
    steps, classes, labels, blank = 5, 4, [2, 2, 1], 3
    rng = np.random.default_rng(4)
    logits = [[mpmath.mpf(float(v)) for v in row] for row in rng.standard_normal((steps, classes))]
    direction = [[mpmath.mpf(float(v)) for v in row] for row in rng.uniform(-1, 1, (steps, classes))]
    with mpmath.workdps(50):
        def log_softmax(rows):
            return [[v - MPMATH.lse(row) for v in row] for row in rows]

        def along(h):
            moved = [[z + h * d for z, d in zip(r, dr)] for r, dr in zip(logits, direction)]
            return SPEC.loss(make_unit(log_softmax(moved), labels, blank))

        unit = make_unit(log_softmax(logits), labels, blank)
        convention = STRUCTURE.backward(unit, STRUCTURE.gradient(unit))
        projected = mpmath.fsum(g * d for gr, dr in zip(convention, direction) for g, d in zip(gr, dr))
        assert mpmath.almosteq(mpmath.diff(along, 0), projected, rel_eps=mpmath.mpf(10) ** -30)


def _batch(reduction, zero_infinity, seed=2):
    rng = np.random.default_rng(seed)
    log_probs = torch.tensor(rng.standard_normal((4, 3, 4))).log_softmax(-1).numpy()
    tensors = {"log_probs": log_probs, "targets": np.array([[1, 2, 2], [3, 1, 1], [1, 1, 1]]),
               "input_lengths": np.array([4, 4, 3]), "target_lengths": np.array([2, 0, 3])}  # sequence 2 is infeasible
    options = {"blank": 0, "reduction": reduction, "zero_infinity": zero_infinity}
    return tensors, options


def _torch(tensors, options, upstream):
    x = torch.tensor(tensors["log_probs"]).requires_grad_()
    out = F.ctc_loss(x, *(torch.tensor(tensors[n]) for n in ("targets", "input_lengths", "target_lengths")),
                     **options)
    (grad,) = torch.autograd.grad(out, x, torch.tensor(upstream))
    return out.detach().numpy(), grad.numpy()


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("zero_infinity", [False, True])
def test_infeasible_target_and_zero_infinity_follow_pytorch(reduction, zero_infinity):
    """l = inf and NaN gradient rows (t < T_n) for an infeasible target; 0 and 0 with zero_infinity."""
    tensors, options = _batch(reduction, zero_infinity)
    upstream = np.array([0.5, -1.25, 2.0]) if reduction == "none" else np.array(0.75)
    reference = exact_reference(SPEC, tensors, options, upstream)
    value, grad = _torch(tensors, options, upstream)
    ours_value = np.array([float(v) for v in reference.value]).reshape(value.shape)
    ours_grad = np.array([float(v) for v in reference.grads["log_probs"]]).reshape(grad.shape)
    np.testing.assert_allclose(ours_value, value, rtol=1e-12)
    np.testing.assert_allclose(ours_grad, grad, rtol=1e-11, atol=1e-14)
    infeasible = ours_grad[:3, 2]
    assert (infeasible == 0).all() if zero_infinity else np.isnan(infeasible).all()
    assert (ours_grad[3, 2] == 0).all()  # past sequence 2's input length
    if reduction == "none":
        assert ours_value[2] == (0 if zero_infinity else np.inf)


@pytest.mark.parametrize("zero_infinity", [False, True])
def test_zero_input_length_follows_pytorch(zero_infinity):
    """T_n = 0: the empty path gives l = 0 for an empty target, inf otherwise; the gradient is 0 either way."""
    log_probs = torch.tensor(np.random.default_rng(6).standard_normal((3, 2, 3))).log_softmax(-1).numpy()
    tensors = {"log_probs": log_probs, "targets": np.array([[1], [2]]), "input_lengths": np.array([0, 0]),
               "target_lengths": np.array([0, 1])}
    options = {"blank": 0, "reduction": "none", "zero_infinity": zero_infinity}
    upstream = np.array([1.5, -0.5])
    reference = exact_reference(SPEC, tensors, options, upstream)
    value, grad = _torch(tensors, options, upstream)
    assert [float(v) for v in reference.value] == value.tolist() == [0.0, 0.0 if zero_infinity else np.inf]
    assert [float(v) for v in reference.grads["log_probs"]] == grad.reshape(-1).tolist() == [0.0] * grad.size


def test_mean_divides_each_loss_by_its_target_length():
    """mean = mean_n(l_n / max(S_n, 1)), not none.mean(); a zero-length target divides by 1."""
    tensors, _ = _batch("none", True)
    none = exact_reference(SPEC, tensors, {"blank": 0, "reduction": "none", "zero_infinity": True},
                           np.ones(3)).value
    mean = exact_reference(SPEC, tensors, {"blank": 0, "reduction": "mean", "zero_infinity": True},
                           np.array(1.0)).value[0]
    with mpmath.workdps(70):
        assert mpmath.almosteq(mean, (none[0] / 2 + none[1] / 1 + none[2] / 3) / 3, rel_eps=mpmath.mpf(10) ** -60)
    assert not mpmath.almosteq(mean, mpmath.fsum(none) / 3, rel_eps=1e-3)


def test_target_layouts_agree():
    """Padded (N, S) and concatenated 1-D targets are the same loss; PyTorch takes lengths as tensors or tuples."""
    tensors, options = _batch("none", True)
    concatenated = dict(tensors, targets=np.array([1, 2, 1, 1, 1]))
    padded = exact_reference(SPEC, tensors, options, np.ones(3)).value
    assert exact_reference(SPEC, concatenated, options, np.ones(3)).value == padded
    x = torch.tensor(tensors["log_probs"])
    as_tuples = F.ctc_loss(x, torch.tensor(tensors["targets"]), (4, 4, 3), (2, 0, 3), reduction="none",
                           zero_infinity=True)
    np.testing.assert_allclose(as_tuples.numpy(), [float(v) for v in padded], rtol=1e-12)


def test_half_precision_is_reported_unsupported():
    """PyTorch raises NotImplementedError "ctc_loss_cpu" not implemented for 'Half' / 'BFloat16'."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = check("ctc_loss", dtypes=["float16", "bfloat16"])
    assert result.ok
    assert {r.status for r in result.results} == {"unsupported"}
