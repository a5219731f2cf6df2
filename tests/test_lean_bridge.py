"""The Lean bridge on TorchLean-style fixtures: what is equal passes, each planted mistake is flagged.

Truth here is independent of the bridge: PyTorch evaluated at the reported counterexample,
torch.autograd for gradients, the Lean fixture text itself for line numbers.
"""

import json
import math
import os
import stat
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
import torch
import torch.nn.functional as F
from losscheck.lean_bridge.crosscheck import check_all
from losscheck.lean_bridge.lean_source import CheckoutError, open_checkout, read_declarations
from losscheck.lean_bridge.registry import LINKS, SOURCES
from losscheck.lean_bridge.syntax import BinOp, Let, UnOp, Untranslatable, parse
from losscheck.spec import all_specs
from losscheck.spec.core import REAL, Elementwise, LossSpec, Option, ShapeCase, TensorArg, reduction_option

FIXTURES = Path(__file__).parent / "fixtures"
OK, WRONG, UNKNOWN = FIXTURES / "torchlean_ok", FIXTURES / "torchlean_wrong", FIXTURES / "torchlean_unknown"


def _huber_spec() -> LossSpec:
    """PyTorch's documented HuberLoss, for branches where the huber_loss spec is not merged yet."""
    if "huber_loss" in all_specs():
        return all_specs()["huber_loss"]

    def loss(u):
        r = sp.Abs(u.input - u.target)
        return sp.Piecewise((r ** 2 / 2, r < u.delta), (u.delta * (r - u.delta / 2), True))

    return LossSpec(
        name="huber_loss", formula="test-local Huber", structure=Elementwise(), loss=loss,
        denominator=lambda u: sp.Integer(1),
        tensors=(TensorArg("input", REAL, True), TensorArg("target", REAL, True)),
        options=(reduction_option(), Option("delta", 1.0, grid=(1.0,), interval=(0.0, math.inf),
                                            closed=(False, True))),
        shape_cases=(ShapeCase("vector", {"input": (3,), "target": (3,)}),),
    )


SPECS = {**all_specs(), "huber_loss": _huber_spec()}


@pytest.fixture(scope="module")
def ok_findings():
    return check_all(open_checkout(OK, SOURCES), specs=SPECS)


@pytest.fixture(scope="module")
def wrong_findings():
    return check_all(open_checkout(WRONG, SOURCES), specs=SPECS)


def _find(findings, declaration, check):
    return next(f for f in findings if f.declaration.endswith("." + declaration) and f.check == check)


# ------------------------------------------------------------ locating ---

def test_names_follow_namespaces_and_sections(tmp_path):
    source = tmp_path / "Scopes.lean"
    source.write_text(
        "namespace A\n"
        "noncomputable section\n"
        "namespace B.C\n"
        "/-- doc of f -/\n"
        "def f (x : ℝ) : ℝ :=\n"
        "  x\n"
        "end B.C\n"
        "section Inner\n"
        "def g : ℝ := 1\n"
        "end Inner\n"
        "end\n"
        "@[simp] theorem Loss.h : True := by\n"
        "  trivial\n"
        "end A\n"
        "def top (n : Nat := 3) {s : Shape} [Add α] : Nat := n\n", encoding="utf-8")
    found = read_declarations(source)
    assert set(found) == {"A.B.C.f", "A.g", "A.Loss.h", "top"}
    f = found["A.B.C.f"]
    assert (f.line, f.docstring, f.body.strip(), f.type_text) == (5, "doc of f", "x", "ℝ")
    assert [(b.name, b.kind, b.default) for b in found["top"].binders] == [
        ("n", "explicit", "3"), ("s", "implicit", None), ("", "instance", None)]


def test_fixture_declarations_are_found_by_their_qualified_names():
    checkout = open_checkout(OK, SOURCES)
    for link in LINKS:
        for name in link.declarations:
            declaration = checkout.find(name)
            assert declaration is not None, name
            assert declaration.docstring, name  # every fixture declaration is documented


