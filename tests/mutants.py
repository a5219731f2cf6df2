"""Bug classes applied to every loss: PyTorch's own implementation, made wrong in one generic way.

Each class is a function ``(spec) -> {variant: implementation}`` (empty where it does not apply):
the implementation wraps ``pytorch_implementation(spec.name)`` and injects exactly one kind of bug
that kernel libraries have shipped. Module attributes ``<loss>__<variant>`` expose every mutant as
``tests/mutants.py:ATTR`` for ``losscheck run --impl``. ``benchmarks/detection_matrix.py`` runs them
all (the detection matrix); ``tests/test_mutants.py`` checks a sample through the CLI.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import torch
from losscheck.conformance.implementations import pytorch_implementation
from losscheck.spec import LossSpec, all_specs

Mutant = Callable[..., torch.Tensor]


def _reduction(spec: LossSpec) -> tuple:
    return next((o.choices or o.grid for o in spec.options if o.name == "reduction"), ())


def _floats(args: tuple, kwargs: dict, change: Callable[[torch.Tensor], torch.Tensor]) -> tuple[tuple, dict]:
    """Apply ``change`` to every floating-point tensor argument."""
    def fix(value):
        return change(value) if isinstance(value, torch.Tensor) and value.is_floating_point() else value
    return tuple(fix(a) for a in args), {k: fix(v) for k, v in kwargs.items()}


def _on_inputs(base: Mutant, change: Callable[[torch.Tensor], torch.Tensor]) -> Mutant:
    """``base`` called on every floating-point tensor argument passed through ``change``."""
    def mutant(*args, **kwargs):
        args, kwargs = _floats(args, kwargs, change)
        return base(*args, **kwargs)
    return mutant


class _Passthrough(torch.autograd.Function):
    """Identity whose backward, forward-mode and double-backward rules each mutants override one of."""

    @staticmethod
    def forward(x):
        return x.clone()

    @staticmethod
    def setup_context(ctx, inputs, output):
        pass

    @staticmethod
    def backward(ctx, grad):
        return grad

    @staticmethod
    def jvp(ctx, tangent):
        return tangent


class _IgnoresUpstream(_Passthrough):
    @staticmethod
    def backward(ctx, grad):
        return torch.ones_like(grad)


class _DropsTangent(_Passthrough):
    @staticmethod
    def jvp(ctx, tangent):
        return torch.zeros_like(tangent)


def upstream_ignored(spec: LossSpec) -> dict[str, Mutant]:
    """The backward assumes an upstream gradient of ones (right only for loss.backward() on a scalar)."""
    base = pytorch_implementation(spec.name)
    return {"upstream_ignored": lambda *a, **k: _IgnoresUpstream.apply(base(*a, **k))}


def forward_mode_drops_tangent(spec: LossSpec) -> dict[str, Mutant]:
    """Forward-mode AD returns a zero tangent (a custom op registered without a jvp rule that works)."""
    base = pytorch_implementation(spec.name)
    return {"jvp_zero": lambda *a, **k: _DropsTangent.apply(base(*a, **k))}


def first_order_only(spec: LossSpec) -> dict[str, Mutant]:
    """A reduced loss whose gradient is a constant computed outside autograd (a hand-written backward that
    saves its result): value, gradient and forward mode right, double backward 0."""
    base = pytorch_implementation(spec.name)

    def mutant(*args, **kwargs):
        out = base(*args, **kwargs)
        leaves = [t for t in (*args, *kwargs.values()) if isinstance(t, torch.Tensor) and t.requires_grad]
        if out.dim() or not out.requires_grad or not leaves or any(t.is_complex() for t in leaves):
            return out
        grads = torch.autograd.grad(out, leaves, retain_graph=True, allow_unused=True)
        linear = sum(((g.detach() * (t - t.detach())).sum() for g, t in zip(grads, leaves) if g is not None),
                     torch.zeros((), dtype=out.dtype))
        return out.detach() + linear
    return {"first_order_only": mutant}


def reduction_swapped(spec: LossSpec) -> dict[str, Mutant]:
    """'mean' computes the sum and 'sum' the mean."""
    if not {"mean", "sum"} <= set(_reduction(spec)):
        return {}
    base = pytorch_implementation(spec.name)
    swap = {"mean": "sum", "sum": "mean"}

    def mutant(*args, reduction="mean", **kwargs):
        return base(*args, reduction=swap.get(reduction, reduction), **kwargs)
    return {"reduction_swapped": mutant}


def none_squeezed(spec: LossSpec) -> dict[str, Mutant]:
    """reduction='none' returns a squeezed tensor (a batch of one loses its batch dimension)."""
    if "none" not in _reduction(spec):
        return {}
    base = pytorch_implementation(spec.name)

    def mutant(*args, reduction="mean", **kwargs):
        out = base(*args, reduction=reduction, **kwargs)
        return out.squeeze() if reduction == "none" else out
    return {"none_squeezed": mutant}


def detached(spec: LossSpec) -> dict[str, Mutant]:
    """One differentiable input (target, var, weight, ...) is detached: its gradient is silently 0."""
    base = pytorch_implementation(spec.name)
    names = [t.name for t in spec.tensors]
    mutants = {}
    for position, tensor in enumerate(spec.tensors):
        if not tensor.differentiable or position == 0:
            continue

        def mutant(*args, name=tensor.name, position=position, **kwargs):
            if position < len(args):
                args = (*args[:position], args[position].detach(), *args[position + 1:])
            elif kwargs.get(name) is not None:
                kwargs[name] = kwargs[name].detach()
            return base(*args, **kwargs)
        mutants[f"detached_{names[position]}"] = mutant
    return mutants


def output_float32(spec: LossSpec) -> dict[str, Mutant]:
    """Computes in float32 and returns float32 whatever the input dtype (the dtype contract)."""
    base = pytorch_implementation(spec.name)
    return {"output_float32": _on_inputs(base, lambda t: t.float())}


def computes_in_float32(spec: LossSpec) -> dict[str, Mutant]:
    """Computes in float32 and casts back: float64 results lose half their digits."""
    base = pytorch_implementation(spec.name)

    def mutant(*args, **kwargs):
        dtype = next(a.dtype for a in args if isinstance(a, torch.Tensor) and a.is_floating_point())
        args32, kwargs32 = _floats(args, kwargs, lambda t: t.float())
        return base(*args32, **kwargs32).to(dtype)
    return {"computes_in_float32": mutant}


def accumulates_in_input_dtype(spec: LossSpec) -> dict[str, Mutant]:
    """reduction='sum' adds the per-unit losses one by one to a running total in the input dtype (no
    float32 accumulator): float16 and bfloat16 sums over thousands of units stall."""
    if not {"none", "sum"} <= set(_reduction(spec)):
        return {}
    base = pytorch_implementation(spec.name)

    def mutant(*args, reduction="mean", **kwargs):
        if reduction != "sum":
            return base(*args, reduction=reduction, **kwargs)
        terms = base(*args, reduction="none", **kwargs).reshape(-1)
        total = torch.zeros((), dtype=terms.dtype)
        for term in terms:
            total = total + term
        return total
    return {"accumulates_in_input_dtype": mutant}


def _contiguous_strides(shape: torch.Size) -> tuple[int, ...]:
    strides, step = [], 1
    for size in reversed(shape):
        strides.append(step)
        step *= max(size, 1)
    return tuple(reversed(strides))


def ignores_strides(spec: LossSpec) -> dict[str, Mutant]:
    """Reads the first input's storage as if it were contiguous (a raw-pointer kernel)."""
    base = pytorch_implementation(spec.name)

    def mutant(first, *args, **kwargs):
        raw = torch.as_strided(first, first.shape, _contiguous_strides(first.shape), first.storage_offset())
        return base(raw, *args, **kwargs)
    return {"ignores_strides": mutant}


