"""float16 cross_entropy with label smoothing sums the smoothing term in float16: over the batch (sum,
mean) and over one row's classes (none), so it overflows where the exact loss fits (pytorch.json's
cross_entropy-float16-label-smoothing-sum-overflow)."""

import mpmath
import numpy as np
import torch
import torch.nn.functional as F
from losscheck.conformance.cases import generate_cases
from losscheck.conformance.deviations import known_deviations
from losscheck.conformance.oracle import exact_reference
from losscheck.spec import get_spec


def test_float16_cross_entropy_label_smoothing_overflow():
    """PyTorch's float16 sum is inf; the exact loss, 4000, is representable."""
    x = torch.tensor([[0.0, -1e4, -1e4, -1e4, -1e4]] * 2, dtype=torch.float16)
    target = torch.tensor([0, 0])
    assert torch.isinf(F.cross_entropy(x, target, label_smoothing=0.25, reduction="sum"))
    reference = exact_reference(get_spec("cross_entropy"), {"input": x.double().numpy(), "target": target.numpy()},
                                {"reduction": "sum", "label_smoothing": 0.25}, np.array(1.0))
    assert mpmath.almosteq(reference.value[0], 4000, rel_eps=1e-12)


def test_float16_cross_entropy_label_smoothing_overflows_within_one_row():
    """reduction='none' too: one row's smoothing sum over the classes, 8e4, overflows float16, so PyTorch's
    loss is inf where the exact one is 4000; the entry speaks of every reduction, not a finite row."""
    x = torch.tensor([[0.0, -2e4, -2e4, -2e4, -2e4], [0.0, -1.0, 2.0, 0.5, 1.0]], dtype=torch.float16)
    target = torch.tensor([0, 0])
    got = F.cross_entropy(x, target, label_smoothing=0.25, reduction="none")
    assert torch.isinf(got[0]) and torch.isfinite(got[1])
    spec = get_spec("cross_entropy")
    reference = exact_reference(spec, {"input": x.double().numpy(), "target": target.numpy()},
                                {"reduction": "none", "label_smoothing": 0.25}, np.ones(2))
    assert mpmath.almosteq(reference.value[0], 4000, rel_eps=1e-12)
    assert abs(reference.value[1] - float(got[1])) < 1e-2 * abs(reference.value[1])
    entry = next(e for e in known_deviations() if e.id == "cross_entropy-float16-label-smoothing-sum-overflow")
    case = next(c for c in generate_cases(spec) if c.shape_case.name.startswith("index")
                and c.options.get("reduction") == "none" and c.options.get("label_smoothing", 0) > 0)
    assert entry.applies(case, "value", "float16", reference)
    assert not entry.applies(case, "value", "bfloat16", reference)
