"""The driver: the one place where the implementation under test is imported and called.

It runs in a worker process of its own (``python -m losscheck.conformance.driver``), reads
requests from the parent and answers each with an ``Observation``: what the implementation
returned (values as float64 arrays with their dtype, shape and device), its gradients, forward-mode
tangent and double-backward products, the exceptions it raised (type and first line), and digests
of its outputs and of its inputs after the call. It never sees an exact reference and judges nothing:
whatever the implementation does here (crash, exit, hang, monkeypatch torch or losscheck, print)
can change only what this process reports, never the parent's verdict.

Every check after the first call and backward runs on fresh copies of the inputs, so an
implementation that writes into its inputs is reported once, as that, and its numbers are judged
on their own. Before each call of the implementation the driver tells the parent which call it is
starting, so a hang is timed per call and named.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import struct
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import numpy as np

from .targets import TargetRef

# ------------------------------------------------------------------ messages (plain data, both sides) ---


@dataclass(frozen=True)
class Raised:
    """An exception from the implementation (or from torch on its behalf): type, first line, and
    whether it is a ``NotImplementedError``."""

    type: str
    message: str
    not_implemented: bool = False

    def __str__(self) -> str:
        return f"{self.type}: {self.message}"


@dataclass
class Returned:
    """A returned tensor as exact float64 values (complex as interleaved (re, im)), with its metadata."""

    values: np.ndarray | None
    dtype: str
    shape: tuple[int, ...]
    device: str
    requires_grad: bool = False
    is_tensor: bool = True
    digest: str = ""


@dataclass
class CallRequest:
    """One case in one dtype: the exact inputs and which modes to run."""

    target: TargetRef
    dtype: str
    tensors: dict[str, np.ndarray]
    positional: tuple[str, ...]
    keyword_tensors: tuple[str, ...]
    options: dict[str, Any]
    callable_options: tuple[str, ...]
    wrt: tuple[str, ...]
    layout: str
    expand: tuple[str, ...]
    upstream: np.ndarray
    twice: bool = False
    jvp_tangents: dict[str, np.ndarray] | None = None
    hvp_directions: dict[str, np.ndarray] | None = None


@dataclass
class Observation:
    """What the implementation did with one request (see the module docstring)."""

    output: Returned | Raised
    grads: dict[str, Returned | None] | Raised | None = None
    inputs_after: dict[str, str] = field(default_factory=dict)
    repeat: tuple[Returned | Raised, Returned | Raised] | None = None
    repeat_grads: tuple[list[str], list[str]] | Raised | None = None
    jvp: Returned | Raised | None = None
    hvp: dict[str, Returned | None] | Raised | None = None
    poisoned: str = ""
    """A device error after which this process must not be reused (a CUDA context does not recover)."""


# ------------------------------------------------------------------------------------------- framing ---

def send(stream: BinaryIO, message: Any) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(struct.pack("<Q", len(data)) + data)
    stream.flush()


def receive(stream: BinaryIO) -> Any:
    header = stream.read(8)
    if len(header) < 8:
        raise EOFError
    (length,) = struct.unpack("<Q", header)
    data = stream.read(length)
    if len(data) < length:
        raise EOFError
    return pickle.loads(data)


# ------------------------------------------------------------------------------------ observing a call ---

_BITS = {1: "uint8", 2: "int16", 4: "int32", 8: "int64", 16: "int64"}


def digest(t: Any) -> str:
    """A digest of a tensor's bits (so NaN payloads and signed zeros count), dtype and shape."""
    import torch

    if not isinstance(t, torch.Tensor):
        return f"<{type(t).__name__}>"
    flat = t.detach().to("cpu").contiguous().reshape(-1)
    if flat.is_complex():
        flat = torch.view_as_real(flat).reshape(-1)
    data = flat.view(getattr(torch, _BITS[flat.element_size()])).numpy().tobytes()
    return hashlib.sha256(data + f"{t.dtype}{tuple(t.shape)}".encode()).hexdigest()


def _raised(error: BaseException) -> Raised:
    """The error's type and first line; for an error that wraps another (torch.compile's
    ``BackendCompilerFailed`` keeps it in ``inner_exception``, whose text its first line leaves out)
    the inner one's too, so a report, and a ledger entry, can name the cause."""
    lines = str(error).strip().splitlines()
    message = lines[0] if lines else ""
    inner = getattr(error, "inner_exception", None)
    if isinstance(inner, BaseException):
        inner_lines = str(inner).strip().splitlines()
        message = f"{message} {type(inner).__name__}: {inner_lines[0] if inner_lines else ''}".strip()
    return Raised(type(error).__name__, message, isinstance(error, NotImplementedError))


