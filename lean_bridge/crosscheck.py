"""Cross-check TorchLean's definitions against losscheck's specs and against ``sympy.diff``.

For each registry ``Link`` (see ``registry``):

* **forward**: the Lean definition, translated to SymPy on symbolic tensors of ``link.shape``,
  against the spec's expanded loss (``derivations.expanded.expanded_loss``) on the same
  symbols, under the link's conventions (one-hot rows for class indices, ε substituted);
* **derivative**: each entry of the hand-written ``…DerivSpec`` against ``sympy.diff`` of the
  translated Lean forward definition itself;
* **vjp** / **jvp** of a tape node: ``vjp(x; δ)_k`` against ``δ·∂f/∂x_k`` and ``jvp(x; ẋ)``
  against ``Σ_k ∂f/∂x_k·ẋ_k``, with ``f`` the node's own translated forward function;
* **certificate**: the ``…Fderiv`` declaration exists.

Equality is decided at seeded random points of each input's domain, evaluated at 30 digits
(relative tolerance 1e-20): a disagreement is reported with the point and both values, and with
what the definition computes instead where ``explain`` can name it (a denominator, another spec
or option value, a wrong term of a gradient). Where the difference is small enough,
``sympy.simplify`` confirms it is identically 0.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import sympy as sp

from ..derivations.expanded import expanded_loss
from ..spec import all_specs
from ..spec.core import REAL, Domain, LossSpec
from .docformula import documented_forward
from .explain import constant_factor, misplaced_function, name_factor, other_spec, radial_term
from .findings import Finding
from .lean_source import Checkout, Declaration
from .lean_values import EPSILON, Context, Grad
from .link_setup import DIGITS, LinkSetup, as_float, evaluate_link, forward_value, lean_symbols, link_setup
from .registry import LINKS, Link
from .syntax import Untranslatable
from .translate import call, evaluate

POINTS = 4
RELATIVE_TOLERANCE = sp.Float("1e-20", DIGITS)
SIMPLIFY_LIMIT = 120  # sympy.simplify only differences with at most this many operations
def _numeric(expr: Any, point: Mapping[sp.Symbol, sp.Float]) -> sp.Expr:
    """``expr`` at ``point``; the specs' own functions (xlogy, log1p) are rewritten as logs first."""
    return sp.N(sp.sympify(expr).xreplace(point).rewrite(sp.log), DIGITS)


def _agree(a: sp.Expr, b: sp.Expr) -> bool:
    if a.has(sp.nan, sp.zoo) or b.has(sp.nan, sp.zoo) or not (a.is_comparable and b.is_comparable):
        return a == b
    scale = max(sp.Float(1), abs(a), abs(b))
    return bool(abs(a - b) <= RELATIVE_TOLERANCE * scale)


def _show(value: Any) -> str:
    return sp.sstr(sp.N(value, 12)) if isinstance(value, sp.Basic) else str(value)


# ------------------------------------------------------------- forward ---


def _spec_value(setup: LinkSetup, index_rows: np.ndarray | None) -> sp.Expr:
    """The spec's loss on the Lean symbols (or, for one-hot links, on class indices ``index_rows``)."""
    link, spec = setup.link, setup.spec
    tensors: dict[str, np.ndarray] = {}
    for param, array in setup.arrays.items():
        tensors[link.arguments[param]] = array
    if index_rows is not None:
        tensors["target"] = index_rows
    options = dict(link.options)
    for param, option in link.option_arguments.items():
        options[option] = float(sp.Rational(link.values[param]))
    (value,) = expanded_loss(spec, tensors, options)
    return sp.sympify(value)


