"""The gate's probes, layouts, reproducer files, `losscheck repro` and shrinking."""

import json
import math

import mpmath
import numpy as np
import pytest
import torch
from losscheck.conformance.cases import batch_tensors, round_to
from losscheck.conformance.layouts import place
from losscheck.conformance.probes import LARGE_REDUCTION, probe_cases
from losscheck.conformance.replay import read_reproducer, write_reproducer
from losscheck.conformance.runner import FAILING, CaseRunner
from losscheck.conformance.shrink import shrink
from losscheck.derivations.units import split_units
from losscheck.spec import all_specs, get_spec
from losscheck.spec.core import SUBNORMALS

SPECS = list(all_specs().values())


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_probes_reach_every_regime_size_layout_and_mode(spec):
    cases = probe_cases(spec, seed=0, first_number=0)
    assert {"twice", "jvp", "hvp"} <= {c for case in cases for c in case.checks}
    assert {c.layout for c in cases} >= {"transposed", "sliced"}
    drawable = any(t.domain.supports(r) for t in spec.tensors for r in ("tiny", "mixed"))
    assert any(c.regime in ("tiny", "mixed") for c in cases) == drawable
    if any(batch_tensors(spec, sc) for sc in spec.shape_cases):
        batches = {c.batch for c in cases if c.batch is not None}
        assert {0, 1} <= batches
        large = [c for c in cases if c.batch and c.batch > 1]
        assert large and all(c.batch % 2 == 1 for c in large)  # odd sizes
        units = len(split_units(spec, large[0].raw_tensors(), large[0].options).kept)
        assert units >= LARGE_REDUCTION


def test_tiny_regime_plants_subnormals_of_float16_and_float32():
    spec = get_spec("mse_loss")
    tiny = next(c for c in probe_cases(spec, 0, 0) if c.regime == "tiny")
    values = np.abs(tiny.raw_tensors()["input"])
    for subnormal in SUBNORMALS:
        assert subnormal in values
    half = round_to(values, "float16")
    assert np.any((half > 0) & (half < 2.0**-14))  # float16 subnormals survive the rounding


@pytest.mark.parametrize("layout", ["transposed", "sliced", "expanded"])
def test_layouts_hold_the_same_values_without_being_contiguous(layout):
    values = np.arange(12.0).reshape(3, 4) if layout != "expanded" else np.tile(np.arange(4.0), (3, 1))
    tensor = place(values, torch.float32, "cpu", layout, requires_grad=True, expand=True)
    assert not tensor.is_contiguous()
    np.testing.assert_array_equal(tensor.detach().numpy(), values)
    (tensor * torch.ones_like(tensor)).sum().backward()  # gradients reach the leaf behind the view


def _saved_failure(run_cli, tmp_path, impl):
    folder = tmp_path / "failures"
    status, out, _ = run_cli("run", "--loss", "mse_loss", "--impl", f"mse_loss={impl}", "--dtype", "float32",
                             "--save-failures", str(folder))
    assert status == 1, out
    files = sorted(folder.glob("*.json"))
    assert files, out
    return files


def test_reproducer_file_replays_the_failure_and_pytorch_conforms_on_it(run_cli, tmp_path):
    files = _saved_failure(run_cli, tmp_path, "wrong_impls:mse_half_gradient")
    backward = next(f for f in files if "backward" in f.name)
    status, out, _ = run_cli("repro", str(backward))
    assert status == 1 and "still fails" in out, out
    status, out, _ = run_cli("repro", str(backward), "--impl", "mse_loss=torch.nn.functional:mse_loss")
    assert status == 0 and "conforms now" in out, out


def test_reproducer_file_holds_the_exact_inputs(tmp_path):
    spec = get_spec("cross_entropy")
    case = probe_cases(spec, 0, 0)[0]
    path = tmp_path / "case.json"
    write_reproducer(path, case, "bfloat16", "cpu", None, "value", "1", "2", "")
    recorded = read_reproducer(path)
    for name, values in case.tensors("bfloat16").items():
        assert recorded.case.given[name].dtype == values.dtype
        np.testing.assert_array_equal(recorded.case.given[name], values)
    np.testing.assert_array_equal(recorded.case.upstream("bfloat16"), case.upstream("bfloat16"))


