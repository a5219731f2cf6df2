"""PyTorch's other paths of a loss, each checked as an implementation of the loss's spec.

``torch.nn.functional.linear_cross_entropy`` has a chunked kernel besides its reference path
(``options=None``, i.e. ``cross_entropy(linear(input, W, b), target, ...)``): with
``options=torch.nn.LinearCrossEntropyOptions(acc_policy=...)`` it never materialises the (N, C)
logits, and accumulates them under one of the accumulation policies below. It serves index targets
with ``label_smoothing=0`` and a (C, H) weight; any other call falls back to the reference path
with a UserWarning, which this wrapper silences (the fallback is PyTorch's documented behaviour and
the reference path is checked in its own rows).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

ACC_POLICIES = ("accurate", "balanced", "compact", "auto")
"""``LinearCrossEntropyOptions.acc_policy`` values; ``auto`` resolves per (device, dtype) at call time."""

FALLBACK_WARNING = r"linear_cross_entropy: ``options`` ignored"


def chunked_linear_cross_entropy(acc_policy: str) -> Callable[..., Any]:
    """``F.linear_cross_entropy`` with ``options=LinearCrossEntropyOptions(acc_policy=acc_policy)``."""
    import torch

    options = torch.nn.LinearCrossEntropyOptions(acc_policy=acc_policy)

    def linear_cross_entropy(input: Any, linear_weight: Any, target: Any, *, linear_bias: Any = None,
                             weight: Any = None, reduction: str = "mean", ignore_index: int | None = None,
                             label_smoothing: float = 0.0) -> Any:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=FALLBACK_WARNING, category=UserWarning)
            return torch.nn.functional.linear_cross_entropy(
                input, linear_weight, target, linear_bias=linear_bias, weight=weight, reduction=reduction,
                ignore_index=ignore_index, label_smoothing=label_smoothing, options=options)

    linear_cross_entropy.__qualname__ = f"linear_cross_entropy[chunked:{acc_policy}]"
    return linear_cross_entropy
