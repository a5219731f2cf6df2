"""PyTorch's headroom under the tolerance policy: err/allowed over many seeds of the default run.

    python benchmarks/headroom.py [--seeds 24]

Runs `losscheck run --seed S` for S = 1..N and prints, per dtype and direction,
the median, 99th percentile and maximum of each passing check's worst
err/allowed ratio (1 would be a failure), and which seeds failed, if any.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=24)
    seeds = range(1, parser.parse_args().seeds + 1)
    ratios: dict[tuple[str, str], list[float]] = {}
    failed = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in seeds:
            report = Path(tmp) / f"seed{seed}.json"
            done = subprocess.run([sys.executable, "-m", "losscheck", "run", "--seed", str(seed),
                                   "--report", str(report)], capture_output=True, text=True)
            if done.returncode != 0:
                failed.append(seed)
            for result in json.loads(report.read_text())["results"]:
                if result["status"] == "pass":
                    direction = "backward" if result["quantity"].startswith("grad") else "forward"
                    ratios.setdefault((result["dtype"], direction), []).append(float(result["worst_ratio"]))
    print(f"{len(seeds)} seeds; failing seeds: {failed or 'none'}")
    print(f"{'dtype':9s} {'direction':9s} {'checks':>7s} {'median':>7s} {'p99':>7s} {'max':>7s}")
    for (dtype, direction), values in sorted(ratios.items()):
        values.sort()
        print(f"{dtype:9s} {direction:9s} {len(values):7d} {values[len(values) // 2]:7.3f} "
              f"{values[int(0.99 * (len(values) - 1))]:7.3f} {values[-1]:7.3f}")


if __name__ == "__main__":
    main()