@pytest.mark.parametrize("root, message", [
    ("/no/such/torchlean", "no such directory"),
    (str(FIXTURES), "not a TorchLean checkout"),
])
def test_bad_checkout_is_a_one_line_error(root, message):
    with pytest.raises(CheckoutError, match=message):
        open_checkout(root, SOURCES)


# -------------------------------------------------------------- parsing ---

def test_lean_precedence_and_layout():
    assert parse("-x ^ 2") == UnOp(1, "-", BinOp(1, "^", parse("x"), parse("2")))
    assert parse("a - b - c") == BinOp(1, "-", BinOp(1, "-", parse("a"), parse("b")), parse("c"))
    assert parse("a ^ b ^ c") == BinOp(1, "^", parse("a"), BinOp(1, "^", parse("b"), parse("c")))
    chain = parse("let d := f a\n  b\nlet e := d * d\ne", first_line=10)
    assert isinstance(chain, Let) and chain.name == "d" and chain.line == 10
    assert isinstance(chain.body, Let) and chain.body.name == "e" and chain.body.line == 12


@pytest.mark.parametrize("text, construct", [
    ("match x with\n| 0 => 1", "match"),
    ("∑ i, x i", "∑"),
    ("x |> f", "|>"),
    ("fun ⟨a, b⟩ => a", "fun ⟨"),
])
def test_unknown_constructs_are_named(text, construct):
    with pytest.raises(Untranslatable) as error:
        parse(text)
    assert error.value.construct == construct and error.value.line == 1


# ------------------------------------------------------ correct fixture ---

def test_correct_fixture_passes_every_check(ok_findings):
    failed = [(f.declaration, f.check, f.detail) for f in ok_findings if f.failed]
    assert failed == []
    checks = {(f.declaration.rsplit(".", 1)[-1], f.check) for f in ok_findings}
    for link in LINKS:  # every registered declaration got its checks
        name = link.forward.rsplit(".", 1)[-1]
        assert (name, "forward") in checks
        if link.layer == "tape":
            assert {(name, "docstring"), (name, "vjp"), (name, "jvp")} <= checks


def test_correct_fixture_verdicts_name_their_conventions(ok_findings):
    mse = _find(ok_findings, "mseSpec", "forward")
    assert (mse.status, mse.conventions) == ("equal", [])
    ce = _find(ok_findings, "crossEntropyLogitsSpec", "forward")
    assert ce.status == "equal under" and ce.conventions == ["one-hot target", "mean over class slices"]
    assert _find(ok_findings, "klDivLast", "forward").conventions == ["batchmean"]
    assert _find(ok_findings, "huberSpec", "forward").status == "equal"  # against PyTorch's Huber
    for f in ok_findings:
        if f.check in ("derivative", "vjp", "jvp", "docstring"):
            assert f.status == "equal", (f.declaration, f.check, f.detail)


# ---------------------------------------------------- deliberate errors ---

EXPECTED_FLAGS = {
    ("huberSpec", "forward"),  # SmoothL1 form
    ("huberDerivSpec", "derivative"),  # a correct Huber gradient no longer matches the SmoothL1 forward
    ("crossEntropyLogitsSpec", "forward"),  # divided by every element
    ("crossEntropyLogitsDerivSpec", "derivative"),  # same: the gradient's denominator no longer matches
    ("cosineSimilarityDerivSpec", "derivative"),  # ‖p‖² where ‖p‖³ belongs
    ("bceWithLogits", "forward"),  # log of the softplus
    ("bceWithLogits", "docstring"),  # its docstring still documents the right formula
    ("bceWithLogits", "vjp"),
    ("bceWithLogits", "jvp"),
    ("bce", "forward"),  # runtime layer: log of a softplus of the probabilities
}


def test_wrong_fixture_flags_exactly_the_planted_mistakes(wrong_findings):
    flagged = {(f.declaration.rsplit(".", 1)[-1], f.check) for f in wrong_findings if f.failed}
    assert flagged == EXPECTED_FLAGS
    assert all(f.status == "different" and f.counterexample for f in wrong_findings if f.failed)


