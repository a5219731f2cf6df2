"""The Lean bridge on the constructs of TorchLean's real text, on fixtures of our own (issue 14).

``torchlean_older`` is written like an older TorchLean: ``Numbers`` constants, an axis-less
log-softmax defined by cases, an indented runtime ``reduce`` defined by ``cases``, ``do`` code.
Truth is independent of the bridge: PyTorch at the reported points, the fixture text itself
for constants and lines, and Rich's own rendering for the table.
"""

import json
import re
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
import torch
import torch.nn.functional as F
from losscheck.lean_bridge.constants import read_constants
from losscheck.lean_bridge.crosscheck import check_all
from losscheck.lean_bridge.docformula import documented_forward
from losscheck.lean_bridge.emit import emit_all
from losscheck.lean_bridge.lean_source import open_checkout, read_declarations
from losscheck.lean_bridge.registry import LINKS, SOURCES
from losscheck.lean_bridge.report import findings_json, print_findings
from losscheck.lean_bridge.syntax import Let, Match, Untranslatable, parse
from losscheck.lean_bridge.translate import Interpreter
from losscheck.lean_bridge.vocabulary import VOCABULARY, with_declared_signature
from losscheck.spec import all_specs
from rich.console import Console

FIXTURES = Path(__file__).parent / "fixtures"
OLDER, OK, WRONG = FIXTURES / "torchlean_older", FIXTURES / "torchlean_ok", FIXTURES / "torchlean_wrong"


def _present(root: Path) -> tuple:
    """The registry links whose forward declaration the checkout has."""
    checkout = open_checkout(root, SOURCES)
    return tuple(link for link in LINKS if any(checkout.find(n) for n in (link.forward, *link.renamed)))


@pytest.fixture(scope="module")
def older_findings():
    return check_all(open_checkout(OLDER, SOURCES), links=_present(OLDER))


def _find(findings, declaration, check):
    return next(f for f in findings if f.declaration.endswith("." + declaration) and f.check == check)


# ------------------------------------------------------------ constants ---

def test_numbers_constants_come_from_the_real_instance():
    path = OLDER / "NN/Spec/Core/Context.lean"
    constants = read_constants([path])
    lines = path.read_text(encoding="utf-8").splitlines()
    assert {name: text for name, (text, _) in constants.items()} == {
        "Numbers.two": "2", "Numbers.half": "0.5", "Numbers.epsilon": "1e-6"}  # not the Float instance's
    for name, (text, line) in constants.items():
        assert re.match(rf"\s+{name.split('.')[1]}\s*:= {re.escape(text)}$", lines[line - 1])


def test_a_field_no_class_declares_is_no_constant(tmp_path):
    (tmp_path / "C.lean").write_text("noncomputable instance : Numbers ℝ where\n  two := 2\n", encoding="utf-8")
    assert read_constants([tmp_path / "C.lean"]) == {}


def test_numerals_with_exponents_are_exact():
    assert Interpreter(None).eval(parse("1e-6"), {}) == sp.Rational(1, 10 ** 6)
    assert Interpreter(None).eval(parse("0.5"), {}) == sp.Rational(1, 2)


# ---------------------------------------------------------------- arity ---

def _logits(rows: int, classes: int) -> tuple[np.ndarray, dict]:
    symbols = np.array(sp.symbols(f"x0:{rows * classes}", real=True), dtype=object).reshape(rows, classes)
    values = np.random.default_rng(3).standard_normal((rows, classes))
    return symbols, dict(zip(symbols.reshape(-1), values.reshape(-1).tolist())), values


def test_axis_less_log_softmax_acts_on_the_last_axis():
    declared = read_declarations(OLDER / "NN/Spec/Layers/Activation.lean")["Activation.logSoftmaxSpec"]
    assert declared.explicit_types() == ["Tensor α s"]
    adapted = with_declared_signature(VOCABULARY["Activation.logSoftmaxSpec"], declared)
    symbols, point, values = _logits(2, 3)
    got = np.array(adapted.fn([symbols], {}, None).reshape(-1).tolist(), dtype=object)
    got = np.array([float(e.subs(point)) for e in got]).reshape(2, 3)
    np.testing.assert_allclose(got, F.log_softmax(torch.tensor(values), dim=-1).numpy(), rtol=1e-12)


