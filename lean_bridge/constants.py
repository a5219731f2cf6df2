"""Scalar constants that TorchLean names through a class, read from the checkout's own definitions.

Older TorchLean writes ``Numbers.two`` or ``Numbers.epsilon``: ``class Numbers (α : Type) where``
lists fields ``two : α``, and each scalar type gives them values in an instance block,
``noncomputable instance : Numbers ℝ where`` followed by ``two := 2`` lines. The reals are
TorchLean's proof backend, so ``Numbers.two`` means the value in the ``ℝ`` instance; other
instances (``Float``, a scoped ``ℚ`` one) are not read. A field is a constant only when its class
declares it with type ``α``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

_CLASS = re.compile(r"^class\s+([\w.]+)\s*\((\w+)\s*:\s*Type\)\s*where\s*$")
_FIELD = re.compile(r"^\s+(\w+)\s*:\s*(\S+)\s*$")
_INSTANCE = re.compile(r"^(?:@\[[^\]]*\]\s*)?(?:(?:noncomputable|private|protected)\s+)*instance"
                       r"(?:\s+[^\s:]+)?\s*:\s*([\w.]+)\s+ℝ\s+where\s*$")
_VALUE = re.compile(r"^\s+(\w+)\s*:=\s*(.+?)\s*$")


def _block(lines: list[str], start: int) -> Iterable[tuple[int, str]]:
    """The indented lines after ``lines[start]``, with their 1-based line numbers."""
    for k in range(start + 1, len(lines)):
        if lines[k] and not lines[k][0].isspace():
            return
        yield k + 1, lines[k]


def read_constants(paths: Iterable[Path]) -> dict[str, tuple[str, int]]:
    """``Class.field`` -> (the field's value in the ℝ instance, as Lean text; its line)."""
    fields: set[str] = set()
    values: dict[str, tuple[str, int]] = {}
    for path in paths:
        lines = path.read_text(encoding="utf-8").splitlines()
        for i, line in enumerate(lines):
            if (match := _CLASS.match(line)) is not None:
                name, variable = match.groups()
                fields.update(f"{name}.{m.group(1)}" for _, text in _block(lines, i)
                              if (m := _FIELD.match(text)) and m.group(2) == variable)
            elif (match := _INSTANCE.match(line)) is not None:
                for number, text in _block(lines, i):
                    if (value := _VALUE.match(text)) is not None:
                        values[f"{match.group(1)}.{value.group(1)}"] = (value.group(2), number)
    return {name: value for name, value in values.items() if name in fields}
