"""linear_cross_entropy: cross_entropy of the logits of a linear layer, PyTorch's signature.

    z[n, c, s] = Σ_h W[c, s, h]·x[n, h] + b[c, s],   l[n, s] = −Σ_c w_c·y'_c·log_softmax(z[n, :, s])_c

Class-index targets t[n, s]: y' = keep·((1 − ε)·onehot(t) + ε/C), keep = [t ≠ ignore_index];
mean divides by Σ keep·w[t]. Probability targets (the logits' shape (N, C, d1..dK)):
y' = (1 − ε)·y + ε/C; mean divides by N·d1…dK, never by the weights. This is exactly
``F.cross_entropy(F.linear(input, W.reshape(C·d1…dK, H), b.reshape(-1)).reshape(N, C, d1..dK), target, ...)``:
the cross-entropy pieces are ``cross_entropy``'s, the logits ``fused_linear_cross_entropy``'s.

Signature: ``linear_cross_entropy(input (N, H) or (H,), linear_weight (C, H) or (C, d1..dK, H),
target, *, linear_bias (C,) or (C, d1..dK) = None, weight (C,) = None, reduction='mean',
ignore_index=None, label_smoothing=0.0, options=None)``. ``ignore_index=None`` is −100 for class
indices; with probability targets it must stay None. The K-dimensional loss (K ≥ 1) needs a batched
input; s runs over d1..dK. Gradients w.r.t. input, linear_weight, linear_bias and probability targets.
``options`` picks PyTorch's chunked kernel (``conformance.targets``), not the math.
Reference: ``torch.nn.functional.linear_cross_entropy`` (PyTorch 2.13); no TorchLean counterpart.
"""

from .core import (
    CLASS_INDEX,
    OPEN_PROBABILITY,
    POSITIVE_WEIGHT,
    REAL,
    Convention,
    LossSpec,
    Option,
    ShapeCase,
    Slices,
    TensorArg,
    Unit,
    reduction_option,
)
from .cross_entropy import LABEL_SMOOTHING, denominator, log_softmax_cross_entropy, smoothed_target
from .fused_linear_cross_entropy import FEATURE, linear_logits


def loss(u: Unit):
    """−Σ_c w_c·y'_c·(z_c − log Σ_k exp(z_k)), z = W_s·x + b_s the logits at the unit's position s."""
    return log_softmax_cross_entropy(linear_logits(u.input, u.linear_weight, u.linear_bias), u.weight,
                                     smoothed_target(u))


IGNORE_INDEX = Option("ignore_index", None, grid=(None, 1), in_formula=False,
                      doc="class index whose entries count as 0; None: −100 for class indices")

_PROBS = {"target": OPEN_PROBABILITY}
_NO_IGNORE = ("ignore_index",)

SPEC = LossSpec(
    name="linear_cross_entropy",
    formula="l[n,s] = −Σ_c w_c·y'_c·log_softmax(W[:,s,:]·x_n + b[:,s])_c;  y' = keep·((1−ε)·y + ε/C)",
    tensors=(
        TensorArg("input", FEATURE, differentiable=True, doc="features (N, H), or unbatched (H,)"),
        TensorArg("linear_weight", REAL, differentiable=True,
                  doc="(C, H), or (C, d1..dK, H) for the K-dimensional loss"),
        TensorArg("target", CLASS_INDEX, differentiable=True,
                  doc="class indices (N, d1..dK), or probabilities shaped like the logits (N, C, d1..dK)"),
        TensorArg("linear_bias", REAL, differentiable=True, optional=True, absent=0,
                  doc="(C,), or (C, d1..dK) like the weight's classes"),
        TensorArg("weight", POSITIVE_WEIGHT, differentiable=False, optional=True, doc="per-class weight (C,)"),
    ),
    options=(
        IGNORE_INDEX,
        reduction_option(),
        LABEL_SMOOTHING,
    ),
    structure=Slices(sliced=("target",), axis=1, index_target="target", per_class=("weight",),
                     classes=("linear_weight", 0),
                     gathered={"input": "n h", "linear_weight": "c ... h", "linear_bias": "c ..."}),
    loss=loss,
    denominator=denominator,
    shape_cases=(  # small (C·H = 6 weight symbols per unit), so the second-order checks stay cheap
        ShapeCase("index (N,H) C=3", {"input": (3, 2), "linear_weight": (3, 2), "target": (3,),
                                      "linear_bias": (3,), "weight": (3,)}),
        ShapeCase("index unbatched (H,) C=3", {"input": (2,), "linear_weight": (3, 2), "target": (),
                                               "linear_bias": (3,), "weight": (3,)}),
        ShapeCase("index K-dim (N,H) W (C,d1,H)", {"input": (2, 2), "linear_weight": (3, 2, 2),
                                                   "target": (2, 2), "linear_bias": (3, 2), "weight": (3,)}),
        ShapeCase("probs (N,H) C=3", {"input": (3, 2), "linear_weight": (3, 2), "target": (3, 3),
                                      "linear_bias": (3,), "weight": (3,)},
                  domains=_PROBS, skip_options=_NO_IGNORE),
        ShapeCase("probs unbatched (H,) C=3", {"input": (2,), "linear_weight": (3, 2), "target": (3,),
                                               "linear_bias": (3,), "weight": (3,)},
                  domains=_PROBS, skip_options=_NO_IGNORE),
        ShapeCase("probs K-dim (N,H) W (C,d1,H)", {"input": (2, 2), "linear_weight": (3, 2, 2),
                                                   "target": (2, 3, 2), "linear_bias": (3, 2), "weight": (3,)},
                  domains=_PROBS, skip_options=_NO_IGNORE),
    ),
    conventions=(
        Convention("ignore_index None", "ignore_index=None is −100 for class-index targets; any other value "
                   "with probability targets raises"),
        Convention("K-dimensional weight", "a weight (C, d1..dK, H) gives logits (N, C, d1..dK): position s "
                   "uses the weight's and the bias's slice [:, s]; the input row is shared by every position"),
        Convention("all-ignored mean", "mean over a batch whose targets are all ignored is NaN; its gradient is 0"),
        Convention("ignored entries", "an ignored entry contributes exactly 0 to value and to every gradient"),
        Convention("index-target mean", "mean divides by Σ w[t] over the entries not ignored"),
        Convention("probability-target mean", "mean divides by N·d1…dK, never by the weights"),
        Convention("smoothing weight", "the smoothing term weights class c by w_c, not w[t]"),
    ),
)
