"""``losscheck lean check | emit | compile``: argument parsing and the three commands.

Exit status: ``check`` 0 when nothing differs, 1 when a check fails (different, untranslatable
or missing); ``emit`` 0; ``compile`` 0 when every file compiles or compiling is skipped for
want of a toolchain or checkout, 1 when a file fails. Bad input raises ``CheckoutError``
(one line; the CLI exits 2).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from ..spec import all_specs
from .compile import compile_files
from .crosscheck import check_all
from .emit import emit_all
from .lean_source import CheckoutError, open_checkout
from .registry import SOURCES
from .report import findings_json, print_findings, unlinked


def add_arguments(parser: argparse.ArgumentParser, parser_class: type[argparse.ArgumentParser]) -> None:
    """The ``lean`` subcommands, on ``parser``."""
    commands = parser.add_subparsers(dest="lean_command", required=True, parser_class=parser_class)
    check = commands.add_parser("check", help="cross-check TorchLean's loss definitions against the specs")
    check.add_argument("--torchlean", required=True, metavar="PATH", help="a TorchLean checkout")
    check.add_argument("--report", metavar="PATH", help="write the findings as JSON to PATH")
    check.add_argument("--seed", default="0", help="seed for the sample points (default: 0)")
    emit = commands.add_parser("emit", help="write one Lean 4 file per spec")
    emit.add_argument("--out", required=True, metavar="DIR", help="directory for the .lean files")
    build = commands.add_parser("compile", help="emit, then compile with `lake env lean` in a TorchLean checkout")
    build.add_argument("--out", metavar="DIR", help="directory for the .lean files (default: a temporary one)")
    build.add_argument("--torchlean", metavar="PATH", help="a TorchLean checkout built with `lake build`")


def _writable(path: str) -> None:
    try:
        with open(path, "w", encoding="utf-8"):
            pass
    except OSError as error:
        raise CheckoutError(f"cannot write report {path!r}: {error.strerror}") from None


def _out_dir(text: str) -> Path:
    out = Path(text)
    if out.exists() and not out.is_dir():
        raise CheckoutError(f"--out {text}: exists and is not a directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise CheckoutError(f"--out {text}: cannot create it: {error.strerror}") from None
    return out


def _check(args: argparse.Namespace, console: Console) -> int:
    checkout = open_checkout(args.torchlean, SOURCES)
    try:
        seed = int(args.seed)
    except ValueError:
        raise CheckoutError(f"--seed must be an integer, got {args.seed!r}") from None
    if args.report:
        _writable(args.report)
    started = time.perf_counter()
    findings = check_all(checkout, seed=seed)
    without_link = unlinked(list(all_specs()))
    print_findings(findings, console, without_link)
    console.print(f"ran {len(findings)} checks in {time.perf_counter() - started:.1f} s",
                  highlight=False)
    if args.report:
        Path(args.report).write_text(findings_json(findings, without_link), encoding="utf-8")
    return 1 if any(f.failed for f in findings) else 0


def _emit(out: Path, console: Console, list_files: bool = True) -> list[Path]:
    emitted = emit_all(out)
    for name, path in emitted.written.items() if list_files else ():
        console.print(f"wrote {escape(str(path))} ({name})", highlight=False)
    for name, reason in emitted.skipped.items():
        console.print(f"[yellow]no definition[/] for {escape(name)}: {escape(reason)}", highlight=False)
    return [path for name, path in emitted.written.items() if name not in emitted.skipped]


def _compile(args: argparse.Namespace, console: Console) -> int:
    torchlean = open_checkout(args.torchlean, SOURCES).root if args.torchlean else None
    with tempfile.TemporaryDirectory() as scratch:
        files = _emit(_out_dir(args.out) if args.out else Path(scratch), console, list_files=bool(args.out))
        result = compile_files(files, torchlean)
    if result.skipped:
        console.print(f"compile skipped: {result.skipped}", highlight=False)
        return 0
    for path, output in result.failures.items():
        console.print(f"[bold red]FAIL[/] {escape(path)}\n{escape(output)}")
    console.print(f"{len(result.compiled)} of {len(files)} files compile", highlight=False)
    return 0 if result.ok else 1


def run(args: argparse.Namespace, console: Console) -> int:
    if args.lean_command == "check":
        return _check(args, console)
    if args.lean_command == "emit":
        _emit(_out_dir(args.out), console)
        return 0
    return _compile(args, console)
