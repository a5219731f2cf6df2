"""gaussian_nll_loss's var forms outside the tensor shape cases: a Python float, a 0-dim
tensor with a 2-D input, a negative entry (PyTorch 2.13 behaviour the spec's shape cases rely on)."""

import mpmath
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from losscheck.conformance.oracle import exact_reference
from losscheck.spec import get_spec


def test_a_float_var_is_a_constant_variance_of_the_input_shape():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    got = F.gaussian_nll_loss(torch.tensor(x), torch.tensor(y), 0.5, full=True)
    reference = exact_reference(get_spec("gaussian_nll_loss"), {"input": x, "target": y, "var": np.full((3, 4), 0.5)},
                                {"reduction": "mean", "full": True}, np.array(1.0))
    assert mpmath.almosteq(reference.value[0], float(got), rel_eps=1e-14)


def test_a_0dim_var_needs_a_1d_input():
    x = torch.zeros(3, 4, dtype=torch.float64)
    with pytest.raises(ValueError, match="var is of incorrect size"):
        F.gaussian_nll_loss(x, x, torch.tensor(0.5, dtype=torch.float64))
    assert torch.isfinite(F.gaussian_nll_loss(x[0], x[0], torch.tensor(0.5, dtype=torch.float64)))


def test_a_negative_var_raises():
    x = torch.zeros(3, dtype=torch.float64)
    with pytest.raises(ValueError, match="negative"):
        F.gaussian_nll_loss(x, x, torch.tensor([1.0, -0.5, 1.0], dtype=torch.float64))
