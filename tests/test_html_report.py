"""The HTML audit report: any status and target shown, plots that count what the report holds, both file forms.

Independent truth: the counts in each plot's legend are recomputed here from the report's results,
and the failing run's page is compared with the JSON report of the same run.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
from losscheck.conformance.html_report import ReportError, load_report, render_html, write_html
from losscheck.conformance.report import read_report

pytest.importorskip("matplotlib")

STATUSES = ("pass", "fail", "known", "unsupported", "error", "unstable", "not run", "quarantined")


def _result(k: int, status: str, target: str | None = None, **fields) -> dict:
    result = {"loss": "mse_loss", "dtype": "float32", "case": f"#{k} matrix [reduction='mean'] typical",
              "quantity": "grad input" if k % 2 else "value", "status": status, "worst_ulps": 2.0 ** (k % 7),
              "worst_relative": 1e-7, "worst_ratio": 10.0 ** (k % 5 - 3), "worst_index": k % 3,
              "expected": "1.5", "got": "1.25", "message": f"message {k}", "reproducer": f"reproduce({k})"}
    if target:
        result["target"] = target
    result.update(fields)
    return result


@pytest.fixture
def document() -> dict:
    results = [_result(k, status) for k, status in enumerate(STATUSES * 3)]
    results += [_result(100, "fail", target="compiled", worst_ratio="inf", worst_ulps="inf"),
                _result(101, "pass", target="chunked:compact")]
    return {"settings": {"losses": ["mse_loss"], "seed": 7}, "tolerance_policy": {"formula": "|got - exact| <= …",
            "tolerances": {"float32": {"rounding_ulps": 4}}}, "groups": [], "results": results}


def test_every_status_and_target_is_shown(document):
    page = render_html(document)
    for status in STATUSES:
        if status != "pass":
            assert f">{status}</span> (" in page, status  # its own list, with its count
    assert "QUARANTINED" in page or ">quarantined<" in page
    for target in ("compiled", "chunked:compact"):
        assert f"<td>{target}</td>" in page
    assert "reproduce(100)" in page and "rounding_ulps" in page and "<td>seed</td><td>7</td>" in page


def test_each_group_has_its_plots_and_their_legends_count_its_checks(document):
    page = render_html(document)
    sections = dict(re.findall(r'<section id="g-[^"]+"><h3>([^<]+?) <span.*?</h3>(.*?)</section>', page, re.S))
    groups: dict[str, list[dict]] = {}
    for r in document["results"]:
        direction = "backward" if r["quantity"].startswith("grad") else "forward"
        title = " · ".join(p for p in ("mse_loss", "float32", direction, r.get("target", "")) if p)
        groups.setdefault(title, []).append(r)
    assert set(sections) == set(groups)
    for title, results in groups.items():
        assert "<svg" in sections[title]
        for status in {r["status"] for r in results}:
            count = sum(1 for r in results if r["status"] == status)
            assert f"{status} ({count})" in sections[title], (title, status)


@pytest.mark.parametrize("statuses, verdict", [
    (("pass", "unsupported"), "PASS"),
    (("unsupported", "not run"), "UNSUPPORTED"),
    (("pass", "known", "unsupported"), "KNOWN"),
    (("pass", "known", "quarantined"), "QUARANTINED"),
    (("error", "fail"), "FAIL"),
])
def test_a_group_verdict_follows_its_worst_status(statuses, verdict):
    document = {"results": [_result(2 * k, status) for k, status in enumerate(statuses)]}
    assert re.search(rf'<td><span class="status"[^>]*>{verdict}</span></td></tr>', render_html(document))


def test_non_finite_errors_are_counted_not_dropped(document):
    page = render_html(document)
    assert "1 not finite" in page


def test_json_lines_read_as_the_same_document(document, tmp_path):
    whole = tmp_path / "report.json"
    whole.write_text(json.dumps(document))
    lines = tmp_path / "report.jsonl"
    header = {"kind": "header", "settings": document["settings"], "tolerance_policy": document["tolerance_policy"]}
    checks = [{"kind": "check", **r} for r in document["results"]]
    lines.write_text("\n".join(json.dumps(x) for x in [header, *checks, {"kind": "summary", "ok": False}]) + "\n")
    a, b = load_report(whole), load_report(lines)
    assert a["results"] == b["results"] and a["settings"] == b["settings"]
    assert b["ok"] is False


def test_a_stream_cut_before_its_summary_says_so(document, tmp_path):
    path = tmp_path / "cut.jsonl"
    lines = [{"kind": "header", "format": "losscheck-report/2", "settings": {"seed": 3}},
             *({"kind": "check", **r} for r in document["results"][:4]),
             {"kind": "spec_problem", "problem": "mse_loss: a planted problem"}]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    read = load_report(path)
    assert len(read["results"]) == 4 and read["spec_problems"] == ["mse_loss: a planted problem"]
    page = render_html(read)
    assert "did not finish" in page and "a planted problem" in page


def test_a_stream_cut_after_its_header_reads_as_an_empty_report(tmp_path):
    path = tmp_path / "cut.jsonl"
    path.write_text(json.dumps({"kind": "header", "settings": {"seed": 1}}) + "\n")
    document = load_report(path)
    assert document["results"] == [] and document["settings"] == {"seed": 1}
    assert "0 checks in 0 groups" in render_html(document)


@pytest.mark.parametrize("text, message", [
    ("{not json\n", "not JSON"),
    ('{"kind": "check", "loss": "x"}\n[1, 2]\n', "expected a JSON object per line"),
    ('{"findings": []}', "not a losscheck report"),
])
def test_unreadable_reports_are_one_line_errors(tmp_path, text, message):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(ReportError, match=message):
        load_report(path)


def test_report_command_exit_2_on_bad_input(run_cli, tmp_path):
    status, _, err = run_cli("report", str(tmp_path / "missing.json"), "--html", str(tmp_path / "r.html"))
    assert status == 2 and "cannot read report" in err and err.count("\n") == 1


def test_without_matplotlib_the_html_report_is_refused_before_running(run_cli, tmp_path, monkeypatch):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now raises ImportError
    status, out, err = run_cli("run", "--loss", "mse_loss", "--dtype", "float64", "--html", str(tmp_path / "r.html"))
    assert status == 2 and "pip install 'losscheck[report]'" in err and err.count("\n") == 1
    assert "checked" not in out  # refused before the run, not after it


def test_a_failing_kernel_run_gives_a_report_whose_plots_show_the_failure(run_cli, tmp_path, monkeypatch):
    monkeypatch.chdir(Path(__file__).parent)
    report, page = tmp_path / "run.json", tmp_path / "run.html"
    status, _, _ = run_cli("run", "--loss", "mse_loss", "--impl", "mse_loss=wrong_impls:mse_half_gradient",
                           "--dtype", "float32", "--report", str(report), "--html", str(page),
                           "--save-failures", str(tmp_path / "failures"))
    assert status == 1
    results = read_report(str(report))["results"]
    text = page.read_text()
    failing = [r for r in results if r["status"] == "fail" and r["quantity"].startswith(("grad", "hvp"))]
    assert failing and f"fail ({len(failing)})" in text  # the backward histogram's legend
    worst = max(float(r["worst_ratio"]) for r in failing)
    assert worst > 1 and f"{worst:.3g}" in text  # the summary's worst err/allowed
    assert text.count("<svg") >= 3  # two groups' histograms, and the failing group's regime plot
    for loader in ("<script", "<link", "@import", 'src="http', 'href="http', "url(http"):
        assert loader not in text  # self-contained: nothing fetched, nothing run


def test_write_html_writes_the_page(document, tmp_path):
    path = tmp_path / "page.html"
    write_html(document, path)
    assert path.read_text().startswith("<!DOCTYPE html>")


def test_the_terminal_table_fits_80_columns_with_every_loss_name_whole():
    """Every spec's name, the longest target label and the widest numbers: no line over 80, no name broken."""
    import io

    from losscheck.conformance.report import summary_table
    from losscheck.conformance.results import QuantityResult, Result, Status
    from losscheck.spec import all_specs
    from rich.console import Console

    rows = [QuantityResult(loss=loss, dtype=dtype, case="#1", quantity=quantity, status=Status.UNSUPPORTED,
                           worst_ulps=1.5e-5 if dtype == "float64" else 9.87e17, worst_relative=1.0,
                           worst_ratio=123456.0, worst_index=0, expected="", got="", message="m", reproducer="",
                           input_size=1, target=target)
            for loss in all_specs() for target in ("pytorch", "compiled")
            for dtype in ("float64", "float32", "float16", "bfloat16") for quantity in ("value", "grad input")]
    buffer = io.StringIO()
    Console(file=buffer, width=80, force_terminal=False).print(summary_table(Result(rows)))
    lines = buffer.getvalue().splitlines()
    assert max(len(line) for line in lines) <= 80
    names = {line.split()[0] for line in lines if line.strip() and not line.startswith((" ", "─"))}
    assert set(all_specs()) <= names
    assert any("9.87e17" in line for line in lines) and any("1.5e-5" in line for line in lines)
