"""Benchmark: wall time of `losscheck run`, per loss and in all, with a cold and a warm oracle cache, and
PyTorch's worst errors per dtype (from the JSON report).

    python benchmarks/default_run.py [--repeat N] [--loss NAME]... [--no-total] [--high-precision-only]

Each timing is a fresh `losscheck run` subprocess (imports and symbolic derivation included), as a user
or CI would run it: wall seconds, and CPU seconds (user + system of the subprocess and its children),
which a machine shared with other work inflates far less. cold: an empty cache ($LOSSCHECK_CACHE_DIR, a
new temporary folder: no stored references or evaluators); warm: the same command again on the cache
the cold run filled (same seed). Runs happen in a temporary folder, so nothing is written into the
repository. ``--high-precision-only`` sets $LOSSCHECK_HIGH_PRECISION_ONLY: every reference at high precision,
no float64 first pass (``conformance.first_pass``), for the comparison.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from losscheck.conformance.first_pass import ENV_HIGH_PRECISION_ONLY
from losscheck.spec import all_specs

HIGH_PRECISION_ONLY = False


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed_run(args: list[str], folder: Path, cache: Path) -> tuple[float, float, int]:
    """Wall and CPU seconds and exit status of one `losscheck run` in ``folder``, caching under ``cache``."""
    env = {**os.environ, "LOSSCHECK_CACHE_DIR": str(cache)}
    env.pop("LOSSCHECK_NO_CACHE", None)
    if HIGH_PRECISION_ONLY:
        env[ENV_HIGH_PRECISION_ONLY] = "1"
    else:
        env.pop(ENV_HIGH_PRECISION_ONLY, None)
    cpu, started = _cpu_seconds(), time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "losscheck", "run", *args, "--report", str(folder / "report.json")],
                          capture_output=True, text=True, cwd=folder, env=env)
    return time.perf_counter() - started, _cpu_seconds() - cpu, done.returncode


def cold_and_warm(args: list[str], folder: Path, repeat: int) -> tuple[list[float], int]:
    """Median [cold wall, cold CPU, warm wall, warm CPU] seconds over ``repeat`` fresh caches, and the last
    exit status."""
    runs, status = [], 0
    for i in range(repeat):
        cache = folder / f"cache-{len(args)}-{i}-{time.monotonic_ns()}"
        cold_wall, cold_cpu, status = timed_run(args, folder, cache)
        warm_wall, warm_cpu, status = timed_run(args, folder, cache)
        runs.append((cold_wall, cold_cpu, warm_wall, warm_cpu))
    return [statistics.median(column) for column in zip(*runs)], status


def errors_table(document: dict) -> None:
    print("PyTorch's errors over the checks that pass (per check: its worst element), ULPs at the exact value")
    print(f"{'dtype':9s} {'direction':9s} {'checks':>7s} {'median':>8s} {'p90':>8s} {'max':>10s} "
          f"{'max bits':>9s} {'max err/allowed':>16s}")
    for dtype in ("float64", "float32", "float16", "bfloat16"):
        for direction in ("forward", "backward"):
            rows = [r for r in document["results"] if r["dtype"] == dtype and r["status"] == "pass"
                    and ("grad" in r["quantity"]) == (direction == "backward")]
            if not rows:
                continue
            ulps = sorted(float(r["worst_ulps"]) for r in rows)
            ratio = max(float(r["worst_ratio"]) for r in rows)
            print(f"{dtype:9s} {direction:9s} {len(rows):7d} {statistics.median(ulps):8.3g} "
                  f"{ulps[int(0.9 * (len(ulps) - 1))]:8.3g} {ulps[-1]:10.3g} {math.log2(1 + ulps[-1]):9.1f} "
                  f"{ratio:16.3f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--loss", action="append", help="only these losses (default: every loss)")
    parser.add_argument("--no-total", action="store_true", help="skip the default run over every loss")
    parser.add_argument("--high-precision-only", action="store_true",
                        help="no float64 first pass: every reference at high precision (the comparison)")
    args = parser.parse_args()
    global HIGH_PRECISION_ONLY
    HIGH_PRECISION_ONLY = args.high_precision_only
    print(f"oracle: {'high precision only' if HIGH_PRECISION_ONLY else 'float64 first pass, then high precision'}; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        print(f"{'seconds':34s} {'cold wall':>9s} {'cold CPU':>9s} {'warm wall':>9s} {'warm CPU':>9s}  exit")
        for loss in args.loss or all_specs():
            times, status = cold_and_warm(["--loss", loss], folder, args.repeat)
            print(f"{loss:34s} " + " ".join(f"{t:9.1f}" for t in times) + f"  {status}", flush=True)
        if args.no_total:
            return
        times, status = cold_and_warm([], folder, args.repeat)
        print(f"{'default run (every loss)':34s} " + " ".join(f"{t:9.1f}" for t in times) + f"  {status}")
        document = json.loads((folder / "report.json").read_text())
    print()
    errors_table(document)


if __name__ == "__main__":
    main()