def _returned(t: Any) -> Returned:
    import torch

    if not isinstance(t, torch.Tensor):
        return Returned(None, type(t).__name__, (), "", is_tensor=False)
    values = t.detach().to("cpu")
    if values.is_complex():
        values = torch.view_as_real(values.to(torch.complex128).resolve_conj())
    return Returned(values.to(torch.float64).numpy().copy(), str(t.dtype).removeprefix("torch."), tuple(t.shape),
                    t.device.type, bool(t.requires_grad), digest=digest(t))


class Driver:
    """Runs requests against implementations it builds (and keeps) by ``TargetRef``."""

    def __init__(self, device: str, announce: Callable[[str], None] = lambda label: None,
                 progress: Callable[[Observation], None] = lambda observation: None):
        self.device, self.announce, self.progress = device, announce, progress
        self.built: dict[TargetRef, Callable[..., Any]] = {}

    def load(self, target: TargetRef) -> dict[str, Any] | None:
        """Build ``target`` (importing user code); return its declared capabilities, if any."""
        from .implementations import load_object
        from .targets import build, declared_capabilities

        if target not in self.built:
            self.built[target] = build(target, load_object)
        return declared_capabilities(self.built[target])

    def _place(self, request: CallRequest) -> dict[str, Any]:
        import torch

        from .cases import COMPLEX_DTYPES
        from .layouts import place

        complex_dtype = getattr(torch, COMPLEX_DTYPES.get(request.dtype, "complex128"))
        kinds = {"f": getattr(torch, request.dtype), "c": complex_dtype, "i": torch.int64, "u": torch.int64}
        return {name: place(v, kinds[v.dtype.kind], self.device, request.layout, name in request.wrt,
                            name in request.expand) for name, v in request.tensors.items()}

    def _call(self, request: CallRequest, inputs: dict[str, Any], label: str) -> Any:
        from .implementations import NamedCallable, load_object

        options = dict(request.options)
        for name in request.callable_options:
            module, attr = options[name].split(":", 1)
            options[name] = NamedCallable(options[name], load_object(module, attr))
        keywords = {n: inputs[n] for n in request.keyword_tensors}
        keywords.update(options)
        self.announce(label)
        return self.built[request.target](*[inputs[n] for n in request.positional], **keywords)

    def observe(self, request: CallRequest) -> Observation:
        import torch

        self.load(request.target)
        inputs = self._place(request)
        leaves = [inputs[n] for n in request.wrt]
        try:
            output = self._call(request, inputs, "the call")
        except BaseException as error:  # the implementation may raise anything, SystemExit included
            return Observation(_raised(error), poisoned=_poison(error))
        observation = Observation(_returned(output))
        if request.wrt and isinstance(output, torch.Tensor) and output.requires_grad:
            self.progress(observation)
            delta = _upstream(request, output)
            try:
                self.announce("backward")
                grads = torch.autograd.grad(output, leaves, delta, allow_unused=True)
                observation.grads = {n: None if g is None else _returned(g) for n, g in zip(request.wrt, grads)}
            except BaseException as error:  # the implementation's backward may raise anything
                observation.grads = _raised(error)
                observation.poisoned = _poison(error)
        observation.inputs_after = {n: digest(t) for n, t in inputs.items()}
        if observation.poisoned:
            return observation
        # each later step reports what is known so far first: a crash in it loses only that step
        if request.twice:
            self.progress(observation)
            self._repeat(request, observation)
        if request.jvp_tangents is not None:
            self.progress(observation)
            observation.jvp = self._jvp(request)
        if request.hvp_directions is not None:
            self.progress(observation)
            observation.hvp = self._hvp(request)
        return observation

    def _repeat(self, request: CallRequest, observation: Observation) -> None:
        """Two more calls, each on fresh inputs, and their gradients (the determinism check)."""
        import torch

        outputs, grads = [], []
        for attempt in ("a second call", "a third call"):
            inputs = self._place(request)
            try:
                out = self._call(request, inputs, attempt)
            except BaseException as error:  # the implementation may raise anything
                outputs.append(_raised(error))
                observation.poisoned = observation.poisoned or _poison(error)
                continue
            outputs.append(_returned(out))
            if request.wrt and isinstance(out, torch.Tensor) and out.requires_grad:
                delta = _upstream(request, out)
                try:
                    self.announce(f"backward of {attempt}")
                    got = torch.autograd.grad(out, [inputs[n] for n in request.wrt], delta, allow_unused=True)
                    grads.append([digest(g) if g is not None else "none" for g in got])
                except BaseException as error:  # the implementation's backward may raise anything
                    observation.repeat_grads = _raised(error)
        observation.repeat = (outputs[0], outputs[1])
        if observation.repeat_grads is None and len(grads) == 2:
            observation.repeat_grads = (grads[0], grads[1])

    def _jvp(self, request: CallRequest) -> Returned | Raised:
        import torch
        import torch.autograd.forward_ad as fwAD

        inputs = self._place(request)
        try:
            with fwAD.dual_level():
                duals = {n: fwAD.make_dual(t.detach(), torch.tensor(request.jvp_tangents[n], dtype=t.dtype,
                                                                     device=t.device))
                         if n in request.jvp_tangents else t for n, t in inputs.items()}
                out = self._call(request, duals, "forward mode")
                tangent = fwAD.unpack_dual(out).tangent
                # no tangent at all: the output does not depend on the inputs in forward mode, i.e. J·ṫ = 0
                return _returned(torch.zeros_like(out.detach()) if tangent is None else tangent.detach())
        except BaseException as error:  # the implementation may not support forward mode, or raise anything
            return _raised(error)

    def _hvp(self, request: CallRequest) -> dict[str, Returned | None] | Raised:
        """h = ∂⟨vjp(δ), w⟩/∂x for each differentiated tensor (None where unconnected or a zero tensor)."""
        import torch

        inputs = self._place(request)
        leaves = [inputs[n] for n in request.wrt]
        try:
            out = self._call(request, inputs, "double backward")
            delta = _upstream(request, out)
            self.announce("double backward")
            grads = torch.autograd.grad(out, leaves, delta, create_graph=True, allow_unused=True)
            w = {n: torch.tensor(request.hvp_directions[n], dtype=inputs[n].dtype, device=inputs[n].device)
                 for n in request.wrt}
            total = sum((g * w[n]).sum() for g, n in zip(grads, request.wrt) if g is not None and g.requires_grad)
            if not isinstance(total, torch.Tensor):  # no gradient depends on the inputs: the Hessian is zero
                return {n: None for n in request.wrt}
            second = torch.autograd.grad(total, leaves, allow_unused=True)
            return {n: None if h is None or h._is_zerotensor() else _returned(h) for n, h in zip(request.wrt, second)}
        except BaseException as error:  # the implementation may not support double backward, or raise anything
            return _raised(error)


