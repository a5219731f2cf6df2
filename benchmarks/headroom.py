"""PyTorch's headroom under the tolerance policy: err/allowed over consecutive seeds of the default run.

    python benchmarks/headroom.py --seeds 50 --first-seed 1000 --out DIR [--jobs N] [-- EXTRA RUN ARGS]
    python benchmarks/headroom.py --summarise --out DIR        (what DIR holds so far)
    python benchmarks/headroom.py --report REPORT.json         (one run's report, e.g. `losscheck run --report`)

Runs `losscheck run --seed S --report DIR/seedS.json` for S = F..F+N-1 (F: --first-seed), one seed at a
time, and records each exit status in DIR/seedS.rc. A seed whose .rc exists is not run again, so an
interrupted sweep resumes where it stopped. Arguments after `--` go to every `losscheck run` (a
--loss or --dtype subset: the summary then says so, since it reads the reports' settings).
The summary gives, per dtype and direction (forward: the value; backward: gradients; jvp; hvp, whose
allowance includes the dtype's second_order factor), how many passing checks there were and the
median, 90th percentile and maximum of their worst err/allowed (1 would be a failure), with the
check at the maximum (seed, loss, quantity, case): where the headroom is thinnest. Then the seeds that
failed, each failing check, and the known deviations that explained checks.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

KINDS = {"jvp": "jvp", "hvp": "hvp"}


def direction(quantity: str) -> str:
    return KINDS.get(quantity, "backward" if quantity.startswith("grad") else "forward")


def read_report(path: Path) -> tuple[dict, list[dict]]:
    """(settings, check rows) of a JSON report: one document, or JSON Lines as a run streams it."""
    text = path.read_text()
    try:
        document = json.loads(text)
        return document.get("settings", {}), document["results"]
    except (json.JSONDecodeError, KeyError):
        rows = [json.loads(line) for line in text.splitlines() if line.strip()]
        header = next((r for r in rows if r.get("kind") == "header"), {})
        return header.get("settings", {}), [r for r in rows if "status" in r]


def summarise(reports: dict[int, Path], codes: dict[int, int]) -> None:
    ratios: dict[tuple[str, str], list[tuple[float, str]]] = {}
    failures: list[str] = []
    known: Counter[str] = Counter()
    settings_seen = set()
    for seed, path in sorted(reports.items()):
        settings, results = read_report(path)
        settings_seen.add(json.dumps({k: settings.get(k) for k in ("losses", "dtypes")}, sort_keys=True))
        for r in results:
            where = f"seed {seed}: {r['loss']} {r['dtype']} {r['quantity']} [{r['case']}]"
            if r["status"] == "pass" and r["quantity"] != "twice" and r.get("worst_ratio") is not None:
                ratios.setdefault((r["dtype"], direction(r["quantity"])), []).append((float(r["worst_ratio"]), where))
            elif r["status"] in ("fail", "error", "unstable"):
                failures.append(f"{where} {r['status']}: {r['message']}")
            elif r["status"] == "known":
                known.update(r["message"].removeprefix("known deviation ").split(", "))
    failing = sorted(s for s, c in codes.items() if c != 0 and s in reports)
    print(f"{len(reports)} seeds ({min(reports, default='-')}..{max(reports, default='-')}); "
          f"failing seeds: {failing or 'none'}")
    if len(settings_seen) > 1:
        print("note: the reports were run with different --loss/--dtype settings")
    print(f"{'dtype':9s} {'direction':9s} {'checks':>7s} {'median':>7s} {'p90':>7s} {'max':>7s}  worst check")
    for (dtype, way), values in sorted(ratios.items()):
        values.sort(key=lambda v: v[0])
        numbers = [v for v, _ in values]
        print(f"{dtype:9s} {way:9s} {len(values):7d} {numbers[len(numbers) // 2]:7.3f} "
              f"{numbers[int(0.9 * (len(numbers) - 1))]:7.3f} {numbers[-1]:7.3f}  {values[-1][1]}")
    for line in failures:
        print(line)
    for entry, count in known.most_common():
        print(f"known deviation {entry}: {count} checks")


def run_seed(seed: int, out: Path, jobs: int | None, extra: list[str]) -> None:
    report = out / f"seed{seed}.json"
    command = [sys.executable, "-m", "losscheck", "run", "--seed", str(seed), "--report", str(report),
               "--save-failures", str(out / f"failures{seed}"), *extra]
    if jobs:
        command += ["--jobs", str(jobs)]
    done = subprocess.run(command, capture_output=True, text=True)
    (out / f"seed{seed}.log").write_text(done.stdout[-20000:] + done.stderr[-20000:])
    (out / f"seed{seed}.rc").write_text(f"{done.returncode}\n")  # written last: the seed is complete
    print(f"seed {seed}: exit {done.returncode}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=24)
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--out", type=Path, help="keep each seed's report here and resume from it")
    parser.add_argument("--jobs", type=int, help="passed to losscheck run --jobs")
    parser.add_argument("--summarise", action="store_true", help="summarise --out's completed seeds, run nothing")
    parser.add_argument("--report", type=Path, help="summarise this one report instead of running seeds")
    arguments, extra = parser.parse_known_args()
    extra = [a for a in extra if a != "--"]
    if arguments.report:
        summarise({0: arguments.report}, {})
        return
    if arguments.out is None:
        parser.error("--out DIR is required to run seeds or --summarise")
    arguments.out.mkdir(parents=True, exist_ok=True)
    if not arguments.summarise:
        for seed in range(arguments.first_seed, arguments.first_seed + arguments.seeds):
            if not (arguments.out / f"seed{seed}.rc").exists():
                run_seed(seed, arguments.out, arguments.jobs, extra)
    codes = {int(p.stem.removeprefix("seed")): int(p.read_text()) for p in arguments.out.glob("seed*.rc")}
    reports = {s: arguments.out / f"seed{s}.json" for s in codes if (arguments.out / f"seed{s}.json").exists()}
    summarise(reports, codes)


if __name__ == "__main__":
    main()
