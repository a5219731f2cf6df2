"""Benchmark: oracle throughput per elementary function, mpmath against python-flint (arb) and float64, on
the same inputs.

    python benchmarks/oracle_throughput.py [--n N] [--digits D]

For each function f and N float32 inputs in its domain, evaluations per second of:

* ``losscheck``: the oracle's own path, a ``derivations.evaluators.make_mpmath`` function of f, called once
  per input at D digits (what ``exact_reference`` does per unit);
* ``mpmath``: mpmath's f called directly at D digits;
* ``arb``: python-flint's arb f at the same precision in bits (a certified ball; its radius is printed as
  the largest relative radius);
* ``float64``: NumPy's f over the whole array (what a float64-first oracle would pay).

The last columns are the slowdowns against arb, arb's largest relative ball radius, and the fewest
decimal digits on which the oracle's value and arb's midpoint agree over the inputs (a self-check: about
D, except where the formula itself cancels, as log(1 + exp(x)) does for x ≪ 0 in both engines).
python-flint is optional: without it the arb columns are left out.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable

import mpmath
import numpy as np
import sympy as sp
from losscheck.derivations.evaluators import make_mpmath

try:
    import flint
except ImportError:  # python-flint is an optional dependency
    flint = None

X = sp.Symbol("x", real=True)

# name: (SymPy expression of x, input range (lo, hi, log-spaced?), NumPy function, arb function)
FUNCTIONS: dict[str, tuple[sp.Expr, tuple[float, float, bool], Callable, Callable | None]] = {
    "x*x + x": (X * X + X, (-10.0, 10.0, False), lambda x: x * x + x, lambda x: x * x + x),
    "exp": (sp.exp(X), (-80.0, 80.0, False), np.exp, lambda x: x.exp()),
    "log": (sp.log(X), (1e-30, 1e30, True), np.log, lambda x: x.log()),
    "log1p": (sp.log(1 + X), (1e-20, 1e10, True), np.log1p, lambda x: x.log1p()),
    "sqrt": (sp.sqrt(X), (1e-30, 1e30, True), np.sqrt, lambda x: x.sqrt()),
    "tanh": (sp.tanh(X), (-20.0, 20.0, False), np.tanh, lambda x: x.tanh()),
    "cosh": (sp.cosh(X), (-80.0, 80.0, False), np.cosh, lambda x: x.cosh()),
    "softplus": (sp.log(1 + sp.exp(X)), (-80.0, 80.0, False), lambda x: np.logaddexp(0.0, x),
                 lambda x: (1 + x.exp()).log()),
}

MPMATH_DIRECT = {"x*x + x": lambda x: x * x + x, "exp": mpmath.exp, "log": mpmath.log,
                 "log1p": mpmath.log1p, "sqrt": mpmath.sqrt, "tanh": mpmath.tanh, "cosh": mpmath.cosh,
                 "softplus": lambda x: mpmath.log(1 + mpmath.exp(x))}


def inputs(n: int, lo: float, hi: float, logarithmic: bool) -> np.ndarray:
    """n float32 values (held as float64) in [lo, hi], linear or log-spaced, in a fixed random order."""
    rng = np.random.default_rng(0)
    values = np.exp(rng.uniform(np.log(lo), np.log(hi), n)) if logarithmic else rng.uniform(lo, hi, n)
    return values.astype(np.float32).astype(np.float64)


def _digits(a: mpmath.mpf, b: mpmath.mpf) -> float:
    """Decimal digits on which a and b agree, relative to |b|."""
    if a == b:
        return math.inf
    return float(-mpmath.log10(abs(a - b) / abs(b))) if b != 0 else math.nan


def rate(function: Callable, values: list | np.ndarray, vectorised: bool = False) -> float:
    """Evaluations per second of ``function`` over ``values`` (one call per value, or one call on the whole
    array if ``vectorised``), best of three."""
    best = math.inf
    for _ in range(3):
        started = time.perf_counter()
        if vectorised:
            function(values)
        else:
            for x in values:
                function(x)
        best = min(best, time.perf_counter() - started)
    return len(values) / best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--digits", type=int, default=50)
    args = parser.parse_args()
    n, digits = args.n, args.digits
    bits = math.ceil(digits * math.log2(10)) + 1
    print(f"{n} float32 inputs per function, {digits} digits ({bits} bits); evaluations per second"
          + ("" if flint else "; python-flint not installed: no arb columns"))
    print(f"{'function':10s} {'losscheck':>10s} {'mpmath':>10s} {'arb':>10s} {'float64':>12s}  "
          f"{'losscheck/arb':>13s} {'mpmath/arb':>10s} {'arb radius':>10s} {'digits':>6s}")
    for name, (expression, (lo, hi, logarithmic), numpy_function, arb_function) in FUNCTIONS.items():
        values = inputs(n, lo, hi, logarithmic)
        evaluator = make_mpmath([X], [expression])
        direct = MPMATH_DIRECT[name]
        with mpmath.workdps(digits):
            exact = [mpmath.mpf(float(v)) for v in values]
            ours = rate(evaluator, exact)
            plain = rate(direct, exact)
            reference = [evaluator(x)[0] for x in exact]
        fast = rate(numpy_function, values, vectorised=True)
        arb_rate, radius, agree = math.nan, math.nan, math.nan
        if flint is not None and arb_function is not None:
            flint.ctx.prec = bits
            balls = [flint.arb(float(v)) for v in values]
            arb_rate = rate(arb_function, balls)
            results = [arb_function(b) for b in balls]
            radius = max(float(r.rad() / abs(r.mid())) if r.mid() != 0 else float(r.rad()) for r in results)
            with mpmath.workdps(digits + 10):
                agree = min(_digits(mpmath.mpf(r.mid().str(digits + 10, radius=False)), e)
                            for r, e in zip(results, reference))
        print(f"{name:10s} {ours:10.0f} {plain:10.0f} {arb_rate:10.0f} {fast:12.0f}  "
              f"{arb_rate / ours:13.1f} {arb_rate / plain:10.1f} {radius:10.1e} {agree:6.1f}")


if __name__ == "__main__":
    main()
