"""Every spec links the TorchLean declarations the foundation names."""

from losscheck.spec import all_specs

EXPECTED = {
    "mse_loss": {"Proofs.Autograd.TapeNodes.mseLoss", "Spec.mseSpec"},
    "cross_entropy": {"Proofs.Autograd.TapeNodes.crossEntropyOneHotLast", "Spec.crossEntropyLogitsSpec"},
    "nll_loss": {"Proofs.Autograd.TapeNodes.nllOneHotLast"},
    "binary_cross_entropy_with_logits": {"Proofs.Autograd.TapeNodes.bceWithLogits"},
    "kl_div": {"Proofs.Autograd.TapeNodes.klDivLast"},
    "l1_loss": {"Spec.maeSpec"},
    "huber_loss": {"Spec.huberSpec"},
    "hinge_loss": {"Spec.hingeSpec"},
    "log_cosh_loss": {"Spec.logCoshSpec"},
    "poisson_nll_loss": {"Spec.poissonSpec"},
    "binary_cross_entropy": {"Spec.binaryCrossEntropySpec", "Spec.binaryCrossEntropyTensorSpec"},
    "linear_cross_entropy": set(),  # no TorchLean counterpart: TorchLean has no fused linear layer + loss
}


def test_torchlean_links():
    specs = all_specs()
    for name, declarations in EXPECTED.items():
        assert set(specs[name].torchlean) == declarations


def test_every_option_default_is_valid_and_grid_starts_at_the_default():
    for spec in all_specs().values():
        for option in spec.options:
            option.validate(option.default)
            assert option.default in option.grid, (spec.name, option.name)
            for value in option.grid:
                option.validate(value)
