"""Benchmark: CPU seconds of one loss's default plan per probe kind (the option grid, each probe of
``conformance/probes.py``), PyTorch's function in this process, every dtype, and any check that fails.

    python benchmarks/probe_cost.py LOSS [--seed N]

CPU seconds (``time.process_time``) rather than wall seconds, so a machine shared with other work changes
them little. Set ``LOSSCHECK_CACHE_DIR`` to an empty folder for a cold oracle.
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections import defaultdict

from losscheck.conformance.planning import plan
from losscheck.conformance.runner import CaseRunner, RunSettings
from losscheck.conformance.tolerance import DTYPES
from losscheck.spec import get_spec


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("loss")
    parser.add_argument("--seed", type=int, default=0)
    arguments = parser.parse_args()
    warnings.simplefilter("ignore")
    runner = CaseRunner.for_source(get_spec(arguments.loss), "pytorch", RunSettings(in_process=True))
    seconds: dict[str, float] = defaultdict(float)
    cases: dict[str, int] = defaultdict(int)
    failing = []
    for case in plan(arguments.loss, arguments.seed):
        started = time.process_time()
        for dtype in DTYPES:
            failing += [f"{dtype} {r.quantity} [{r.case}]: {r.message[:120]}" for r in runner.run(case, dtype)
                        if r.status.name in ("FAIL", "ERROR")]
        seconds[case.probe or "grid"] += time.process_time() - started
        cases[case.probe or "grid"] += 1
    print(f"{'probe':12s} {'cases':>5s} {'CPU s':>7s}")
    for probe, spent in seconds.items():
        print(f"{probe:12s} {cases[probe]:5d} {spent:7.1f}")
    print(f"{'total':12s} {sum(cases.values()):5d} {sum(seconds.values()):7.1f}")
    print("\n".join(failing) or "every check conforms")


if __name__ == "__main__":
    main()