def test_axis_first_log_softmax_takes_its_axis(tmp_path):
    (tmp_path / "A.lean").write_text(
        "namespace Activation\n/-- doc -/\ndef logSoftmaxSpec {s : Shape} (axis : Nat) [Shape.AxisInBounds axis s]\n"
        "    (x : Tensor α s) : Tensor α s :=\n  x\nend Activation\n", encoding="utf-8")
    declared = read_declarations(tmp_path / "A.lean")["Activation.logSoftmaxSpec"]
    assert declared.explicit_types() == ["Nat", "Tensor α s"]
    adapted = with_declared_signature(VOCABULARY["Activation.logSoftmaxSpec"], declared)
    symbols, point, values = _logits(2, 3)
    got = np.array([float(e.subs(point)) for e in adapted.fn([0, symbols], {}, None).reshape(-1)]).reshape(2, 3)
    np.testing.assert_allclose(got, F.log_softmax(torch.tensor(values), dim=0).numpy(), rtol=1e-12)


# --------------------------------------------------------------- syntax ---

def test_do_blocks_bind_like_let():
    chain = parse("do\n  let a ← f x\n  let b : T := g a\n  h b")
    assert isinstance(chain, Let) and chain.name == "a" and isinstance(chain.body, Let) and chain.body.name == "b"


def test_match_and_cases_pick_an_arm_by_constructor():
    tactic = parse("by\n  cases r with\n  | mean => exact f x\n  | sum => exact g x")
    term = parse("match r with\n| .sum => g x\n| .mean =>\n    let y ← f x\n    y")
    assert isinstance(tactic, Match) and [a for a, _ in tactic.arms] == ["mean", "sum"]
    assert isinstance(term, Match) and [a for a, _ in term.arms] == ["sum", "mean"]
    interpreter = Interpreter(None)
    # the arms a constructor selects, evaluated on closures bound in the environment
    env = {"x": sp.Integer(3), "f": interpreter.eval(parse("fun v => v * 2"), {}),
           "g": interpreter.eval(parse("fun v => v + 1"), {})}
    for node in (tactic, term):
        assert interpreter.eval(node, {**env, "r": interpreter.eval(parse(".mean"), {})}) == 6
        assert interpreter.eval(node, {**env, "r": interpreter.eval(parse(".sum"), {})}) == 4


def test_an_arm_with_arguments_is_named():
    with pytest.raises(Untranslatable) as error:
        parse("match x with\n| some y => y")
    assert error.value.construct == "match" and "some" in error.value.why


def test_an_indented_declaration_is_read_with_its_docstring():
    found = read_declarations(OLDER / "NN/Runtime/Autograd/TorchLean/Loss.lean")
    reduce = found["Runtime.Autograd.TorchLean.Loss.reduce"]
    lines = (OLDER / "NN/Runtime/Autograd/TorchLean/Loss.lean").read_text(encoding="utf-8").splitlines()
    assert lines[reduce.line - 1].startswith("  def reduce") and "Reduce `x`" in reduce.docstring


# ----------------------------------------------------- the older fixture ---

def test_older_fixture_translates_everything_and_flags_the_planted_mistakes(older_findings):
    assert [f.declaration for f in older_findings if f.status in ("untranslatable", "error", "missing")] == []
    flagged = {(f.declaration.rsplit(".", 1)[-1], f.check) for f in older_findings if f.failed}
    assert flagged == {("huberSpec", "forward"), ("crossEntropyLogitsSpec", "forward"),
                       ("cosineSimilarityDerivSpec", "derivative"), ("bce", "forward")}
    assert all(f.status == "different" and f.counterexample and f.named for f in older_findings if f.failed)


def test_smooth_l1_form_is_named_and_holds(older_findings):
    f = _find(older_findings, "huberSpec", "forward")
    assert f.named == "equals smooth_l1_loss with beta = 3/4, not huber_loss with delta = 3/4"
    x, t = (torch.tensor(f.counterexample["input"][k], dtype=torch.float64) for k in ("predicted", "target"))
    assert float(f.counterexample["torchlean"]) == pytest.approx(F.smooth_l1_loss(x, t, beta=0.75).item(), rel=1e-9)
    assert float(f.counterexample["losscheck"]) == pytest.approx(F.huber_loss(x, t, delta=0.75).item(), rel=1e-9)


