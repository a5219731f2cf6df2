"""The detection matrix: every generic bug class (``tests/mutants.py``) on every loss, through the default gate,
then the kernels that are wrong on one code path only (``tests/wrong_impls_paths.py``).

    python benchmarks/detection_matrix.py [--jobs 2] [--loss NAME]... [--json PATH] [--paths-only]

Each mutant runs as ``losscheck.check(loss, impl, seed=0)`` with every dtype, which is what
``losscheck run --loss NAME --impl NAME=...`` does, with ``fail_fast`` (it stops at the first
failing check and does not shrink: the verdict is the same, the run shorter). Prints a
markdown table, bug class × loss: ``✓`` flagged (with how many variants, e.g. one per option),
``✗`` missed (listed below the table with the variant), ``·`` not applicable; then PyTorch's own
verdict per loss (must pass) and the wall time.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import losscheck
import mutants  # tests/mutants.py
import wrong_impls_paths  # tests/wrong_impls_paths.py
from losscheck.spec import all_specs


def run_loss(loss: str) -> dict:
    """Every mutant of one loss, and PyTorch itself: {variant: (bug class, flagged, first failure, seconds)}."""
    warnings.simplefilter("ignore")
    spec = all_specs()[loss]
    rows = {}
    started = time.perf_counter()
    reference = losscheck.check(loss)
    rows["(pytorch)"] = ("pytorch", not reference.ok, "", round(time.perf_counter() - started, 1))
    for variant, (bug_class, _impl) in mutants.mutants(spec).items():
        started = time.perf_counter()
        result = losscheck.check(loss, f"mutants:{loss}__{variant}", fail_fast=True)  # imported in a worker
        first = next((f"{r.dtype} {r.quantity} [{r.case}]" for r in result.failures), "")
        rows[variant] = (bug_class, not result.ok, first, round(time.perf_counter() - started, 1))
    return {"loss": loss, "rows": rows}


def run_path_kernel(entry: tuple[str, str, str]) -> dict:
    """One path-specific wrong kernel through the default gate: flagged?, the first failure and its probe."""
    warnings.simplefilter("ignore")
    loss, impl, _quantity = entry
    started = time.perf_counter()
    result = losscheck.check(loss, f"wrong_impls_paths:{impl}", fail_fast=True)
    first = next(iter(result.failures), None)
    probe = result.cases[(loss, first.case)].probe if first else ""
    return {"loss": loss, "kernel": impl, "flagged": not result.ok, "probe": probe or "grid",
            "first": f"{first.dtype} {first.quantity} [{first.case}]" if first else "",
            "seconds": round(time.perf_counter() - started, 1)}


def paths_table(jobs: int) -> list[dict]:
    with ProcessPoolExecutor(jobs) as pool:
        rows = list(pool.map(run_path_kernel, wrong_impls_paths.FLAGGED))
    print("\n| path-specific kernel | loss | flagged | by probe | first failure |")
    print("|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['kernel']} | {row['loss']} | {'✓' if row['flagged'] else '✗'} | {row['probe']} | "
              f"{row['first']} |")
    print(f"{sum(r['flagged'] for r in rows)} of {len(rows)} path-specific kernels flagged")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--loss", action="append", default=[])
    parser.add_argument("--json", help="also write the raw results here")
    parser.add_argument("--paths-only", action="store_true", help="only the path-specific wrong kernels")
    arguments = parser.parse_args()
    if arguments.paths_only:
        paths_table(arguments.jobs)
        return
    losses = arguments.loss or list(all_specs())
    started = time.perf_counter()
    with ProcessPoolExecutor(arguments.jobs) as pool:
        outcomes = list(pool.map(run_loss, losses))
    elapsed = time.perf_counter() - started
    classes = [c.__name__ for c in mutants.BUG_CLASSES]
    cells: dict[tuple[str, str], list[bool]] = {}
    missed = []
    for outcome in outcomes:
        for variant, (bug_class, flagged, _, _) in outcome["rows"].items():
            if bug_class == "pytorch":
                continue
            cells.setdefault((bug_class, outcome["loss"]), []).append(flagged)
            if not flagged:
                missed.append(f"{outcome['loss']} {variant}")
    print("| bug class | " + " | ".join(losses) + " |")
    print("|---|" + "---|" * len(losses))
    for bug_class in classes:
        marks = []
        for loss in losses:
            flags = cells.get((bug_class, loss))
            marks.append("·" if flags is None else ("✓" if all(flags) else "✗") + (f"{sum(flags)}/{len(flags)}"
                                                                                    if len(flags) > 1 else ""))
        print(f"| {bug_class} | " + " | ".join(marks) + " |")
    total = sum(len(v) for v in cells.values())
    caught = sum(sum(v) for v in cells.values())
    print(f"\n{caught} of {total} mutants flagged; missed: {', '.join(missed) or 'none'}")
    pytorch = {o["loss"]: ("FAIL" if o["rows"]["(pytorch)"][1] else "pass") for o in outcomes}
    print(f"PyTorch itself: {', '.join(f'{k} {v}' for k, v in pytorch.items())}")
    print(f"wall time {elapsed:.0f} s with {arguments.jobs} jobs")
    paths = paths_table(arguments.jobs)
    if arguments.json:
        Path(arguments.json).write_text(json.dumps({"mutants": outcomes, "paths": paths}, indent=1))


if __name__ == "__main__":
    main()
