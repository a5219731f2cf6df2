"""``losscheck docs``: argument parsing and the command (exit 0; bad input raises UsageError, exit 2)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from rich.console import Console

from ..conformance.implementations import UsageError
from ..lean_bridge.lean_source import CheckoutError
from ..spec import all_specs
from .build import build_pages, write_site


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, metavar="DIR", help="directory for the site (created if missing)")
    parser.add_argument("--loss", action="append", default=[], metavar="NAME",
                        help="only this spec's page (repeatable; default: every spec)")
    parser.add_argument("--torchlean", metavar="PATH",
                        help="a TorchLean checkout: add `lean check` verdicts with file and line")


def run(args: argparse.Namespace, console: Console) -> int:
    specs = all_specs()
    for name in args.loss:
        if name not in specs:
            raise UsageError(f"unknown loss {name!r}; known: {', '.join(specs)}")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {args.out}: exists and is not a directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(f"--out {args.out}: cannot create it: {error.strerror}") from None
    started = time.perf_counter()
    try:
        pages = build_pages(args.loss, args.torchlean)
    except CheckoutError as error:
        raise UsageError(str(error)) from None
    write_site(out, pages)
    console.print(f"wrote {len(pages)} spec pages to {out / 'index.html'} (Markdown in {out / 'md'}) "
                  f"in {time.perf_counter() - started:.1f} s", highlight=False, markup=False, soft_wrap=True)
    return 0
