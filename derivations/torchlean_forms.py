"""TorchLean's hand-written gradient forms, checked against ``sympy.diff`` of the specs.

TorchLean's proved tape nodes (``NN/Proofs/Autograd/Tape/Nodes/Losses.lean``)
state their backward passes by hand. Each form below is that statement for
an m-row (or N-element) case, and ``check_form`` proves it equal to the
gradient of the spec's expanded form, symbolically:

* mseLoss:               ∂/∂ŷ mean (ŷ − t)²            = 2(ŷ − t)/N
* crossEntropyOneHotLast: ∂/∂x mean_rows CE(x, target) = (softmax(x)·Σ_c target − target)/m
* nllOneHotLast:         ∂/∂x mean_rows −Σ_c target·x  = −target/m
* bceWithLogits:         ∂/∂x mean BCE(x, t)           = (σ(x) − t)/N
* klDivLast (batchmean): ∂/∂x Σ KL(x, t)/m             = −t/m
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from ..spec import get_spec
from .expanded import element_symbols, expanded_loss


@dataclass(frozen=True)
class HandWrittenForm:
    declaration: str
    loss: str
    options: dict[str, Any]
    target: str  # "real" or "one-hot": how the tape node's target is given
    gradient: Callable[[np.ndarray, np.ndarray], np.ndarray]  # (input, target) -> ∂L/∂input


def _softmax_rows(x: np.ndarray) -> np.ndarray:
    exps = np.vectorize(sp.exp, otypes=[object])(x)
    return exps / exps.sum(axis=-1, keepdims=True)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return np.vectorize(lambda v: 1 / (1 + sp.exp(-v)), otypes=[object])(x)


FORMS = (
    HandWrittenForm("Proofs.Autograd.TapeNodes.mseLoss", "mse_loss", {"reduction": "mean"}, "real",
                    lambda x, t: 2 * (x - t) / x.size),
    HandWrittenForm("Proofs.Autograd.TapeNodes.crossEntropyOneHotLast", "cross_entropy",
                    {"reduction": "mean", "label_smoothing": 0.0}, "real",
                    lambda x, t: (_softmax_rows(x) * t.sum(axis=-1, keepdims=True) - t) / x.shape[0]),
    HandWrittenForm("Proofs.Autograd.TapeNodes.nllOneHotLast", "nll_loss", {"reduction": "mean"}, "one-hot",
                    lambda x, t: -t / x.shape[0]),
    HandWrittenForm("Proofs.Autograd.TapeNodes.bceWithLogits", "binary_cross_entropy_with_logits",
                    {"reduction": "mean"}, "real", lambda x, t: (_sigmoid(x) - t) / x.size),
    HandWrittenForm("Proofs.Autograd.TapeNodes.klDivLast", "kl_div",
                    {"reduction": "batchmean", "log_target": False}, "real", lambda x, t: -t / x.shape[0]),
)


def check_form(form: HandWrittenForm, rows: int = 2, classes: int = 3) -> sp.Expr:
    """sympy.simplify(∂L/∂x − hand-written form), summed in absolute terms; 0 means equal.

    One-hot targets are built from class indices 0, 1, ... so the spec's
    index path is what gets checked.
    """
    spec = get_spec(form.loss)
    x = element_symbols("x", (rows, classes))
    if form.target == "one-hot":
        indices = np.arange(rows) % classes
        tensors = {"input": x, "target": indices}
        target = (indices[:, None] == np.arange(classes)).astype(int).astype(object)
    else:
        target = element_symbols("t", (rows, classes))
        tensors = {"input": x, "target": target}
    (loss,) = expanded_loss(spec, tensors, form.options)
    expected = form.gradient(x, target)
    differences = [sp.simplify(sp.diff(loss, xi) - ei) for xi, ei in zip(x.reshape(-1), expected.reshape(-1))]
    return sp.Add(*[sp.Abs(d) for d in differences])