def _unfit(link: Link, spec: LossSpec, setup: LinkSetup) -> str:
    """Why the link does not fit the spec or the Lean declaration ('' when it does)."""
    tensors = {t.name for t in spec.tensors}
    options = {o.name for o in spec.options}
    missing = [a for a in link.arguments.values() if a not in tensors]
    missing += [o for o in [*link.options, *link.option_arguments.values()] if o not in options]
    if missing:
        return f"the registry entry names {', '.join(missing)}, which spec {spec.name} does not have"
    unmapped = sorted(set(setup.arrays) ^ set(link.arguments))
    if unmapped:
        return f"Lean parameters and the registry's arguments differ: {', '.join(unmapped)}"
    return ""


def find_forward(link: Link, checkout: Checkout) -> tuple[str, Declaration | None]:
    """The link's forward declaration under its name or, in another TorchLean version, a former one."""
    for name in (link.forward, *link.renamed):
        if (declaration := checkout.find(name)) is not None:
            return name, declaration
    return link.forward, None


def _spec_at(setup: LinkSetup, point: Mapping[sp.Symbol, sp.Float], symbolic: sp.Expr | None) -> sp.Expr:
    """The spec's value at ``point``: one-hot links read the class of each target row there."""
    if setup.link.target != "one-hot":
        return _numeric(symbolic, point)
    rows = setup.arrays[_target_param(setup.link)]
    onehot = np.array([float(point[s]) for s in rows.reshape(-1)]).reshape(rows.shape)
    return _numeric(_spec_value(setup, onehot.argmax(axis=-1)), point)


def _name_forward(setup: LinkSetup, lean: sp.Expr, symbolic: sp.Expr | None, specs: Mapping[str, LossSpec],
                  seed: int) -> str:
    """What a different forward definition computes, at fresh points (see ``explain``)."""
    link, rng = setup.link, np.random.default_rng(seed + 1)
    points = [setup.point(rng) for _ in range(POINTS)]
    lean_at = [float(_numeric(lean, p)) for p in points]
    spec_at = [float(_spec_at(setup, p, symbolic)) for p in points]
    k = constant_factor(lean_at, spec_at)
    if k is not None and (named := name_factor(k, link.shape, link.class_axis, class_only=True)):
        return named
    if named := misplaced_function(lean, spec_at, points, lambda e, p: float(_numeric(e, p))):
        return named
    if link.target != "one-hot" and setup.spec is not None:
        tensors = {link.arguments[p]: a for p, a in setup.arrays.items()}
        options = dict(link.options)
        options.update({o: float(sp.Rational(link.values[p])) for p, o in link.option_arguments.items()})
        numbers = [float(sp.Rational(v)) for v in link.values.values() if isinstance(v, str)]
        if named := other_spec(lean_at, tensors, points, lambda e, p: float(_numeric(e, p)), setup.spec, options,
                               specs, numbers):
            return named
    if k is not None:
        return name_factor(k, link.shape, link.class_axis, class_only=False)
    return f"matches no other spec or option setting tried ({len(specs)} specs)"


def check_forward(link: Link, checkout: Checkout, spec: LossSpec | None, seed: int = 0,
                  specs: Mapping[str, LossSpec] | None = None) -> Finding:
    name, declaration = find_forward(link, checkout)
    finding = Finding(link.spec, name, "forward", "", conventions=[c.name for c in link.conventions])
    if declaration is None:
        return _missing(finding)
    finding.path, finding.line, finding.docstring = str(declaration.path), declaration.line, declaration.docstring
    substitute = {k: v for c in link.conventions for k, v in c.substitute.items()}
    try:
        setup = link_setup(link, spec, declaration, substitute)
        lean = forward_value(setup, checkout)  # translated even when there is nothing to compare with
        if spec is None:
            finding.status, finding.detail = "no spec", f"translated; no spec {link.spec} here"
            return finding
        if (why := _unfit(link, spec, setup)):
            finding.status, finding.detail = "not compared", why
            return finding
        rng = np.random.default_rng(seed)
        symbolic_spec = None if link.target == "one-hot" else _spec_value(setup, None)
        for _ in range(POINTS):
            point = setup.point(rng)
            expected_expr = symbolic_spec
            got, expected = _numeric(lean, point), _spec_at(setup, point, expected_expr)
            if not _agree(got, expected):
                finding.status = "different"
                finding.named = _name_forward(setup, lean, symbolic_spec, all_specs() if specs is None else specs,
                                              seed)
                finding.detail = (f"{finding.named}: " if finding.named else "") + \
                    f"TorchLean {_show(got)} vs losscheck {_show(expected)}"
                finding.counterexample = {"input": setup.show_point(point), "torchlean": _show(got),
                                          "losscheck": _show(expected)}
                return finding
        finding.status = "equal under" if link.conventions else "equal"
        finding.detail = _method(lean, symbolic_spec)
    except Untranslatable as error:
        _untranslatable(finding, error)
    return finding


