"""`losscheck docs`: every spec gets a page whose equations read back equal to what SymPy derives.

Independent truth: each equation is read back from the page's content MathML by the test's own
reader (``mathml_reader``) and compared numerically with ``sympy.diff`` of the spec's own unit loss,
taken here; deviations and Lean text are compared with their sources, not with strings in the code.
"""

from __future__ import annotations

import html
import random
import re
from pathlib import Path

import pytest
import sympy as sp
from losscheck.derivations.formula_reference import SEQUENCE_CLASSES, representative_key
from losscheck.derivations.recursion import SYMPY
from losscheck.derivations.symbolic import derive, make_unit, unit_symbols
from losscheck.docs_site.build import deviation_target, every_known_deviation
from losscheck.lean_bridge.emit import lean_file
from losscheck.spec import all_specs
from losscheck.spec.core import Sequences, Unit
from mathml_reader import equations, read

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    from losscheck.cli import main

    out = tmp_path_factory.mktemp("site")
    assert main(["docs", "--out", str(out)]) == 0
    return out


def _unit_loss(spec) -> sp.Expr:
    """The spec's unit loss for the variant the page shows, built here from the spec's own ``loss``."""
    if isinstance(spec.structure, Sequences):
        s = spec.structure
        steps = 2
        rows = [[sp.Symbol(f"{s.sequence}_{t}_{k}", real=True) for k in range(SEQUENCE_CLASSES)] for t in range(steps)]
        tensors = {s.sequence: rows, s.labels: [1], s.label_lengths: 1,
                   **{n: steps for n in s.per_unit if n != s.label_lengths}}
        unit = Unit(tensors, {o.name: o.default for o in spec.options}, num_classes=SEQUENCE_CLASSES, ops=SYMPY)
        return sp.sympify(spec.loss(unit))
    key = representative_key(spec)
    return sp.sympify(spec.loss(make_unit(spec, key, unit_symbols(spec, key))))


def _value(expr: sp.Expr, point: dict[sp.Symbol, sp.Expr]) -> complex | None:
    value = sp.N(expr.xreplace(point).rewrite(sp.log), 30)
    try:
        number = complex(value)
    except TypeError:
        return None
    return number if all(map(lambda v: abs(v) < 1e300, (number.real, number.imag))) else None


def _agree(shown: sp.Expr, truth: sp.Expr, seed: int) -> int:
    """How many of 4 random points (every symbol in (0.1, 0.9)) the two agree at; AssertionError where they differ."""
    rng = random.Random(seed)
    symbols = sorted(shown.free_symbols | truth.free_symbols, key=str)
    agreed = 0
    for _ in range(4):
        point = {s: sp.Float(rng.uniform(0.1, 0.9), 30) for s in symbols}
        a, b = _value(shown, point), _value(truth, point)
        if a is None or b is None:
            continue
        assert abs(a - b) <= 1e-12 * max(1.0, abs(b)), (shown, truth, point)
        agreed += 1
    return agreed


def test_every_spec_has_a_page_and_the_index_lists_it(site):
    specs = all_specs()
    assert len(specs) >= 26
    index = (site / "index.html").read_text()
    for name in specs:
        assert (site / f"{name}.html").is_file() and (site / "md" / f"{name}.md").is_file()
        assert f'href="{name}.html"' in index


def test_each_equation_on_each_page_reads_back_equal_to_sympy_diff(site):
    for number, (name, spec) in enumerate(all_specs().items()):
        page = (site / f"{name}.html").read_text()
        loss = _unit_loss(spec)
        found = {"loss": 0, "gradient": 0}
        for attributes, content in equations(page):
            quantity = attributes.get("data-quantity")
            if quantity == "loss":
                truth = loss
            elif quantity == "gradient":
                truth = sp.diff(loss, sp.Symbol(attributes["data-wrt"], real=True))
            else:
                continue
            found[quantity] += 1
            assert _agree(read(content), truth, seed=number) >= 1, (name, attributes)
        assert found["loss"] == 1, name
        differentiable = len(derive(spec, representative_key(spec)).wrt) if not isinstance(
            spec.structure, Sequences) else 2 * SEQUENCE_CLASSES
        assert found["gradient"] == differentiable, name


