"""The command line: ``losscheck list``, ``run``, ``sweep``, ``repro`` and ``lean check|emit|compile``.

A thin face over the layers.

Exit status: 0 every case conforms (known PyTorch deviations allowed), 1 at
least one non-conformance, 2 bad usage or input (one line naming the problem).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from rich.console import Console

from . import listing
from .conformance import cache_flags, html_command, sweep_command, triage
from .conformance.api import replay, validate
from .conformance.capabilities import Capabilities
from .conformance.coverage import coverage_lines, run_coverage
from .conformance.implementations import UsageError, parse_impl
from .conformance.junit import write_junit
from .conformance.planning import plan_units, unit_budget
from .conformance.progress import RunProgress
from .conformance.replay import read_reproducer, write_reproducer
from .conformance.report import ReportStream, print_result, report_document
from .conformance.results import FAILING, MODES, Result
from .conformance.runner import RunSettings
from .conformance.schedule import run_units
from .conformance.targets import COMPILE_TIMEOUT, CompileSettings
from .conformance.tolerance import DTYPES
from .docs_site import command as docs_command
from .lean_bridge import commands as lean_commands
from .lean_bridge.lean_source import CheckoutError
from .spec import all_specs
from .spec.core import Option


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="losscheck", description="Check loss functions against their symbolic specs.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    commands.add_parser("list", help="list every spec with its options and TorchLean links")
    commands.add_parser("show", help="one spec in full").add_argument("name", metavar="NAME", help="a loss name")
    run = commands.add_parser("run", help="check implementations against the oracle")
    run.add_argument("--loss", action="append", default=[], metavar="NAME",
                     help="a torch.nn.functional loss name (repeatable; default: every spec, "
                          "or the losses named by --impl)")
    run.add_argument("--impl", action="append", default=[], metavar="NAME=MODULE:ATTR",
                     help="replace PyTorch's NAME with MODULE.ATTR (repeatable)")
    run.add_argument("--option", action="append", default=[], metavar="NAME=VALUE",
                     help="fix option NAME to VALUE instead of sweeping its grid, in every loss "
                          "run that has it (repeatable; a function-valued option takes MODULE:ATTR)")
    run.add_argument("--dtype", action="append", default=[], metavar="DTYPES",
                     help=f"comma-separated dtypes (default: {','.join(DTYPES)})")
    run.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    run.add_argument("--seed", default="0", help="seed for the drawn inputs (default: 0)")
    run.add_argument("--report", metavar="PATH", help="write a JSON report to PATH")
    run.add_argument("--html", metavar="PATH", help="write a self-contained HTML audit report to PATH")
    run.add_argument("--timeout", default=None, metavar="SECONDS",
                     help="time limit for one call of an implementation (default: 20; with --compile 300, since a "
                          "call includes inductor's compile of each new graph)")
    run.add_argument("--fail-fast", action="store_true",
                     help="stop each loss at its first non-conforming check, without shrinking it "
                          "(the exit status is the same; the run is shorter)")
    run.add_argument("--save-failures", default="losscheck-failures", metavar="DIR",
                     help="write one reproducer file per failing (loss, dtype, direction) here, for "
                          "`losscheck repro` (default: losscheck-failures)")
    run.add_argument("--jobs", default=None, metavar="N",
                     help="run N workers side by side (default: the CPU count, at most one per loss run); "
                          "the report is the same for any N")
    run.add_argument("--compile", action="store_true",
                     help="wrap the implementation under test (default: PyTorch's own) in torch.compile")
    run.add_argument("--compile-mode", default=None, metavar="MODE",
                     help="torch.compile mode (default, reduce-overhead, max-autotune, ...); implies --compile")
    run.add_argument("--compile-dynamic", choices=("true", "false"), default=None,
                     help="torch.compile dynamic shapes (default: PyTorch's automatic choice); implies --compile")
    run.add_argument("--supports", action="append", default=[], metavar="KEY=V1,V2",
                     help="declare what the implementation supports: dtypes, devices, modes (value, backward, "
                          "jvp, hvp), shape_cases, optional, or an option's values (repeatable)")
    run.add_argument("--strict", action="store_true", help="every unsupported check fails")
    run.add_argument("--require", default="", metavar="MODE,...",
                     help="unsupported checks of these modes (value, backward, jvp, hvp) fail")
    run.add_argument("--budget", default="0", metavar="SECONDS",
                     help="deep mode: after the planned cases, search with Hypothesis for SECONDS more (default: 0)")
    run.add_argument("--coverage", action="store_true",
                     help="print which selector values (optional tensors, option values) each probe saw")
    run.add_argument("--junit", metavar="PATH", help="write JUnit XML to PATH: a test case per row")
    run.add_argument("--candidates", metavar="PATH",
                     help="write PyTorch's own failures (and user failures PyTorch shares) to PATH as JSON "
                          "known-deviation candidates, with input, PyTorch's value and the exact value")
    run.add_argument("--cache-dir", metavar="PATH",
                     help="keep the oracle cache (exact references, generated evaluators) in PATH "
                          "(default: $XDG_CACHE_HOME/losscheck, else ~/.cache/losscheck)")
    run.add_argument("--no-cache", action="store_true", help="compute every reference afresh; read and write no cache")
    run.add_argument("--in-process", action="store_true",
                     help="debugging only: call the implementation inside losscheck's own process, unisolated")
    repro = commands.add_parser("repro", help="replay a reproducer file: expected against got")
    repro.add_argument("file", metavar="FILE", help="a reproducer file written by `losscheck run`")
    repro.add_argument("--impl", metavar="NAME=MODULE:ATTR",
                       help="replay against this implementation instead of the one the file names")
    repro.add_argument("--timeout", default="20", metavar="SECONDS", help="time limit for one call (default: 20)")
    lean = commands.add_parser("lean", help="cross-check against TorchLean; emit and compile Lean 4")
    lean_commands.add_arguments(lean, _Parser)
    docs_command.add_arguments(commands.add_parser("docs", help="write the formula reference (HTML + Markdown)"))
    html_command.add_arguments(commands.add_parser("report", help="render a saved report as HTML"))
    sweep_command.add_arguments(commands.add_parser("sweep", help="implementations × losses × dtypes × seeds on Dask"))
    return parser


def _integer(text: str, what: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise UsageError(f"{what} must be an integer, got {text!r}") from None


def _option_value(option: Option, text: str) -> object:
    """``text`` as a value of ``option``: None, MODULE:ATTR, one of its choices, or a number."""
    if text == "None" and (option.callable_with is not None or None in (option.choices or ())):
        return None
    if option.callable_with is not None:
        return text
    if option.choices is not None:
        for choice in option.choices:
            if str(choice) == text:
                return choice
        raise UsageError(f"--option {option.name}={text} is not one of {list(option.choices)}")
    try:
        return float(text)
    except ValueError:
        raise UsageError(f"--option {option.name}={text} is not a number") from None


def _fixed_options(texts: Sequence[str], losses: Sequence[str]) -> dict[str, dict[str, object]]:
    """Per loss, the options ``--option NAME=VALUE`` fixes; each NAME must belong to some loss run."""
    fixed: dict[str, dict[str, object]] = {name: {} for name in losses}
    specs = all_specs()
    for text in texts:
        name, equals, value = text.partition("=")
        if not equals or not name:
            raise UsageError(f"malformed --option {text!r}: expected NAME=VALUE, e.g. margin=0.5")
        owners = [loss for loss in losses if name in {o.name for o in specs[loss].options}]
        if not owners:
            raise UsageError(f"--option {name}: no loss being run has an option {name!r}")
        for loss in owners:
            option = specs[loss].option(name)
            parsed = _option_value(option, value)
            try:
                option.validate(parsed)
            except ValueError as error:
                raise UsageError(str(error)) from None
            fixed[loss][name] = parsed
    return fixed


def _command_list(console: Console) -> int:
    listing.print_list(console)
    return 0


def _command_show(args: argparse.Namespace, console: Console) -> int:
    specs = all_specs()
    if args.name not in specs:
        raise UsageError(f"unknown loss {args.name!r}; known: {', '.join(specs)}")
    listing.print_spec(specs[args.name], console)
    return 0


def _positive(text: str, what: str, allow_zero: bool = False) -> int:
    value = _integer(text, what)
    if value < 0 or (value == 0 and not allow_zero):
        raise UsageError(f"{what} must be {'non-negative' if allow_zero else 'positive'}, got {text!r}")
    return value


def _writable(path: str | None, what: str) -> None:
    """Fail before the run, not after it."""
    if path:
        try:
            with open(path, "w", encoding="utf-8"):
                pass
        except OSError as error:
            raise UsageError(f"cannot write {what} {path!r}: {error.strerror}") from None
        except ValueError as error:  # a path open() refuses outright: an embedded null byte
            raise UsageError(f"cannot write {what} {path!r}: {error}") from None


def _command_run(args: argparse.Namespace, console: Console) -> int:
    specs = all_specs()
    impls: dict[str, str] = {}
    for text in args.impl:
        name, module, attr = parse_impl(text)  # imported in worker processes only, never here
        if name not in specs:
            raise UsageError(f"--impl names unknown loss {name!r}; known: {', '.join(specs)}")
        impls[name] = f"{module}:{attr}"
    losses = args.loss or list(impls) or list(specs)
    for name in losses:
        if name not in specs:
            raise UsageError(f"unknown loss {name!r}; known: {', '.join(specs)}")
    for name in impls:
        if name not in losses:
            raise UsageError(f"--impl {name} is not among the --loss names being run")
    fixed = _fixed_options(args.option, losses)
    dtypes = [d.strip() for text in args.dtype for d in text.split(",") if d.strip()] or list(DTYPES)
    for dtype in dtypes:
        if dtype not in DTYPES:
            raise UsageError(f"unknown dtype {dtype!r}; choose from {', '.join(DTYPES)}")
    for name in losses:
        validate(name, dtypes, args.device)
    seed = _positive(args.seed, "--seed", allow_zero=True)
    jobs = _positive(args.jobs, "--jobs") if args.jobs is not None else min(os.cpu_count() or 1, len(losses))
    compiled = None
    if args.compile or args.compile_mode or args.compile_dynamic:
        compiled = CompileSettings(args.compile_mode, {"true": True, "false": False}.get(args.compile_dynamic))
    default_timeout = str(COMPILE_TIMEOUT if compiled else 20)
    timeout = float(_positive(args.timeout if args.timeout is not None else default_timeout, "--timeout"))
    require = frozenset(m.strip() for m in args.require.split(",") if m.strip())
    if require - set(MODES):
        raise UsageError(f"--require: unknown mode {sorted(require - set(MODES))[0]!r}; choose from {', '.join(MODES)}")
    supports = Capabilities.parse(args.supports, {o.name for n in losses for o in specs[n].options})
    _writable(args.report, "report")
    _writable(args.junit, "JUnit report")
    _writable(args.candidates, "candidates file")
    if args.html:
        html_command.check_html_target(args.html)
    cache_flags.configure_cache(args.cache_dir, args.no_cache)
    units = plan_units(losses, impls, dtypes, seed, fixed, compiled, args.device)
    settings = RunSettings(args.device, timeout, args.strict, require, in_process=args.in_process,
                           fail_fast=args.fail_fast,
                           budget=unit_budget(_positive(args.budget, "--budget", allow_zero=True), len(units), jobs))
    described = {"losses": losses, "impls": args.impl, "options": args.option, "dtypes": dtypes,
                 "device": args.device, "seed": seed, "timeout": timeout,
                 "compile": compiled.label() if compiled else None, "supports": args.supports,
                 "strict": args.strict, "require": sorted(require), "budget": args.budget}
    stream = ReportStream(args.report, described) if args.report else None
    started = time.perf_counter()
    with warnings.catch_warnings(), RunProgress(console, units) as progress:
        warnings.simplefilter("ignore")  # PyTorch's deprecation chatter is not a finding

        def judged(index: int, result: Result) -> None:
            if stream:
                stream.unit(index, result)
            progress.unit(result)

        combined = run_units(units, settings, jobs, supports, on_unit=judged)
    elapsed = time.perf_counter() - started
    saved = _save_failures(combined, Path(args.save_failures), args.device, impls)
    pytorch_runs = triage.PyTorchRuns(specs, settings)
    try:
        found = triage.triage(combined, pytorch_runs)
    finally:
        pytorch_runs.close()
    triage.annotate(combined, found)  # "the reference implementation itself fails here", or whose failure it is
    if args.candidates:
        Path(args.candidates).write_text(json.dumps(triage.candidates(combined, found), indent=2) + "\n")
    print_result(combined, console, saved)
    if args.coverage:
        console.print("\n".join(coverage_lines(run_coverage(combined))), highlight=False, markup=False, soft_wrap=True)
    console.print(f"checked {len(losses)} losses in {elapsed:.1f} s", highlight=False)
    if stream:
        stream.finish(combined)
    if args.junit:
        write_junit(combined, args.junit)
    if args.html:
        html_command.write_html(report_document(combined, described), args.html)
    return 0 if combined.ok else 1


def _save_failures(result: Result, folder: Path, device: str, impls: dict[str, str]) -> dict[int, str]:
    """One reproducer file per failing (loss, dtype, direction), its shrunk case where there is one.

    Returns the file written for each reported failure (by its id()).
    """
    saved: dict[int, str] = {}
    for failure in result.smallest_failures():
        case = result.cases[(failure.loss, failure.shrunk_case or failure.case)]
        target = "" if failure.target == "pytorch" else "-" + "".join(c if c.isalnum() else "_" for c in failure.target)
        path = folder / f"{failure.loss}{target}-{failure.dtype}-{failure.direction}.json"
        try:
            write_reproducer(path, case, failure.dtype, device, impls.get(failure.loss), failure.quantity,
                             failure.shrunk_expected or failure.expected, failure.shrunk_got or failure.got,
                             failure.message)
        except OSError as error:
            raise UsageError(f"cannot write reproducer {str(path)!r}: {error.strerror}") from None
        saved[id(failure)] = str(path)
    return saved


def _command_repro(args: argparse.Namespace, console: Console) -> int:
    try:
        recorded = read_reproducer(Path(args.file))
    except ValueError as error:
        raise UsageError(str(error)) from None
    impl: str | None = None
    impl_text = args.impl or (f"{recorded.spec.name}={recorded.impl}" if recorded.impl else None)
    if impl_text:
        name, module, attr = parse_impl(impl_text)
        if name != recorded.spec.name:
            raise UsageError(f"--impl names {name!r} but the reproducer is for {recorded.spec.name!r}")
        impl = f"{module}:{attr}"
    timeout = float(_positive(args.timeout, "--timeout"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = replay(recorded, impl, timeout)
    console.print(f"replaying {args.file}: {recorded.spec.name} {recorded.dtype} on {recorded.device}, "
                  f"implementation {impl_text.split('=', 1)[1] if impl_text else 'PyTorch'}", highlight=False)
    console.print(f"case     {recorded.case.name}", markup=False, highlight=False)
    console.print(f"recorded {recorded.quantity}: oracle {recorded.expected}  implementation {recorded.got}",
                  markup=False, highlight=False)
    for r in results:
        line = (f"{r.quantity:16s} {r.status:11s} oracle {r.expected or '-'}  implementation {r.got or '-'}"
                f"  ({r.worst_ratio:.3g}x allowed) {r.message}")
        console.print(line, markup=False, highlight=False)
    failing = [r for r in results if r.status in FAILING]
    console.print("still fails" if failing else "conforms now", highlight=False)
    return 1 if failing else 0


def main(argv: Sequence[str] | None = None) -> int:
    console = Console(highlight=False)
    try:
        with_nul = next((a for a in (sys.argv[1:] if argv is None else argv) if "\x00" in a), None)
        if with_nul is not None:  # no path, name or number holds one; open() would raise ValueError
            raise UsageError(f"argument {with_nul!r} contains a NUL byte")
        args = _parser().parse_args(argv)
        if args.command == "list":
            return _command_list(console)
        if args.command == "show":
            return _command_show(args, console)
        if args.command == "lean":
            return lean_commands.run(args, console)
        if args.command == "report":
            return html_command.run(args, console)
        if args.command == "docs":
            return docs_command.run(args, console)
        if args.command == "sweep":
            return sweep_command.run(args, console)
        if args.command == "repro":
            return _command_repro(args, console)
        return _command_run(args, console)
    except (UsageError, CheckoutError) as error:
        shown = "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(error))  # one line, whatever was typed
        print(f"losscheck: error: {shown}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("losscheck: interrupted", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