def _target_param(link: Link) -> str:
    return next(p for p, a in link.arguments.items() if a == "target")


def _method(a: sp.Expr, b: sp.Expr | None) -> str:
    if b is not None:
        difference = a - b
        if not difference.has(sp.Piecewise) and sp.count_ops(difference) <= SIMPLIFY_LIMIT \
                and sp.simplify(difference) == 0:
            return "sympy.simplify: identical"
    return f"agree at {POINTS} points"


def _missing(finding: Finding) -> Finding:
    finding.status, finding.detail = "missing", "declaration not found in the checkout"
    return finding


def _untranslatable(finding: Finding, error: Untranslatable) -> None:
    """The finding keeps the declaration's own line; the detail names the failing construct and its line."""
    finding.status = "untranslatable"
    where = f"line {error.line}" if error.path in ("", finding.path) else f"{error.path}:{error.line}"
    finding.detail = f"{error.construct} ({where}): {error.why}"


# ---------------------------------------------------------- derivatives ---


def _first_difference(setup: LinkSetup, pairs: list[tuple[str, Any, Any]], rng: np.random.Generator,
                      extra: Mapping[sp.Symbol, Domain] | None = None, expected_key: str = "sympy.diff",
                      ) -> dict[str, Any] | None:
    """The first (label, got, expected) pair that disagrees at some point, as a counterexample."""
    for _ in range(POINTS):
        point = setup.point(rng, extra)
        for label, got_expr, expected_expr in pairs:
            got, expected = _numeric(got_expr, point), _numeric(expected_expr, point)
            if not _agree(got, expected):
                shown = setup.show_point(point)
                shown.update({str(s): float(point[s]) for s in extra or {}})
                return {"element": label, "input": shown, "torchlean": _show(got), expected_key: _show(expected)}
    return None


def check_derivative(link: Link, checkout: Checkout, spec: LossSpec | None, seed: int = 0) -> Finding:
    """The ``…DerivSpec`` against ``sympy.diff`` of the Lean forward definition."""
    finding = Finding(link.spec, link.derivative or "", "derivative", "")
    forward, derivative = find_forward(link, checkout)[1], checkout.find(link.derivative or "")
    if derivative is None:
        return _missing(finding)
    finding.path, finding.line, finding.docstring = str(derivative.path), derivative.line, derivative.docstring
    if forward is None:
        finding.status, finding.detail = "missing", f"its forward definition {link.forward} is missing"
        return finding
    substitute = {k: v for c in link.conventions for k, v in c.substitute.items()}
    try:
        setup = link_setup(link, spec, forward, substitute)
        lean = forward_value(setup, checkout)
        wrt = link.wrt or next(iter(setup.arrays))
        value = evaluate_link(link, checkout, derivative, setup.bindings)
        values = np.asarray(value, dtype=object)
        symbols = setup.arrays[wrt]
        if values.shape != symbols.shape:
            raise Untranslatable(derivative.name, derivative.line,
                                 f"has shape {values.shape}, its forward's input {symbols.shape}")
        pairs = [(f"∂/∂{s}", values[i], sp.diff(lean, s)) for i, s in np.ndenumerate(symbols)]
        counterexample = _first_difference(setup, pairs, np.random.default_rng(seed))
        _verdict(finding, counterexample, f"∂{link.forward.rsplit('.', 1)[-1]}/∂{wrt}")
        if counterexample is not None:
            finding.named = _name_derivative(setup, wrt, pairs, counterexample)
            finding.detail = (f"{finding.named}: " if finding.named else "") + finding.detail
    except Untranslatable as error:
        _untranslatable(finding, error)
    return finding


