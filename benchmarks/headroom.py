"""PyTorch's headroom under the tolerance policy: err/allowed over many seeds of the default run.

    python benchmarks/headroom.py [--seeds 24]
    python benchmarks/headroom.py --report REPORT.json    (one run's report, e.g. `losscheck run --report`)

Runs `losscheck run --seed S` for S = F..F+N-1 (F: --first-seed, default 1) and prints, per dtype and direction,
the median, 99th percentile and maximum of each passing check's worst
err/allowed ratio (1 would be a failure), and which seeds failed, if any.
Kinds: forward (value), backward (gradients), jvp, hvp (its allowance includes
the dtype's second_order factor).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

KINDS = {"jvp": "jvp", "hvp": "hvp", "twice": "twice"}


def collect(results: list[dict], ratios: dict[tuple[str, str], list[float]]) -> None:
    """Each passing check's worst err/allowed, by (dtype, kind): forward, backward, jvp, hvp."""
    for result in results:
        if result["status"] == "pass" and result["quantity"] != "twice":
            kind = KINDS.get(result["quantity"], "backward" if result["quantity"].startswith("grad") else "forward")
            ratios.setdefault((result["dtype"], kind), []).append(float(result["worst_ratio"]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=24)
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--report", help="summarise this JSON report of one run instead of running seeds")
    arguments = parser.parse_args()
    ratios: dict[tuple[str, str], list[float]] = {}
    failed = []
    if arguments.report:
        collect(json.loads(Path(arguments.report).read_text())["results"], ratios)
        seeds = range(0)
    else:
        seeds = range(arguments.first_seed, arguments.first_seed + arguments.seeds)
    with tempfile.TemporaryDirectory() as tmp:
        for seed in seeds:
            report = Path(tmp) / f"seed{seed}.json"
            done = subprocess.run([sys.executable, "-m", "losscheck", "run", "--seed", str(seed),
                                   "--report", str(report)], capture_output=True, text=True)
            results = json.loads(report.read_text())["results"]
            if done.returncode != 0:
                failed.append(seed)
                for r in results:
                    if r["status"] in ("fail", "error", "unstable"):
                        print(f"seed {seed}: {r['loss']} {r['dtype']} {r['quantity']} [{r['case']}] "
                              f"{r['status']}: {r['message']}", flush=True)
            collect(results, ratios)
    print(f"{len(seeds)} seeds; failing seeds: {failed or 'none'}")
    print(f"{'dtype':9s} {'direction':9s} {'checks':>7s} {'median':>7s} {'p99':>7s} {'max':>7s}")
    for (dtype, direction), values in sorted(ratios.items()):
        values.sort()
        print(f"{dtype:9s} {direction:9s} {len(values):7d} {values[len(values) // 2]:7.3f} "
              f"{values[int(0.99 * (len(values) - 1))]:7.3f} {values[-1]:7.3f}")


if __name__ == "__main__":
    main()