def test_a_wrong_equation_would_be_caught():
    """The comparison itself can fail: a gradient off by a factor of 2 is flagged."""
    x = sp.Symbol("input", real=True)
    with pytest.raises(AssertionError):
        _agree(2 * x**2, x**2, seed=0)


def _visible_text(page: str) -> str:
    page = page.replace("<wbr>", "")  # a break opportunity, not a character
    page = re.sub(r"<annotation-xml.*?</annotation-xml>", "", page, flags=re.S)
    page = re.sub(r"<(script|style)\b.*?</\1>", "", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


@pytest.mark.parametrize("leak", ["Piecewise(", "<function", "Symbol(", "object at 0x", "\\frac", "\\left",
                                  "\\mathrm", "sympy.core", "zoo", "nan"])
def test_no_python_repr_or_latex_in_the_html(site, leak):
    for path in site.glob("*.html"):
        text = _visible_text(path.read_text())
        if leak in ("zoo", "nan"):  # words that may appear in prose, never as a word in mathematics
            text = " ".join(_visible_text(m) for m in re.findall(r"<math.*?</math>", path.read_text(), re.S))
        assert leak not in text, (path.name, leak)


def test_no_python_booleans_in_the_mathematics(site):
    for path in site.glob("*.html"):
        for math in re.findall(r"<math.*?</math>", path.read_text(), re.S):
            words = set(re.findall(r"\w+", _visible_text(math)))
            assert not words & {"True", "False", "Piecewise", "ExprCondPair"}, path.name


def test_markdown_has_one_latex_block_per_equation(site):
    for name in all_specs():
        page = (site / f"{name}.html").read_text()
        markdown = (site / "md" / f"{name}.md").read_text()
        assert markdown.count("$$\n") == 2 * len(equations(page)), name
        assert "<math" not in markdown


def test_known_deviations_are_listed_on_their_loss_page(site):
    deviations = every_known_deviation()
    assert deviations
    for deviation in deviations:
        losses = sorted(all_specs()) if deviation.loss == "*" else [deviation.loss]  # "*": every loss
        for loss in losses:
            page = _visible_text((site / f"{loss}.html").read_text())
            assert deviation.id in page
            assert str(deviation.pytorch) in page and str(deviation.exact) in page
            target = deviation_target(deviation)
            if target:
                assert f"target {target}" in page


def test_the_lean_emit_statement_is_on_the_page(site):
    for name in ("mse_loss", "cross_entropy"):
        page = html.unescape((site / f"{name}.html").read_text())
        assert lean_file(all_specs()[name]) in page


def test_lean_check_verdicts_with_a_checkout(run_cli, tmp_path):
    status, _, _ = run_cli("docs", "--out", str(tmp_path), "--loss", "mse_loss",
                           "--torchlean", str(FIXTURES / "torchlean_ok"))
    assert status == 0
    page = (tmp_path / "mse_loss.html").read_text().replace("<wbr>", "")
    assert re.search(r"Loss\.lean:\d+</td><td>forward</td><td>equal", page)
    assert "not run (no TorchLean checkout given" not in page


def test_search_data_names_every_spec(site):
    text = (site / "search.json").read_text()
    for name in all_specs():
        assert f'"name": "{name}"' in text


@pytest.mark.parametrize("arguments, message", [
    (["--loss", "no_such_loss"], "unknown loss 'no_such_loss'"),
    (["--torchlean", "/no/such/torchlean"], "no such directory"),
])
def test_bad_input_is_one_line_and_exit_2(run_cli, tmp_path, arguments, message):
    status, _, err = run_cli("docs", "--out", str(tmp_path), *arguments)
    assert status == 2
    assert message in err and err.count("\n") == 1


def test_out_that_is_a_file_is_refused(run_cli, tmp_path):
    path = tmp_path / "file"
    path.write_text("")
    status, _, err = run_cli("docs", "--out", str(path))
    assert status == 2 and "not a directory" in err
