"""Rounding magnitude: how much rounding error evaluating an expression can pick up.

``rounding_magnitude(e)`` is M(e), a first-order bound such that evaluating
``e`` in a floating-point format with unit roundoff u, from exact inputs,
errs by about u·M(e) (Higham, *Accuracy and Stability*, §3: running error
bounds). Each operation rounds once and propagates its operands' errors:

    M(input) = |input|                                (inputs perturbed by u, relatively)
    M(a + b) = |a + b| + M(a) + M(b)
    M(a·b)   = |a·b| + |b|·M(a) + |a|·M(b)
    M(f(a))  = |f(a)| + |f'(a)|·M(a)                 (exp, log, log1p, powers, ...)
    M(Piecewise((e_i, c_i)...)) = Piecewise((M(e_i), c_i)...)   (the branch taken)
    M(max(a, b)) = max(M(a), M(b)), clamp_min too;  M(sign(a)) = 0
    (each function's rule is its ``magnitude`` facet in ``primitives``)

Charging each input |input| makes M cover the condition number too: a
relative perturbation u of every input moves e by at most u·Σ|∂e/∂s|·|s|,
which the propagation bounds. M(e)/|e| is thus the condition-aware relative
error allowance: large exactly where cancellation (softmax − target,
lse − x) or an ill-conditioned function (log near 1, exp of a large
argument) makes a correctly written kernel lose accuracy. A function whose
rule needs a limit (xlogy: 0·log 0) declares its propagated term as its
``magnitude`` facet.
"""

from __future__ import annotations

from collections.abc import Callable

import sympy as sp

from ..spec.functions import log1p
from .primitives import CHAIN_RULE, EXACT, SELECTION, largest, least, primitive_of

__all__ = ["adjoint_underflow", "largest", "largest_partial_product", "least", "peak_magnitude",
           "rounding_magnitude", "underflow_magnitude"]


def _error_bound(expr: sp.Expr, leaf: Callable[[sp.Expr], sp.Expr], cost: Callable[[sp.Expr], sp.Expr]) -> sp.Expr:
    """cost(e) + Σ |∂e/∂a|·bound(a) over e's operands a; ``leaf`` bounds the inputs."""
    if expr.is_Symbol:
        return leaf(expr)
    if expr.is_Rational:
        return sp.Integer(0)
    if expr.is_Atom:
        return cost(expr)

    def bound(arg: sp.Expr) -> sp.Expr:
        return _error_bound(arg, leaf, cost)

    if isinstance(expr, sp.Piecewise):  # selecting a branch is exact: the chosen branch's bound
        return sp.Piecewise(*[(bound(e), c) for e, c in expr.args])
    if expr.is_Add:
        propagated = [bound(a) for a in expr.args]
    elif expr.is_Mul:
        factors = expr.args
        propagated = [bound(f) * sp.Abs(sp.Mul(*factors[:i], *factors[i + 1:])) for i, f in enumerate(factors)]
    elif expr.is_Pow:
        base, exponent = expr.args
        propagated = [sp.Abs(exponent * base ** (exponent - 1)) * bound(base)]
        if not exponent.is_Rational:
            propagated.append(sp.Abs(expr * sp.log(base)) * bound(exponent))
    else:
        primitive = primitive_of(expr)
        if primitive is None:
            raise TypeError(f"no error-bound rule for {type(expr).__name__}: {expr} (not a declared primitive)")
        if primitive.magnitude == SELECTION:
            return sp.Max(*[bound(a) for a in expr.args])
        if primitive.magnitude == EXACT:
            return sp.Integer(0)
        if primitive.magnitude == CHAIN_RULE:
            propagated = [sp.Abs(expr.fdiff(i + 1)) * bound(arg) for i, arg in enumerate(expr.args)]
        else:
            propagated = [primitive.magnitude(expr, bound)]
    return cost(expr) + sp.Add(*propagated)


def rounding_magnitude(expr: sp.Expr) -> sp.Expr:
    """M(expr): each operation errs by u·|result|, each input carries u·|input|."""
    return _error_bound(expr, leaf=sp.Abs, cost=sp.Abs)


