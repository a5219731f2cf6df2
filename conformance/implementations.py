"""Implementations under test: loading them, and calling them safely.

An implementation is any callable with the ``torch.nn.functional`` signature
of the loss it replaces. ``--impl NAME=MODULE:ATTR`` imports MODULE with the
current directory and ``PYTHONPATH`` on ``sys.path``, in a worker process only
(``driver``); calls are timed and isolated there (``workers``).
"""

from __future__ import annotations

import importlib
import os
import re
import sys
from collections.abc import Callable
from typing import Any

import torch.nn.functional as F

from ..spec import all_specs
from ..spec.core import CALLABLE_NAME, Option
from .compositions import COMPOSITIONS

Implementation = Callable[..., Any]

_IMPL_PATTERN = re.compile(r"^(?P<loss>[A-Za-z_]\w*)=(?P<module>[A-Za-z_][\w.]*):(?P<attr>[A-Za-z_][\w.]*)$")


class UsageError(ValueError):
    """Bad command-line or API input; the message is one line naming the problem."""


class UnavailableReference:
    """A spec's reference implementation whose library is not installed: it declares that it supports no
    device, so a default run lists the loss's checks as unsupported instead of stopping."""

    def __init__(self, reference: str, why: str):
        self.reference, self.why = reference, why
        self.losscheck_supports = {"devices": [], "why": f"{reference} cannot be imported: {why}"}

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{self.reference} is not available: {self.why}")


def pytorch_implementation(loss: str) -> Implementation:
    """PyTorch's own ``torch.nn.functional.<loss>``, its composition of PyTorch ops, or the library
    implementation the spec names as its ``reference`` (an ``UnavailableReference`` where that library
    cannot be imported)."""
    if loss in COMPOSITIONS:
        return COMPOSITIONS[loss]
    if hasattr(F, loss):
        return getattr(F, loss)
    spec = all_specs().get(loss)
    if spec is None or spec.reference is None:
        raise UsageError(f"torch.nn.functional has no {loss!r}; pass --impl {loss}=MODULE:ATTR")
    module, attr = spec.reference.split(":", 1)
    try:
        return load_object(module, attr)
    except UsageError as error:
        return UnavailableReference(spec.reference, str(error))


def parse_impl(text: str) -> tuple[str, str, str]:
    """Split ``NAME=MODULE:ATTR``; UsageError if it is malformed."""
    match = _IMPL_PATTERN.match(text)
    if not match:
        raise UsageError(f"malformed --impl {text!r}: expected NAME=MODULE:ATTR, e.g. mse_loss=mykernels:mse")
    return match["loss"], match["module"], match["attr"]


def load_object(module_name: str, attr: str) -> Any:
    """Import ``module_name`` (cwd and PYTHONPATH first on sys.path) and fetch ``attr``."""
    for entry in reversed([os.getcwd(), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]):
        if entry not in sys.path:
            sys.path.insert(0, entry)
    try:
        obj: Any = importlib.import_module(module_name)
    except Exception as error:  # any import-time failure is the user's module, not ours
        raise UsageError(f"cannot import module {module_name!r}: {type(error).__name__}: {error}") from None
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise UsageError(f"module {module_name!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise UsageError(f"{module_name}:{attr} is not callable")
    return obj


class NamedCallable:
    """A callable imported from ``MODULE:ATTR``, shown by that name in case names and reproducers."""

    def __init__(self, name: str, target: Callable[..., Any]):
        self.name, self.target = name, target

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.target(*args, **kwargs)

    def __getattr__(self, attr: str) -> Any:
        if "target" not in self.__dict__:  # while unpickling, before __init__'s fields exist
            raise AttributeError(attr)
        return getattr(self.__dict__["target"], attr)

    def __reduce__(self) -> tuple:
        return NamedCallable, (self.name, self.target)

    def __repr__(self) -> str:
        return self.name

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NamedCallable) and other.name == self.name

    def __hash__(self) -> int:
        return hash(self.name)


def resolve_option(option: Option, value: Any) -> Any:
    """A function-valued option's ``MODULE:ATTR`` as its NamedCallable; any other value as it is."""
    if option.callable_with is None or value is None:
        return value
    try:
        option.validate(value)
    except ValueError as error:
        raise UsageError(str(error)) from None
    match = CALLABLE_NAME.match(value)
    target = load_object(match["module"], match["attr"])
    missing = [a for a in option.callable_with if not hasattr(target, a)]
    if missing:
        raise UsageError(f"{value} (option {option.name}) has no attribute {', '.join(missing)}")
    return NamedCallable(value, target)