def _name_derivative(setup: LinkSetup, wrt: str, pairs: list[tuple[str, Any, Any]],
                     counterexample: dict[str, Any]) -> str:
    """A wrong term of a two-vector gradient, at the counterexample's point (see ``explain``)."""
    others = [p for p in setup.arrays if p != wrt]
    if len(others) != 1 or setup.arrays[wrt].ndim != 1:
        return ""
    shown = counterexample["input"]
    point = {s: as_float(v) for p, a in setup.arrays.items() for s, v in zip(a.reshape(-1), shown[p])}
    point[EPSILON] = as_float(1e-6)
    lean = np.array([float(_numeric(g, point)) for _, g, _ in pairs])
    true = np.array([float(_numeric(d, point)) for _, _, d in pairs])
    return radial_term(lean, true, np.array(shown[wrt], dtype=float), np.array(shown[others[0]], dtype=float),
                       wrt, others[0])


def _verdict(finding: Finding, counterexample: dict[str, Any] | None, equal: str) -> None:
    if counterexample is None:
        finding.status, finding.detail = "equal", f"= {equal} at {POINTS} points"
    else:
        finding.status, finding.counterexample = "different", counterexample
        finding.detail = (f"{counterexample['element']}: TorchLean {counterexample['torchlean']} "
                          f"vs sympy.diff {counterexample['sympy.diff']}")


def check_tape(link: Link, checkout: Checkout, spec: LossSpec | None, seed: int = 0) -> list[Finding]:
    """The tape node's vjp and jvp against ``sympy.diff`` of its own forward function ``f``."""
    doc_finding = Finding(link.spec, link.forward, "docstring", "")
    vjp_finding = Finding(link.spec, link.forward, "vjp", "")
    jvp_finding = Finding(link.spec, link.forward, "jvp", "")
    declaration = find_forward(link, checkout)[1]
    if declaration is None:
        return [_missing(vjp_finding), _missing(jvp_finding)]
    for finding in (doc_finding, vjp_finding, jvp_finding):
        finding.path, finding.line = str(declaration.path), declaration.line
    try:
        setup = link_setup(link, spec, declaration, {})
        node = evaluate(checkout, declaration, setup.bindings)
        lean = forward_value(setup, checkout)
        primal = Context({p: a.reshape(-1) for p, a in setup.arrays.items()})
        upstream = sp.Symbol("δ", real=True)
        tangents = {p: lean_symbols(f"d{p}", a.shape) for p, a in setup.arrays.items()}
        grads = call(checkout, node.vjp, primal, np.array([upstream], dtype=object))
        if not isinstance(grads, Grad):
            raise Untranslatable("vjp", declaration.line, "does not return a sum of CtxVec.single")
        pairs = []
        for param, array in setup.arrays.items():
            got = np.asarray(grads.parts.get(param, np.zeros(array.size, dtype=object)), dtype=object).reshape(-1)
            pairs += [(f"vjp {s}", got[k], upstream * sp.diff(lean, s)) for k, s in enumerate(array.reshape(-1))]
        rng = np.random.default_rng(seed)
        _check_docstring(doc_finding, setup, lean, rng, checkout)
        _verdict(vjp_finding, _first_difference(setup, pairs, rng, {upstream: REAL}), "δ·∂f/∂x")
        tangent = Context({p: t.reshape(-1) for p, t in tangents.items()})
        jvp = np.asarray(call(checkout, node.jvp, primal, tangent)).reshape(-1)[0]
        expected = sp.Add(*[sp.diff(lean, s) * t for p, a in setup.arrays.items()
                            for s, t in zip(a.reshape(-1), tangents[p].reshape(-1))])
        extra = {t: REAL for ts in tangents.values() for t in ts.reshape(-1)}
        _verdict(jvp_finding, _first_difference(setup, [("jvp", jvp, expected)], rng, extra), "Σ ∂f/∂x·ẋ")
    except Untranslatable as error:
        _untranslatable(vjp_finding, error)
        _untranslatable(jvp_finding, error)
        return [vjp_finding, jvp_finding]
    return [doc_finding, vjp_finding, jvp_finding]


