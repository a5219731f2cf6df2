"""linear_cross_entropy on wide vocabularies (C = 32,000 and 262,144): a reference and the tolerance policy's
allowance, per element, for the value and every gradient, without the spec's symbolic oracle (whose unit
expression would hold C·H symbols).

Reference: float64 NumPy on the dtype's exact input values. Its own error is at most about (C + H)·2^-53
times the magnitudes below: at C = 262,144 that is 2^-35·M, 2^11 below float32's u·M = 2^-24·M (the least the
policy allows), so it stands in for the exact value in float32 and bfloat16 (not in float64).
Allowance: ``tolerance.allowed_error`` with rounding magnitudes M written out for this one formula as the
oracle's magnitude module would build them, for mean over N rows of l_n = lse_n − z[n, t_n] with
z = x·Wᵀ + b, p = softmax(z), d = (p − onehot(t))/N:

* M(z[n, c]) = Σ_h |W[c, h]·x[n, h]| + |b[c]|;
* the sum Σ_k exp(z[n, k] − max) inside lse_n adds C terms: charged as the policy charges a reduction of
  C terms whose magnitudes add up to the sum itself (the oracle's per-unit magnitudes charge a sum once,
  which suits small C only): L = (accumulation / condition)·g(C) added to M(lse_n), g(C) = C − 1 in
  float32, log2(C) in bfloat16. PyTorch's own float32 log_softmax over 262,144 classes errs by about
  700·u in lse (measured: 4.2e-5 at lse = 24.06), far beyond a log2(C) allowance;
* M(d[n, c]) = |d[n, c]| + p[n, c]·(|z[n, c]| + |lse_n| + L + M(z[n, c]) + Σ_k p[n, k]·M(z[n, k]))/N
  (p = exp(z − lse): its relative error follows the absolute error of z − lse);
* value: M = Σ_n (|lse_n| + L + |z[n, t_n]| + Σ_k p[n, k]·M(z[n, k]) + M(z[n, t_n]))/N, N terms summed;
* grad input[n, h] = Σ_c d[n, c]·W[c, h]: M = Σ_c |W[c, h]|·M(d[n, c]), C terms of magnitude |d·W| summed;
* grad linear_weight[c, h] = Σ_n d[n, c]·x[n, h] and grad linear_bias[c] = Σ_n d[n, c]: N terms each.
"""

from __future__ import annotations

import mpmath
import numpy as np
from losscheck.conformance.tolerance import TOLERANCES, allowed_error


def reference(x: np.ndarray, w: np.ndarray, b: np.ndarray, target: np.ndarray, dtype: str) -> dict[str, tuple]:
    """name → (exact values, magnitudes M, summand magnitudes S, count) for value and each gradient."""
    rows = x.shape[0]
    tolerance = TOLERANCES[dtype]
    classes = w.shape[0]
    growth = classes - 1 if tolerance.growth == "linear" else np.log2(classes)
    lse_sum = tolerance.accumulation / tolerance.condition * growth
    z = x @ w.T + b
    mz = np.abs(x) @ np.abs(w).T + np.abs(b)
    top = z.max(axis=1, keepdims=True)
    lse = top[:, 0] + np.log(np.exp(z - top).sum(axis=1))
    p = np.exp(z - lse[:, None])
    onehot = np.zeros_like(p)
    onehot[np.arange(rows), target] = 1.0
    d = (p - onehot) / rows
    picked = z[np.arange(rows), target]
    spread = (p * mz).sum(axis=1, keepdims=True)
    md = np.abs(d) + p * (np.abs(z) + np.abs(lse)[:, None] + lse_sum + mz + spread) / rows
    losses = lse - picked
    value_m = (np.abs(lse) + lse_sum + np.abs(picked) + spread[:, 0] + mz[np.arange(rows), target]).sum() / rows
    return {
        "value": (np.array([losses.mean()]), np.array([value_m]), np.array([np.abs(losses).sum() / rows]), rows),
        "grad input": (d @ w, md @ np.abs(w), np.abs(d) @ np.abs(w), w.shape[0]),
        "grad linear_weight": (d.T @ x, md.T @ np.abs(x), np.abs(d).T @ np.abs(x), rows),
        "grad linear_bias": (d.sum(axis=0), md.sum(axis=0), np.abs(d).sum(axis=0), rows),
    }


def worst_ratio(got: np.ndarray, exact: np.ndarray, magnitude: np.ndarray, summands: np.ndarray, count: int,
                dtype: str) -> tuple[float, int]:
    """(largest |got − exact| / allowed over the elements, its index): above 1 fails the policy.

    The allowance is linear in M and S except for its ulp(exact) term, so it is evaluated exactly only for the
    elements a vectorised lower bound (the ulp term dropped) does not already clear.
    """
    got, exact = got.reshape(-1).astype(np.float64), exact.reshape(-1)
    error = np.abs(got - exact)
    if not np.isfinite(got).all():
        return float("inf"), int(np.flatnonzero(~np.isfinite(got))[0])
    unit = float(allowed_error(dtype, mpmath.mpf(0), mpmath.mpf(1), mpmath.mpf(0), count, mpmath.mpf(0)))
    per_sum = float(allowed_error(dtype, mpmath.mpf(0), mpmath.mpf(0), mpmath.mpf(0), count, mpmath.mpf(1)))
    floor = unit * magnitude.reshape(-1) + per_sum * summands.reshape(-1)  # allowed minus its ulp(exact) term
    suspects = np.flatnonzero(error > floor * 0.5)
    ratio, worst = 0.0, int(np.argmax(error / np.maximum(floor, 1e-300)))
    for i in suspects:
        allowed = float(allowed_error(dtype, mpmath.mpf(float(exact[i])), mpmath.mpf(float(magnitude.reshape(-1)[i])),
                                      mpmath.mpf(0), count, mpmath.mpf(float(summands.reshape(-1)[i]))))
        if error[i] / allowed > ratio:
            ratio, worst = error[i] / allowed, int(i)
    if not len(suspects):
        ratio = float(np.max(error / np.maximum(floor, 1e-300), initial=0.0))
    return float(ratio), worst
