"""The Python API: ``check`` a loss's targets, ``replay`` a reproducer, ``validate`` a request."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..spec import LossSpec, get_spec
from .capabilities import Capabilities
from .implementations import UsageError
from .planning import plan_units, unit_budget
from .results import QuantityResult, Result
from .runner import CaseRunner, RunSettings
from .targets import COMPILE_TIMEOUT, CompileSettings
from .tolerance import DTYPES

__all__ = ["check", "replay", "validate"]


def validate(loss: str, dtypes: Sequence[str], device: str) -> LossSpec:
    try:
        spec = get_spec(loss)
    except KeyError as error:
        raise UsageError(error.args[0]) from None
    unknown = [d for d in dtypes if d not in DTYPES]
    if unknown or not dtypes:
        raise UsageError(f"unknown dtype {', '.join(unknown) or '(none)'}; choose from {', '.join(DTYPES)}")
    kind, _, index = device.partition(":")
    if kind not in ("cpu", "cuda") or (index and not index.isdigit()) or (kind == "cpu" and index):
        raise UsageError(f"unknown device {device!r}; choose cpu, cuda or cuda:N")
    if kind == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise UsageError("device cuda requested but torch.cuda.is_available() is False")
        if index and int(index) >= torch.cuda.device_count():
            raise UsageError(f"device {device} requested but only {torch.cuda.device_count()} CUDA devices exist")
    return spec


def check(loss: str, impl: str | None = None, dtypes: Sequence[str] = DTYPES, device: str = "cpu", seed: int = 0,
          timeout: float | None = None, options: Mapping[str, Any] | None = None, fail_fast: bool = False, *,
          compile: CompileSettings | bool | None = None, strict: bool = False, require: Sequence[str] = (),
          supports: Mapping[str, Any] | None = None, jobs: int = 1, in_process: bool = False,
          budget: float = 0.0) -> Result:
    """Check ``impl`` (``"MODULE:ATTR"``; default: every PyTorch path of the loss) for ``loss``.

    The implementation runs in worker processes (``in_process=True`` runs it in this process, for
    debugging only, and the result says so). ``options`` fixes some of the loss's options instead of
    sweeping their grids; ``fail_fast`` stops at the first failing check; ``compile`` wraps the target
    in ``torch.compile``; ``timeout`` is one call's limit in seconds (default 20, or ``COMPILE_TIMEOUT``
    under ``compile``, as on the command line: a first call compiles); ``supports`` declares capabilities
    (see ``capabilities``); ``strict`` and ``require`` make unsupported checks fail; ``budget`` adds that
    many seconds of deep search (``deep``), shared by the loss's units. Raises UsageError for bad input.
    Returns a Result whose ``.ok`` says whether every planned check has a verdict and every verdict
    conforms.
    """
    from .schedule import run_units

    spec = validate(loss, list(dtypes), device)
    if impl is not None and not isinstance(impl, str):
        raise UsageError("impl must be 'MODULE:ATTR' (it is imported in a worker process, never here)")
    for name, value in (options or {}).items():
        if name not in {o.name for o in spec.options}:
            raise UsageError(f"{loss} has no option {name!r}")
        try:
            spec.option(name).validate(value)
        except ValueError as error:
            raise UsageError(str(error)) from None
    declared = Capabilities.declared(supports, "supports") if supports else Capabilities()
    compiled = CompileSettings() if compile is True else (compile or None)
    timeout = (COMPILE_TIMEOUT if compiled else 20.0) if timeout is None else float(timeout)
    if not timeout > 0:
        raise UsageError(f"timeout must be a positive number of seconds, not {timeout!r}")
    units = plan_units([loss], {loss: impl} if impl else {}, list(dtypes), seed, {loss: dict(options or {})},
                       compiled, device)
    settings = RunSettings(device, timeout, strict, frozenset(require), in_process=in_process, fail_fast=fail_fast,
                           budget=unit_budget(budget, len(units), jobs))
    return run_units(units, settings, jobs, declared)


def replay(recorded: Any, impl: str | None = None, timeout: float = 20.0) -> list[QuantityResult]:
    """Run a reproducer file's case again: its quantities against the oracle (``impl`` default: PyTorch's)."""
    validate(recorded.spec.name, [recorded.dtype], recorded.device)
    runner = CaseRunner.for_source(recorded.spec, impl or "pytorch", RunSettings(recorded.device, timeout))
    try:
        return runner.run(recorded.case, recorded.dtype)
    finally:
        runner.worker.close()