def modifies_input(spec: LossSpec) -> dict[str, Mutant]:
    """Writes into its last floating-point argument after computing (an in-place scratch buffer)."""
    base = pytorch_implementation(spec.name)

    def mutant(*args, **kwargs):
        out = base(*args, **kwargs)
        floats = [a for a in args if isinstance(a, torch.Tensor) and a.is_floating_point() and a.numel()]
        if floats:
            with torch.no_grad():
                floats[-1].mul_(0.5)
        return out
    return {"modifies_input": mutant}


_calls = itertools.count()


def nondeterministic(spec: LossSpec) -> dict[str, Mutant]:
    """Every other call moves the result by one ULP (an atomics-order race)."""
    base = pytorch_implementation(spec.name)

    def mutant(*args, **kwargs):
        out = base(*args, **kwargs)
        if next(_calls) % 2:
            return torch.nextafter(out, torch.full_like(out, float("inf")))
        return out
    return {"nondeterministic": mutant}


def flushes_subnormals(spec: LossSpec) -> dict[str, Mutant]:
    """Inputs below the dtype's smallest normal are read as 0 (flush-to-zero / denormals-are-zero)."""
    base = pytorch_implementation(spec.name)

    def flush(t):
        tiny = torch.finfo(t.dtype).tiny
        return torch.where(t.abs() < tiny, torch.zeros_like(t), t)
    return {"flushes_subnormals": _on_inputs(base, flush)}


