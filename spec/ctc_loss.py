"""ctc_loss: l_n = −log Σ_{π ∈ B⁻¹(y_n), |π| = T_n} Π_t exp(x[t, n, π_t]);  mean = mean_n(l_n / max(S_n, 1)).

Connectionist temporal classification (Graves et al., ICML 2006). ``log_probs``
x is (T, N, C) (unbatched: (T, C)) of log-probabilities; sequence n uses its
first T_n = input_lengths[n] steps and the S_n = target_lengths[n] labels
y_n (``targets`` padded (N, S) or concatenated 1-D). B collapses a path by
merging repeats, then dropping ``blank``. The sum over paths is the forward
recursion over the extended label l' = (b, y_1, b, …, b, y_S, b), in log space:

    α_0(0) = x[0, b],  α_0(1) = x[0, y_1],  α_0(s) = −inf otherwise
    α_t(s) = lse(α_{t−1}(s), α_{t−1}(s−1), [l'_s ≠ b ∧ l'_s ≠ l'_{s−2}]·α_{t−1}(s−2)) + x[t, l'_s]
    l_n    = −lse(α_{T_n−1}(2S), α_{T_n−1}(2S−1))

and its gradient, with the backward recursion β (which also includes x[t, l'_s]),
is ∂l/∂x[t, k] = −γ_t(k), γ_t(k) = Σ_{s: l'_s = k} exp(α_t(s) + β_t(s) − x[t, k] + l)
for t < T_n (0 beyond). A target longer than its input allows (S + repeats > T_n)
has no path: l = inf (0, with gradient 0, under ``zero_infinity``). PyTorch's
backward returns exp(x) − γ instead of −γ: see the conventions below.
Reference: ``torch.nn.functional.ctc_loss``. TorchLean has no CTC.
"""

from __future__ import annotations

from typing import Any

from .core import (
    LOG_PROBABILITY_ROWS,
    ClassIndex,
    Convention,
    ForwardBackward,
    LossSpec,
    Option,
    SequenceLengths,
    Sequences,
    ShapeCase,
    TensorArg,
    Unit,
    reduction_option,
)

# ------------------------------------------------------------- recursion ---


def extended_labels(labels: list[int], blank: int) -> list[int]:
    """l' = (b, y_1, b, y_2, …, b, y_S, b), length 2S + 1."""
    extended = [blank]
    for label in labels:
        extended += [label, blank]
    return extended


def _skip_allowed(extended: list[int], s: int, blank: int) -> bool:
    """May a path jump from state s − 2 to s? Only onto a label differing from the one before the blank."""
    return s >= 2 and extended[s] != blank and extended[s] != extended[s - 2]


def _rows(u: Unit) -> tuple[list[list[Any]], list[int], int]:
    steps = int(u.input_lengths)
    return u.log_probs[:steps], extended_labels(list(u.targets), u.blank), steps


def _memo(function):
    """Compute ``function(u)`` once per unit (the loss, gradient and bounds share α, β and γ)."""

    def cached(u: Unit) -> Any:
        if function.__name__ not in u.memo:
            u.memo[function.__name__] = function(u)
        return u.memo[function.__name__]

    cached.__doc__ = function.__doc__
    cached.__name__ = function.__name__
    return cached


@_memo
def log_alpha(u: Unit) -> list[list[Any]]:
    """α_t(s) for t < T_n, s < 2S + 1, in log space (−inf where no path prefix reaches s)."""
    ops = u.ops
    x, extended, steps = _rows(u)
    states = len(extended)
    alpha = [[ops.neg_inf] * states for _ in range(steps)]
    for s in range(min(2, states) if steps else 0):
        alpha[0][s] = x[0][extended[s]]
    for t in range(1, steps):
        for s in range(states):
            sources = [alpha[t - 1][s]] + ([alpha[t - 1][s - 1]] if s >= 1 else [])
            if _skip_allowed(extended, s, u.blank):
                sources.append(alpha[t - 1][s - 2])
            alpha[t][s] = ops.lse(sources) + x[t][extended[s]]
    return alpha