def test_smooth_l1_huber_counterexample_holds(wrong_findings):
    f = _find(wrong_findings, "huberSpec", "forward")
    inputs = f.counterexample["input"]
    x, t = torch.tensor(inputs["predicted"], dtype=torch.float64), torch.tensor(inputs["target"], dtype=torch.float64)
    delta = 0.75  # the registry's value
    assert float(f.counterexample["losscheck"]) == pytest.approx(F.huber_loss(x, t, delta=delta).item(), rel=1e-9)
    assert float(f.counterexample["torchlean"]) == pytest.approx(F.smooth_l1_loss(x, t, beta=delta).item(), rel=1e-9)


def test_wrong_denominator_counterexample_holds(wrong_findings):
    f = _find(wrong_findings, "crossEntropyLogitsSpec", "forward")
    logits = torch.tensor(f.counterexample["input"]["logits"], dtype=torch.float64)
    onehot = np.array(f.counterexample["input"]["target"])
    pytorch = F.cross_entropy(logits, torch.tensor(onehot.argmax(axis=1))).item()
    assert float(f.counterexample["losscheck"]) == pytest.approx(pytorch, rel=1e-9)
    classes = logits.shape[1]
    assert float(f.counterexample["torchlean"]) == pytest.approx(pytorch / classes, rel=1e-9)


def test_wrong_norm_power_counterexample_holds(wrong_findings):
    f = _find(wrong_findings, "cosineSimilarityDerivSpec", "derivative")
    p = torch.tensor(f.counterexample["input"]["predicted"], dtype=torch.float64, requires_grad=True)
    t = torch.tensor(f.counterexample["input"]["target"], dtype=torch.float64)
    (1 - torch.dot(p, t) / (p.norm() * t.norm())).backward()
    index = int(f.counterexample["element"].split("[")[1].rstrip("]"))
    assert float(f.counterexample["sympy.diff"]) == pytest.approx(p.grad[index].item(), rel=1e-9)
    assert float(f.counterexample["torchlean"]) != pytest.approx(p.grad[index].item(), rel=1e-3)


def test_log_of_softplus_counterexample_holds(wrong_findings):
    f = _find(wrong_findings, "bceWithLogits", "forward")
    x = torch.tensor(f.counterexample["input"]["logits"], dtype=torch.float64)
    t = torch.tensor(f.counterexample["input"]["target"], dtype=torch.float64)
    assert float(f.counterexample["losscheck"]) == pytest.approx(F.binary_cross_entropy_with_logits(x, t).item(),
                                                                 rel=1e-9)
    planted = (torch.log(F.softplus(x)) - t * x).mean().item()
    assert float(f.counterexample["torchlean"]) == pytest.approx(planted, rel=1e-9)


def test_docstring_documents_what_pytorch_computes(wrong_findings):
    f = _find(wrong_findings, "bceWithLogits", "docstring")
    x = torch.tensor(f.counterexample["input"]["logits"], dtype=torch.float64)
    t = torch.tensor(f.counterexample["input"]["target"], dtype=torch.float64)
    documented = F.binary_cross_entropy_with_logits(x, t).item()
    assert float(f.counterexample["documented"]) == pytest.approx(documented, rel=1e-9)


@pytest.mark.parametrize("docstring, readable", [
    ("Forward: `(1/m) * ⟪target, logProbs⟫`.", True),
    ("With `c = 1 / size(s)`: `c * ‖target‖^2`.", True),
    ("Mean over `m` rows of `q log q`.", False),  # `m` is a number, `q` not an input
    ("No formula here.", False),
])
def test_docstring_formula_reader(docstring, readable):
    from losscheck.lean_bridge.docformula import documented_forward

    inputs = {name: np.array(sp.symbols(f"{name}0:6", real=True), dtype=object) for name in ("logProbs", "target")}
    if readable:
        _text, value = documented_forward(docstring, inputs, (2, 3), 1)
        assert value.free_symbols
    else:
        with pytest.raises(Untranslatable):
            documented_forward(docstring, inputs, (2, 3), 1)