def _check_docstring(finding: Finding, setup: LinkSetup, lean: sp.Expr, rng: np.random.Generator,
                     checkout: Checkout) -> None:
    """The formula the docstring documents against the node's own ``f``.

    Docstrings are prose: a formula the reader cannot read is reported (construct and line),
    as ``not compared``, not as a failure of the definition.
    """
    finding.docstring = setup.declaration.docstring
    try:
        text, documented = documented_forward(setup.declaration.docstring, setup.arrays, setup.link.shape,
                                              setup.declaration.line, checkout)
    except Untranslatable as error:
        finding.status = "not compared"
        finding.detail = f"docstring formula not read: {error.construct} (line {error.line}): {error.why}"
        return
    counterexample = _first_difference(setup, [(f"`{text}`", lean, documented)], rng, expected_key="documented")
    if counterexample is None:
        finding.status, finding.detail = "equal", f"`{text}` = f at {POINTS} points"
    else:
        finding.status, finding.counterexample = "different", counterexample
        finding.detail = (f"`{text}` is {counterexample['documented']}, the node's f "
                          f"{counterexample['torchlean']}")


def check_certificate(link: Link, checkout: Checkout) -> Finding:
    finding = Finding(link.spec, link.certificate or "", "certificate", "")
    declaration = checkout.find(link.certificate or "")
    if declaration is None:
        return _missing(finding)
    finding.path, finding.line = str(declaration.path), declaration.line
    finding.status, finding.detail = "present", f"{declaration.kind}; its proof is Lean's to check"
    return finding


def _guarded(check: str, link: Link, run: Callable[[], Finding | list[Finding]]) -> list[Finding]:
    """Run one check; an unexpected failure becomes an ``error`` finding, never a traceback."""
    try:
        result = run()
    except Exception as error:  # Lean input is arbitrary text: report what broke and go on
        return [Finding(link.spec, link.forward, check, "error", f"{type(error).__name__}: {error}")]
    return result if isinstance(result, list) else [result]


def check_link(link: Link, checkout: Checkout, spec: LossSpec | None, seed: int = 0,
               specs: Mapping[str, LossSpec] | None = None) -> list[Finding]:
    """Every check of one link, forward first; ``specs`` are the candidates a difference is named by."""
    findings = _guarded("forward", link, lambda: check_forward(link, checkout, spec, seed, specs))
    if link.derivative:
        findings += _guarded("derivative", link, lambda: check_derivative(link, checkout, spec, seed))
    if link.layer == "tape":
        findings += _guarded("vjp/jvp", link, lambda: check_tape(link, checkout, spec, seed))
    if link.certificate:
        findings += _guarded("certificate", link, lambda: check_certificate(link, checkout))
    return findings


def check_all(checkout: Checkout, links: tuple[Link, ...] = LINKS, specs: Mapping[str, LossSpec] | None = None,
              seed: int = 0) -> list[Finding]:
    """Every check of every link; ``specs`` defaults to ``losscheck.spec.all_specs()``."""
    specs = all_specs() if specs is None else specs
    return [finding for link in links for finding in check_link(link, checkout, specs.get(link.spec), seed, specs)]
