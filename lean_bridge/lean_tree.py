"""The syntax tree of the Lean 4 terms the bridge reads, and ``Untranslatable``, its error for what it cannot read."""

from __future__ import annotations

from dataclasses import dataclass


class Untranslatable(Exception):
    """A Lean construct the translator does not know, with the line it is on."""

    def __init__(self, construct: str, line: int, why: str = "not supported"):
        super().__init__(f"{construct!r} at line {line}: {why}")
        self.construct = construct
        self.line = line
        self.why = why
        self.path = ""  # the file the line is in, once a declaration being evaluated claims it


# ------------------------------------------------------------------- tree ---


@dataclass(frozen=True)
class Node:
    line: int


@dataclass(frozen=True)
class Name(Node):
    name: str


@dataclass(frozen=True)
class Number(Node):
    text: str


@dataclass(frozen=True)
class App(Node):
    fn: Node
    args: tuple[Node, ...]
    named: tuple[tuple[str, Node], ...] = ()


@dataclass(frozen=True)
class Lambda(Node):
    params: tuple[str, ...]
    body: Node


@dataclass(frozen=True)
class Let(Node):
    name: str
    value: Node
    body: Node


@dataclass(frozen=True)
class If(Node):
    cond: Node
    then: Node
    orelse: Node


@dataclass(frozen=True)
class BinOp(Node):
    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class UnOp(Node):
    op: str  # "-", "¬", "⁻¹", "‖‖"
    operand: Node


@dataclass(frozen=True)
class Ascribe(Node):
    expr: Node
    type_text: str


@dataclass(frozen=True)
class Match(Node):
    """``match`` / ``cases`` on a constructor: arms by constructor name (leading ``.`` dropped)."""

    scrutinee: Node
    arms: tuple[tuple[str, Node], ...]


@dataclass(frozen=True)
class Equations(Node):
    """A definition by equations: each arm is (its patterns, left to right; its term)."""

    arms: tuple[tuple[tuple[Node, ...], Node], ...]


@dataclass(frozen=True)
class Opaque(Node):
    """A proof term (``by …``) or other value that is never computed with."""

    kind: str
