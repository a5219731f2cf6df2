"""PyTorch's linear_cross_entropy, reference path and every chunked acc_policy, on wide vocabularies:
C = 32,000 and 262,144 classes, N = 8 rows of H = 16 features, float32 and bfloat16, judged element by
element against the policy's allowance (see ``wide_vocabulary``). Slow: the full tier (CI) runs it."""

from functools import cache

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from losscheck.conformance.pytorch_paths import ACC_POLICIES, chunked_linear_cross_entropy
from wide_vocabulary import reference, worst_ratio

ROWS, FEATURES = 8, 16
VOCABULARIES = (32_000, 262_144)
TARGETS = {"pytorch": F.linear_cross_entropy,
           **{f"chunked:{policy}": chunked_linear_cross_entropy(policy) for policy in ACC_POLICIES}}


@cache
def _case(classes: int, dtype: str):
    """Inputs rounded to ``dtype`` (N(0, 4) features, N(0, 1) weights and biases), targets, and the reference."""
    rng = np.random.default_rng([classes, 11])
    raw = (rng.standard_normal((ROWS, FEATURES)) * 2, rng.standard_normal((classes, FEATURES)),
           rng.standard_normal(classes))
    tensors = tuple(torch.tensor(v).to(getattr(torch, dtype)) for v in raw)
    target = rng.integers(0, classes, ROWS)
    return tensors, target, reference(*[t.double().numpy() for t in tensors], target, dtype)


def _ratios(impl, classes: int, dtype: str) -> dict[str, float]:
    tensors, target, exact = _case(classes, dtype)
    inputs = [t.clone().requires_grad_() for t in tensors]
    out = impl(inputs[0], inputs[1], torch.tensor(target), linear_bias=inputs[2])
    grads = torch.autograd.grad(out, inputs)
    got = dict(zip(exact, (out, *grads)))
    return {q: worst_ratio(got[q].detach().double().numpy(), *exact[q], dtype)[0] for q in exact}


@pytest.mark.slow
@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
@pytest.mark.parametrize("classes", VOCABULARIES)
def test_wide_vocabulary_conforms(classes, dtype, target):
    ratios = _ratios(TARGETS[target], classes, dtype)
    assert max(ratios.values()) <= 1, ratios


def _tail_dropped(input, linear_weight, target, *, linear_bias=None):
    """A kernel whose last class chunk (1,000 classes) never reaches the log-sum-exp."""
    logits = F.linear(input, linear_weight, linear_bias)
    tail = torch.zeros(logits.shape[-1], dtype=torch.bool)
    tail[-1000:] = True
    return F.cross_entropy(logits.masked_fill(tail, -torch.inf), target)


@pytest.mark.slow
@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_wide_vocabulary_check_flags_a_dropped_class_chunk(dtype):
    ratios = _ratios(_tail_dropped, VOCABULARIES[-1], dtype)
    assert ratios["grad linear_bias"] > 1 and ratios["grad linear_weight"] > 1, ratios
