"""What is under test: a target names an implementation, and is built only inside a worker process.

A target is one of

* a **built-in** PyTorch path of a loss: ``pytorch`` (its ``torch.nn.functional`` function, or the
  composition of PyTorch ops in ``compositions``), plus any extra path a loss registers in
  ``EXTRA_TARGETS`` (PyTorch's chunked ``linear_cross_entropy``, ...), each a row of its own;
* a user's ``MODULE:ATTR``: a function with the ``torch.nn.functional`` signature, or an
  ``nn.Module`` loss class, whose options become constructor keywords and whose tensors go to
  ``forward``;

optionally wrapped in ``torch.compile``. The parent process handles only this description
(``TargetRef``); ``build`` runs in the driver, so user code is never imported by the judge.
Each target names the ledgers of known deviations that apply to it besides eager PyTorch's.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from .implementations import Implementation, pytorch_implementation
from .pytorch_paths import ACC_POLICIES, chunked_linear_cross_entropy


@dataclass(frozen=True)
class BuiltinTarget:
    """An extra PyTorch path of one loss: its row label, how to build it, and its own ledger."""

    name: str
    build: Callable[[], Implementation]
    ledgers: tuple[str, ...] = ()
    description: str = ""


EXTRA_TARGETS: dict[str, tuple[BuiltinTarget, ...]] = {}
"""loss name → PyTorch paths checked beside its default one in the default run. Registering a
path here (a name, a builder, a ledger) is all it takes: the runner gives it rows of its own."""

EXTRA_TARGETS["linear_cross_entropy"] = tuple(
    BuiltinTarget(f"chunked:{policy}", build=partial(chunked_linear_cross_entropy, policy), ledgers=("chunked",),
                  description=f"F.linear_cross_entropy(..., options=LinearCrossEntropyOptions(acc_policy={policy!r})): "
                              "the chunked kernel (index targets, label_smoothing=0, (C, H) weight; other calls "
                              "fall back to the reference path)")
    for policy in ACC_POLICIES)

DEFAULT = "pytorch"


COMPILE_TIMEOUT = 300
"""Seconds one call of a compiled target may take by default (``run --compile`` without ``--timeout``): a call
includes dynamo's trace and inductor's C++ compile of each new graph (each shape, dtype and option point), which
takes tens of seconds on a busy 2-core machine, where the eager default of 20 s kills a healthy worker."""


@dataclass(frozen=True)
class CompileSettings:
    """``torch.compile(fn, mode=mode, dynamic=dynamic)``."""

    mode: str | None = None
    dynamic: bool | None = None

    def label(self) -> str:
        parts = [p for p in (self.mode, {True: "dynamic", False: "static"}.get(self.dynamic)) if p]
        return "compiled" + (f"({', '.join(parts)})" if parts else "")


@dataclass(frozen=True)
class TargetRef:
    """What the parent knows of a target: enough to build it in a worker, to label its rows and
    to pick its ledgers. ``source`` is ``pytorch``, an extra target's name, or ``MODULE:ATTR``."""

    loss: str
    source: str = DEFAULT
    compile: CompileSettings | None = None
    device: str = "cpu"

    @property
    def is_user_code(self) -> bool:
        return ":" in self.source and self.source not in {t.name for t in EXTRA_TARGETS.get(self.loss, ())}

    @property
    def name(self) -> str:
        """The row label: ``pytorch``, ``chunked:compact``, ``mykernels:mse``, with ``+compiled``."""
        return self.source + (f"+{self.compile.label()}" if self.compile else "")

    @property
    def ledgers(self) -> tuple[str, ...]:
        """Ledgers besides eager PyTorch's: the extra target's own, ``compiled``, the device's."""
        own = next((t.ledgers for t in EXTRA_TARGETS.get(self.loss, ()) if t.name == self.source), ())
        compiled = ("compiled",) if self.compile else ()
        device = (self.device.split(":")[0],) if self.device != "cpu" else ()
        return (*own, *compiled, *device)


def builtin_targets(loss: str, compile: CompileSettings | None = None, device: str = "cpu") -> list[TargetRef]:
    """PyTorch's own paths of ``loss``: its default one, then every registered extra one."""
    return [TargetRef(loss, name, compile, device)
            for name in (DEFAULT, *(t.name for t in EXTRA_TARGETS.get(loss, ())))]


