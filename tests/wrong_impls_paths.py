"""Deliberately wrong kernels that each hide their bug on exactly one code path, as real kernels do: the
unweighted path, a blockwise path for wide class counts, a vector tail, a special case for equal sizes, the
sum of a large input, the strided unweighted path. Everywhere else each returns PyTorch's own result. Each
must be flagged by the default ``losscheck run --impl`` (coverage and shape search exist for them)."""

import torch
import torch.nn.functional as F
from wrong_impls_gate import _contiguous_strides  # the same raw-pointer layout helper

VECTOR = 32
"""The vector width of the kernels below: a body of whole vectors, then a scalar tail of numel % 32."""


def _sum_in_dtype(terms: torch.Tensor, lanes: int) -> torch.Tensor:
    """Σ terms through a vector accumulator of ``lanes`` lanes held in the terms' dtype: each lane adds every
    lanes-th term, rounding after each addition, and the lanes are added at the end."""
    flat = terms.reshape(-1)
    padded = torch.cat([flat, flat.new_zeros(-flat.numel() % lanes)]).reshape(-1, lanes)
    accumulator = torch.zeros(lanes, dtype=terms.dtype)
    for row in padded:
        accumulator = accumulator + row
    return accumulator.sum(dtype=terms.dtype)


def mse_unweighted_sums_in_input_dtype(input, target, reduction="mean", weight=None):
    """Without weight=, mean and sum accumulate in the input's dtype (64-wide partials): float16 and bfloat16
    lose the low bits of a long sum (two lanes). The weighted path is PyTorch's."""
    if weight is not None or reduction == "none" or input.numel() == 0:
        return F.mse_loss(input, target, reduction=reduction, weight=weight)
    terms = (input - target) ** 2
    total = _sum_in_dtype(terms, 2)
    return total / terms.numel() if reduction == "mean" else total


def bce_logits_blockwise_pos_weight(input, target, weight=None, reduction="mean", pos_weight=None):
    """Past 4096 classes (last dim), a blockwise path tiles the class dim in blocks of 4096 and indexes
    pos_weight within the block, c % 4096, instead of c: wrong for every class of the second block."""
    classes = input.shape[-1] if input.dim() else 1
    if pos_weight is not None and classes > 4096 and pos_weight.shape[-1] == classes:
        pos_weight = pos_weight[..., torch.arange(classes) % 4096]
    return F.binary_cross_entropy_with_logits(input, target, weight=weight, reduction=reduction,
                                              pos_weight=pos_weight)


def l1_tail_written_backwards(input, target, reduction="mean", weight=None):
    """reduction='none' past one vector: the scalar tail (the last numel % 32 elements, when there are two or
    more) is written in reverse order."""
    out = F.l1_loss(input, target, reduction=reduction, weight=weight)
    size, tail = out.numel(), out.numel() % VECTOR
    if reduction != "none" or size <= VECTOR or tail < 2:
        return out
    flat = out.reshape(-1)
    return torch.cat([flat[: size - tail], flat[size - tail:].flip(0)]).reshape(out.shape)


def cross_entropy_channels_last_when_sizes_match(input, target, weight=None, ignore_index=-100,
                                                 reduction="mean", label_smoothing=0.0):
    """Class-index targets on a K-dim input: when the class count equals the last spatial size, the kernel
    takes the input for channels-last, (N, d1, ..., C), and swaps the last dim with the class axis."""
    if input.dim() >= 4 and not target.is_floating_point() and input.shape[1] == input.shape[-1]:
        input = input.transpose(1, -1)
    return F.cross_entropy(input, target, weight=weight, ignore_index=ignore_index, reduction=reduction,
                           label_smoothing=label_smoothing)


def soft_margin_large_sum_in_input_dtype(input, target, reduction="mean"):
    """reduction='sum' of more than 2048 elements runs a blocked kernel that accumulates in the input's
    dtype (two lanes); mean and small sums are PyTorch's."""
    if reduction != "sum" or input.numel() <= 2048:
        return F.soft_margin_loss(input, target, reduction=reduction)
    return _sum_in_dtype(F.soft_margin_loss(input, target, reduction="none"), 2)


def huber_unweighted_strided_reads_storage(input, target, reduction="mean", delta=1.0, weight=None):
    """Without weight=, a raw-pointer fast path reads a non-contiguous input's storage as if contiguous; the
    weighted path goes through PyTorch and is right on every layout."""
    if weight is None and not input.is_contiguous():
        input = torch.as_strided(input, input.shape, _contiguous_strides(input.shape), input.storage_offset())
    return F.huber_loss(input, target, reduction=reduction, delta=delta, weight=weight)


FLAGGED = [
    ("mse_loss", "mse_unweighted_sums_in_input_dtype", "value"),
    ("binary_cross_entropy_with_logits", "bce_logits_blockwise_pos_weight", "value"),
    ("l1_loss", "l1_tail_written_backwards", "value"),
    ("cross_entropy", "cross_entropy_channels_last_when_sizes_match", "value"),
    ("soft_margin_loss", "soft_margin_large_sum_in_input_dtype", "value"),
    ("huber_loss", "huber_unweighted_strided_reads_storage", "value"),
]