@pytest.mark.parametrize("content, problem", [
    (None, "cannot read"),
    ("{not json", "not JSON"),
    (json.dumps({"format": "something else"}), "not a losscheck reproducer"),
    (json.dumps({"format": "losscheck-repro/1", "loss": "mse_loss"}), "malformed"),
    (json.dumps({"format": "losscheck-repro/1", "loss": "no_such_loss", "tensors": {}, "upstream": {}}),
     "malformed"),
])
def test_repro_rejects_bad_files_with_one_line(run_cli, tmp_path, content, problem):
    path = tmp_path / "bad.json"
    if content is not None:
        path.write_text(content)
    status, out, err = run_cli("repro", str(path))
    assert status == 2 and out == ""
    assert problem in err and len(err.strip().splitlines()) == 1, err


def test_shrinking_keeps_the_failure_and_simplifies_it():
    spec = get_spec("mse_loss")
    runner = CaseRunner.for_source(spec, "wrong_impls:mse_half_gradient")
    case = next(c for c in probe_cases(spec, 0, 0) if c.batch and c.batch > 1)

    def fails(candidate):
        return any(r.quantity == "grad input" and r.status in FAILING for r in runner.run(candidate, "float32"))

    assert fails(case)
    shrunk = shrink(case, "float32", fails, examples=200)
    assert shrunk is not case and fails(shrunk)
    tensors = shrunk.tensors("float32")
    assert tensors["input"].shape[0] == 1  # one row of the 4097
    mantissas = [math.frexp(v)[0] for v in tensors["input"].reshape(-1) if v]
    assert all(m in (0.5, -0.5) for m in mantissas), tensors["input"]  # signed powers of two


def test_pytorch_passes_the_probes_of_a_loss_with_every_mode():
    runner = CaseRunner.for_source(get_spec("mse_loss"))
    results = [r for case in probe_cases(get_spec("mse_loss"), 0, 0) for dtype in ("float64", "float32")
               for r in runner.run(case, dtype)]
    quantities = {r.quantity for r in results if r.status == "pass"}
    assert {"value", "grad input", "twice", "jvp", "hvp"} <= quantities
    assert not [r for r in results if r.status in FAILING]


def test_a_user_distance_given_as_module_attr_is_held_to_its_own_math(run_cli):
    args = ("run", "--loss", "triplet_margin_with_distance_loss", "--dtype", "float64,float32")
    status, out, _ = run_cli(*args, "--option", "distance_function=wrong_impls_triplet:chebyshev")
    assert status == 0, out
    status, out, _ = run_cli(*args, "--option", "distance_function=wrong_impls_triplet:chebyshev_wrong")
    assert status == 1 and "FAIL" in out, out


@pytest.mark.parametrize("option, problem", [
    ("distance_function=no_such_module:f", "cannot import module"),
    ("distance_function=wrong_impls_triplet:triplet_ignores_swap", "symbolic"),
    ("margin", "malformed --option"),
    ("no_such_option=1", "no loss being run has an option"),
    ("margin=-1", "margin"),
])
def test_bad_options_get_one_line_and_exit_2(run_cli, option, problem):
    status, out, err = run_cli("run", "--loss", "triplet_margin_with_distance_loss", "--option", option)
    assert status == 2 and out == ""
    assert problem in err and len(err.strip().splitlines()) == 1, err


def test_report_rows_do_not_depend_on_mpmath_global_precision():
    """The oracle value shown for the worst element is the same whatever precision the calling process
    left in mpmath's global context (it once followed mp.dps, so a report differed by test order)."""
    spec = get_spec("mse_loss")
    runner = CaseRunner.for_source(spec, "wrong_impls:mse_half_gradient")
    case = next(c for c in probe_cases(spec, 0, 0) if c.batch and c.batch > 1)
    plain = runner.run(case, "float32")
    with mpmath.workdps(40):
        raised = runner.run(case, "float32")
    assert any(r.status in FAILING for r in plain)
    assert [(r.quantity, r.expected, r.got) for r in raised] == [(r.quantity, r.expected, r.got) for r in plain]
    shown = next(r.expected for r in plain if r.quantity == "grad input")
    assert len(shown.lstrip("-").replace(".", "").lstrip("0").split("e")[0]) <= 17, shown