def build(ref: TargetRef, load: Callable[[str, str], Any]) -> Implementation:
    """The callable under test (inside a worker): ``load(module, attr)`` imports user code."""
    if ref.source == DEFAULT:
        impl: Implementation = pytorch_implementation(ref.loss)
    elif not ref.is_user_code:
        impl = next(t for t in EXTRA_TARGETS[ref.loss] if t.name == ref.source).build()
    else:
        module, attr = ref.source.split(":", 1)
        impl = module_loss(load(module, attr))
    if ref.compile is not None:
        import torch
        import torch._dynamo

        # Past dynamo's recompile limit (8 per function) torch.compile silently runs the function
        # eagerly, so every later case would check eager PyTorch under the compiled label: raise the
        # limits, and make hitting one an error, never a fallback.
        torch._dynamo.config.recompile_limit = torch._dynamo.config.accumulated_recompile_limit = 1 << 20
        torch._dynamo.config.fail_on_recompile_limit_hit = True
        # AOTAutograd's cache (torch 2.13) serves a graph compiled for one float option value to a call
        # with another once shapes have gone dynamic (cosine_similarity_loss: eps=1e-6's graph for an
        # eps=3.0 call, -1.6e11 for 283/288; tests/test_compiled_deviations.py reproduces it). That is
        # a wrong answer from the cache, not from the compiled code: compile every graph afresh.
        import torch._functorch.config

        torch._functorch.config.enable_autograd_cache = False
        _private_inductor_cache()
        compiled = torch.compile(impl, mode=ref.compile.mode, dynamic=ref.compile.dynamic)
        compiled.losscheck_supports = getattr(impl, "losscheck_supports", None)  # type: ignore[attr-defined]
        return compiled
    return impl


def _private_inductor_cache() -> None:
    """Point inductor at a cache directory of this worker's own, removed when it exits.

    Inductor writes each compiled graph's ``.so`` in place in its cache directory (``/tmp/torchinductor_$USER``,
    shared by every process of the user) and later trusts any file it finds there. A worker killed during a
    compile (by ``--timeout``, a crash, a Ctrl-C) leaves a 0-byte ``.so`` behind, and from then on every process
    that compiles the same graph fails with ``ImportError: ... file too short``: one killed call would fail that
    case in every later run. A private directory dies with its worker (the parent's replacement starts afresh).
    Its name carries the worker's pid: a worker that was killed before its exit handler ran leaves its directory,
    and the next compiling worker removes every such directory whose process is gone."""
    import atexit
    import os
    import shutil
    import tempfile
    from pathlib import Path

    global _inductor_cache
    if _inductor_cache is None:
        for stale in Path(tempfile.gettempdir()).glob(f"{_CACHE_PREFIX}*-*"):
            pid = stale.name.removeprefix(_CACHE_PREFIX).split("-", 1)[0]
            if pid.isdigit() and not _alive(int(pid)):
                shutil.rmtree(stale, ignore_errors=True)
        _inductor_cache = tempfile.mkdtemp(prefix=f"{_CACHE_PREFIX}{os.getpid()}-")
        atexit.register(shutil.rmtree, _inductor_cache, ignore_errors=True)
    os.environ["TORCHINDUCTOR_CACHE_DIR"] = _inductor_cache


def _alive(pid: int) -> bool:
    import os

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


_CACHE_PREFIX = "losscheck-inductor-"
_inductor_cache: str | None = None


def module_loss(obj: Any) -> Implementation:
    """A loss class (``torch.nn.CrossEntropyLoss``) as a functional: options and optional tensors
    are constructor keywords, the required tensors go to ``forward``. Anything else as it is."""
    import torch

    if not (inspect.isclass(obj) and issubclass(obj, torch.nn.Module)):
        return obj
    accepted = inspect.signature(obj.__init__).parameters

    def functional(*tensors: Any, **keywords: Any) -> Any:
        unknown = [k for k in keywords if k not in accepted]
        if unknown:
            raise TypeError(f"{obj.__name__}() takes no keyword {', '.join(unknown)}")
        return obj(**keywords)(*tensors)

    functional.losscheck_supports = getattr(obj, "losscheck_supports", None)  # type: ignore[attr-defined]
    return functional


def declared_capabilities(impl: Implementation) -> Mapping[str, Any] | None:
    """The ``losscheck_supports`` attribute an implementation may carry (see ``capabilities``)."""
    declared = getattr(impl, "losscheck_supports", None)
    return dict(declared) if isinstance(declared, Mapping) else None
