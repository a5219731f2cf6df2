"""Deliberately wrong chunked linear_cross_entropy kernels. Each must make `losscheck run --impl` exit 1.

Each is a bug class of chunked (logit-free) linear-cross-entropy kernels; the docstring names it. All take
F.linear_cross_entropy's signature and, like PyTorch's chunked path, serve index targets with
label_smoothing=0 and a (C, H) weight, handing every other call to the reference path.
"""

import torch
import torch.nn.functional as F

FLAGGED = [  # (loss, implementation, a quantity that must fail)
    ("linear_cross_entropy", "lce_log_sum_exp_carried_in_bfloat16", "value"),
    ("linear_cross_entropy", "lce_bias_gradient_misses_last_chunk", "grad linear_bias"),
    ("linear_cross_entropy", "lce_mean_ignores_class_weight", "value"),
]

CHUNK = 2  # rows (or classes) per chunk: the grid's batches of 3 rows end in a short chunk


def _chunked_call(input, linear_weight, target, linear_bias, label_smoothing):
    """Would PyTorch's chunked path take this call (index targets, no smoothing, a (C, H) weight)?"""
    return target.dtype == torch.int64 and label_smoothing == 0.0 and linear_weight.dim() == 2


def _reference(input, linear_weight, target, linear_bias, weight, reduction, ignore_index, label_smoothing):
    return F.linear_cross_entropy(input, linear_weight, target, linear_bias=linear_bias, weight=weight,
                                  reduction=reduction, ignore_index=ignore_index, label_smoothing=label_smoothing)


def lce_log_sum_exp_carried_in_bfloat16(input, linear_weight, target, *, linear_bias=None, weight=None,
                                        reduction="mean", ignore_index=None, label_smoothing=0.0):
    """The running log-sum-exp over class chunks (max m, scaled sum s) is stored in bfloat16 between chunks,
    as a kernel that keeps its partial results in the activations' low-precision buffer does: every chunk
    rounds s to 8 significant bits, so the loss is off by ~2^-9 in float32 and float64."""
    if not _chunked_call(input, linear_weight, target, linear_bias, label_smoothing):
        return _reference(input, linear_weight, target, linear_bias, weight, reduction, ignore_index,
                          label_smoothing)
    logits = F.linear(input, linear_weight, linear_bias)
    top = torch.full(logits.shape[:-1], -torch.inf, dtype=logits.dtype)
    total = torch.zeros(logits.shape[:-1], dtype=logits.dtype)
    for chunk in logits.split(CHUNK, dim=-1):
        new_top = torch.maximum(top, chunk.max(dim=-1).values)
        total = total * torch.exp(top - new_top) + torch.exp(chunk - new_top.unsqueeze(-1)).sum(dim=-1)
        total = total.to(torch.bfloat16).to(logits.dtype)  # the partial sum's storage
        top = new_top
    log_probs = logits - (top + torch.log(total)).unsqueeze(-1)
    return F.nll_loss(log_probs, target, weight=weight, reduction=reduction,
                      ignore_index=-100 if ignore_index is None else ignore_index)


def lce_bias_gradient_misses_last_chunk(input, linear_weight, target, *, linear_bias=None, weight=None,
                                        reduction="mean", ignore_index=None, label_smoothing=0.0):
    """Rows are processed in chunks of CHUNK and the bias gradient is accumulated chunk by chunk, but the
    accumulation stops one chunk short: the last chunk's rows add nothing to grad linear_bias. The value
    and the other gradients are right."""
    if linear_bias is None or input.dim() != 2 or not _chunked_call(input, linear_weight, target, linear_bias,
                                                                     label_smoothing):
        return _reference(input, linear_weight, target, linear_bias, weight, reduction, ignore_index,
                          label_smoothing)
    rows = input.shape[0]
    last = (rows - 1) // CHUNK * CHUNK  # first row of the last chunk
    in_last = (torch.arange(rows) >= last).unsqueeze(1)
    bias = torch.where(in_last, linear_bias.detach(), linear_bias)
    logits = F.linear(input, linear_weight) + bias
    return F.cross_entropy(logits, target, weight=weight, reduction=reduction,
                           ignore_index=-100 if ignore_index is None else ignore_index)


def lce_mean_ignores_class_weight(input, linear_weight, target, *, linear_bias=None, weight=None,
                                  reduction="mean", ignore_index=None, label_smoothing=0.0):
    """mean divides the weighted sum by the number of rows not ignored, not by Σ w[t] over them: a kernel
    that counts its rows per chunk and forgets that class weights change the denominator."""
    if reduction != "mean" or not _chunked_call(input, linear_weight, target, linear_bias, label_smoothing):
        return _reference(input, linear_weight, target, linear_bias, weight, reduction, ignore_index,
                          label_smoothing)
    index = -100 if ignore_index is None else ignore_index
    rows = _reference(input, linear_weight, target, linear_bias, weight, "none", ignore_index, label_smoothing)
    return rows.sum() / (target != index).sum()
