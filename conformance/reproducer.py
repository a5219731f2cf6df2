"""A self-contained Python snippet that replays one case with PyTorch."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..spec.core import LossSpec
from .cases import COMPLEX_DTYPES, Case
from .implementations import NamedCallable


def _tensor_literal(values: np.ndarray, dtype: str) -> str:
    kinds = {"i": "torch.int64", "u": "torch.int64", "c": f"torch.{COMPLEX_DTYPES.get(dtype, dtype)}"}
    kind = kinds.get(values.dtype.kind, f"torch.{dtype}")
    body = repr(values.tolist())
    return f"torch.tensor({body}, dtype={kind})"


def _source(value: object) -> str:
    """An option value as Python source: MODULE.ATTR for an imported callable."""
    return value.name.replace(":", ".") if isinstance(value, NamedCallable) else repr(value)


def reproducer(spec: LossSpec, case: Case, dtype: str, tensors: Mapping[str, np.ndarray],
               upstream: np.ndarray) -> str:
    """Code that rebuilds the inputs exactly and calls the loss and its backward."""
    lines = ["import torch", "import torch.nn.functional as F"]
    differentiable = []
    for name, values in tensors.items():
        arg = spec.tensor(name)
        grad = arg.differentiable and values.dtype.kind in "fc"
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
    return "\n".join(lines)
