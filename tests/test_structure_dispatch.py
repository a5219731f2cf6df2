"""No code dispatches on a structure's type outside the structures and their registered handlers."""

import ast
from pathlib import Path

import losscheck

STRUCTURES = {"Elementwise", "Slices", "Sequences", "ClassAxis"}
ROOT = Path(losscheck.__file__).parent


def _type_tests(tree: ast.AST) -> list[int]:
    """Lines of ``isinstance(x, <structure>)`` outside ``assert`` statements (an assert states a function's
    precondition; it does not choose behaviour)."""
    asserted = {id(node) for a in ast.walk(tree) if isinstance(a, ast.Assert) for node in ast.walk(a)}
    lines = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "isinstance"
                and len(node.args) == 2 and id(node) not in asserted):
            names = {n.id for n in ast.walk(node.args[1]) if isinstance(n, ast.Name)}
            names |= {n.attr for n in ast.walk(node.args[1]) if isinstance(n, ast.Attribute)}
            if names & STRUCTURES:
                lines.append(node.lineno)
    return lines


def test_no_isinstance_dispatch_on_structures():
    found = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT).parts
        if parts[0] in ("tests", ".venv", "benchmarks") or "site-packages" in parts:
            continue
        lines = _type_tests(ast.parse(path.read_text(), str(path)))
        if lines:
            found[str(path.relative_to(ROOT))] = lines
    assert found == {}


def test_the_scan_sees_a_dispatch():
    """The scan itself: a type test on a structure is found, an asserted one is not."""
    tree = ast.parse("if isinstance(s, Slices):\n    pass\nassert isinstance(s, Sequences)\n"
                     "y = isinstance(s, (int, spec.Elementwise))\n")
    assert _type_tests(tree) == [1, 4]
