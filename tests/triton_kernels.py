"""A small Triton loss kernel of our own, checked by losscheck on CPU under ``TRITON_INTERPRET=1``.

``mse_loss``: forward l_i = (x_i − t_i)² and backward ∂/∂x_i = 2·(x_i − t_i)·g_i, ∂/∂t_i = −∂/∂x_i, each one
Triton program per block of 128 elements, computed in float32 (float64 for float64 inputs) and rounded
once to the input dtype; ``mean`` and ``sum`` reduce the float32 row in torch. It takes no ``weight``
and no broadcasting, and says so with ``losscheck_supports``. ``mse_loss_half_gradient`` is the same
kernel with its backward off by a factor of 2: the gate must flag it.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

BLOCK = 128


@triton.jit
def _squared_difference(x_ptr, t_ptr, out_ptr, n, BLOCK: tl.constexpr):
    offsets = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offsets < n
    d = tl.load(x_ptr + offsets, mask=mask, other=0.0) - tl.load(t_ptr + offsets, mask=mask, other=0.0)
    tl.store(out_ptr + offsets, d * d, mask=mask)


@triton.jit
def _squared_difference_grad(x_ptr, t_ptr, g_ptr, out_ptr, n, scale, BLOCK: tl.constexpr):
    offsets = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offsets < n
    d = tl.load(x_ptr + offsets, mask=mask, other=0.0) - tl.load(t_ptr + offsets, mask=mask, other=0.0)
    g = tl.load(g_ptr + offsets, mask=mask, other=0.0)
    tl.store(out_ptr + offsets, scale * d * g, mask=mask)


def _wide(t: torch.Tensor) -> torch.Tensor:
    return t.detach().contiguous().reshape(-1).to(torch.float64 if t.dtype == torch.float64 else torch.float32)


class _MSE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input, target, reduction, scale):
        x, t = _wide(input), _wide(target)
        squares = torch.empty_like(x)
        n = x.numel()
        if n:
            _squared_difference[(triton.cdiv(n, BLOCK),)](x, t, squares, n, BLOCK=BLOCK)
        ctx.save_for_backward(input, target)
        ctx.reduction, ctx.scale = reduction, scale
        if reduction == "none":
            return squares.reshape(input.shape).to(input.dtype)
        total = squares.sum() if reduction == "sum" else squares.mean()
        return total.to(input.dtype)

    @staticmethod
    def backward(ctx, grad):
        input, target = ctx.saved_tensors
        x, t = _wide(input), _wide(target)
        n = x.numel()
        g = _wide(grad.expand(input.shape))
        if ctx.reduction == "mean" and n:
            g = g / n
        out = torch.empty_like(x)
        if n:
            _squared_difference_grad[(triton.cdiv(n, BLOCK),)](x, t, g, out, n, ctx.scale, BLOCK=BLOCK)
        grad_input = out.reshape(input.shape).to(input.dtype)
        return grad_input, (-out).reshape(target.shape).to(target.dtype), None, None


def _mse(input, target, reduction, weight, scale):
    if weight is not None or input.shape != target.shape:
        raise NotImplementedError("no weight and no broadcasting")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return _MSE.apply(input, target, reduction, scale)


def mse_loss(input, target, reduction="mean", weight=None):
    return _mse(input, target, reduction, weight, 2.0)


def mse_loss_half_gradient(input, target, reduction="mean", weight=None):
    return _mse(input, target, reduction, weight, 1.0)


SUPPORTS = {"modes": ["value", "backward"], "optional": [], "devices": ["cpu"]}
mse_loss.losscheck_supports = SUPPORTS
mse_loss_half_gradient.losscheck_supports = SUPPORTS
