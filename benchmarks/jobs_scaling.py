"""Wall time of ``losscheck run`` with ``--jobs 1`` against ``--jobs N``, and whether their reports are identical.

    python benchmarks/jobs_scaling.py [--jobs 2] [--loss NAME]... [--seed 0]

Each run is a fresh process (imports, symbolic derivation and worker start-up included; --no-cache, so the
second run cannot read references the first one stored), one after
the other on the same machine. Prints both wall times, their ratio, and whether the two JSON Lines
reports are byte-identical (they must be: units are judged independently and reported in plan order).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def timed_run(jobs: int, losses: list[str], seed: int, folder: Path) -> tuple[float, int, bytes]:
    report = folder / f"report-{jobs}.jsonl"
    argv = [sys.executable, "-m", "losscheck", "run", "--no-cache", "--jobs", str(jobs), "--seed", str(seed),
            "--report", str(report), "--save-failures", str(folder / f"failures-{jobs}")]
    argv += [a for loss in losses for a in ("--loss", loss)]
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True)
    return time.perf_counter() - started, done.returncode, report.read_bytes()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--loss", action="append", default=[])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", metavar="DIR", help="keep both reports and their failures in DIR")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(args.keep or scratch)
        folder.mkdir(parents=True, exist_ok=True)
        serial, status_1, report_1 = timed_run(1, args.loss, args.seed, folder)
        parallel, status_n, report_n = timed_run(args.jobs, args.loss, args.seed, folder)
    print(f"--jobs 1: {serial:.1f} s (exit {status_1});  --jobs {args.jobs}: {parallel:.1f} s (exit {status_n})")
    print(f"speed-up {serial / parallel:.2f}x;  reports byte-identical: {report_1 == report_n}")


if __name__ == "__main__":
    main()
