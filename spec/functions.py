"""SymPy functions the specs need that SymPy lacks, each with its derivative.

Each is a primitive: its evaluations, rounding magnitude, branch arguments and
Mathlib name are declared with it in ``derivations/primitives.py``.

``xlogy(y, x) = y·log(x)``, and 0 where ``y = 0`` (SciPy's and PyTorch's
convention, which makes ``xlogy(0, 0) = 0``). Its partial derivatives are
``log(x)`` and ``y/x``, so ``d/dt xlogy(t, t) = log(t) + 1``, which is -inf at
``t = 0``: the derivative is not hidden by the value convention.

``complex_abs(a, b) = sqrt(a² + b²)``, the modulus of a + ib, with partial
derivatives a/|z| and b/|z|, taken as 0 at z = 0 (PyTorch's sgn(0) = 0);
``modulus(z)`` is |z| for a real or complex SymPy expression.

``clamp_min(x, lo) = max(x, lo)``: the clamps kernels apply (gaussian_nll_loss's
variance floor, the max(p·(1 − p), 1e-12) of BCE's backward). It is its own
function, not ``Max``, so a derivation can remove every clamp (``unclamped``)
and check a spec's gradient conventions against the derivative of the
unclamped loss. Its derivative w.r.t. x is 1 where x ≥ lo and 0 below; on
numbers it evaluates to ``Max``.

``pnorm(p, x_1, …, x_D) = (Σ |x_i|^p)^(1/p)``, the p-norm of a vector (p ≥ 1 a
fixed number, never differentiated). Its partial derivatives are
sign(x_i)·|x_i|^(p−1)/‖x‖^(p−1), taken as 0 at the zero vector (PyTorch's norm
backward), so no 0/0 appears where a difference vanishes.
"""

from __future__ import annotations

import sympy as sp
from sympy.codegen.cfunctions import log1p

__all__ = ["clamp_min", "complex_abs", "log1p", "log_sigmoid", "modulus", "pnorm", "unclamped", "xlogy"]


class xlogy(sp.Function):
    """y·log(x), defined as 0 where y = 0."""

    nargs = 2

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        y, x = self.args
        if argindex == 1:
            return sp.log(x)
        if argindex == 2:
            return y / x
        raise sp.ArgumentIndexError(self, argindex)

    def _eval_rewrite_as_log(self, y: sp.Expr, x: sp.Expr, **kwargs: object) -> sp.Expr:
        return sp.Piecewise((0, sp.Eq(y, 0)), (y * sp.log(x), True))


def log_sigmoid(x: sp.Expr) -> sp.Expr:
    """log σ(x) = -log(1 + exp(-x)), written with log1p so it stays exact for large x."""
    return -log1p(sp.exp(-x))


class complex_abs(sp.Function):
    """|a + ib| = sqrt(a² + b²) of real a, b; its gradient (a, b)/|z| is 0 at z = 0 (sgn(0) = 0)."""

    nargs = 2

    @classmethod
    def eval(cls, a: sp.Expr, b: sp.Expr) -> sp.Expr | None:
        if a.is_number and b.is_number:
            return sp.sqrt(a**2 + b**2)
        return None

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        if argindex not in (1, 2):
            raise sp.ArgumentIndexError(self, argindex)
        a, b = self.args
        part = self.args[argindex - 1]
        return sp.Piecewise((0, sp.Eq(a, 0) & sp.Eq(b, 0)), (part / self, True))


def modulus(z: sp.Expr) -> sp.Expr:
    """|z|: ``Abs`` for a real expression (gradient sign(z), sign(0) = 0), else ``complex_abs(re z, im z)``.

    The complex form keeps re z and im z as written (a − c, not an expansion
    of (a − c)² + (b − d)², which would cancel and inflate the error bound).
    """
    z = sp.sympify(z)
    if not z.has(sp.I):
        return sp.Abs(z)
    real, imaginary = z.as_real_imag()
    return complex_abs(real, imaginary)


class clamp_min(sp.Function):
    """max(x, lo): x where x ≥ lo, else lo."""

    nargs = 2

    @classmethod
    def eval(cls, x: sp.Expr, lo: sp.Expr) -> sp.Expr | None:
        if x.is_extended_real and lo.is_extended_real and x.is_number and lo.is_number:
            return sp.Max(x, lo)
        return None

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        x, lo = self.args
        if argindex == 1:
            return sp.Piecewise((1, x >= lo), (0, True))
        if argindex == 2:
            return sp.Piecewise((0, x >= lo), (1, True))
        raise sp.ArgumentIndexError(self, argindex)


def unclamped(expr: sp.Expr) -> sp.Expr:
    """``expr`` with every ``clamp_min(x, lo)`` replaced by ``x``: the math the clamps guard."""
    return expr.replace(clamp_min, lambda x, lo: x)


class pnorm(sp.Function):
    """(Σ_i |x_i|^p)^(1/p) of pnorm(p, x_1, …, x_D); its gradient is 0 at the zero vector."""

    @classmethod
    def eval(cls, p: sp.Expr, *xs: sp.Expr) -> sp.Expr | None:
        if all(x.is_number for x in xs):
            return cls.expanded(p, xs)
        return None

    @staticmethod
    def expanded(p: sp.Expr, xs: tuple[sp.Expr, ...]) -> sp.Expr:
        """The norm as a plain SymPy expression."""
        return sp.Add(*[sp.Abs(x) ** p for x in xs]) ** (1 / p)

    def fdiff(self, argindex: int = 2) -> sp.Expr:
        if argindex == 1:  # the degree p is a fixed number
            raise sp.ArgumentIndexError(self, argindex)
        p, *xs = self.args
        x = xs[argindex - 2]
        slope = sp.sign(x) * sp.Abs(x) ** (p - 1) / self ** (p - 1)
        return sp.Piecewise((0, sp.And(*[sp.Eq(e, 0) for e in xs])), (slope, True))
