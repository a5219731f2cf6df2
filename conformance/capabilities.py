"""What an implementation says it supports, and what a raised "not supported" means.

Capabilities describe **forms**, never values: dtypes, devices, modes (``value``, ``backward``,
``jvp`` for forward mode, ``hvp`` for double backward), shape cases, option values and which
optional tensors may be present. They are declared on the command line
(``--supports KEY=V1,V2``, repeatable) or by the callable itself::

    my_loss.losscheck_supports = {"dtypes": ["float32", "bfloat16"], "modes": ["value", "backward"],
                                  "shape_cases": ["batch"], "options": {"reduction": ["mean", "sum"]},
                                  "optional": ["weight"]}

Keys on the command line: ``dtypes``, ``devices``, ``modes``, ``shape_cases``, ``optional``, or an
option's name (``--supports reduction=mean,sum``). An attribute may add ``"why": "TEXT"``, shown
with every check its declaration excludes (an uninstalled reference library names its import error).
Where both declare a key, both must allow a form.
A check outside the declared forms is not run and is listed as unsupported.

Raising ``NotImplementedError`` (or PyTorch's own "not supported" error for a mode: compiled
autograd's double backward, a custom Function without ``jvp``) marks that case's form or mode
unsupported too, but only as long as the implementation never accepted the same form for other
values: see ``runner.settle_unit``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .cases import Case
from .implementations import UsageError
from .results import MODES

KEYS = ("dtypes", "devices", "modes", "shape_cases", "optional", "options")

MODE_UNSUPPORTED = re.compile(
    r"does not (currently )?support double backward|double backward is not supported"
    r"|compiled with non-empty donated buffers which requires create_graph=False"
    r"|Trying to use forward AD with .* that does not support it"
    r"|must implement the jvp function|jvp is not implemented|forward AD is not (implemented|supported)",
    re.IGNORECASE)
"""PyTorch's own words for a mode it cannot run (not a wrong answer)."""


def says_unsupported(message: str) -> bool:
    """PyTorch's words for a mode it cannot run (double backward, forward AD)."""
    return bool(MODE_UNSUPPORTED.search(message))


def lacks_kernel(message: str) -> bool:
    """PyTorch's words for a dtype or device with no kernel: '"ctc_loss_cpu" not implemented for 'Half''."""
    return "not implemented for" in message


@dataclass(frozen=True)
class Capabilities:
    """Allowed values per key; a key that is absent allows everything."""

    allowed: Mapping[str, frozenset] = field(default_factory=dict)
    options: Mapping[str, frozenset] = field(default_factory=dict)
    why: str = ""

    @staticmethod
    def declared(mapping: Mapping[str, Any] | None, origin: str) -> Capabilities:
        """From a ``losscheck_supports`` mapping; UsageError naming ``origin`` if malformed."""
        if not mapping:
            return Capabilities()
        allowed: dict[str, frozenset] = {}
        options: dict[str, frozenset] = {}
        why = mapping.get("why", "")
        if not isinstance(why, str):
            raise UsageError(f"{origin}: 'why' must be a string")
        for key, values in mapping.items():
            if key == "why":
                continue
            if key == "options":
                if not isinstance(values, Mapping):
                    raise UsageError(f"{origin}: 'options' must map option names to lists of values")
                options.update({name: _values(v, origin, name) for name, v in values.items()})
            elif key in KEYS:
                allowed[key] = _values(values, origin, key)
            else:
                raise UsageError(f"{origin}: unknown capability {key!r}; choose from {', '.join(KEYS)}")
        unknown = allowed.get("modes", frozenset()) - set(MODES)
        if unknown:
            raise UsageError(f"{origin}: unknown mode {sorted(unknown)[0]!r}; choose from {', '.join(MODES)}")
        return Capabilities(allowed, options, " ".join(why.split()))

    @staticmethod
    def parse(texts: Iterable[str], option_names: Iterable[str]) -> Capabilities:
        """From ``--supports KEY=V1,V2`` arguments (an option's name is a key too)."""
        known = set(option_names)
        mapping: dict[str, Any] = {}
        for text in texts:
            key, equals, values = text.partition("=")
            if not equals or not key or not values:
                raise UsageError(f"malformed --supports {text!r}: expected KEY=V1,V2, e.g. dtypes=float32,bfloat16")
            parts = [v.strip() for v in values.split(",") if v.strip()]
            if key in KEYS and key != "options":
                mapping[key] = parts
            elif key in known:
                mapping.setdefault("options", {})[key] = parts
            else:
                raise UsageError(f"--supports {key}: not a capability ({', '.join(KEYS[:-1])}) "
                                 f"nor an option of the losses run")
        return Capabilities.declared(mapping, "--supports")

    def both(self, other: Capabilities) -> Capabilities:
        """What both allow."""
        allowed = dict(self.allowed)
        for key, values in other.allowed.items():
            allowed[key] = allowed[key] & values if key in allowed else values
        options = dict(self.options)
        for key, values in other.options.items():
            options[key] = options[key] & values if key in options else values
        return Capabilities(allowed, options, "; ".join(filter(None, (self.why, other.why))))

    def allows_mode(self, mode: str) -> bool:
        return "modes" not in self.allowed or mode in self.allowed["modes"]

    def excluded(self, case: Case, dtype: str, device: str) -> str:
        """Why this case's form is declared unsupported ('' if it is supported), with the declaration's ``why``."""
        reason = self._excluded(case, dtype, device)
        return f"{reason} ({self.why})" if reason and self.why else reason

    def _excluded(self, case: Case, dtype: str, device: str) -> str:
        checks = (("dtypes", dtype), ("devices", device.split(":")[0]), ("shape_cases", case.shape_case.name))
        for key, value in checks:
            if key in self.allowed and value not in self.allowed[key]:
                return f"declared unsupported: {key} {value}"
        optional = {t.name for t in case.spec.optional_tensors} & set(case.present)
        if "optional" in self.allowed and optional - self.allowed["optional"]:
            return f"declared unsupported: optional tensor {sorted(optional - self.allowed['optional'])[0]}"
        for name, values in self.options.items():
            if name in case.options and str(case.options[name]) not in values:
                return f"declared unsupported: {name}={case.options[name]!r}"
        return ""


ANYTHING = Capabilities()
"""No declaration: every form and mode."""


def _values(values: Any, origin: str, key: str) -> frozenset:
    if isinstance(values, str) or not isinstance(values, Iterable):
        raise UsageError(f"{origin}: {key} must be a list of values")
    return frozenset(str(v) for v in values)
