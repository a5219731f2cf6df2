"""Loss specs: one module per loss, each exposing ``SPEC``.

Adding a loss means adding one module here; the registry finds it.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from .core import LossSpec

_NOT_SPECS = {"core", "domains", "functions", "loss_spec", "signature", "structure", "unit"}


@cache
def all_specs() -> dict[str, LossSpec]:
    """Every spec in this package, by its ``torch.nn.functional`` name, sorted."""
    found: dict[str, LossSpec] = {}
    for module_info in pkgutil.iter_modules(__path__):
        if module_info.name in _NOT_SPECS:
            continue
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        spec = getattr(module, "SPEC", None)
        if isinstance(spec, LossSpec):
            found[spec.name] = spec
    return dict(sorted(found.items()))


def get_spec(name: str) -> LossSpec:
    """The spec called ``name``; KeyError with the known names otherwise."""
    specs = all_specs()
    if name not in specs:
        raise KeyError(f"unknown loss {name!r}; known: {', '.join(specs)}")
    return specs[name]


__all__ = ["LossSpec", "all_specs", "get_spec"]
