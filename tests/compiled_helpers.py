"""Shared by the compiled target's deviation tests: torch.compile beside eager on the same inputs, the
exact reference, a grid case by shape case and options, and the compiled ledger's entries."""


import pytest
import torch
import torch.nn.functional as F
from losscheck.conformance.cases import generate_cases
from losscheck.conformance.deviations import known_deviations
from losscheck.conformance.oracle import exact_reference
from losscheck.spec import get_spec

COMPILED = {e.id: e for e in known_deviations(("compiled",)) if e.ledger == "compiled"}


@pytest.fixture(autouse=True)
def _really_compiled():
    """Never let dynamo fall back to eager past its recompile limit: a test must see the compiled code."""
    import torch._dynamo

    with torch._dynamo.config.patch(recompile_limit=1 << 20, accumulated_recompile_limit=1 << 20,
                                    fail_on_recompile_limit_hit=True):
        yield


def compiled_call(loss, tensors, wrt, upstream=None, **options):
    """(value, {name: gradient}) of ``torch.compile(F.loss)`` and of eager ``F.loss`` on the same inputs."""
    results = []
    for fn in (torch.compile(getattr(F, loss)), getattr(F, loss)):
        leaves = {n: t.detach().clone().requires_grad_(n in wrt) for n, t in tensors.items()}
        out = fn(*leaves.values(), **options)
        grads = torch.autograd.grad(out, [leaves[n] for n in wrt],
                                    torch.ones_like(out) if upstream is None else upstream)
        results.append((out.detach(), dict(zip(wrt, grads))))
    return results


def reference(loss, tensors, upstream, **options):
    return exact_reference(get_spec(loss), {n: t.detach().double().numpy() if t.is_floating_point()
                                            else t.numpy() for n, t in tensors.items()}, options, upstream)


def case_of(loss, shape_case, **options):
    spec = get_spec(loss)
    return next(c for c in generate_cases(spec) if c.shape_case.name == shape_case
                and all(c.options.get(k) == v for k, v in options.items()))
