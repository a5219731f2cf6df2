"""A self-contained Python snippet that replays one case with PyTorch."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..spec.core import LossSpec
from .cases import COMPLEX_DTYPES, Case, expandable
from .implementations import NamedCallable


def _tensor_literal(values: np.ndarray, dtype: str) -> str:
    kinds = {"i": "torch.int64", "u": "torch.int64", "c": f"torch.{COMPLEX_DTYPES.get(dtype, dtype)}"}
    kind = kinds.get(values.dtype.kind, f"torch.{dtype}")
    body = repr(values.tolist())
    return f"torch.tensor({body}, dtype={kind})"


def _source(value: object) -> str:
    """An option value as Python source: MODULE.ATTR for an imported callable."""
    return value.name.replace(":", ".") if isinstance(value, NamedCallable) else repr(value)


_LAYOUT_VIEWS = {
    "transposed": "{name}.mT.contiguous(){grad}.mT  # same values, transposed strides",
    "sliced": "torch.stack([{name}, torch.full_like({name}, {filler})], -1).flatten(-2){grad}[..., ::2]"
              "  # every other element",
    "expanded": "{name}[:1].clone(){grad}.expand({name}.shape)  # row 0 with stride 0",
}


def reproducer(spec: LossSpec, case: Case, dtype: str, tensors: Mapping[str, np.ndarray],
               upstream: np.ndarray) -> str:
    """Code that rebuilds the inputs exactly and calls the loss and its backward."""
    lines = ["import torch", "import torch.nn.functional as F"]
    differentiable = []
    expanded = expandable(spec, case.shape_case, case.present) if case.layout == "expanded" else ()
    for name, values in tensors.items():
        arg = spec.tensor(name)
        grad = arg.differentiable and values.dtype.kind in "fc"
        view = _LAYOUT_VIEWS.get(case.layout if values.ndim and (case.layout != "expanded" or name in expanded)
                                 else "contiguous")
        if case.layout == "transposed" and values.ndim < 2:
            view = _LAYOUT_VIEWS["sliced"]
        if view:
            lines.append(f"{name} = {_tensor_literal(values, dtype)}")
            filler = "float('nan')" if values.dtype.kind in "fc" else "-1"
            lines.append(f"{name} = {view.format(name=name, grad='.requires_grad_()' if grad else '', filler=filler)}")
        else:
            lines.append(f"{name} = {_tensor_literal(values, dtype)}" + (".requires_grad_()" if grad else ""))
        if grad:
            differentiable.append(name)
    call = [t.name for t in spec.required_tensors]
    call += [f"{t}={t}" for t in tensors if spec.tensor(t).optional]
    for value in case.options.values():
        if isinstance(value, NamedCallable):  # a function-valued option: import its module
            lines.append(f"import {value.name.partition(':')[0]}")
    call += [f"{k}={_source(v)}" for k, v in case.options.items()]
    lines.append(f"out = F.{spec.name}({', '.join(call)})")
    if differentiable:
        lines.append(f"upstream = {_tensor_literal(np.asarray(upstream), dtype)}")
        lines.append(f"grads = torch.autograd.grad(out, [{', '.join(differentiable)}], upstream, "
                     "allow_unused=True)")
    if case.checks:
        lines.append(f"# also checked: {', '.join(case.checks)} (replay a saved reproducer file with losscheck repro)")
    return "\n".join(lines)
