"""Benchmark: seconds of ``exact_reference`` over a sample of cases, with a digest of every reference.

    LOSSCHECK_NO_CACHE=1 python benchmarks/oracle_sample.py cross_entropy,mse_loss,... > digests.txt

The sample: every third generated case of each loss at seed 0 and its first six probes, each in float32
and float16. One line per reference (loss, case, dtype, a sha256 digest of every value, gradient and
Bound as exact binary tuples); the oracle's total seconds go to stderr. Two versions of the oracle that
print the same digests computed bit-identical references (``diff`` the outputs).
"""

from __future__ import annotations

import hashlib
import sys
import time
import warnings

import mpmath
from losscheck.conformance.cases import generate_cases
from losscheck.conformance.oracle import Reference, exact_reference
from losscheck.conformance.probes import probe_cases
from losscheck.spec import get_spec

BOUND_FIELDS = ("magnitude", "underflow", "peak", "slack", "at_kink", "summands", "count", "undefined")


def _exact(x: object) -> str:
    return repr(x._mpf_) if isinstance(x, mpmath.mpf) else repr(x)


def digest(reference: Reference) -> str:
    """sha256 (16 hex digits) over the reference's shape, flags, values, gradients and Bounds."""
    parts = [repr(reference.shape), repr(reference.unstable), _exact(reference.unit_total)]
    parts += [_exact(v) for v in reference.value]
    parts += [_exact(getattr(b, f)) for b in reference.value_bounds for f in BOUND_FIELDS]
    for name in sorted(reference.grads):
        parts += [_exact(v) for v in reference.grads[name]]
        parts += [_exact(getattr(b, f)) for b in reference.grad_bounds[name] for f in BOUND_FIELDS]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def main() -> None:
    warnings.simplefilter("ignore")
    total = 0.0
    for loss in sys.argv[1].split(","):
        spec = get_spec(loss)
        cases = generate_cases(spec, 0)
        for case in cases[::3] + probe_cases(spec, 0, len(cases))[:6]:
            for dtype in ("float32", "float16"):
                started = time.perf_counter()
                reference = exact_reference(spec, case.tensors(dtype), case.options, case.upstream(dtype))
                total += time.perf_counter() - started
                print(loss, case.name, dtype, digest(reference))
    print(f"oracle seconds {total:.1f}", file=sys.stderr)


if __name__ == "__main__":
    main()
