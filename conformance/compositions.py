"""PyTorch reference implementations for specs with no single ``torch.nn.functional`` function.

TorchLean's spec-layer losses (log-cosh, SVM hinge, whole-tensor cosine
similarity, ...) and fused kernels are checked against a composition of
PyTorch ops that computes the same thing. Each entry takes the loss's
signature (required tensors by position, optional tensors and options by
keyword), like a ``torch.nn.functional`` loss.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

COMPOSITIONS: dict[str, Callable[..., Any]] = {}


# elem
def _reduce(loss: torch.Tensor, reduction: str) -> torch.Tensor:
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return {"none": loss, "mean": loss.mean(), "sum": loss.sum()}[reduction]


def log_cosh_loss(input: torch.Tensor, target: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """log cosh(d), d = x − t, without overflow or cancellation.

    |d| < 10: log1p(2·sinh(d/2)²) (cosh d − 1 = 2 sinh²(d/2), exact near 0, gradient tanh d);
    else |d| + log1p(exp(−2|d|)) − log 2. The small branch reads d masked to 0 elsewhere, so
    its gradient is never inf·0. The naive log(cosh(d)) overflows for |d| > 89 in float32.
    """
    d = input - target
    small = d.abs() < 10
    inner = torch.where(small, d, torch.zeros_like(d))
    near = torch.log1p(2 * torch.sinh(inner / 2) ** 2)
    far = d.abs() + torch.log1p(torch.exp(-2 * d.abs())) - math.log(2)
    return _reduce(torch.where(small, near, far), reduction)


def hinge_loss(input: torch.Tensor, target: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """The SVM hinge max(0, 1 − y·x), via clamp_min (gradient of the linear piece at y·x = 1)."""
    return _reduce(torch.clamp_min(1 - target * input, 0), reduction)


COMPOSITIONS["log_cosh_loss"] = log_cosh_loss
COMPOSITIONS["hinge_loss"] = hinge_loss
# slice
def _clamped_norm(x: Any, eps: float) -> Any:
    """‖x‖ over every element if it exceeds eps, else eps (no gradient through the clamped branch)."""
    import torch

    norm = torch.linalg.vector_norm(x)
    return torch.where(norm > eps, norm, torch.full_like(norm, eps))


def cosine_similarity_loss(input: Any, target: Any, eps: float = 1e-6) -> Any:
    """TorchLean ``Spec.cosineSimilaritySpec``: 1 − Σ p·t / (max_ε‖p‖·max_ε‖t‖) over the whole tensors."""
    # divided one norm at a time: in float16 the product of two norms near 1e-4 underflows to 0 (0/0)
    return 1 - (input * target).sum() / _clamped_norm(input, eps) / _clamped_norm(target, eps)


COMPOSITIONS["cosine_similarity_loss"] = cosine_similarity_loss


def cross_entropy_probs(input: Any, target: Any, eps: float = 1e-6) -> Any:
    """TorchLean ``Spec.crossEntropySpec``: −Σ y·log(clip(p, ε, 1 − ε)) over the class axis, mean over slices."""
    import torch

    exact = input.double()  # compare with ε exactly: ε rounded to bfloat16 would move the clamp's edge
    clipped = torch.where(exact > eps, input, torch.full_like(input, eps))
    clipped = torch.where(exact < 1 - eps, clipped, torch.full_like(input, 1 - eps))
    class_dim = 0 if input.dim() == 1 else 1
    slices = input.numel() // max(input.size(class_dim), 1)  # 0 for an empty batch: 0/0 = NaN, as the spec's mean
    return -(target * clipped.log()).sum() / slices


COMPOSITIONS["cross_entropy_probs"] = cross_entropy_probs


def fused_linear_cross_entropy(input: torch.Tensor, weight: torch.Tensor, target: torch.Tensor,
                               bias: torch.Tensor | None = None, *, ignore_index: int = -100,
                               label_smoothing: float = 0.0, reduction: str = "mean") -> torch.Tensor:
    """The unfused computation kernels fuse: cross_entropy(input @ weight.T + bias, target, ...)."""
    return torch.nn.functional.cross_entropy(torch.nn.functional.linear(input, weight, bias), target,
                                             ignore_index=ignore_index, label_smoothing=label_smoothing,
                                             reduction=reduction)


COMPOSITIONS["fused_linear_cross_entropy"] = fused_linear_cross_entropy
