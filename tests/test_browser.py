"""The formula reference and the audit report as a reader sees them, in headless Chromium.

A probe page loads each page in an iframe and measures it with the browser's own layout:
every fraction of the mathematics must be laid out as a fraction (numerator above denominator,
which only a MathML renderer does), the visible text must hold no LaTeX or Python repr, the
report's plots must have a size, and the index's search must hide the losses that do not match.
With $LOSSCHECK_SCREENSHOTS set, screenshots go there. Skips, with the reason, without Chromium.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
BROWSER = os.environ.get("LOSSCHECK_BROWSER") or next(filter(None, map(shutil.which, CANDIDATES)), None)
if not BROWSER:
    pytest.skip("no Chromium on PATH (Debian: apt-get install chromium; or set LOSSCHECK_BROWSER)",
                allow_module_level=True)
pytest.importorskip("matplotlib", reason="the audit report needs matplotlib (pip install 'losscheck[report]')")

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--allow-file-access-from-files", "--hide-scrollbars",
         "--virtual-time-budget=15000")
SPECS = ("huber_loss", "cross_entropy", "ctc_loss", "binary_cross_entropy")

PROBE = """<!DOCTYPE html><html><head><meta charset="utf-8"></head><body><pre id="result">pending</pre>
<script>
const pages = PAGES, results = {};
function measure(d) {
  const out = {}, box = e => e.getBoundingClientRect();
  const maths = Array.from(d.querySelectorAll('math'));
  out.maths = maths.length;
  out.sized_maths = maths.filter(m => box(m).width > 0 && box(m).height > 0).length;
  const fractions = Array.from(d.querySelectorAll('math mfrac'));
  out.fractions = fractions.length;
  out.stacked = fractions.filter(f => box(f.children[0]).bottom <= box(f.children[1]).top + 1).length;
  out.math_text = maths.map(m => m.innerText).join(' ');
  out.text = d.body.innerText;
  const svgs = Array.from(d.querySelectorAll('svg'));
  out.svgs = svgs.length;
  out.sized_svgs = svgs.filter(s => box(s).width > 100 && box(s).height > 50).length;
  const items = Array.from(d.querySelectorAll('#specs li'));
  out.listed = items.length;
  out.shown = items.filter(li => !li.hidden).map(li => li.innerText);
  return out;
}
for (const page of pages) {
  const frame = document.createElement('iframe');
  frame.style.width = '1200px'; frame.style.height = '900px';
  frame.addEventListener('load', () => {
    results[page] = measure(frame.contentDocument);
    if (Object.keys(results).length === pages.length)
      document.getElementById('result').textContent = JSON.stringify(results);
  });
  frame.src = page;
  document.body.appendChild(frame);
}
</script></body></html>"""


def _browse(folder: Path, pages: list[str]) -> dict[str, dict]:
    """The probe's measurements of each of ``pages`` (file names in ``folder``, optionally with a #fragment),
    all loaded at once in one browser run."""
    probe = folder / "probe.html"
    probe.write_text(PROBE.replace("PAGES", json.dumps(pages)), encoding="utf-8")
    dom = subprocess.run([BROWSER, *FLAGS, "--dump-dom", probe.as_uri()], capture_output=True, text=True,
                         timeout=180).stdout
    match = re.search(r'<pre id="result">(.*?)</pre>', dom, re.S)
    assert match and match.group(1) != "pending", f"the probe did not finish: {dom[:300]!r}"
    return json.loads(html.unescape(match.group(1)))


def _screenshot(path: Path, name: str) -> None:
    """With $LOSSCHECK_SCREENSHOTS set, a screenshot of ``path`` there, for a person to look at."""
    folder = os.environ.get("LOSSCHECK_SCREENSHOTS")
    if not folder:
        return
    shot = Path(folder) / f"{name}.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([BROWSER, *FLAGS, "--window-size=1280,2400", f"--screenshot={shot}", path.as_uri()],
                   capture_output=True, timeout=120)
    assert shot.is_file() and shot.stat().st_size > 20_000, f"no screenshot of {name}"


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    from losscheck.cli import main

    out = tmp_path_factory.mktemp("site")
    assert main(["docs", "--out", str(out), *(a for name in SPECS for a in ("--loss", name))]) == 0
    return out


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    from losscheck.cli import main

    out = tmp_path_factory.mktemp("report")
    here = Path.cwd()
    os.chdir(Path(__file__).parent)  # wrong_impls is imported from the tests folder
    try:
        status = main(["run", "--loss", "mse_loss", "--impl", "mse_loss=wrong_impls:mse_half_gradient",
                       "--dtype", "float32", "--html", str(out / "report.html"), "--save-failures", str(out)])
    finally:
        os.chdir(here)
    assert status == 1
    return out


SEARCHES = ("index.html", "index.html#q=huber", "index.html#q=no_such_loss")


@pytest.fixture(scope="module")
def seen(site) -> dict[str, dict]:
    return _browse(site, [f"{name}.html" for name in SPECS] + list(SEARCHES))


LEAKS = ("\\frac", "\\left", "\\mathrm", "Piecewise", "True", "False", "Symbol(", "<function", "object at 0x")


@pytest.mark.parametrize("name", SPECS)
def test_spec_page_mathematics_is_laid_out_by_the_browser(site, seen, name):
    page = seen[f"{name}.html"]
    assert page["maths"] >= 3 and page["sized_maths"] == page["maths"]
    assert page["fractions"] >= 1 and page["stacked"] == page["fractions"]  # every ∂l/∂s is a real fraction
    for leak in LEAKS:
        assert leak not in page["math_text"], leak
    for leak in LEAKS[:4] + LEAKS[6:]:  # True and False are option values in the tables
        assert leak not in page["text"], leak
    _screenshot(site / f"{name}.html", f"docs-{name}")


def test_index_search_finds_a_loss_by_name(site, seen):
    everything, found, nothing = (seen[page] for page in SEARCHES)
    assert everything["listed"] == len(SPECS) and len(everything["shown"]) == len(SPECS)
    assert [text.split()[0] for text in found["shown"]] == ["huber_loss"]
    assert nothing["shown"] == []
    _screenshot(site / "index.html", "docs-index")


def test_report_plots_are_drawn(report):
    page = _browse(report, ["report.html"])["report.html"]
    assert page["svgs"] >= 3 and page["sized_svgs"] == page["svgs"]
    assert "FAIL" in page["text"] and "reproducer" in page["text"]
    for leak in ("<function", "object at 0x", "Traceback"):
        assert leak not in page["text"]
    _screenshot(report / "report.html", "report-failing-kernel")
