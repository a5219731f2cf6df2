"""PyTorch reference implementations for specs with no single ``torch.nn.functional`` function.

TorchLean's spec-layer losses (log-cosh, SVM hinge, whole-tensor cosine
similarity, ...) and fused kernels are checked against a composition of
PyTorch ops that computes the same thing. Each entry takes the loss's
signature (required tensors by position, optional tensors and options by
keyword), like a ``torch.nn.functional`` loss.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

COMPOSITIONS: dict[str, Callable[..., Any]] = {}


# slice
def _clamped_norm(x: Any, eps: float) -> Any:
    """‖x‖ over every element if it exceeds eps, else eps (no gradient through the clamped branch)."""
    import torch

    norm = torch.linalg.vector_norm(x)
    return torch.where(norm > eps, norm, torch.full_like(norm, eps))


def cosine_similarity_loss(input: Any, target: Any, eps: float = 1e-6) -> Any:
    """TorchLean ``Spec.cosineSimilaritySpec``: 1 − Σ p·t / (max_ε‖p‖·max_ε‖t‖) over the whole tensors."""
    return 1 - (input * target).sum() / (_clamped_norm(input, eps) * _clamped_norm(target, eps))


COMPOSITIONS["cosine_similarity_loss"] = cosine_similarity_loss


def cross_entropy_probs(input: Any, target: Any, eps: float = 1e-6) -> Any:
    """TorchLean ``Spec.crossEntropySpec``: −Σ y·log(clip(p, ε, 1 − ε)) over the class axis, mean over slices."""
    import torch

    clipped = torch.where(input > eps, input, torch.full_like(input, eps))
    clipped = torch.where(clipped < 1 - eps, clipped, torch.full_like(input, 1 - eps))
    class_dim = 0 if input.dim() == 1 else 1
    slices = max(input.numel() // max(input.size(class_dim), 1), 1)
    return -(target * clipped.log()).sum() / slices


COMPOSITIONS["cross_entropy_probs"] = cross_entropy_probs
