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
