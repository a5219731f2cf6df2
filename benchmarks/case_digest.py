"""A digest of what the gate would check, to show a refactor leaves it unchanged: run it before and after
(for example in two git worktrees) and compare the printed hashes.

    python benchmarks/case_digest.py [--seeds 0 5] [--references LOSS [--every K]]

The case digest is a SHA-256 over every spec's derived shape cases, each declared shape case's batch tensors
and dim labels, and, at each seed, every case's number, options, present tensors and float32 tensors' bytes.
With ``--references LOSS`` it also hashes the exact references (values, gradients and their bounds, as the
oracle cache encodes them) of every K-th case of LOSS at each seed, in float32 and float64, computed afresh.
"""

from __future__ import annotations

import argparse
import hashlib

import numpy as np
from losscheck.conformance.cases import batch_tensors, generate_cases
from losscheck.conformance.oracle import exact_reference
from losscheck.conformance.shape_search import dim_labels, search_shapes
from losscheck.spec import all_specs


def case_digest(seeds: list[int]) -> str:
    digest = hashlib.sha256()
    for name, spec in all_specs().items():
        for shape_case in search_shapes(spec):
            digest.update(repr((name, shape_case.name, sorted(shape_case.shapes.items()))).encode())
        for shape_case in spec.shape_cases:
            digest.update(repr((name, batch_tensors(spec, shape_case), dim_labels(spec, shape_case))).encode())
        for seed in seeds:
            for case in generate_cases(spec, seed=seed):
                digest.update(repr((name, case.number, case.options, case.present)).encode())
                for tensor, values in sorted(case.tensors("float32").items()):
                    digest.update(tensor.encode() + repr(values.shape).encode())
                    digest.update(np.ascontiguousarray(values).tobytes())
    return digest.hexdigest()


def reference_digest(loss: str, seeds: list[int], every: int) -> tuple[int, str]:
    spec = all_specs()[loss]
    digest, count = hashlib.sha256(), 0
    for seed in seeds:
        for case in generate_cases(spec, seed=seed)[::every]:
            for dtype in ("float32", "float64"):
                reference = exact_reference(spec, case.tensors(dtype), case.options, case.upstream("float64"),
                                            cache=False)
                digest.update(reference.encode())
                count += 1
    return count, digest.hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 5])
    parser.add_argument("--references", metavar="LOSS")
    parser.add_argument("--every", type=int, default=2)
    args = parser.parse_args()
    print(f"cases       {case_digest(args.seeds)}")
    if args.references:
        count, digest = reference_digest(args.references, args.seeds, args.every)
        print(f"references  {digest} ({count} references of {args.references})")


if __name__ == "__main__":
    main()