def underflow_magnitude(expr: sp.Expr) -> sp.Expr:
    """A(expr): each operation errs by η absolutely (gradual underflow), inputs are exact.

    The standard model with underflow is fl(a ∘ b) = (a ∘ b)(1 + δ) + η, |δ| ≤ u,
    |η| ≤ half the smallest subnormal; A(e) propagates the η terms as M does the δ
    terms. It matters where an intermediate such as exp(−16) is subnormal in
    float16 while the result is not small.
    """
    return _error_bound(expr, leaf=lambda symbol: sp.Integer(0), cost=lambda e: sp.Integer(1))


def adjoint_underflow(expr: sp.Expr, symbol: sp.Symbol) -> sp.Expr:
    """U_s(expr) = Σ_v |∂v/∂s| over the operations v of ``expr`` that depend on s (the branch taken of a Piecewise).

    A backward forms the adjoint c·∂l/∂v of every operation v of the forward, then multiplies it down the
    chain to s: an adjoint that rounds into the subnormal range errs by η absolutely, and reaches the
    gradient as η·|∂v/∂s|. PyTorch's float16 cosine_embedding_loss at c = 2^-12 (a mean over 4097 rows)
    forms the adjoint of the radicand p = (Σx1² + ε)·(Σx2² + ε), about c·cos/(2p), far below float16's
    normal range, then multiplies it by Σx2² and 2·x1: its grad input1 is off by whole ulps of the result.
    Where every adjoint is normal (|c·∂l/∂v| ≥ the smallest normal, whose product with u is η), each term
    is at most u·|c·∂l/∂v·∂v/∂s|, one rounding of that path, which M already charges.
    """
    if expr.is_Atom or symbol not in expr.free_symbols:
        return sp.Integer(0)
    if isinstance(expr, sp.Piecewise):  # selecting passes the adjoint to the branch taken
        return sp.Piecewise(*[(adjoint_underflow(e, symbol), c) for e, c in expr.args])
    formed = [sp.Abs(sp.diff(expr, symbol))]
    if expr.is_Mul:  # the radicand a kernel forms before the root, and the root (see ``_common_radicands``)
        for radicand, exponent in _radicands(expr):
            formed += [sp.Abs(sp.diff(radicand, symbol)), sp.Abs(sp.diff(radicand**exponent, symbol))]
    return sp.Add(*formed, *[adjoint_underflow(a, symbol) for a in expr.args])


def peak_magnitude(expr: sp.Expr) -> sp.Expr:
    """P(expr): the largest |intermediate| evaluating ``expr`` as written meets.

    The standard model holds only while no intermediate overflows: where P exceeds a dtype's
    largest value, a kernel evaluating this formula in that dtype may return ±inf or NaN.
    A Piecewise contributes the P of the branch taken, as in M, and of what its conditions compare;
    a sum of more than two terms, the largest of its partial sums in any order; a product of more than two
    factors, likewise its largest partial product (``largest_partial_product``: PyTorch's float16
    gaussian_nll_loss forms (x − t)²/v before halving it, 16384/0.25 = 65536, inf where the exact loss is
    32767.3); a p-norm, Σ|x_i|^p;
    a log-sum-exp or softplus, only its arguments (see ``_log_sum_exp_arguments``); a product of powers
    with one fractional exponent, the product of their bases (see ``_common_radicands``).
    """
    terms: list[sp.Expr] = []
    pending = [expr]
    while pending:
        node = pending.pop()
        if isinstance(node, sp.Piecewise):
            terms.append(sp.Piecewise(*[(peak_magnitude(e), c) for e, c in node.args]))
            pending.extend(_compared(node))  # the conditions are evaluated too
            continue
        if not isinstance(node, sp.Expr) or node.is_Number:
            continue
        exponents = _log_sum_exp_arguments(node)
        if exponents is not None:  # evaluated stably, as max(a) + log Σ exp(a_k − max(a)): no exp(a_k) is formed
            terms.append(sp.Abs(node))
            pending.extend(exponents)
            continue
        terms.append(sp.Abs(node))
        if node.is_Add and len(node.args) > 2:  # SymPy flattens sums: Σ|a−p| − Σ|a−n| + m is one Add
            terms.append(_largest_partial_sum(node.args))
        if node.is_Mul:
            terms.extend(_common_radicands(node))
            if len(node.args) > 2:  # SymPy flattens products: 0.5·(x − t)²·v⁻¹ is one Mul
                terms.append(largest_partial_product(node))
        primitive = primitive_of(node)
        if primitive is not None:  # what evaluating it forms first (the a² + b² of |a + ib|)
            terms.extend(primitive.peak_terms(node))
        pending.extend(node.args)
    return largest(*dict.fromkeys(terms)) if len(terms) > 1 else (terms or [sp.Integer(0)])[0]


