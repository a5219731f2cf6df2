"""The probes' covering array: every probe sees every code-path selector value the spec declares, every two
levels of any two factors meet where some valid row allows them (checked by brute force over every valid row,
not by the greedy that chose the rows), the array is deterministic in the seed, and a run reports it."""

import itertools

import pytest
from losscheck.conformance.coverage import Row, case_levels, covering_rows, pairs_of, run_coverage
from losscheck.conformance.planning import plan
from losscheck.conformance.probes import probe_cases
from losscheck.conformance.results import QuantityResult, Result, Status
from losscheck.spec import all_specs, get_spec

SPECS = sorted(all_specs())


def _declared_levels(spec, shape_cases=None):
    """Selector → levels, read straight from the spec's declarations (on ``shape_cases``, default all)."""
    shape_cases = spec.shape_cases if shape_cases is None else shape_cases
    levels = {t.name: {"absent", "present"} for t in spec.optional_tensors}
    for option in spec.options:
        levels[option.name] = {repr(getattr(v, "name", v)) if not isinstance(v, str) else v
                               for c in shape_cases for v in c.grids.get(option.name, option.grid)
                               if option.name not in c.skip_options}
    return {name: values for name, values in levels.items() if values}


@pytest.mark.parametrize("loss", SPECS)
def test_every_probe_sees_every_declared_selector_value(loss):
    spec = get_spec(loss)
    seen = {}
    for case in probe_cases(spec, 0, 0):
        for factor, level in case_levels(case).items():
            seen.setdefault((case.probe, factor), set()).add(level if isinstance(level, str) else repr(level))
    probes = {case.probe for case in probe_cases(spec, 0, 0)}
    for probe in probes:
        # the shape cases where the probe can run: a regime some tensor of the shape case draws
        shape_cases = [sc for sc in spec.shape_cases
                       if probe not in ("tiny", "mixed") or any(sc.domains.get(n, t.domain).supports(probe)
                                                                for n, t in ((t.name, t) for t in spec.tensors))]
        shape_cases = [sc for sc in shape_cases if any(c.shape_case == sc for c in probe_cases(spec, 0, 0)
                                                       if c.probe == probe)]
        for selector, levels in _declared_levels(spec, shape_cases).items():
            missing = levels - seen.get((probe, selector), set())
            assert not missing, f"{loss}: probe {probe} never sees {selector} = {sorted(missing)}"


def test_the_large_reduction_runs_without_weight_under_every_reduction():
    for loss in ("mse_loss", "binary_cross_entropy_with_logits", "cross_entropy"):
        large = [c for c in probe_cases(get_spec(loss), 0, 0) if c.probe == "large"]
        combos = {("weight" in c.present, c.options["reduction"]) for c in large}
        assert {False, True} == {w for w, _ in combos}, combos
        assert {"mean", "none", "sum"} == {r for _, r in combos}, combos


def test_a_covering_array_covers_every_pair_some_candidate_holds():
    """Brute force: every pair of (factor, level) present in some candidate row is in a chosen row."""
    optional = ["weight", "bias"]
    candidates = [Row(probe, shape, frozenset(present), {"reduction": r, "p": p})
                  for probe in ("a", "b", "c") for shape in ("s", "t")
                  for present in ((), ("weight",), ("bias",), ("weight", "bias"))
                  for r in ("mean", "sum", "none") for p in (1, 2, 3)
                  if not (probe == "c" and p == 3)]  # a constraint: probe c never takes p = 3
    for seed in range(4):
        rows = covering_rows(candidates, optional, seed, "test")
        wanted = set().union(*(pairs_of(c.levels(optional)) for c in candidates))
        got = set().union(*(pairs_of(r.levels(optional)) for r in rows))
        assert wanted == got
        assert all(r in candidates for r in rows)
        assert len(rows) < len(candidates) // 4  # an array, not the product
    assert covering_rows(candidates, optional, 1, "test") == covering_rows(candidates, optional, 1, "test")


@pytest.mark.parametrize("loss", ["cross_entropy", "triplet_margin_loss", "binary_cross_entropy_with_logits"])
def test_probe_rows_cover_every_pair_of_every_valid_row(loss):
    """Every two factors' levels that meet in the plan of some seed meet in the plan of seed 0 (the union over
    seeds stands in for the valid rows, built without the covering code)."""
    spec = get_spec(loss)

    loose = frozenset(o.name for o in spec.options)

    def pairs(seed):  # the shape search's shapes pair with the optional tensors, not with each option value
        return set().union(*(pairs_of(case_levels(c), loose if c.probe == "shapes" else frozenset())
                             for c in probe_cases(spec, seed, 0)))

    assert pairs(1) <= pairs(0) and pairs(2) <= pairs(0)


def test_the_probes_are_deterministic_in_the_seed():
    spec = get_spec("cross_entropy")
    names = [[c.name for c in probe_cases(spec, seed, 0)] for seed in (0, 0, 1)]
    assert names[0] == names[1]
    assert names[0] != names[2]


def test_run_coverage_reports_each_probe_and_what_it_missed():
    result = Result()
    cases = plan("mse_loss", 0)
    for case in cases:
        result.cases[("mse_loss", case.name)] = case
        if not (case.probe == "large" and "weight" not in case.present):  # as if these had not run
            result.results.append(QuantityResult("mse_loss", "float32", case.name, "value", Status.PASS))
    coverage = run_coverage(result)["mse_loss"]
    assert coverage["probes"]["tiny"]["weight"] == ["absent", "present"]
    assert coverage["probes"]["tiny"]["reduction"] == ["mean", "none", "sum"]
    assert set(coverage["missing"]) == {"large"} and coverage["missing"]["large"]["weight"] == ["absent"]


def test_run_coverage_prints_and_reports_it(run_cli, tmp_path):
    report = tmp_path / "r.json"
    status, out, _ = run_cli("run", "--loss", "soft_margin_loss", "--dtype", "float64", "--coverage",
                             "--report", str(report))
    assert status == 0, out
    assert "coverage:" in out and "large" in out and "reduction mean,none,sum" in out
    from losscheck.conformance.report import read_report

    document = read_report(report)
    probes = document["coverage"]["soft_margin_loss"]["probes"]
    assert set(probes) >= {"tiny", "mixed", "modes", "one row", "empty batch", "large", "transposed", "sliced"}
    assert all(p["reduction"] == ["mean", "none", "sum"] for p in probes.values())


def _show(level):
    return level if isinstance(level, str) else repr(level)


@pytest.mark.parametrize("loss", ["cross_entropy", "triplet_margin_loss", "poisson_nll_loss", "ctc_loss"])
def test_every_two_selector_values_meet_in_some_probe(loss):
    spec = get_spec(loss)
    met = {(a, _show(x), b, _show(y)) for c in probe_cases(spec, 0, 0)
           for (a, x), (b, y) in itertools.permutations(case_levels(c).items(), 2)}
    for shape_case in spec.shape_cases:  # two values meet where one shape case declares both
        declared = sorted(_declared_levels(spec, [shape_case]).items())
        for (a, levels_a), (b, levels_b) in itertools.combinations(declared, 2):
            for x, y in itertools.product(levels_a, levels_b):
                assert (a, x, b, y) in met, f"{loss}: {a}={x} never meets {b}={y}"
