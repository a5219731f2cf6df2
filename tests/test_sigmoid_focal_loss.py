"""fvcore's ``sigmoid_focal_loss`` against the spec: the optional extra ``[fvcore]``; skipped without it."""

import pytest
import torch
from losscheck import check

fvcore_nn = pytest.importorskip("fvcore.nn", reason="fvcore is not installed: pip install 'losscheck[fvcore]'")


@pytest.mark.slow
def test_fvcore_conforms_in_float32():
    result = check("sigmoid_focal_loss", impl="fvcore.nn:sigmoid_focal_loss", dtypes=["float32"])
    assert result.ok, str(result)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float16, torch.bfloat16])
def test_fvcore_returns_float32_for_every_other_dtype(dtype):
    """fvcore casts its inputs with ``.float()``: losscheck's output-dtype check flags it outside float32."""
    x, t = torch.tensor([0.5, -1.0], dtype=dtype), torch.tensor([1.0, 0.0], dtype=dtype)
    assert fvcore_nn.sigmoid_focal_loss(x, t, alpha=0.25, gamma=2.0, reduction="mean").dtype == torch.float32


def test_defaults_differ_from_the_spec_only_in_alpha():
    """The spec takes torchvision's defaults; fvcore's alpha is -1 (no weighting)."""
    from losscheck.spec import get_spec

    spec = get_spec("sigmoid_focal_loss")
    defaults = {o.name: o.default for o in spec.options}
    assert defaults == {"alpha": 0.25, "gamma": 2.0, "reduction": "none"}
    x, t = torch.tensor([0.5, -1.0, 3.0]), torch.tensor([1.0, 0.0, 1.0])
    unweighted = fvcore_nn.sigmoid_focal_loss(x, t)
    assert torch.equal(unweighted, fvcore_nn.sigmoid_focal_loss(x, t, alpha=-1, gamma=2, reduction="none"))