def _poison(error: BaseException) -> str:
    """A device error that leaves the CUDA context unusable: the worker must be replaced."""
    text = str(error)
    return text.splitlines()[0] if ("CUDA error" in text or "illegal memory access" in text) else ""


# ------------------------------------------------------------------------------------- worker process ---

def serve() -> None:
    """The worker's loop (``python -m losscheck.conformance.worker_main``): requests in on the original
    stdin, answers out on the original stdout.

    Both are moved to private descriptors first, and fds 0 and 1 point at /dev/null, so what the
    implementation reads or prints cannot corrupt the protocol (stderr goes to the parent's log).
    """
    inbound = os.fdopen(os.dup(0), "rb")
    outbound = os.fdopen(os.dup(1), "wb")
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process
    import warnings

    warnings.simplefilter("ignore")  # PyTorch's deprecation chatter is not a finding
    hello = receive(inbound)
    sys.path[:0] = [p for p in hello["path"] if p not in sys.path]
    driver = Driver(hello["device"], lambda label: send(outbound, ("calling", label)),
                    lambda observation: send(outbound, ("observed", observation)))
    send(outbound, ("ready", os.getpid()))
    while True:
        try:
            kind, payload = receive(inbound)
        except EOFError:
            return
        try:
            if kind == "load":
                send(outbound, ("loaded", driver.load(payload)))
            else:
                send(outbound, ("observation", driver.observe(payload)))
        except BaseException as error:  # a load that fails (import error) is reported, not fatal
            send(outbound, ("failed", _raised(error)))


def _upstream(request: CallRequest, out: Any) -> Any:
    """The upstream gradient for ``out``, in the output's own shape where only the shape is wrong (a 0-dim loss
    returned as shape (1,)): the shape is judged once, by the value check, and the gradients on their own."""
    import torch

    delta = torch.tensor(request.upstream, dtype=out.dtype, device=out.device)
    return delta.reshape(out.shape) if delta.shape != out.shape and delta.numel() == out.numel() else delta
