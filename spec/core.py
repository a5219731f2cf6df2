"""The vocabulary every loss spec is written in, in one import: domains, signature, structure, unit, spec.

A spec is data. It names a loss's inputs and their domains (``domains``), its options with
defaults and valid values and the conventions it follows (``signature``), the structure that maps
tensors to *units* (``structure``; one element, or one slice along the class axis), and the per-unit
loss as a SymPy expression of a ``Unit`` (``unit``), all held by a ``LossSpec`` (``loss_spec``).
The TorchLean declarations a spec mirrors are linked in ``lean_bridge.registry``.
Nothing here imports torch or mpmath or does I/O.
"""

from .domains import (
    CLASS_INDEX,
    LOG_PROBABILITY,
    LOG_PROBABILITY_ROWS,
    LOGIT,
    OPEN_PROBABILITY,
    POSITIVE_WEIGHT,
    PROBABILITY,
    PROBE_REGIMES,
    REAL,
    SIGN_LABEL,
    SUBNORMALS,
    Choices,
    ClassIndex,
    Domain,
    Interval,
    LabelLists,
    Lattice,
    LogProbabilityRows,
    NonPositive,
    PlantedRows,
    SequenceLengths,
    Weight,
    planted_rows,
)
from .loss_spec import LossSpec
from .signature import CALLABLE_NAME, Convention, Option, ShapeCase, TensorArg, reduction_option
from .structure import ClassAxis, Elementwise, ForwardBackward, Sequences, Slices, Structure
from .unit import Unit

__all__ = [
    "CALLABLE_NAME",
    "CLASS_INDEX",
    "LOGIT",
    "LOG_PROBABILITY",
    "LOG_PROBABILITY_ROWS",
    "OPEN_PROBABILITY",
    "POSITIVE_WEIGHT",
    "PROBABILITY",
    "PROBE_REGIMES",
    "REAL",
    "SIGN_LABEL",
    "SUBNORMALS",
    "Choices",
    "ClassAxis",
    "ClassIndex",
    "Convention",
    "Domain",
    "Elementwise",
    "ForwardBackward",
    "Interval",
    "LabelLists",
    "Lattice",
    "LogProbabilityRows",
    "LossSpec",
    "NonPositive",
    "Option",
    "PlantedRows",
    "SequenceLengths",
    "Sequences",
    "ShapeCase",
    "Slices",
    "Structure",
    "TensorArg",
    "Unit",
    "Weight",
    "planted_rows",
    "reduction_option",
]