def test_all_element_mean_is_named_with_its_factor(older_findings):
    f = _find(older_findings, "crossEntropyLogitsSpec", "forward")
    logits = torch.tensor(f.counterexample["input"]["logits"], dtype=torch.float64)
    classes = logits.shape[1]
    assert f"factor C = {classes}" in f.named and "averages over all" in f.named
    pytorch = F.cross_entropy(logits, torch.tensor(np.array(f.counterexample["input"]["target"]).argmax(1))).item()
    assert float(f.counterexample["torchlean"]) == pytest.approx(pytorch / classes, rel=1e-9)


def test_norm_power_of_the_cosine_gradient_is_named(older_findings):
    f = _find(older_findings, "cosineSimilarityDerivSpec", "derivative")
    assert f.named == "its predicted term is ‖predicted‖ times the true one"
    p = torch.tensor(f.counterexample["input"]["predicted"], dtype=torch.float64)
    t = torch.tensor(f.counterexample["input"]["target"], dtype=torch.float64)
    k = int(f.counterexample["element"].split("[")[1].rstrip("]"))
    planted = (p.dot(t) / (p.norm() ** 2 * t.norm())) * p[k] - t[k] / (p.norm() * t.norm())
    assert float(f.counterexample["torchlean"]) == pytest.approx(planted.item(), rel=1e-9)


def test_runtime_bce_log_of_softplus_is_named_and_holds(older_findings):
    f = _find(older_findings, "bce", "forward")
    assert f.declaration == "Runtime.Autograd.TorchLean.Loss.bce"
    assert f.named == "takes log(softplus(u) + ε) where log(u) belongs"
    p, y = (torch.tensor(f.counterexample["input"][k], dtype=torch.float64) for k in ("probs", "target"))
    eps = 1e-6  # the fixture's Numbers.epsilon for ℝ
    planted = -(y * torch.log(F.softplus(p) + eps) + (1 - y) * torch.log(F.softplus(1 - p) + eps)).mean()
    assert float(f.counterexample["torchlean"]) == pytest.approx(planted.item(), rel=1e-9)
    assert float(f.counterexample["losscheck"]) == pytest.approx(F.binary_cross_entropy(p, y).item(), rel=1e-9)


def test_runtime_operations_are_read_from_the_checkout(tmp_path):
    """With a checkout whose safeLog is a plain log, the same runtime bce is correct."""
    import shutil

    shutil.copytree(OLDER, tmp_path / "co")
    activation = tmp_path / "co/NN/Spec/Layers/Activation.lean"
    text = activation.read_text(encoding="utf-8")
    activation.write_text(text.replace("MathFunctions.log (softplusSpec x + ε)", "MathFunctions.log x"),
                          encoding="utf-8")
    links = tuple(link for link in LINKS if link.forward.endswith("Loss.bce"))
    (finding,) = check_all(open_checkout(tmp_path / "co", SOURCES), links=links)
    assert finding.status == "equal", finding.detail


def test_index_notation_docstring_is_read(older_findings):
    f = _find(older_findings, "klDivLast", "docstring")
    assert f.status == "equal" and "Σ_{i,j}" in f.detail


@pytest.mark.parametrize("docstring, formula", [
    ("`(1/m) * Σ_{i,j} target[i,j] * log(target[i,j])` uses `x⁻¹`.", "(1/m) * Σ_{i,j}"),
    ("Uses `x⁻¹`; forward `Σ_{i} target[i]`.", "Σ_{i} target[i]"),
])
def test_formulas_come_before_code_snippets(docstring, formula):
    inputs = {"target": np.array(sp.symbols("t0:6", positive=True), dtype=object)}
    text, value = documented_forward(docstring, inputs, (2, 3), 1)
    assert text.startswith(formula)
    values = np.random.default_rng(0).uniform(0.1, 1, 6)
    expected = {"(": (values * np.log(values)).sum() / 2, "Σ": values.sum()}[formula[0]]
    assert float(value.subs(dict(zip(inputs["target"], values)))) == pytest.approx(expected, rel=1e-12)


