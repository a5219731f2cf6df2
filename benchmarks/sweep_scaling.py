"""Benchmark: `losscheck sweep` on a LocalCluster of 1 worker, then 2, on the same manifest: wall seconds,
the speed-up, and whether the two reports hold the same checks.

    python benchmarks/sweep_scaling.py [--loss NAME]... [--seeds N] [--dtype D]...

The manifest is PyTorch on the given losses (default: mse_loss, l1_loss, smooth_l1_loss, nll_loss) at
seeds 0..N-1 (default 2) in the given dtypes (default float32). Each sweep is a fresh process with a fresh
cache (imports, derivation, cluster start-up and oracle included). Needs the [sweep] extra.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from losscheck.conformance.report import read_report


def timed_sweep(manifest: Path, workers: int, folder: Path) -> tuple[float, int, list]:
    report = folder / f"report-{workers}.jsonl"
    env = {**os.environ, "LOSSCHECK_CACHE_DIR": str(folder / f"cache-{workers}")}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "losscheck", "sweep", str(manifest), "--workers", str(workers),
                           "--report", str(report)], capture_output=True, text=True, cwd=folder, env=env)
    elapsed = time.perf_counter() - started
    if done.returncode == 2:
        sys.exit(done.stderr.strip())
    return elapsed, done.returncode, read_report(str(report))["results"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loss", action="append", default=[])
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--dtype", action="append", default=[])
    args = parser.parse_args()
    document = {"implementations": ["pytorch"],
                "losses": args.loss or ["mse_loss", "l1_loss", "smooth_l1_loss", "nll_loss"],
                "dtypes": args.dtype or ["float32"], "seeds": list(range(args.seeds))}
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; manifest {json.dumps(document)}")
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        manifest = folder / "manifest.json"
        manifest.write_text(json.dumps(document))
        one, status_1, results_1 = timed_sweep(manifest, 1, folder)
        two, status_2, results_2 = timed_sweep(manifest, 2, folder)
    print(f"1 worker: {one:.1f} s (exit {status_1});  2 workers: {two:.1f} s (exit {status_2})")
    print(f"speed-up {one / two:.2f}x;  the same checks and verdicts: {results_1 == results_2}")


if __name__ == "__main__":
    main()
