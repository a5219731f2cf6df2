"""Lean 4 source text to tokens, with lines and columns (Lean's layout rule reads them)."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Token:
    kind: str  # ident, number, sym, keyword, eof
    text: str
    line: int
    col: int
    first: bool  # first token on its line
    pos: int = 0  # character offset in the tokenized text


KEYWORDS = {"let", "fun", "λ", "if", "then", "else", "by", "have", "show", "match", "with", "do",
            "return", "where", "in", "calc", "from"}
_IDENT_START = r"[^\W\d]|[α-ωΑ-Ωℝℕℤℚ𝕜_]"
_IDENT = re.compile(rf"\.?(?:{_IDENT_START})(?:[\w'!?₀-₉ₐ-ₜ]|\.(?=[^\W\d]))*")
_NUMBER = re.compile(r"\d+(?:\.\d+)?(?:e-?\d+)?")
_SYMBOLS = (":=", "=>", "←", "<|", "|>", "≤", "≥", "≠", "<=", ">=", "→", "⁻¹", "(", ")", "[", "]", "{", "}",
            "⟨", "⟩", "‖", "⟪", "⟫", ",", ":", ";", "+", "-", "*", "/", "^", "•", "<", ">", "=", "|", "@",
            "·", "∑", "∏", "$", "∘", "!", "%", "&", "∀", "∃", "¬", "∧", "∨", "↑", "#", "?")


def tokenize(text: str, first_line: int = 1) -> list[Token]:
    """Tokens with 1-based lines (offset by ``first_line``) and 0-based columns; comments dropped."""
    tokens: list[Token] = []
    i, line, line_start, last_line = 0, first_line, 0, None
    while i < len(text):
        ch = text[i]
        if ch == "\n":
            i, line, line_start = i + 1, line + 1, i + 1
            continue
        if ch.isspace():
            i += 1
            continue
        if text.startswith("--", i):
            end = text.find("\n", i)
            i = len(text) if end < 0 else end
            continue
        if text.startswith("/-", i):
            depth, j = 0, i
            while j < len(text):
                if text.startswith("/-", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("-/", j):
                    depth, j = depth - 1, j + 2
                    if depth == 0:
                        break
                else:
                    if text[j] == "\n":
                        line, line_start = line + 1, j + 1
                    j += 1
            i = j
            continue
        col = i - line_start
        first = last_line != line
        match = _NUMBER.match(text, i)
        if match:
            kind, word = "number", match.group()
        elif (match := _IDENT.match(text, i)) is not None:
            word = match.group()
            kind = "keyword" if word in KEYWORDS else "ident"
        else:
            word = next((s for s in _SYMBOLS if text.startswith(s, i)), ch)
            kind = "sym"
        tokens.append(Token(kind, word, line, col, first, i))
        last_line = line
        i += len(word)
    tokens.append(Token("eof", "", line, 0, True, len(text)))
    return tokens
