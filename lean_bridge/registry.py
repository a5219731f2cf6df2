"""Which TorchLean declarations each losscheck spec mirrors, and how their conventions differ.

One ``Link`` per (spec, TorchLean forward declaration) in the spec layer, the tape nodes and the
runtime layer (``NN/Runtime/**``, ``torch.nn.functional``-style helpers). It names the declarations fully
qualified (the forward definition, its hand-written ``…DerivSpec`` or the tape node's
``…Fderiv`` certificate; ``renamed`` lists the names the same declaration has in other TorchLean
versions), maps the Lean parameters to the spec's tensors and options, and
records the convention differences as data:

* ``denominator``: what TorchLean's ``mean`` divides by (``meanOver``: every element;
  ``meanOverAxisSlices``: the slices orthogonal to the class axis; tape nodes: ``1/size`` or ``1/m``);
* ``target``: ``"one-hot"`` where TorchLean takes a one-hot row and PyTorch a class index;
* ``class_axis``: the class dimension TorchLean is called with;
* ``epsilon``: TorchLean's ε clamp, and the value of ε under which the two agree;
* ``empty``: what each side returns for an empty tensor.

``conventions`` names every difference a report must cite when it says "equal under" (the spec's own
``Convention`` type). This table is the one declaration of the links: ``linked_declarations`` gives a
spec's TorchLean names to the listing and the docs, and ``tests/test_torchlean_links.py`` checks it against
the Lean text itself.
Specs that are not on this branch yet are linked by name; the checks that need the spec
say so instead of failing. Adding a spec needs at most one entry here; a spec with no TorchLean
counterpart (``linear_cross_entropy``: TorchLean has no linear layer fused with a loss) has none,
and ``lean check`` lists it among the specs without a link.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..spec.core import PROBABILITY, Convention, Domain

SPEC_FILE = "NN/Spec/Layers/Loss.lean"
TAPE_FILE = "NN/Proofs/Autograd/Tape/Nodes/Losses.lean"
RUNTIME_FILE = "NN/Runtime/Autograd/TorchLean/Loss.lean"
SOURCES = (SPEC_FILE, TAPE_FILE, RUNTIME_FILE)

TORCHLEAN_EPSILON = "1/1000000"  # Context.defaultEpsilon for ℝ, as the TorchLean-only specs take it
MEAN_EMPTY = "TorchLean's mean of an empty tensor is 0 (its denominator is totalized to 1); PyTorch's is NaN"


@dataclass(frozen=True)
class Link:
    """One TorchLean forward declaration and what it corresponds to in a losscheck spec.

    ``arguments`` maps Lean parameter names to spec tensor names; ``values`` fixes Lean
    parameters that are not tensors (``axis``, ``delta``); ``options`` are the spec options
    compared against, and ``option_arguments`` maps Lean parameters to spec options.
    ``shape`` is the concrete shape the comparison is made at. A Lean tensor is drawn from the
    domain of the spec tensor it maps to (under ``options``); ``domains`` gives a spec domain to a
    Lean tensor that has none there (a one-hot row where the spec takes a class index), and a
    Lean tensor in neither is real.
    """

    spec: str
    forward: str
    layer: str  # "spec", "tape" or "runtime"
    derivative: str | None = None
    certificate: str | None = None
    arguments: Mapping[str, str] = field(default_factory=dict)
    values: Mapping[str, Any] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=lambda: {"reduction": "mean"})
    option_arguments: Mapping[str, str] = field(default_factory=dict)
    shape: tuple[int, ...] = (2, 2)
    wrt: str | None = None  # the Lean parameter a …DerivSpec differentiates (default: first tensor)
    denominator: str = "numel (meanOver)"
    target: str = "same"  # "same" or "one-hot"
    class_axis: int | None = None
    epsilon: str = "none"
    empty: str = MEAN_EMPTY
    domains: Mapping[str, Domain] = field(default_factory=dict)
    conventions: tuple[Convention, ...] = ()
    renamed: tuple[str, ...] = ()

    @property
    def declarations(self) -> list[str]:
        return [d for d in (self.forward, self.derivative, self.certificate) if d]


def _spec(name: str) -> str:
    return f"Spec.{name}"


def _node(name: str) -> str:
    return f"Proofs.Autograd.TapeNodes.{name}"


def _runtime(name: str) -> str:
    return f"Runtime.Autograd.TorchLean.Loss.{name}"


ONE_HOT = Convention("one-hot target", "TorchLean takes a one-hot row per unit; PyTorch a class index")
SLICE_MEAN = Convention("mean over class slices",
                        "TorchLean divides by the slices orthogonal to the class axis; PyTorch's index-target "
                        "mean divides by the number of rows (the same count without class weights)")
EPS_CLAMP = Convention("ε clamp", "TorchLean clamps the probability to [ε, 1 − ε] before the log; PyTorch clamps "
                       "the log at −100 instead", substitute={"epsilon": 0})
BATCHMEAN = Convention("batchmean", "the tape node divides by the rows m: PyTorch's reduction='batchmean'")

LINKS: tuple[Link, ...] = (
    # ------------------------------------------------------------ spec layer
    Link("mse_loss", _spec("mseSpec"), "spec", derivative=_spec("mseDerivSpec"),
         arguments={"predicted": "input", "target": "target"}),
    Link("l1_loss", _spec("maeSpec"), "spec", derivative=_spec("maeDerivSpec"),
         arguments={"predicted": "input", "target": "target"}),
    Link("huber_loss", _spec("huberSpec"), "spec", derivative=_spec("huberDerivSpec"),
         arguments={"predicted": "input", "target": "target"}, values={"delta": "3/4"},
         option_arguments={"delta": "delta"}),
    Link("cross_entropy", _spec("crossEntropyLogitsSpec"), "spec", derivative=_spec("crossEntropyLogitsDerivSpec"),
         arguments={"logits": "input", "target": "target"}, values={"axis": 1},
         options={"reduction": "mean", "label_smoothing": 0.0, "ignore_index": -100}, shape=(2, 3),
         denominator="slices orthogonal to the class axis (meanOverAxisSlices)", target="one-hot", class_axis=1,
         domains={"target": PROBABILITY}, conventions=(ONE_HOT, SLICE_MEAN)),
    Link("cross_entropy_probs", _spec("crossEntropySpec"), "spec", derivative=_spec("crossEntropyDerivSpec"),
         arguments={"predicted": "input", "target": "target"}, values={"axis": 1, "epsilon": TORCHLEAN_EPSILON},
         option_arguments={"epsilon": "eps"}, options={}, shape=(2, 3),
         denominator="slices orthogonal to the class axis (meanOverAxisSlices)", class_axis=1,
         epsilon="clamp to [ε, 1 − ε], as the spec's eps"),
    Link("hinge_loss", _spec("hingeSpec"), "spec", derivative=_spec("hingeDerivSpec"),
         arguments={"predicted": "input", "target": "target"}),
    Link("poisson_nll_loss", _spec("poissonSpec"), "spec", derivative=_spec("poissonDerivSpec"),
         arguments={"predicted": "input", "target": "target"},
         options={"reduction": "mean", "log_input": True, "full": False}),
    Link("cosine_similarity_loss", _spec("cosineSimilaritySpec"), "spec",
         derivative=_spec("cosineSimilarityDerivSpec"), arguments={"predicted": "input", "target": "target"},
         values={"epsilon": TORCHLEAN_EPSILON}, option_arguments={"epsilon": "eps"}, options={}, shape=(3,),
         denominator="none: 1 − cos over the whole tensor", epsilon="norms below ε replaced by ε, as the spec's eps",
         empty="both norms are ε: the loss is 1"),
    Link("log_cosh_loss", _spec("logCoshSpec"), "spec", derivative=_spec("logCoshDerivSpec"),
         arguments={"predicted": "input", "target": "target"}),
    Link("binary_cross_entropy", _spec("binaryCrossEntropyTensorSpec"), "spec",
         derivative=_spec("binaryCrossEntropyTensorDerivSpec"), arguments={"predicted": "input", "target": "target"},
         epsilon="clamp to [ε, 1 − ε]", conventions=(EPS_CLAMP,)),
    Link("binary_cross_entropy", _spec("binaryCrossEntropySpec"), "spec",
         derivative=_spec("binaryCrossEntropyDerivSpec"), arguments={"predicted": "input", "target": "target"},
         shape=(), denominator="none: one element", epsilon="clamp to [ε, 1 − ε]", empty="not applicable",
         conventions=(EPS_CLAMP,)),
    # ------------------------------------------------------------ tape nodes
    Link("mse_loss", _node("mseLoss"), "tape", certificate=_node("mseLossFderiv"),
         arguments={"yhat": "input", "target": "target"}, denominator="Shape.size s (every element)",
         empty="1/0 in ℝ is 0, so the loss of an empty tensor is 0; PyTorch's is NaN"),
    Link("cross_entropy", _node("crossEntropyOneHotLast"), "tape", certificate=_node("crossEntropyOneHotLastFderiv"),
         arguments={"logits": "input", "target": "target"}, shape=(2, 3),
         options={"reduction": "mean", "label_smoothing": 0.0, "ignore_index": -100},
         denominator="rows m", target="one-hot", class_axis=1, domains={"target": PROBABILITY},
         empty="1/0 in ℝ is 0", conventions=(ONE_HOT,)),
    Link("nll_loss", _node("nllOneHotLast"), "tape", certificate=_node("nllOneHotLastFderiv"),
         arguments={"logProbs": "input", "target": "target"}, shape=(2, 3),
         options={"reduction": "mean", "ignore_index": -100}, denominator="rows m", target="one-hot",
         class_axis=1, domains={"target": PROBABILITY}, empty="1/0 in ℝ is 0", conventions=(ONE_HOT,)),
    Link("binary_cross_entropy_with_logits", _node("bceWithLogits"), "tape", certificate=_node("bceWithLogitsFderiv"),
         arguments={"logits": "input", "target": "target"}, denominator="Shape.size s (every element)",
         empty="1/0 in ℝ is 0"),
    Link("kl_div", _node("klDivLast"), "tape", certificate=_node("klDivLastFderivAt"),
         arguments={"logProbs": "input", "target": "target"}, shape=(2, 3),
         options={"reduction": "batchmean", "log_target": False}, denominator="rows m (batchmean)",
         class_axis=1, empty="1/0 in ℝ is 0", conventions=(BATCHMEAN,)),
    # ------------------------------------------------------------ runtime layer (default reduction .mean)
    Link("mse_loss", _runtime("mse"), "runtime", arguments={"yhat": "input", "y": "target"},
         denominator="numel (F.mean / mseLoss)", renamed=("TorchLean.Loss.mse",)),
    Link("nll_loss", _runtime("nllOneHot"), "runtime", arguments={"logProbs": "input", "targetOneHot": "target"},
         values={"axis": 1}, shape=(2, 3), options={"reduction": "mean", "ignore_index": -100},
         denominator="numel times the class count (lastDim / Shape.axisSize): the rows", target="one-hot",
         class_axis=1, domains={"targetOneHot": PROBABILITY}, conventions=(ONE_HOT,),
         renamed=("TorchLean.Loss.nllOneHot",)),
    Link("binary_cross_entropy_with_logits", _runtime("bceWithLogits"), "runtime",
         arguments={"logits": "input", "target": "target"}, denominator="numel (F.mean)",
         renamed=("TorchLean.Loss.bceWithLogits",)),
    Link("binary_cross_entropy", _runtime("bce"), "runtime", arguments={"probs": "input", "target": "target"},
         denominator="numel (F.mean)", epsilon="ε (default Numbers.epsilon) passed to safeLog",
         renamed=("TorchLean.Loss.bce",)),
)


def links_for(spec: str) -> list[Link]:
    """The links of one spec, in registry order."""
    return [link for link in LINKS if link.spec == spec]


def linked_declarations(spec: str) -> list[str]:
    """The TorchLean definitions a spec mirrors: each of its links' forward declarations, in registry order."""
    return list(dict.fromkeys(link.forward for link in links_for(spec)))
