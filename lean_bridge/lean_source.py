"""Locate Lean declarations in a TorchLean checkout: fully qualified names, docstrings, binders, bodies.

A file is read command by command. ``namespace A.B`` / ``section`` / ``noncomputable section`` /
``@[expose] public section`` open scopes and ``end`` closes the innermost one; a declaration's
fully qualified name is the open namespaces joined with its own (dotted) name, so
``def Loss.mse`` inside ``namespace Spec`` is ``Spec.Loss.mse``. A command starts at column 0,
except that a declaration may be indented (Lean allows it, and TorchLean's runtime layer has one);
a declaration runs to the next command at column 0. The ``/-- … -/`` right before it is its docstring.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .constants import read_constants
from .tokens import Token, tokenize


class CheckoutError(ValueError):
    """A path that is not a usable TorchLean checkout; the message is one line."""


@dataclass(frozen=True)
class Binder:
    """One parameter: ``kind`` is explicit ``( )``, implicit ``{ }`` or instance ``[ ]``."""

    name: str
    kind: str
    type_text: str
    default: str | None = None
    line: int = 0


@dataclass(frozen=True)
class Declaration:
    name: str  # fully qualified
    kind: str  # def, theorem, lemma, abbrev, ...
    path: Path
    line: int
    docstring: str
    binders: tuple[Binder, ...]
    type_text: str
    body: str  # source text after ``:=``, with its columns kept
    body_line: int

    def explicit(self) -> list[Binder]:
        return [b for b in self.binders if b.kind == "explicit"]

    def arrow_parameters(self) -> list[Binder]:
        """The parameters written in the type, ``{s : Shape} → Tensor α s → …``: one Binder per arrow
        (an unnamed one has name ''), the result type left out."""
        depth, parts, current = 0, [], []
        for word in self.type_text.split():
            depth += word in ("(", "{", "[", "⦃")
            depth -= word in (")", "}", "]", "⦄")
            if word == "→" and depth == 0:
                parts.append(current)
                current = []
            else:
                current.append(word)
        found = []
        for part in parts:
            kind = _BRACKETS.get(part[0], "explicit") if part else "explicit"
            if part and part[0] in _BRACKETS and ":" in part:
                colon = part.index(":")
                found += [Binder(n, kind, " ".join(part[colon + 1:-1])) for n in part[1:colon]]
            elif part and part[0] in _BRACKETS:
                found.append(Binder("", kind, " ".join(part[1:-1])))
            else:
                found.append(Binder("", "explicit", " ".join(part)))
        return found

    def explicit_types(self) -> list[str]:
        """The types of the explicit parameters: the ``( )`` binders, then the explicit ``A →``
        arguments of the type (``def f : {s : Shape} → Tensor α s → Tensor α s`` has one)."""
        return [b.type_text for b in [*self.explicit(), *self.arrow_parameters()] if b.kind == "explicit"]


_DECL = re.compile(r"^(?:@\[[^\]]*\]\s*)?(?:(?:private|protected|public|noncomputable|partial|unsafe)\s+)*"
                   r"(def|theorem|lemma|abbrev|instance|structure|inductive|opaque)\s+([^\s({\[:]+)")
_SECTION = re.compile(r"^(?:@\[[^\]]*\]\s*)?(?:(?:public|noncomputable)\s+)*section\b\s*(\S*)")
_NAMESPACE = re.compile(r"^namespace\s+(\S+)")
_END = re.compile(r"^end\b\s*(\S*)")
_BRACKETS = {"(": "explicit", "{": "implicit", "[": "instance", "⦃": "implicit"}


def _binders(tokens: list[Token], start: int) -> tuple[list[Binder], int]:
    """Parse binder groups from ``tokens[start]``; return them and the index after the last group."""
    binders: list[Binder] = []
    i = start
    while tokens[i].text in _BRACKETS:
        kind = _BRACKETS[tokens[i].text]
        depth, j = 0, i
        while True:
            text = tokens[j].text
            if text in _BRACKETS or text in ("⟨",):
                depth += 1
            elif text in (")", "}", "]", "⦄", "⟩"):
                depth -= 1
                if depth == 0:
                    break
            if tokens[j].kind == "eof":
                return binders, j
            j += 1
        group = tokens[i + 1:j]
        colon = next((k for k, t in enumerate(group) if t.text == ":"), None)
        if colon is None:  # instance binder without a name, e.g. [Add α]
            binders.append(Binder("", kind, " ".join(t.text for t in group), None, tokens[i].line))
        else:
            rest = group[colon + 1:]
            assign = next((k for k, t in enumerate(rest) if t.text == ":="), None)
            type_text = " ".join(t.text for t in (rest if assign is None else rest[:assign]))
            default = None if assign is None else " ".join(t.text for t in rest[assign + 1:])
            for name in group[:colon]:
                binders.append(Binder(name.text, kind, type_text, default, name.line))
        i = j + 1
    return binders, i


def _declaration(text: str, first_line: int, kind: str, name: str, qualified: str, path: Path,
                 docstring: str) -> Declaration:
    tokens = tokenize(text, first_line)
    start = next(k for k, t in enumerate(tokens) if t.text == name) + 1
    binders, i = _binders(tokens, start)
    depth, type_tokens = 0, []
    # the type ends at ``:=``, or at the first ``| pattern =>`` equation of a definition by cases
    while tokens[i].kind != "eof" and not (depth == 0 and (tokens[i].text == ":=" or
                                                           (tokens[i].text == "|" and tokens[i].first))):
        depth += tokens[i].text in "([{⟨"
        depth -= tokens[i].text in ")]}⟩"
        type_tokens.append(tokens[i].text)
        i += 1
    assign = tokens[i]
    if assign.kind == "eof":
        body, body_line = "", assign.line
    elif assign.text == "|":  # a definition by equations: the body is the list of ``| patterns => term``
        line_start = text.rfind("\n", 0, assign.pos) + 1
        body, body_line = " " * (assign.pos - line_start) + text[assign.pos:], assign.line
    else:
        after = assign.pos + 2
        line_start = text.rfind("\n", 0, after) + 1
        body, body_line = " " * (after - line_start) + text[after:], assign.line
    type_text = " ".join(type_tokens).lstrip(": ").strip()
    return Declaration(qualified, kind, path, first_line, docstring, tuple(binders), type_text, body, body_line)


def read_declarations(path: Path) -> dict[str, Declaration]:
    """Every declaration in one ``.lean`` file, by fully qualified name."""
    lines = path.read_text(encoding="utf-8").splitlines()
    scopes: list[tuple[str, str]] = []  # (namespace|section, name)
    found: dict[str, Declaration] = {}
    docstring, doc_end = "", -2
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("/-"):
            end = i
            while "-/" not in lines[end][(2 if end == i else 0):] and end + 1 < len(lines):
                end += 1
            if line.startswith("/--"):
                docstring = "\n".join(lines[i:end + 1]).removeprefix("/--").rsplit("-/", 1)[0].strip()
                doc_end = end
            i = end + 1
            continue
        if (match := _NAMESPACE.match(line)) is not None:
            scopes.append(("namespace", match.group(1)))
        elif (match := _SECTION.match(line)) is not None:
            scopes.append(("section", match.group(1)))
        elif (match := _END.match(line)) is not None:
            if scopes:
                scopes.pop()
        elif (match := _DECL.match(line.lstrip())) is not None:
            end = i + 1
            while end < len(lines) and (not lines[end] or lines[end][0].isspace() or lines[end][0] in ")]}"):
                end += 1
            kind, name = match.groups()
            namespace = [n for k, n in scopes if k == "namespace"]
            qualified = name.removeprefix("_root_.") if name.startswith("_root_.") else ".".join([*namespace, name])
            doc = docstring if doc_end == i - 1 else ""
            found[qualified] = _declaration("\n".join(lines[i:end]), i + 1, kind, name, qualified, path, doc)
            i = end
            continue
        i += 1
    return found


@dataclass
class Checkout:
    """A TorchLean source tree: ``find`` looks a declaration up by its fully qualified name."""

    root: Path
    primary: tuple[str, ...]
    _index: dict[str, Declaration] | None = None
    _scanned_all: bool = False
    _constants: dict[str, tuple[str, int]] | None = None

    def constant(self, name: str) -> tuple[str, int] | None:
        """A class constant such as ``Numbers.two``: its value in the checkout's ℝ instance, and line."""
        if self._constants is None:
            self._constants = read_constants(sorted((self.root / "NN").rglob("*.lean")))
        return self._constants.get(name)

    def find(self, name: str) -> Declaration | None:
        if self._index is None:
            self._index = {}
            for relative in self.primary:
                path = self.root / relative
                if path.is_file():
                    self._index.update(read_declarations(path))
        if name not in self._index and not self._scanned_all:
            self._scanned_all = True
            for path in sorted((self.root / "NN").rglob("*.lean")):
                for qualified, declaration in read_declarations(path).items():
                    self._index.setdefault(qualified, declaration)
        return self._index.get(name)


def open_checkout(root: str | Path, primary: tuple[str, ...]) -> Checkout:
    """A Checkout at ``root``; CheckoutError when it is missing or holds none of the ``primary`` files."""
    path = Path(root)
    if not path.is_dir():
        raise CheckoutError(f"--torchlean {root}: no such directory")
    if not any((path / relative).is_file() for relative in primary):
        raise CheckoutError(f"--torchlean {root}: not a TorchLean checkout (none of {', '.join(primary)} found)")
    return Checkout(path, primary)