def test_an_unreadable_formula_is_the_error_reported():
    inputs = {"target": np.array(sp.symbols("t0:6", positive=True), dtype=object)}
    with pytest.raises(Untranslatable) as error:
        documented_forward("`frob(target)` and `x⁻¹`", inputs, (2, 3), 7)
    assert error.value.construct == "frob"


# ------------------------------------------------------- runtime layer ---

def test_runtime_layer_of_the_correct_fixture_is_checked_and_equal():
    links = tuple(link for link in LINKS if link.layer == "runtime")
    findings = check_all(open_checkout(OK, SOURCES), links=links)
    assert {f.declaration.rsplit(".", 1)[-1]: f.status for f in findings} == {
        "mse": "equal", "nllOneHot": "equal under", "bceWithLogits": "equal", "bce": "equal"}


def test_runtime_bce_of_the_wrong_fixture_holds():
    links = tuple(link for link in LINKS if link.forward.endswith("Loss.bce"))
    (f,) = check_all(open_checkout(WRONG, SOURCES), links=links)
    p, y = (torch.tensor(f.counterexample["input"][k], dtype=torch.float64) for k in ("probs", "target"))
    planted = -(y * torch.log(F.softplus(p) + 1e-6) + (1 - y) * torch.log(F.softplus(1 - p) + 1e-6)).mean()
    assert float(f.counterexample["torchlean"]) == pytest.approx(planted.item(), rel=1e-9)


# --------------------------------------------------------------- output ---

def test_table_at_80_columns_never_breaks_a_name(older_findings):
    console = Console(width=80, record=True, color_system=None)
    print_findings(older_findings, console)
    lines = console.export_text().splitlines()
    assert max(map(len, lines)) <= 80
    names = {f.declaration.rsplit(".", 1)[-1] for f in older_findings}
    first_column = {line.split()[0] for line in lines if line.strip()}
    assert names <= first_column  # each name whole, on a line of its own column


def test_json_report_holds_every_finding(older_findings):
    document = json.loads(findings_json(older_findings))
    assert len(document["findings"]) == len(older_findings)
    named = {f["declaration"]: f["named"] for f in document["findings"] if f["status"] == "different"}
    assert named["Spec.huberSpec"].startswith("equals smooth_l1_loss")


# ----------------------------------------------------------------- emit ---

def test_ctc_loss_is_emitted_as_a_definition_over_lists(tmp_path):
    emitted = emit_all(tmp_path, {"ctc_loss": all_specs()["ctc_loss"]})
    assert emitted.skipped == {}
    text = (tmp_path / "CtcLoss.lean").read_text(encoding="utf-8")
    assert "noncomputable def ctcLossUnit (blank : ℕ) (x : List (List ℝ)) (labels : List ℕ) : ℝ :=" in text
    assert "def ctcExtended (blank : ℕ) : List ℕ → List ℕ" in text and "foldl" in text
    assert text.count("namespace Losscheck") == 1 and text.rstrip().endswith("end Losscheck")


# ------------------------------------------------- definitions by equations ---

SHAPES = """\
namespace Spec
namespace Shape
/-- Number of elements. -/
def size : Shape → Nat
  | .scalar => 1
  | .dim n rest => n * size rest
end Shape
/-- Slices orthogonal to the last axis. -/
def lastAxisSliceCount : Shape → Nat
  | .scalar => 1
  | .dim _ .scalar => 1
  | .dim n inner => n * lastAxisSliceCount inner
/-- Mean over `s`, totalized. -/
def meanDenom (s : Shape) : Nat :=
  if Spec.Shape.size s = 0 then 1 else Spec.Shape.size s
end Spec
"""


