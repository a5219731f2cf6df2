"""Each generic bug class of ``tests/mutants.py`` is flagged by the default ``losscheck run --impl`` on a
loss of its own (17 classes over 17 losses); ``benchmarks/detection_matrix.py`` runs every class on
every loss."""


import mutants
import pytest
from losscheck.conformance.report import read_report
from losscheck.spec import all_specs

SAMPLE = [  # (bug class, loss, variant)
    ("upstream_ignored", "cross_entropy", "upstream_ignored"),
    ("forward_mode_drops_tangent", "huber_loss", "jvp_zero"),
    ("first_order_only", "kl_div", "first_order_only"),
    ("reduction_swapped", "multi_margin_loss", "reduction_swapped"),
    ("none_squeezed", "margin_ranking_loss", "none_squeezed"),
    ("detached", "gaussian_nll_loss", "detached_var"),
    ("output_float32", "hinge_embedding_loss", "output_float32"),
    ("computes_in_float32", "ctc_loss", "computes_in_float32"),
    ("accumulates_in_input_dtype", "soft_margin_loss", "accumulates_in_input_dtype"),
    ("ignores_strides", "multilabel_soft_margin_loss", "ignores_strides"),
    ("modifies_input", "cosine_embedding_loss", "modifies_input"),
    ("nondeterministic", "poisson_nll_loss", "nondeterministic"),
    ("flushes_subnormals", "binary_cross_entropy_with_logits", "flushes_subnormals"),
    ("saturates_large_inputs", "log_cosh_loss", "saturates_large_inputs"),
    ("empty_is_zero", "nll_loss", "empty_is_zero"),
    ("option_default", "triplet_margin_loss", "ignores_swap"),
    ("optional_tensor_dropped", "fused_linear_cross_entropy", "ignores_bias"),
]


def test_the_sample_covers_every_bug_class():
    assert sorted(c for c, _, _ in SAMPLE) == sorted(c.__name__ for c in mutants.BUG_CLASSES)
    for bug_class, loss, variant in SAMPLE:
        assert mutants.mutants(all_specs()[loss])[variant][0] == bug_class


@pytest.mark.parametrize("bug_class, loss, variant", SAMPLE, ids=[c for c, _, _ in SAMPLE])
def test_bug_class_is_flagged_by_the_default_run(run_cli, tmp_path, bug_class, loss, variant):
    report = tmp_path / "report.json"
    status, out, _ = run_cli("run", "--loss", loss, "--impl", f"{loss}=mutants:{loss}__{variant}",
                             "--report", str(report), "--save-failures", str(tmp_path / "failures"))
    assert status == 1, out
    assert not read_report(report)["ok"]


def test_fail_fast_gives_the_same_verdict(run_cli, tmp_path):
    """--fail-fast stops at the first failing check: exit 1 for a mutant, 0 for PyTorch itself."""
    wrong = run_cli("run", "--loss", "mse_loss", "--impl", "mse_loss=mutants:mse_loss__reduction_swapped",
                    "--fail-fast", "--save-failures", str(tmp_path))
    right = run_cli("run", "--loss", "mse_loss", "--fail-fast", "--save-failures", str(tmp_path))
    assert (wrong[0], right[0]) == (1, 0)
