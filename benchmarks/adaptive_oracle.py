"""Benchmark: the oracle with its float64 first pass against the high-precision oracle alone, per loss, over
every case of the default plan in float32, float16 and bfloat16 (seed 0).

    python benchmarks/adaptive_oracle.py [--loss NAME]... [--seed N]

For each loss: CPU seconds of ``exact_reference`` over the plan with the first pass (``dtype=`` given) and
without it (``LOSSCHECK_HIGH_PRECISION_ONLY``), each after one untimed pass that generates the evaluators,
with no reference cache; how many cases the first pass kept; and why it escalated the others. The oracle
only: no implementation is called and nothing is judged (``default_run.py`` times whole runs).
"""

from __future__ import annotations

import argparse
import collections
import os
import time
import warnings

from losscheck.conformance import first_pass, oracle
from losscheck.conformance.planning import plan
from losscheck.spec import all_specs

DTYPES = ("float32", "float16", "bfloat16")


def oracle_seconds(spec, work, adaptive: bool) -> float:
    """CPU seconds of the oracle over ``work`` (case, dtype pairs), the evaluators already generated."""
    if adaptive:
        os.environ.pop(first_pass.ENV_HIGH_PRECISION_ONLY, None)
    else:
        os.environ[first_pass.ENV_HIGH_PRECISION_ONLY] = "1"
    for _ in range(2):  # the first pass generates the evaluators; the second is timed
        started = time.process_time()
        for case, dtype in work:
            oracle.exact_reference(spec, case.tensors(dtype), case.options, case.upstream(dtype), cache=False,
                                   dtype=dtype)
    return time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--loss", action="append", help="only these losses (default: every loss)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; CPU seconds over the plan, "
          "evaluators generated, no reference cache")
    print(f"{'loss':34s} {'checks':>6s} {'first pass':>10s} {'high only':>9s} {'speed-up':>8s} {'kept':>6s}  "
          "escalated because")
    totals = [0.0, 0.0]
    for loss in args.loss or all_specs():
        spec = all_specs()[loss]
        work = [(case, dtype) for case in plan(loss, args.seed) for dtype in DTYPES]
        reasons = collections.Counter()
        for case, dtype in work:
            _kept, why = oracle.float64_reference(spec, case.tensors(dtype), case.options, case.upstream(dtype), dtype)
            reasons[why or "kept"] += 1
        fast = oracle_seconds(spec, work, adaptive=True)
        exact = oracle_seconds(spec, work, adaptive=False)
        totals[0] += fast
        totals[1] += exact
        kept = reasons.pop("kept", 0)
        why = ", ".join(f"{n} {r}" for r, n in reasons.most_common(3))
        print(f"{loss:34s} {len(work):6d} {fast:10.1f} {exact:9.1f} {exact / fast:7.2f}x {kept / len(work):6.0%}  "
              f"{why}", flush=True)
    print(f"{'all':34s} {'':6s} {totals[0]:10.1f} {totals[1]:9.1f} {totals[1] / totals[0]:7.2f}x")


if __name__ == "__main__":
    main()
