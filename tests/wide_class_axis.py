"""cross_entropy and nll_loss on a wide class axis (C = 32,000 and 262,144 classes, a few rows): the exact value
and input gradient from exact row reductions, and the magnitudes the tolerance policy scales by, without the
spec's symbolic oracle (whose unit would hold C symbols).

Exact: every input is the binary value of a dtype-rounded float; exp is evaluated in mpmath at ``PRECISION``
bits, memoised per distinct value (a float16 or bfloat16 row has at most 65,536), and every row sum is
``mpmath.fsum``. For mean over N rows of class-index targets t with class weights w (1 without weight=):

* cross_entropy: l_n = w[t_n]·(lse_n − x[n, t_n]), lse_n = log Σ_k exp(x[n, k]); value Σ l_n / Σ w[t_n];
  ∂/∂x[n, c] = w[t_n]·(p[n, c] − [c = t_n]) / Σ w[t_n], p = exp(x − lse);
* nll_loss: l_n = −w[t_n]·x[n, t_n]; ∂/∂x[n, c] = −w[t_n]·[c = t_n] / Σ w[t_n].

Magnitudes M (the policy's rounding scale, as ``tests/wide_vocabulary.py`` states them for the same
log-sum-exp): the exp sum of C terms inside lse is charged as the policy charges a reduction of C terms,
L = (accumulation / condition)·g(C); an exp argument x − max carries u·|x − max| of error, weighted by p:
spread_n = Σ_k p[n, k]·|x[n, k] − max_n|. M(lse_n) = |lse_n| + L + spread_n;
M(l_n) = w[t_n]·(M(lse_n) + |x[n, t_n]|); M(∂/∂x[n, c]) = |∂| + w[t_n]·p[n, c]·(|x[n, c]| + M(lse_n)) / Σ w.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
from losscheck.conformance.tolerance import TOLERANCES

PRECISION = 120
"""Bits: far below float64's error even after summing 262,144 terms."""


def _exp_table(values: np.ndarray, shift: float) -> dict[float, mpmath.mpf]:
    with mpmath.workprec(PRECISION):
        return {v: mpmath.exp(mpmath.mpf(v) - mpmath.mpf(shift)) for v in np.unique(values).tolist()}


def reference(loss: str, x: np.ndarray, target: np.ndarray, weight: np.ndarray | None, dtype: str) -> dict:
    """quantity → (exact values, magnitudes M, summand magnitudes S, count), as ``wide_vocabulary.worst_ratio``
    reads them; ``x`` holds the dtype's exact values as float64."""
    rows, classes = x.shape
    w = np.ones(classes) if weight is None else weight
    tolerance = TOLERANCES[dtype]
    growth = classes - 1 if tolerance.growth == "linear" else math.log2(classes)
    charge = tolerance.accumulation / tolerance.condition * growth
    picked_w = [float(w[t]) for t in target]
    denominator = math.fsum(picked_w)
    grads, grad_m, losses, loss_m = np.zeros_like(x), np.zeros_like(x), [], []
    with mpmath.workprec(PRECISION):
        for n in range(rows):
            t, wt = int(target[n]), picked_w[n]
            if loss == "nll_loss":
                losses.append(-wt * mpmath.mpf(x[n, t]))
                loss_m.append(abs(wt * x[n, t]))
                grads[n, t] = -wt / denominator
                grad_m[n, t] = abs(grads[n, t])
                continue
            top = float(x[n].max())
            table = _exp_table(x[n], top)
            exps = [table[v] for v in x[n].tolist()]
            total = mpmath.fsum(exps)
            lse = mpmath.log(total) + top
            ratios = [e / total for e in exps]
            p = np.array([float(r) for r in ratios])
            spread = float(mpmath.fsum(r * abs(v - top) for r, v in zip(ratios, x[n].tolist())))
            m_lse = abs(float(lse)) + charge + spread
            losses.append(wt * (lse - mpmath.mpf(x[n, t])))
            loss_m.append(wt * (m_lse + abs(x[n, t])))
            scale = mpmath.mpf(wt) / mpmath.mpf(denominator)
            grads[n] = [float(r * scale) for r in ratios]  # rounded once, from the exact value
            grads[n, t] = float((ratios[t] - 1) * scale)
            grad_m[n] = np.abs(grads[n]) + wt * p * (np.abs(x[n]) + m_lse) / denominator
        value = float(mpmath.fsum(losses) / denominator)
    value_m = math.fsum(loss_m) / denominator
    summands = math.fsum(abs(float(v)) for v in losses) / denominator
    return {"value": (np.array([value]), np.array([value_m]), np.array([summands]), rows),
            "grad input": (grads, grad_m, np.abs(grads), 1)}