def saturates_large_inputs(spec: LossSpec) -> dict[str, Mutant]:
    """Clamps inputs to ±1000 (a fast path that assumes moderate logits)."""
    base = pytorch_implementation(spec.name)

    return {"saturates_large_inputs": _on_inputs(base, lambda t: t.clamp(-1000.0, 1000.0))}


def empty_is_zero(spec: LossSpec) -> dict[str, Mutant]:
    """An empty batch returns zeros (the mean of nothing is NaN)."""
    base = pytorch_implementation(spec.name)

    def mutant(*args, **kwargs):
        out = base(*args, **kwargs)
        if any(isinstance(a, torch.Tensor) and a.numel() == 0 for a in args):
            return out.nan_to_num(0.0)
        return out
    return {"empty_is_zero": mutant}


def option_default(spec: LossSpec) -> dict[str, Mutant]:
    """One option is ignored: the kernel always uses its default (delta, beta, margin, p, eps, swap,
    log_target, full, blank, zero_infinity, ignore_index, label_smoothing, distance_function, ...)."""
    base = pytorch_implementation(spec.name)
    mutants = {}
    for option in spec.options:
        if option.name == "reduction" or len(option.grid) < 2:
            continue

        def mutant(*args, name=option.name, default=option.default, **kwargs):
            if name in kwargs:
                kwargs[name] = default
            return base(*args, **kwargs)
        mutants[f"ignores_{option.name}"] = mutant
    return mutants


def optional_tensor_dropped(spec: LossSpec) -> dict[str, Mutant]:
    """One optional tensor (weight, pos_weight, bias) is ignored."""
    base = pytorch_implementation(spec.name)
    mutants = {}
    for tensor in spec.optional_tensors:
        def mutant(*args, name=tensor.name, **kwargs):
            kwargs.pop(name, None)
            return base(*args, **kwargs)
        mutants[f"ignores_{tensor.name}"] = mutant
    return mutants


BUG_CLASSES = (upstream_ignored, forward_mode_drops_tangent, first_order_only, reduction_swapped, none_squeezed,
               detached, output_float32, computes_in_float32, accumulates_in_input_dtype, ignores_strides,
               modifies_input, nondeterministic, flushes_subnormals, saturates_large_inputs, empty_is_zero,
               option_default, optional_tensor_dropped)


def mutants(spec: LossSpec) -> dict[str, tuple[str, Mutant]]:
    """variant → (bug class, implementation) for one loss."""
    return {variant: (bug_class.__name__, impl) for bug_class in BUG_CLASSES
            for variant, impl in bug_class(spec).items()}


for _spec in all_specs().values():
    for _variant, (_, _impl) in mutants(_spec).items():
        globals()[f"{_spec.name}__{_variant}"] = _impl