@_memo
def log_beta(u: Unit) -> list[list[Any]]:
    """β_t(s): log-probability of finishing from state s at t, including x[t, l'_s]."""
    ops = u.ops
    x, extended, steps = _rows(u)
    states = len(extended)
    beta = [[ops.neg_inf] * states for _ in range(steps)]
    for s in range(max(states - 2, 0), states if steps else 0):
        beta[steps - 1][s] = x[steps - 1][extended[s]]
    for t in range(steps - 2, -1, -1):
        for s in range(states):
            sources = [beta[t + 1][s]] + ([beta[t + 1][s + 1]] if s + 1 < states else [])
            if s + 2 < states and _skip_allowed(extended, s + 2, u.blank):
                sources.append(beta[t + 1][s + 2])
            beta[t][s] = ops.lse(sources) + x[t][extended[s]]
    return beta


@_memo
def _raw_loss(u: Unit) -> Any:
    """−log p(y | x) from the forward recursion: +inf when no path exists.

    An input length of 0 has one (empty) path: l = 0 for an empty target, +inf otherwise.
    """
    alpha = log_alpha(u)
    if not alpha:
        return u.ops.zero if not len(u.targets) else -u.ops.neg_inf
    return -u.ops.lse(alpha[-1][-2:])


def loss(u: Unit) -> Any:
    """−log p(y_n | x_n); 0 in place of +inf under zero_infinity."""
    value = _raw_loss(u)
    if u.zero_infinity and value == -u.ops.neg_inf:
        return u.ops.zero
    return value


def denominator(u: Unit) -> Any:
    """Every sequence counts once: mean = Σ_n (l_n / max(S_n, 1)) / N."""
    return 1


def mean_scale(u: Unit) -> Any:
    """1 / max(S_n, 1): mean divides each sequence's loss by its target length first."""
    return u.ops.one / max(int(u.target_lengths), 1)


@_memo
def posterior(u: Unit) -> list[list[Any]]:
    """w_t(s) = exp(α_t(s) + β_t(s) − x[t, l'_s] + l): the share of p of the paths through s at t
    (Σ_s w_t(s) = 1); empty when no path exists."""
    ops = u.ops
    x, extended, steps = _rows(u)
    nll = _raw_loss(u)
    if nll == -ops.neg_inf:
        return []
    alpha, beta = log_alpha(u), log_beta(u)
    return [[ops.zero if alpha[t][s] == ops.neg_inf or beta[t][s] == ops.neg_inf
             else ops.exp(alpha[t][s] + beta[t][s] - x[t][label] + nll)
             for s, label in enumerate(extended)] for t in range(steps)]


@_memo
def occupation(u: Unit) -> list[list[Any]]:
    """γ_t(k) = Σ_{s: l'_s = k} w_t(s), T_n rows of C (all 0 when no path exists)."""
    ops = u.ops
    _, extended, steps = _rows(u)
    weights = posterior(u)
    if not weights:
        return [[ops.zero] * u.num_classes for _ in range(steps)]
    return [[ops.fsum(w for w, label in zip(row, extended) if label == k) for k in range(u.num_classes)]
            for row in weights]


def gradient(u: Unit) -> list[list[Any]]:
    """∂l/∂x[t, k] = −γ_t(k) for t < T_n, 0 for t ≥ T_n; 0 everywhere under zero_infinity when l = inf.

    An infeasible sequence without zero_infinity has l ≡ +inf near x: its
    derivative is 0 as well (the function is constant).
    """
    zero = u.ops.zero
    rows = [[-g for g in row] for row in occupation(u)]
    return rows + [[zero] * u.num_classes for _ in range(len(u.log_probs) - len(rows))]


def backward(u: Unit, grad: list[list[Any]]) -> list[list[Any]]:
    """PyTorch's backward: exp(x[t, k]) − γ_t(k) for t < T_n (the gradient through a log_softmax).

    Feasible sequences only; an infeasible one gives 0 with zero_infinity and
    NaN without it (PyTorch forms exp(x) − exp(−inf + inf)).
    """
    ops = u.ops
    steps = int(u.input_lengths)
    infeasible = _raw_loss(u) == -ops.neg_inf
    rows = []
    for t, row in enumerate(grad):
        if t >= steps or (infeasible and u.zero_infinity):
            rows.append(list(row))
        elif infeasible:
            rows.append([ops.nan] * len(row))
        else:
            rows.append([ops.exp(x) + g for x, g in zip(u.log_probs[t], row)])
    return rows


