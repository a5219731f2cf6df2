"""Benchmark: wall time of the default `losscheck run`, per loss and in all, and PyTorch's
worst errors per dtype (from the JSON report).

    python benchmarks/default_run.py [--repeat N]

Each timing is a fresh `losscheck run` subprocess (imports and symbolic
derivation included), as a user or CI would run it.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from losscheck.spec import all_specs


def timed_run(args: list[str], report: Path) -> tuple[float, int]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "losscheck", "run", *args, "--report", str(report)],
                          capture_output=True, text=True)
    return time.perf_counter() - started, done.returncode


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=1)
    repeat = parser.parse_args().repeat
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        print(f"{'loss':34s} {'median s':>9s}  exit")
        for loss in all_specs():
            times = []
            for _ in range(repeat):
                seconds, status = timed_run(["--loss", loss], report)
                times.append(seconds)
            print(f"{loss:34s} {statistics.median(times):9.1f}  {status}")
        times = []
        for _ in range(repeat):
            seconds, status = timed_run([], report)
            times.append(seconds)
        print(f"{'default run (every loss)':34s} {statistics.median(times):9.1f}  {status}")
        document = json.loads(report.read_text())
    print()
    print("PyTorch's errors over the checks that pass (per check: its worst element), ULPs at the exact value")
    print(f"{'dtype':9s} {'direction':9s} {'checks':>7s} {'median':>8s} {'p90':>8s} {'max':>10s} "
          f"{'max bits':>9s} {'max err/allowed':>16s}")
    for dtype in ("float64", "float32", "float16", "bfloat16"):
        for direction in ("forward", "backward"):
            rows = [r for r in document["results"] if r["dtype"] == dtype and r["status"] == "pass"
                    and ("grad" in r["quantity"]) == (direction == "backward")]
            ulps = sorted(float(r["worst_ulps"]) for r in rows)
            ratio = max(float(r["worst_ratio"]) for r in rows)
            print(f"{dtype:9s} {direction:9s} {len(rows):7d} {statistics.median(ulps):8.3g} "
                  f"{ulps[int(0.9 * (len(ulps) - 1))]:8.3g} {ulps[-1]:10.3g} {math.log2(1 + ulps[-1]):9.1f} "
                  f"{ratio:16.3f}")


if __name__ == "__main__":
    main()
