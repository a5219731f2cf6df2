"""Deliberately wrong slice-structured losses. Each must make `losscheck run --impl` exit 1.

Each is a bug class real kernels have shipped; the docstring names it.
"""

import torch
import torch.nn.functional as F

FLAGGED = [  # (loss, implementation, a quantity that must fail)
    ("multilabel_soft_margin_loss", "mlsm_sum_over_classes", "value"),
    ("multilabel_soft_margin_loss", "mlsm_detached_target", "grad target"),
    ("multi_margin_loss", "multi_margin_includes_target_class", "value"),
    ("multi_margin_loss", "multi_margin_active_at_kink", "grad input"),
    ("multilabel_margin_loss", "multilabel_margin_duplicates_once", "value"),
    ("multilabel_margin_loss", "multilabel_margin_reads_past_terminator", "value"),
    ("cosine_embedding_loss", "cosine_embedding_hinge_sign_flipped", "value"),
    ("cosine_embedding_loss", "cosine_embedding_via_cosine_similarity", "grad input1"),
    ("cosine_similarity_loss", "cosine_similarity_eps_added", "value"),
    ("cosine_similarity_loss", "cosine_similarity_per_row", "value"),
    ("cross_entropy_probs", "cross_entropy_probs_lower_clamp_only", "value"),
    ("cross_entropy_probs", "cross_entropy_probs_clamp_passes_gradient", "grad input"),
]


def _reduce(per_row, reduction):
    return {"none": per_row, "mean": per_row.mean(), "sum": per_row.sum()}[reduction]


def mlsm_sum_over_classes(input, target, weight=None, reduction="mean"):
    """The per-row sum over classes is not divided by C (a dropped class average)."""
    loss = -(target * F.logsigmoid(input) + (1 - target) * F.logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    return _reduce(loss.sum(dim=-1), reduction)


def mlsm_detached_target(input, target, weight=None, reduction="mean"):
    """The target is detached: its gradient is silently zero."""
    return F.multilabel_soft_margin_loss(input, target.detach(), weight=weight, reduction=reduction)



def _multi_margin(input, target, p, margin, weight, reduction, *, include_target=False, at_kink=False):
    """Σ_i w[y]·max(0, margin − x[y] + x[i])^p / C written with torch ops, with switchable bugs."""
    x = input if input.dim() == 2 else input.unsqueeze(0)
    y = target.reshape(-1, 1)
    z = margin - x.gather(1, y) + x
    active = z >= 0 if at_kink else z > 0
    hinge = torch.where(active, z, torch.zeros_like(z)) ** p
    if not include_target:
        hinge = hinge.scatter(1, y, 0.0)
    if weight is not None:
        hinge = hinge * weight[y]
    per_row = hinge.sum(dim=1) / x.size(1)
    return _reduce(per_row if input.dim() == 2 else per_row[0], reduction)


def multi_margin_includes_target_class(input, target, p=1, margin=1.0, weight=None, reduction="mean"):
    """The i = y term is summed too: every row gains w[y]·max(0, margin)^p / C."""
    return _multi_margin(input, target, p, margin, weight, reduction, include_target=True)


def multi_margin_active_at_kink(input, target, p=1, margin=1.0, weight=None, reduction="mean"):
    """z ≥ 0 instead of z > 0: at a hinge exactly on its margin (p = 1) the gradient is ±w/C, not 0."""
    return _multi_margin(input, target, p, margin, weight, reduction, at_kink=True)


def _multilabel_margin(input, target, reduction, *, dedupe=False, past_terminator=False):
    """Σ_{j∈J} Σ_{i∉set(J)} max(0, 1 − x[y_j] + x[i]) / C with torch ops, with switchable bugs."""
    x = input if input.dim() == 2 else input.unsqueeze(0)
    y = target if target.dim() == 2 else target.unsqueeze(0)
    rows = []
    for n in range(x.size(0)):
        labels = []
        for label in y[n].tolist():
            if label < 0:
                if past_terminator:
                    continue
                break
            labels.append(label)
        if dedupe:
            labels = sorted(set(labels))
        outside = torch.ones_like(x[n])
        outside[sorted(set(labels))] = 0
        total = x[n].sum() * 0
        for j in labels:
            total = total + ((1 - x[n, j] + x[n]).clamp_min(0) * outside).sum()
        rows.append(total / x.size(1))
    per_row = torch.stack(rows)
    return _reduce(per_row if input.dim() == 2 else per_row[0], reduction)


def multilabel_margin_duplicates_once(input, target, reduction="mean"):
    """A repeated label counts once (the label list read as a set)."""
    return _multilabel_margin(input, target, reduction, dedupe=True)


def multilabel_margin_reads_past_terminator(input, target, reduction="mean"):
    """Labels after the first −1 are used too (the terminator skipped instead of ending the list)."""
    return _multilabel_margin(input, target, reduction, past_terminator=True)


def _cosine_embedding(cos, target, margin, reduction, *, flipped=False):
    hinge = (margin - cos if flipped else cos - margin).clamp_min(0)
    loss = torch.where(target == 1, 1 - cos, torch.zeros_like(cos)) + torch.where(target == -1, hinge,
                                                                                  torch.zeros_like(cos))
    return _reduce(loss, reduction)


def cosine_embedding_hinge_sign_flipped(input1, input2, target, margin=0.0, reduction="mean"):
    """Dissimilar pairs penalised by max(0, margin − cos) instead of max(0, cos − margin)."""
    cos = F.cosine_similarity(input1, input2, dim=-1, eps=1e-6)
    return _cosine_embedding(cos, target, margin, reduction, flipped=True)


def cosine_embedding_via_cosine_similarity(input1, input2, target, margin=0.0, reduction="mean"):
    """cos from F.cosine_similarity (each norm clamped at 1e-8) instead of ε = 1e-12 under the sqrt.

    The values agree; at a zero vector the gradient is x2/(1e-8·|x2|), a hundred times too large.
    """
    cos = F.cosine_similarity(input1, input2, dim=-1, eps=1e-8)
    return _cosine_embedding(cos, target, margin, reduction)


def cosine_similarity_eps_added(input, target, eps=1e-6):
    """ε added to each norm (‖p‖ + ε) instead of replacing a norm below ε."""
    norms = torch.linalg.vector_norm(input) + eps, torch.linalg.vector_norm(target) + eps
    return 1 - (input * target).sum() / (norms[0] * norms[1])


def cosine_similarity_per_row(input, target, eps=1e-6):
    """Cosine per last-dim row, averaged (F.cosine_similarity's layout), not one whole-tensor cosine."""
    return 1 - F.cosine_similarity(input, target, dim=-1, eps=eps).mean()


def _cross_entropy_probs(log_q, input):
    slices = max(input.numel() // max(input.size(0 if input.dim() == 1 else 1), 1), 1)
    return -log_q / slices


def cross_entropy_probs_lower_clamp_only(input, target, eps=1e-6):
    """Clamps p below at ε only: log p near 1 is not capped at log(1 − ε)."""
    return _cross_entropy_probs((target * input.clamp_min(eps).log()).sum(), input)


def cross_entropy_probs_clamp_passes_gradient(input, target, eps=1e-6):
    """The clamp is straight-through: a clamped p still gets the gradient −y/clip(p)."""
    clipped = input + (input.clamp(eps, 1 - eps) - input).detach()
    return _cross_entropy_probs((target * clipped.log()).sum(), input)
