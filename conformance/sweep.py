"""``losscheck sweep MANIFEST``: implementations × losses × dtypes × seeds on Dask, merged into one report.

A manifest is a JSON object:

    {"implementations": ["pytorch", "mse_loss=my_kernels:mse"],
     "losses": ["mse_loss", "l1_loss"], "dtypes": ["float32", "float16"], "seeds": [0, 1]}

``pytorch`` stands for PyTorch's own paths of every listed loss; ``NAME=MODULE:ATTR`` replaces PyTorch's
NAME (a listed loss) and is checked on that loss alone. Optional keys: ``device`` (default cpu) and
``timeout`` (seconds per call, default 20). Each (implementation, seed) is one run, planned as
``losscheck run`` plans it; its tasks (per loss: the spec's verification, then its units) go to Dask
workers, a LocalCluster of ``--workers`` processes by default or the scheduler at ``--scheduler ADDRESS``.
A Dask worker is a judge process: it holds the oracle and the judge, and the implementation runs in an
isolated worker process of its own, as with ``run --jobs``. The results come back in plan order and merge
into one Result, the same as running the runs one after another locally (``run_locally``).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..derivations import disk_cache
from ..spec import all_specs
from .api import validate
from .implementations import UsageError, parse_impl
from .planning import Unit, plan_units
from .results import Result
from .runner import RunSettings
from .schedule import _task, _tasks, combine, declare_capabilities
from .unit_runner import new_worker

KEYS = {"implementations", "losses", "dtypes", "seeds", "device", "timeout"}


@dataclass(frozen=True)
class Run:
    """One (implementation, seed) of a sweep: its label and planned units."""

    implementation: str
    seed: int
    units: tuple[Unit, ...]


@dataclass(frozen=True)
class Manifest:
    implementations: tuple[str, ...]
    losses: tuple[str, ...]
    dtypes: tuple[str, ...]
    seeds: tuple[int, ...]
    device: str = "cpu"
    timeout: float = 20.0

    def runs(self) -> list[Run]:
        """Every (implementation, seed) with its units, in manifest order."""
        runs = []
        for implementation in self.implementations:
            if implementation == "pytorch":
                losses, impls = list(self.losses), {}
            else:
                name, module, attr = parse_impl(implementation)
                losses, impls = [name], {name: f"{module}:{attr}"}
            for seed in self.seeds:
                units = plan_units(losses, impls, list(self.dtypes), seed, {}, None, self.device)
                runs.append(Run(implementation, seed, tuple(units)))
        return runs


def _strings(document: dict, key: str) -> tuple[str, ...]:
    value = document.get(key)
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise UsageError(f"manifest: {key!r} must be a non-empty list of strings")
    return tuple(value)


def read_manifest(path: str) -> Manifest:
    """The manifest at ``path``; UsageError (one line) for anything malformed."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise UsageError(f"cannot read manifest {path!r}: {error.strerror}") from None
    except (ValueError, UnicodeDecodeError) as error:
        raise UsageError(f"manifest {path!r} is not JSON: {error}") from None
    if not isinstance(document, dict):
        raise UsageError("manifest: expected a JSON object")
    unknown = sorted(set(document) - KEYS)
    if unknown:
        raise UsageError(f"manifest: unknown key {unknown[0]!r}; known: {', '.join(sorted(KEYS))}")
    implementations, losses, dtypes = (_strings(document, k) for k in ("implementations", "losses", "dtypes"))
    seeds = document.get("seeds")
    if not isinstance(seeds, list) or not seeds or not all(type(s) is int and s >= 0 for s in seeds):
        raise UsageError("manifest: 'seeds' must be a non-empty list of non-negative integers")
    device = document.get("device", "cpu")
    timeout = document.get("timeout", 20)
    if not isinstance(device, str) or type(timeout) not in (int, float) or not timeout > 0:
        raise UsageError("manifest: 'device' must be a string and 'timeout' a positive number")
    specs = all_specs()
    for loss in losses:
        if loss not in specs:
            raise UsageError(f"manifest: unknown loss {loss!r}; known: {', '.join(specs)}")
        validate(loss, list(dtypes), device)
    for implementation in implementations:
        if implementation != "pytorch":
            name, _module, _attr = parse_impl(implementation)
            if name not in losses:
                raise UsageError(f"manifest: implementation {implementation!r} is for {name!r}, not a listed loss")
    return Manifest(implementations, losses, dtypes, tuple(seeds), device, float(timeout))


def _tasks_of(runs: Sequence[Run], settings: RunSettings, probe: Any) -> list[tuple]:
    """Every run's tasks, in order: its units with their targets' capabilities, one task per loss."""
    tasks = []
    for run in runs:
        tasks += _tasks(declare_capabilities(run.units, probe), 1)
    return tasks


_LOCAL = threading.local()


def _judge_task(task: tuple, settings: RunSettings, cache: tuple[str, str]) -> Result:
    """One task in a Dask worker: the parent's cache settings, then the task with this thread's own
    isolated implementation worker."""
    import warnings

    warnings.simplefilter("ignore")  # PyTorch's warnings are not findings
    disk_cache.restore(cache)
    worker = getattr(_LOCAL, "worker", None)
    if worker is None:
        worker = _LOCAL.worker = new_worker(settings)
    return _task(task, settings, worker)


def run_on_dask(runs: Sequence[Run], settings: RunSettings, client: Any) -> Result:
    """Every run's results on the Dask ``client``'s workers, merged in plan order."""
    probe = new_worker(settings)
    try:
        tasks = _tasks_of(runs, settings, probe)
    finally:
        probe.close()
    cache = disk_cache.configuration()
    futures = [client.submit(_judge_task, task, settings, cache, pure=False) for task in tasks]
    return combine(client.gather(futures), settings)


def run_locally(runs: Sequence[Run], settings: RunSettings) -> Result:
    """The same checks in this process, one task after another (what ``run_on_dask`` must equal)."""
    probe = new_worker(settings)
    try:
        return combine([_task(task, settings, probe) for task in _tasks_of(runs, settings, probe)], settings)
    finally:
        probe.close()


def dask_client(scheduler: str | None, workers: int) -> Any:
    """A client of the scheduler at ``scheduler``, else of a new LocalCluster of ``workers`` processes with
    one thread each. UsageError where dask[distributed] is not installed."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise UsageError("losscheck sweep needs Dask: pip install 'losscheck[sweep]'") from None
    if scheduler:
        try:
            return Client(scheduler, timeout="10s")
        except (OSError, ValueError, TimeoutError) as error:
            raise UsageError(f"--scheduler {scheduler!r}: cannot connect: {error}") from None
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
    return Client(cluster)