def forward_backward(u: Unit) -> ForwardBackward:
    """The unit's forward–backward lattice: the inputs x[t] read (t < T_n), the state → class map l',
    α, the posterior w, the occupation γ and −log p (the error model, ``derivations.forward_backward_bounds``,
    bounds the recursion's rounding from these)."""
    x, extended, _ = _rows(u)
    return ForwardBackward(x, extended, log_alpha(u), posterior(u), occupation(u), _raw_loss(u))


# ------------------------------------------------------------- domains ----
# Lengths and labels are drawn together (``losscheck.drawing.sample_sequences``): every sequence but an
# infeasible shape case's has a path.

LABEL = ClassIndex("label (not blank)", lo=0)
LENGTH = SequenceLengths("length", lo=0)
SHORT_LENGTHS = SequenceLengths("lengths, sequence 1 one step short of its target", lo=0, one_short=True)


# ------------------------------------------------------------------ spec ---


SPEC = LossSpec(
    name="ctc_loss",
    formula="l_n = −log Σ_{π: B(π) = y_n} Π_t exp(x[t, n, π_t]) (alpha recursion);  "
            "mean = mean_n(l_n / max(S_n, 1))",
    tensors=(
        TensorArg("log_probs", LOG_PROBABILITY_ROWS, differentiable=True,
                  doc="(T, N, C) or (T, C) log-probabilities, normalised over C"),
        TensorArg("targets", LABEL, differentiable=False, doc="(N, S) padded or concatenated 1-D labels"),
        TensorArg("input_lengths", LENGTH, differentiable=False, doc="(N,) steps used per sequence"),
        TensorArg("target_lengths", LENGTH, differentiable=False, doc="(N,) labels per sequence"),
    ),
    options=(
        Option("blank", 0, grid=(0, 3), doc="the blank label"),
        reduction_option(),
        Option("zero_infinity", False, grid=(False, True), choices=(False, True),
               doc="an infeasible sequence (l = inf) counts 0, with gradient 0"),
    ),
    structure=Sequences(
        sequence="log_probs",
        per_unit=("input_lengths", "target_lengths"),
        labels="targets",
        label_lengths="target_lengths",
        gradient=gradient,
        forward_backward=forward_backward,
        backward=backward,
        mean_scale=mean_scale,
    ),
    loss=loss,
    denominator=denominator,
    shape_cases=(
        ShapeCase("(T,N,C) padded", {"log_probs": (6, 3, 4), "targets": (3, 3), "input_lengths": (3,),
                                     "target_lengths": (3,)}),
        ShapeCase("(T,N,C) concatenated", {"log_probs": (5, 2, 4), "targets": (4,), "input_lengths": (2,),
                                           "target_lengths": (2,)}),
        ShapeCase("unbatched (T,C)", {"log_probs": (5, 4), "targets": (2,), "input_lengths": (),
                                      "target_lengths": ()}),
        ShapeCase("(T,N,C) long", {"log_probs": (12, 1, 4), "targets": (1, 4), "input_lengths": (1,),
                                   "target_lengths": (1,)}, skip_options=("blank", "zero_infinity")),
        ShapeCase("(T,N,C) infeasible", {"log_probs": (4, 2, 4), "targets": (2, 3), "input_lengths": (2,),
                                         "target_lengths": (2,)},
                  domains={"input_lengths": SHORT_LENGTHS}, skip_options=("blank",)),
    ),
    conventions=(
        Convention("backward through log_softmax",
                   "the log_probs gradient is exp(x) − γ, not the derivative −γ of the loss: the gradient "
                   "w.r.t. the logits of a log_softmax feeding normalised log_probs. The extra exp(x) is "
                   "orthogonal to every direction that keeps the rows normalised (Σ_k exp(x_k)·ẋ_k = 0), "
                   "so it is the derivative along normalised inputs only"),
        Convention("mean over target lengths", "mean = mean_n(l_n / max(S_n, 1)), not none.mean()"),
        Convention("infeasible target", "no alignment: l = inf, gradient NaN; with zero_infinity l = 0 and "
                   "gradient 0"),
        Convention("steps past the input length", "x[t, n, :] for t ≥ T_n is not read: gradient 0"),
    ),
    aliases={"optax": "ctc_loss"},
)