def largest_partial_product(expr: sp.Expr) -> sp.Expr:
    """Π max(|f|, 1) over the factors of a product (the largest partial product, whatever the order a
    kernel multiplies them in: δ·w·log_softmax before the (1 − ε) of label smoothing), the largest over
    the terms of a sum, that of the branch taken for a Piecewise (a backward evaluates the selected
    branch's product: cosine_embedding_loss's hinge), else |expr|. A backward forms such products, so
    they are its intermediates."""
    if isinstance(expr, sp.Piecewise):
        return sp.Piecewise(*[(largest_partial_product(e), c) for e, c in expr.args])
    if expr.is_Mul:
        return sp.Mul(*[largest(sp.Abs(f), 1) for f in expr.args])
    if expr.is_Add:
        return largest(*[largest_partial_product(t) for t in expr.args])
    return sp.Abs(expr)


def _common_radicands(product: sp.Expr) -> list[sp.Expr]:
    """|Π b_k| for each group of two or more factors b_k^q of ``product`` sharing one fractional exponent q.

    SymPy splits (a·b)^q into a^q·b^q where a, b ≥ 0, so the spec's sqrt((Σx1² + ε)·(Σx2² + ε)) reaches
    the peak as two roots; a kernel evaluating it as written (PyTorch's cosine_embedding_loss) forms the
    radicand a·b first, which can overflow (float16: 16400·16.25) where a and b do not."""
    return [sp.Abs(radicand) for radicand, _ in _radicands(product)]


def _radicands(product: sp.Expr) -> list[tuple[sp.Expr, sp.Rational]]:
    """(Π b_k, q) for each group of two or more factors b_k^q of ``product`` with one fractional q."""
    groups: dict[sp.Expr, list[sp.Expr]] = {}
    for factor in product.args:
        if factor.is_Pow and factor.exp.is_Rational and not factor.exp.is_Integer:
            groups.setdefault(factor.exp, []).append(factor.base)
    return [(sp.Mul(*bases), exponent) for exponent, bases in groups.items() if len(bases) > 1]


def _log_sum_exp_arguments(node: sp.Expr) -> list[sp.Expr] | None:
    """The a_k of log Σ_k exp(a_k) (a constant 1 is exp(0)), or of log1p(exp(a)); None for other nodes.
    Kernels evaluate these as log-sum-exp and softplus (log_softmax, logsigmoid, BCE with logits) with
    the largest a_k subtracted first, so exp(a_k) is never an intermediate: where one of them
    evaluates it naively, that is a deviation of its own (soft_margin_loss's)."""
    if isinstance(node, log1p) and isinstance(node.args[0], sp.exp):
        return [node.args[0].args[0]]
    if not (isinstance(node, sp.log) and node.args[0].is_Add):
        return None
    exponents = []
    for term in node.args[0].args:
        if isinstance(term, sp.exp):
            exponents.append(term.args[0])
        elif term == 1:
            exponents.append(sp.Integer(0))
        else:
            return None
    return exponents


def _largest_partial_sum(terms: tuple[sp.Expr, ...]) -> sp.Expr:
    """max(Σ positive terms, Σ |negative terms|) = (Σ|t| + |Σt|)/2: a bound on every partial sum of a
    flattened Add, whatever order or grouping (d(a, p) summed before d(a, n) is subtracted) a kernel uses."""
    return (sp.Add(*[sp.Abs(t) for t in terms]) + sp.Abs(sp.Add(*terms))) / 2


def _compared(piecewise: sp.Piecewise) -> list[sp.Expr]:
    """The expressions a Piecewise's conditions compare."""
    found: list[sp.Expr] = []
    pending = [c for _, c in piecewise.args]
    while pending:
        condition = pending.pop()
        if isinstance(condition, sp.core.relational.Relational):
            found.extend([condition.lhs, condition.rhs])
        elif isinstance(condition, sp.logic.boolalg.BooleanFunction):
            pending.extend(condition.args)
    return found
