"""Shape search: every derived shape case is one PyTorch itself accepts, with the output shape the spec's units
give; the sizes are the ones kernels switch paths at; the derivation needs no per-loss code."""

import math

import numpy as np
import pytest
import torch
from losscheck.conformance.cases import Case, option_grid
from losscheck.conformance.probes import SEARCH_PERIOD, probe_cases
from losscheck.conformance.shape_search import search_shapes
from losscheck.derivations.units import split_units
from losscheck.spec import all_specs, get_spec
from losscheck.spec.core import Elementwise

SEARCHED = sorted(name for name, spec in all_specs().items() if search_shapes(spec))


def test_the_search_reaches_elementwise_and_class_axis_specs():
    elementwise = {n for n, s in all_specs().items() if isinstance(s.structure, Elementwise)}
    assert elementwise <= set(SEARCHED)
    assert {"cross_entropy", "nll_loss", "cross_entropy_probs", "multi_margin_loss"} <= set(SEARCHED)


@pytest.mark.parametrize("loss", SEARCHED)
def test_pytorch_accepts_every_derived_shape_with_the_units_output_shape(loss):
    """PyTorch's own function (the independent judge of a valid call) runs on each derived shape, and its
    reduction='none' output has the shape the spec's units give."""
    spec = get_spec(loss)
    for shape_case in search_shapes(spec):
        every = tuple(t.name for t in spec.tensors)
        options = option_grid(spec, shape_case)[0]
        case = Case(spec, shape_case, every, options, "typical", 0, 0, period=SEARCH_PERIOD)
        tensors = {n: torch.tensor(v) for n, v in case.raw_tensors().items()}
        required = [tensors[t.name] for t in spec.required_tensors]
        optional = {t.name: tensors[t.name] for t in spec.optional_tensors}
        function = getattr(torch.nn.functional, loss, None)
        if function is None:
            continue  # a loss torch.nn.functional lacks: the spec's units alone
        none = {"reduction": "none"} if "reduction" in options else {}
        out = function(*required, **optional, **{**{k: v for k, v in options.items() if k != "reduction"}, **none})
        if none:
            units = split_units(spec, case.raw_tensors(), {**options, **none})
            assert tuple(out.shape) == tuple(units.out_shape), shape_case.name


def test_elementwise_sizes_reach_the_path_thresholds():
    for loss in ("mse_loss", "binary_cross_entropy_with_logits", "gaussian_nll_loss", "margin_ranking_loss"):
        spec = get_spec(loss)
        shapes = [c.shapes for c in search_shapes(spec)]
        lasts = {max(s[n][-1] if s[n] else 1 for n in s) for s in shapes}
        assert {1, 2, 13, 31, 33, 257, 1025, 4097} <= lasts, (loss, lasts)
        totals = {max(math.prod(s[n]) for n in s) for s in shapes}
        assert {t % 32 for t in totals} >= {1, 4, 7, 29}, (loss, totals)  # tails past a vector of 32


def test_a_per_class_tensor_follows_the_class_dim_past_4096():
    spec = get_spec("binary_cross_entropy_with_logits")
    wide = next(c for c in search_shapes(spec) if c.shapes["input"][-1] == 4097)
    assert wide.shapes["pos_weight"] == (4097,) and wide.shapes["weight"][-1] == 4097


def test_class_counts_equal_and_unequal_to_spatial_sizes():
    shapes = [c.shapes["input"] for c in search_shapes(get_spec("cross_entropy"))]
    assert any(len(s) == 4 and s[1] == s[3] != s[2] for s in shapes)  # C = last spatial, first differs
    assert any(len(s) == 4 and s[1] == s[2] != s[3] for s in shapes)  # C = first spatial
    assert any(len(s) == 2 and s[0] == s[1] for s in shapes)  # N = C
    assert any(len(s) == 4 for s in [c.shapes["input"] for c in search_shapes(get_spec("cross_entropy_probs"))])


def test_a_period_repeats_the_drawn_values_along_every_dim():
    spec = get_spec("mse_loss")
    wide = next(c for c in search_shapes(spec) if c.shapes["input"] == (3, 31))
    case = Case(spec, wide, ("input", "target"), {"reduction": "mean"}, "typical", 0, 0, period=7)
    values = case.raw_tensors()["input"]
    assert values.shape == (3, 31)
    np.testing.assert_array_equal(values[:, 7:14], values[:, :7])
    assert len(np.unique(values)) == 3 * 7


def test_the_shapes_probe_runs_every_derived_shape_with_and_without_each_optional_tensor():
    for loss in ("binary_cross_entropy_with_logits", "cross_entropy"):
        spec = get_spec(loss)
        cases = [c for c in probe_cases(spec, 0, 0) if c.probe == "shapes"]
        for shape_case in search_shapes(spec):
            for tensor in spec.optional_tensors:
                seen = {tensor.name in c.present for c in cases if c.shape_case == shape_case}
                assert seen == {True, False}, (loss, shape_case.name, tensor.name)
