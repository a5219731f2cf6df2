"""cross_entropy and nll_loss on wide class axes (C = 32,000 and 262,144, two rows), in every dtype, value and
input gradient, with and without weight=, judged element by element against exact row reductions
(``wide_class_axis``) under the tolerance policy. A tier of its own (marked slow: CI's full tier), not the
default run: see the README ("Wide class axes") for the measured cost."""

from functools import cache

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from losscheck.conformance.tolerance import DTYPES
from wide_class_axis import reference
from wide_vocabulary import worst_ratio

ROWS = 2
CLASSES = (32_000, 262_144)


@cache
def _case(classes: int, dtype: str, weighted: bool):
    """Logits N(0, 3²) with two planted near float16's overflow, targets, positive weights, all rounded."""
    rng = np.random.default_rng([classes, 7, weighted])
    raw = rng.standard_normal((ROWS, classes)) * 3
    raw[0, 5], raw[1, -1] = 30.0, -60.0
    x = torch.tensor(raw).to(getattr(torch, dtype))
    weight = torch.tensor(rng.uniform(0.25, 2.0, classes)).to(getattr(torch, dtype)) if weighted else None
    target = torch.tensor(rng.integers(0, classes, ROWS))
    return x, target, weight


def _ratios(loss: str, impl, classes: int, dtype: str, weighted: bool) -> dict[str, float]:
    x, target, weight = _case(classes, dtype, weighted)
    exact = reference(loss, x.double().numpy(), target.numpy(),
                      None if weight is None else weight.double().numpy(), dtype)
    leaf = x.clone().requires_grad_()
    out = impl(leaf, target, weight=weight)
    (grad,) = torch.autograd.grad(out, leaf)
    got = {"value": out, "grad input": grad}
    return {q: worst_ratio(got[q].detach().double().numpy(), *exact[q], dtype)[0] for q in exact}


def _log_softmax_first(input, target, weight=None):
    return F.nll_loss(F.log_softmax(input, dim=1), target, weight=weight)


@pytest.mark.slow
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("classes", CLASSES)
@pytest.mark.parametrize("loss", ["cross_entropy", "nll_loss"])
def test_pytorch_conforms_on_a_wide_class_axis(loss, classes, dtype, weighted):
    ratios = _ratios(loss, getattr(F, loss), classes, dtype, weighted)
    assert max(ratios.values()) <= 1, ratios


def _blockwise_lse_drops_the_remainder(input, target, weight=None):
    """A blockwise log-sum-exp over 4096-class blocks whose loop runs C // 4096 times: past C ≥ 4096 the last
    partial block (32,000 = 7·4096 + 3,328) never reaches the sum."""
    whole = input.shape[1] // 4096 * 4096
    lse = torch.logsumexp(input[:, :whole], dim=1) if whole else torch.logsumexp(input, dim=1)
    picked = input.gather(1, target[:, None])[:, 0]
    w = torch.ones(input.shape[1], dtype=input.dtype) if weight is None else weight
    return ((lse - picked) * w[target]).sum() / w[target].sum()


@pytest.mark.slow
@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_a_blockwise_log_sum_exp_that_drops_its_last_block_is_flagged(dtype):
    ratios = _ratios("cross_entropy", _blockwise_lse_drops_the_remainder, CLASSES[0], dtype, False)
    assert max(ratios.values()) > 1, ratios  # flagged: its gradient, and in float32 its value too
