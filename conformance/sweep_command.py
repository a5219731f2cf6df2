"""The face of ``losscheck sweep MANIFEST [--scheduler ADDRESS] [--workers N] [--report PATH]``
(see ``sweep``): it checks the manifest and the flags, runs the sweep, prints one table, writes one report."""

from __future__ import annotations

import argparse
import time
import warnings

from rich.console import Console

from . import cache_flags, sweep
from .implementations import UsageError
from .report import ReportStream, print_result
from .runner import RunSettings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("manifest", metavar="MANIFEST",
                        help="a JSON file: implementations, losses, dtypes, seeds (see the README's Sweeps)")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="a running Dask scheduler, e.g. tcp://10.0.0.5:8786 (default: a LocalCluster)")
    parser.add_argument("--workers", default="2", metavar="N",
                        help="processes of the LocalCluster (default: 2; ignored with --scheduler)")
    parser.add_argument("--report", metavar="PATH", help="write one JSON report of every run to PATH")
    parser.add_argument("--cache-dir", metavar="PATH", help="the oracle cache's directory, as for `run`")
    parser.add_argument("--no-cache", action="store_true", help="compute every reference afresh")


def run(args: argparse.Namespace, console: Console) -> int:
    manifest = sweep.read_manifest(args.manifest)
    try:
        workers = int(args.workers)
    except ValueError:
        raise UsageError(f"--workers must be an integer, got {args.workers!r}") from None
    if workers < 1:
        raise UsageError(f"--workers must be positive, got {args.workers!r}")
    cache_flags.configure_cache(args.cache_dir, args.no_cache)
    runs = manifest.runs()
    settings = RunSettings(manifest.device, manifest.timeout)
    described = {"manifest": args.manifest, "implementations": list(manifest.implementations),
                 "losses": list(manifest.losses), "dtypes": list(manifest.dtypes), "seeds": list(manifest.seeds),
                 "device": manifest.device, "timeout": manifest.timeout}
    try:
        stream = ReportStream(args.report, described) if args.report else None
    except OSError as error:
        raise UsageError(f"cannot write report {args.report!r}: {error.strerror}") from None
    started = time.perf_counter()
    client = sweep.dask_client(args.scheduler, workers)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            combined = sweep.run_on_dask(runs, settings, client)
    finally:
        cluster = getattr(client, "cluster", None)
        client.close()
        if cluster is not None and not args.scheduler:
            cluster.close()
    print_result(combined, console, {})
    console.print(f"swept {len(runs)} runs ({len(manifest.implementations)} implementations × "
                  f"{len(manifest.seeds)} seeds) in {time.perf_counter() - started:.1f} s", highlight=False)
    if stream:
        stream.finish(combined)
    return 0 if combined.ok else 1