# ----------------------------------------------------- unknown constructs ---

def test_unknown_constructs_are_reported_with_name_and_line():
    findings = check_all(open_checkout(UNKNOWN, SOURCES), specs=SPECS)
    lines = (UNKNOWN / "NN/Spec/Layers/Loss.lean").read_text(encoding="utf-8").splitlines()
    untranslatable = {f.declaration.rsplit(".", 1)[-1]: f for f in findings if f.status == "untranslatable"}
    assert set(untranslatable) == {"mseSpec", "maeSpec"}
    for name, construct in (("mseSpec", "|>"), ("maeSpec", "l1NormSpec")):
        f = untranslatable[name]
        failing = int(f.detail.split("(line ", 1)[1].split(")", 1)[0])
        assert construct in f.detail and construct in lines[failing - 1]
        assert lines[f.line - 1].startswith(f"def {name} ")  # the row carries the declaration's own line
    assert all(f.failed for f in findings if f.status == "untranslatable")


# -------------------------------------------------------------------- CLI ---

def test_cli_check_exit_status_and_json(run_cli, tmp_path):
    report = tmp_path / "lean.json"
    status, out, _ = run_cli("lean", "check", "--torchlean", str(OK), "--report", str(report))
    assert status == 0 and "all 51 checks pass" in out and "EQUAL UNDER" in out
    document = json.loads(report.read_text())
    assert document["ok"] is True and len(document["findings"]) > len(LINKS)
    linked = {link.spec for link in LINKS}
    assert document["specs_without_link"] == sorted(set(all_specs()) - linked)
    assert {entry["forward"] for entry in document["registry"]} == {link.forward for link in LINKS}
    status, out, _ = run_cli("lean", "check", "--torchlean", str(WRONG))
    assert status == 1 and "DIFFERENT" in out
    status, _, _ = run_cli("lean", "check", "--torchlean", str(UNKNOWN))
    assert status == 1


@pytest.mark.parametrize("args, message", [
    (["lean", "check", "--torchlean", "/no/such/dir"], "no such directory"),
    (["lean", "check", "--torchlean", str(FIXTURES)], "not a TorchLean checkout"),
    (["lean", "check"], "--torchlean"),
    (["lean", "check", "--torchlean", str(OK), "--seed", "x"], "--seed must be an integer"),
    (["lean", "check", "--torchlean", str(OK), "--report", "/no/such/dir/r.json"], "cannot write report"),
    (["lean", "emit"], "--out"),
    (["lean", "emit", "--out", __file__], "not a directory"),
    (["lean", "compile", "--torchlean", "/no/such/dir"], "no such directory"),
    (["lean"], "required"),
])
def test_cli_bad_input_exits_2_with_one_line(run_cli, args, message):
    status, out, err = run_cli(*args)
    assert status == 2 and message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err + out


def test_emit_writes_one_file_per_spec(run_cli, tmp_path):
    status, _out, _ = run_cli("lean", "emit", "--out", str(tmp_path))
    assert status == 0
    files = sorted(p.name for p in tmp_path.glob("*.lean"))
    assert len(files) == len(all_specs())
    mse = (tmp_path / "MseLoss.lean").read_text(encoding="utf-8")
    assert "noncomputable def mseLossUnit (input : ℝ) (target : ℝ) : ℝ :=\n  (input - target) ^ 2" in mse
    assert "theorem mseLossUnit_eq_mseSpec" in mse and "Spec.mseSpec" in mse
    assert "autoImplicit false" in mse


