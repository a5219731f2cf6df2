"""Torch tensors with a case's exact values in a chosen memory layout.

Kernels that assume contiguous memory read the wrong elements of a strided
view; the gate passes the same values as:

* ``contiguous``: a fresh tensor;
* ``transposed``: the transpose of a contiguous transposed copy (last two dims; 1-D falls back to sliced);
* ``sliced``: every other element of a tensor twice as long in its last dim, the gaps holding NaN
  (−1 for integers), so a kernel reading them shows it;
* ``expanded``: row 0 expanded along dim 0 with stride 0 (the case's values are row 0 repeated,
  see ``Case.raw_tensors``); other tensors contiguous.

A differentiable tensor in a non-contiguous layout is a view of a leaf that
requires grad, so gradients are taken with respect to the view itself.
"""

from __future__ import annotations

import numpy as np
import torch

LAYOUTS = ("contiguous", "transposed", "sliced", "expanded")


def place(values: np.ndarray, dtype: torch.dtype, device: str, layout: str, requires_grad: bool,
          expand: bool = False) -> torch.Tensor:
    """``values`` as a tensor of ``dtype`` on ``device`` in ``layout`` (see the module docstring)."""
    if layout == "transposed" and values.ndim < 2:
        layout = "sliced"
    if layout == "expanded" and not expand:
        layout = "contiguous"
    if layout == "contiguous" or values.ndim == 0 or values.size == 0:
        return torch.tensor(values, dtype=dtype, device=device).requires_grad_(requires_grad)
    if layout == "transposed":
        base = torch.tensor(np.ascontiguousarray(np.swapaxes(values, -1, -2)), dtype=dtype, device=device)
        return base.requires_grad_(requires_grad).transpose(-1, -2)
    if layout == "sliced":
        filler = np.nan if values.dtype.kind in "fc" else -1
        wide = np.full((*values.shape[:-1], 2 * values.shape[-1]), filler, dtype=values.dtype)
        wide[..., ::2] = values
        return torch.tensor(wide, dtype=dtype, device=device).requires_grad_(requires_grad)[..., ::2]
    if layout == "expanded":
        row = torch.tensor(values[:1], dtype=dtype, device=device).requires_grad_(requires_grad)
        return row.expand(values.shape)
    raise ValueError(f"unknown layout {layout!r}; choose from {', '.join(LAYOUTS)}")