@pytest.mark.parametrize("dims", [(), (4,), (2, 3), (2, 3, 5), (2, 0, 3)])
def test_definitions_by_equations_on_shapes(tmp_path, dims):
    from losscheck.lean_bridge.lean_values import ShapeValue

    (tmp_path / "NN").mkdir()
    (tmp_path / "NN/Shapes.lean").write_text(SHAPES, encoding="utf-8")
    checkout = open_checkout(tmp_path, ("NN/Shapes.lean",))
    interpreter = Interpreter(checkout, namespace="Spec")
    env = {"s": ShapeValue(dims)}
    numel = int(np.prod(dims))
    assert interpreter.eval(parse("Spec.Shape.size s"), env) == numel
    assert interpreter.eval(parse("lastAxisSliceCount s"), env) == (int(np.prod(dims[:-1])) if dims else 1)
    assert interpreter.eval(parse("meanDenom s"), env) == (numel or 1)


def test_runtime_losses_under_their_newer_namespace(tmp_path):
    """Newer TorchLean moves the runtime helpers to ``TorchLean.Loss`` and gives nllOneHot an axis."""
    runtime = tmp_path / "NN/Runtime/Autograd/TorchLean"
    runtime.mkdir(parents=True)
    text = (OK / "NN/Runtime/Autograd/TorchLean/Loss.lean").read_text(encoding="utf-8")
    text = text.replace("namespace Runtime\nnamespace Autograd\nnamespace TorchLean\n", "namespace TorchLean\n")
    text = text.replace("end TorchLean\nend Autograd\nend Runtime\n", "end TorchLean\n")
    text = text.replace("{s : Shape} (logProbs targetOneHot", "{s : Shape} (axis : Nat) (logProbs targetOneHot")
    text = text.replace("everyEntry (lastDim s)", "everyEntry (Shape.axisSize s axis)")
    (runtime / "Loss.lean").write_text(text, encoding="utf-8")
    links = tuple(link for link in LINKS if link.layer == "runtime")
    findings = check_all(open_checkout(tmp_path, SOURCES), links=links)
    assert {f.declaration: f.status for f in findings} == {
        "TorchLean.Loss.mse": "equal", "TorchLean.Loss.nllOneHot": "equal under",
        "TorchLean.Loss.bceWithLogits": "equal", "TorchLean.Loss.bce": "equal"}


def test_docstring_definitions_use_the_checkouts_declarations(tmp_path):
    (tmp_path / "NN").mkdir()
    (tmp_path / "NN/Shapes.lean").write_text(SHAPES, encoding="utf-8")
    checkout = open_checkout(tmp_path, ("NN/Shapes.lean",))
    inputs = {name: np.array(sp.symbols(f"{name}0:6", real=True), dtype=object) for name in ("yhat", "target")}
    doc = "Node: `c * ‖yhat - target‖^2`, with `c = 1 / Spec.meanDenom s`."
    _text, value = documented_forward(doc, inputs, (2, 3), 1, checkout)
    a, b = np.random.default_rng(1).standard_normal((2, 6))
    point = {**dict(zip(inputs["yhat"], a)), **dict(zip(inputs["target"], b))}
    assert float(value.subs(point)) == pytest.approx(F.mse_loss(torch.tensor(a), torch.tensor(b)).item(), rel=1e-12)
    with pytest.raises(Untranslatable):  # without the checkout, meanDenom is unknown and so is c
        documented_forward(doc, inputs, (2, 3), 1)


def test_a_failure_inside_another_files_declaration_names_that_file(tmp_path):
    from losscheck.lean_bridge.crosscheck import check_forward

    (tmp_path / "NN/Spec/Layers").mkdir(parents=True)
    (tmp_path / "NN/Spec/Layers/Loss.lean").write_text(
        "namespace Spec\n/-- m -/\ndef mseSpec {s : Shape} (predicted target : Tensor α s) : α :=\n"
        "  helper (subSpec predicted target)\nend Spec\n", encoding="utf-8")
    (tmp_path / "NN/Helper.lean").write_text(
        "namespace Spec\n/-- h -/\ndef helper (x : Tensor α s) : α :=\n  x |> sumSpec\nend Spec\n", encoding="utf-8")
    mse = next(link for link in LINKS if link.forward == "Spec.mseSpec")
    f = check_forward(mse, open_checkout(tmp_path, SOURCES), all_specs()["mse_loss"])
    assert f.status == "untranslatable" and f.line == 3  # the row: mseSpec's own line
    assert f.detail == f"|> ({tmp_path / 'NN/Helper.lean'}:4): not supported"