def test_emit_reports_a_spec_it_cannot_print(tmp_path):
    from losscheck.lean_bridge.emit import emit_all

    def recursion(u):
        return [u.input, u.target]  # not a SymPy expression, like a CTC forward recursion

    broken = LossSpec(name="ctc_like", formula="-", structure=Elementwise(), loss=recursion,
                      denominator=lambda u: sp.Integer(1),
                      tensors=(TensorArg("input", REAL, True), TensorArg("target", REAL, True)),
                      options=(reduction_option(),), shape_cases=())
    emitted = emit_all(tmp_path, {"mse_loss": all_specs()["mse_loss"], "ctc_like": broken})
    assert set(emitted.written) == {"mse_loss", "ctc_like"} and set(emitted.skipped) == {"ctc_like"}
    assert "TypeError" in emitted.skipped["ctc_like"]
    stub = (tmp_path / "CtcLike.lean").read_text(encoding="utf-8")
    assert emitted.skipped["ctc_like"] in stub and "def " not in stub


def test_compile_without_lake_skips_with_exit_0(run_cli, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    status, out, _ = run_cli("lean", "compile", "--out", str(tmp_path / "out"), "--torchlean", str(OK))
    assert status == 0 and "compile skipped" in out and "lake" in out


def _fake_lake(directory: Path, exit_status: int) -> None:
    """A `lake` that records its arguments and working directory, then exits with ``exit_status``."""
    lake = directory / "lake"
    lake.write_text(f"#!/bin/sh\necho \"$PWD $*\" >> {directory / 'calls'}\nexit {exit_status}\n")
    lake.chmod(lake.stat().st_mode | stat.S_IEXEC)


@pytest.mark.skipif(os.name != "posix", reason="uses a shell script as a fake lake")
@pytest.mark.parametrize("exit_status, cli_status", [(0, 0), (1, 1)])
def test_compile_runs_lake_env_lean_in_the_checkout(run_cli, monkeypatch, tmp_path, exit_status, cli_status):
    _fake_lake(tmp_path, exit_status)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    status, _out, _ = run_cli("lean", "compile", "--out", str(tmp_path / "out"), "--torchlean", str(OK))
    assert status == cli_status
    calls = (tmp_path / "calls").read_text().splitlines()
    emitted = [p for p in (tmp_path / "out").glob("*.lean") if "noncomputable def" in p.read_text(encoding="utf-8")]
    assert len(calls) == len(emitted) > 0  # files without a definition are not compiled
    assert all(call.startswith(f"{OK.resolve()} env lean ") and call.endswith(".lean") for call in calls)


def test_a_registry_entry_that_does_not_fit_is_reported_not_failed():
    from dataclasses import replace

    from losscheck.lean_bridge.crosscheck import check_forward

    mse = next(link for link in LINKS if link.forward == "Spec.mseSpec")
    checkout = open_checkout(OK, SOURCES)
    misnamed = check_forward(replace(mse, arguments={"predicted": "inputs", "target": "target"}), checkout,
                             SPECS["mse_loss"])
    assert misnamed.status == "not compared" and "inputs" in misnamed.detail and not misnamed.failed
    unmapped = check_forward(replace(mse, arguments={"predicted": "input"}), checkout, SPECS["mse_loss"])
    assert unmapped.status == "not compared" and "target" in unmapped.detail


def test_an_unexpected_failure_is_an_error_finding(monkeypatch):
    from losscheck.lean_bridge import crosscheck

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(crosscheck, "check_forward", broken)
    link = next(link for link in LINKS if link.forward == "Spec.mseSpec")
    findings = crosscheck.check_link(link, open_checkout(OK, SOURCES), SPECS["mse_loss"])
    assert (findings[0].status, findings[0].detail) == ("error", "RuntimeError: boom") and findings[0].failed
    assert findings[1].status == "equal"  # the other checks still ran


def test_lean_bridge_never_imports_conformance():
    """DESIGN.md: lean_bridge and conformance never import each other."""
    import ast

    import losscheck

    root = Path(losscheck.__file__).parent
    for layer, other in (("lean_bridge", "conformance"), ("conformance", "lean_bridge")):
        for source in (root / layer).glob("*.py"):
            for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ImportFrom):
                    assert other not in (node.module or ""), (source, node.module)
                elif isinstance(node, ast.Import):
                    assert all(other not in alias.name for alias in node.names), source
