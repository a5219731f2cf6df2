"""Deep mode: a budgeted Hypothesis search over the whole case space, through the same runner and judge."""

import time

import losscheck
from losscheck.conformance.deep import FIRST_NUMBER, search
from losscheck.conformance.results import QuantityResult, Status
from losscheck.spec import get_spec


class _Judged:
    """A stand-in runner: fails only on one combination the plan never makes (transposed, tiny, sum), and comes
    closer to its tolerance with each of the three it has (as a kernel's error grows toward its bug)."""

    def __init__(self):
        self.cases = []

    def __call__(self, case):
        self.cases.append(case)
        near = [case.layout == "transposed", case.regime == "tiny", case.options.get("reduction") == "sum"]
        bad = all(near)
        return [QuantityResult(case.spec.name, "float32", case.name, "value", Status.FAIL if bad else Status.PASS,
                               worst_ratio=9.0 if bad else 0.1 + 0.3 * sum(near))]


def test_the_search_reaches_combinations_the_plan_never_makes_and_spends_its_budget():
    judged = _Judged()
    started = time.monotonic()
    done = search(get_spec("mse_loss"), judged, seed=5, budget=4.0)  # draws depend on the seed, not the clock
    assert 4.0 <= time.monotonic() - started < 30
    assert len(done) == len(judged.cases) > 20
    assert any(r.status == Status.FAIL for _, results in done for r in results)
    seen = {(c.layout, c.regime, c.probe, c.period is not None, c.batch) for c in judged.cases}
    assert {layout for layout, *_ in seen} >= {"contiguous", "transposed", "sliced", "expanded"}
    assert {regime for _, regime, *_ in seen} >= {"typical", "tiny", "mixed", "interior"}
    assert any(period for *_, period, _ in seen) and {b for *_, b in seen} >= {None, 0, 1}
    assert all(c.number >= FIRST_NUMBER and c.probe == "deep" for c in judged.cases)


def test_the_search_is_deterministic_in_the_seed():
    def names(seed):
        judged = _Judged()
        search(get_spec("huber_loss"), judged, seed=seed, budget=1.5)
        return [c.name for c in judged.cases]

    first, again = names(3), names(3)
    shorter = min(len(first), len(again))
    assert shorter > 5 and first[:shorter] == again[:shorter]


def test_pytorch_passes_a_deep_search_and_the_result_holds_the_deep_cases():
    result = losscheck.check("soft_margin_loss", dtypes=["float32"], budget=8, in_process=True)
    assert result.ok, result.summary()
    deep = {r.case for r in result.results if int(r.case.split()[0][1:]) >= FIRST_NUMBER}
    assert deep and all((("soft_margin_loss", name) in result.cases) for name in deep)


def test_a_bad_budget_is_a_usage_error(run_cli):
    status, out, err = run_cli("run", "--loss", "mse_loss", "--budget", "-3")
    assert status == 2 and "--budget" in (out + err)
