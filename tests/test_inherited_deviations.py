"""Known deviations inherited by compositions: each proof reproduces in the composition's own PyTorch
reference, the exact value is what the proof says and fits the dtype, and the entry's mechanism, evaluated
exactly at the proof's input, holds there."""

from dataclasses import replace

import mpmath
import numpy as np
import pytest
import torch
from losscheck.conformance.cases import generate_cases
from losscheck.conformance.deviations import COMPOSED_OF, known_deviations
from losscheck.conformance.implementations import pytorch_implementation
from losscheck.conformance.oracle import exact_reference
from losscheck.conformance.tolerance import FORMATS, overflows
from losscheck.spec import get_spec

PROOFS = [(entry, heir, proof) for entry in known_deviations("all")
          for heir, inherited in entry.inherited_by.items() for proof in inherited["proofs"]]


def _smoothing_total(spec, tensors):
    """S = −Σ_n Σ_c log_softmax(z_n)_c, exactly, for logits z = input·Wᵀ (no bias): what label smoothing sums."""
    weight = tensors["linear_weight" if "linear_weight" in tensors else "weight"]
    total = mpmath.mpf(0)
    for row in tensors["input"]:
        logits = [mpmath.fsum(mpmath.mpf(a) * mpmath.mpf(b) for a, b in zip(row, w)) for w in weight]
        lse = mpmath.log(mpmath.fsum(mpmath.exp(z) for z in logits))
        total += mpmath.fsum(lse - z for z in logits)
    return total


MECHANISMS = {  # the condition each inherited mechanism needs, evaluated exactly at a proof's input
    "float16-nll-cross_entropy-mean-accumulates-in-float16":
        lambda spec, tensors, reference: abs(reference.unit_total) > FORMATS["float16"].max_value,
    "cross_entropy-float16-label-smoothing-sum-overflow":
        lambda spec, tensors, reference: _smoothing_total(spec, tensors) > FORMATS["float16"].max_value,
}


def test_inheritance_follows_composed_of():
    assert PROOFS
    for entry, heir, _ in PROOFS:
        assert entry.loss in COMPOSED_OF[heir] and not entry.where and entry.id in MECHANISMS


@pytest.mark.parametrize(("entry", "heir", "proof"), PROOFS,
                         ids=[f"{e.id}->{h}#{i}" for i, (e, h, _) in enumerate(PROOFS)])
def test_an_inherited_proof_reproduces_in_the_composition(entry, heir, proof):
    spec, dtype = get_spec(heir), entry.dtypes[0]
    tensors = {name: np.array(values) for name, values in proof["input"].items()}
    inputs = {name: torch.tensor(values, dtype=torch.long if values.dtype.kind == "i" else getattr(torch, dtype))
              for name, values in tensors.items()}
    assert all(torch.equal(inputs[n].double(), torch.tensor(tensors[n], dtype=torch.float64)) for n in inputs)
    required = [inputs.pop(t.name) for t in spec.required_tensors]
    got = pytorch_implementation(heir)(*required, **inputs, **proof["options"]).item()
    assert got == float(proof["pytorch_value"])
    reference = exact_reference(spec, tensors, proof["options"], np.array(1.0))
    exact = reference.value[0]
    assert mpmath.almosteq(exact, mpmath.mpf(proof["exact_value"]), rel_eps=1e-9) and not overflows(exact, dtype)
    assert MECHANISMS[entry.id](spec, tensors, reference)
    shapes = tuple(entry.inherited_by[heir].get("shape_cases", ()))
    case = next(c for c in generate_cases(spec) if (not shapes or c.shape_case.name.startswith(shapes)) and all(
        len(c.shape_case.shapes[n]) == tensors[n].ndim for n in tensors) and set(c.present) == set(tensors))
    case = replace(case, options={**case.options, **proof["options"]})  # the proof's options on a case of its shape
    assert entry.applies(case, "value", dtype, reference)  # the gate's own lookup, at the proof's input
    assert entry.explains(0, case, "value", tensors, np.array([got]), dtype, reference=reference)
    assert not entry.explains(0, case, "value", tensors, np.array([float(exact) * 2]), dtype, reference=reference)
