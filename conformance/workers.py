"""The parent's side of isolation: worker processes that run the driver, and what their deaths mean.

A ``Worker`` starts ``python -m losscheck.conformance.driver`` in a process session of its own,
sends it requests, and waits for each answer with a per-call time limit (the driver announces
every call of the implementation, and each announcement restarts the clock). A worker that dies
(any signal, any exit status, ``os._exit``) or does not answer in time (then its whole process
group is killed) raises ``WorkerLost`` naming the cause and the call it was in; the next request
starts a fresh worker, which builds the targets the old one had built.

``InProcessWorker`` runs the same driver inside this process: for debugging only, it shares
losscheck's fate with the implementation, and the run says so.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from typing import Any

from .driver import Driver, Observation, Raised, send
from .implementations import UsageError
from .targets import TargetRef

START_SECONDS = 120.0
"""Time a fresh worker may take to import torch and start (not the implementation's time)."""


class WorkerLost(Exception):
    """The worker died or hung; ``cause`` says how (``crashed: SIGSEGV during backward``, ``no answer
    within 20 s during the call``). ``during`` names the step it was in, and ``partial`` holds what the
    driver had reported of the request before that step (None if it died in the first call)."""

    def __init__(self, cause: str, during: str = "", partial: Observation | None = None):
        super().__init__(cause)
        self.cause, self.during, self.partial = cause, during, partial


def describe_exit(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"crashed: {signal.Signals(-returncode).name}"
        except ValueError:
            return f"crashed: signal {-returncode}"
    return f"exited with status {returncode}"


class Worker:
    """One driver process, restarted after each death."""

    def __init__(self, device: str, timeout: float):
        self.device, self.timeout = device, timeout
        self.process: subprocess.Popen | None = None
        self.loaded: list[TargetRef] = []
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - the worker's stderr, kept for its life
        self._buffer = b""
        self._partial: Observation | None = None

    # -- process management --
    def _start(self) -> None:
        self._buffer = b""
        self.process = subprocess.Popen([sys.executable, "-m", "losscheck.conformance.worker_main"],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log,
                                        start_new_session=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        send(self.process.stdin, {"path": list(sys.path), "device": self.device})
        self._expect("ready", START_SECONDS, "starting")
        for target in self.loaded:
            self._load(target)

    def close(self) -> None:
        if self.process is None:
            return
        with contextlib.suppress(OSError):
            self.process.stdin.close()
        try:
            self.process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self._kill()
        self.process = None

    def _kill(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(Exception):
            self.process.wait(timeout=5)

    def _lost(self, cause: str, during: str = "") -> WorkerLost:
        self._kill()
        self.process = None
        return WorkerLost(cause, during, self._partial)

    # -- framing with a deadline --
    def _read(self, count: int, deadline: float, during: str) -> bytes:
        fd = self.process.stdout.fileno()
        while len(self._buffer) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise self._lost(f"no answer within {self.timeout:g} s during {during}", during)
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                code = self.process.wait()
                raise self._lost(f"{describe_exit(code)} during {during}", during)
            self._buffer += chunk
        data, self._buffer = self._buffer[:count], self._buffer[count:]
        return data

    def _message(self, seconds: float, during: str) -> Any:
        import pickle
        import struct

        deadline = time.monotonic() + seconds
        (length,) = struct.unpack("<Q", self._read(8, deadline, during))
        return pickle.loads(self._read(length, deadline, during))

    def _expect(self, kind: str, seconds: float, during: str) -> Any:
        """Wait for ``kind``, restarting the clock at every call the driver announces."""
        self._partial = None
        while True:
            got, payload = self._message(seconds, during)
            if got == "calling":
                during, seconds = payload, self.timeout
                continue
            if got == "observed":
                self._partial = payload
                continue
            if got == "failed":
                return payload
            if got != kind:
                raise self._lost(f"sent {got!r} where {kind!r} was due")
            return payload

    def _send(self, message: Any, during: str) -> None:
        try:
            send(self.process.stdin, message)
        except (BrokenPipeError, OSError):
            code = self.process.wait()
            raise self._lost(f"{describe_exit(code)} during {during}", during) from None

    # -- the requests --
    def _load(self, target: TargetRef) -> dict[str, Any] | None:
        self._send(("load", target), "loading the implementation")
        answer = self._expect("loaded", START_SECONDS, "loading the implementation")
        if isinstance(answer, Raised):
            raise UsageError(answer.message if answer.type == "UsageError" else f"cannot build {target.name}: {answer}")
        return answer

    def load(self, target: TargetRef) -> dict[str, Any] | None:
        """Build ``target`` in the worker; its declared capabilities. UsageError if it cannot be imported."""
        if self.process is None:
            self._start()
        capabilities = self._load(target)
        if target not in self.loaded:
            self.loaded.append(target)
        return capabilities

    def observe(self, request: Any) -> Observation:
        if self.process is None:
            self._start()
        if request.target not in self.loaded:
            self.load(request.target)
        self._send(("observe", request), "the call")
        answer = self._expect("observation", self.timeout, "the call")
        if isinstance(answer, Raised):
            return Observation(answer)
        if answer.poisoned:  # the device context is broken: the next request gets a fresh worker
            self._kill()
            self.process = None
        return answer

    def last_output(self) -> str:
        """The last line the worker wrote to stderr (shown with a crash)."""
        self.log.seek(0, os.SEEK_END)
        size = self.log.tell()
        self.log.seek(max(0, size - 2000))
        lines = [line for line in self.log.read().decode(errors="replace").splitlines() if line.strip()]
        return lines[-1].strip() if lines else ""


class InProcessWorker:
    """The driver in this very process: for debugging an implementation, never for a verdict that
    must survive it (a crash or ``os._exit`` takes the run down, and nothing bounds a hang)."""

    NOTE = "in-process mode (debugging only): the implementation ran inside losscheck's own process, unisolated"

    def __init__(self, device: str, timeout: float):
        self.driver = Driver(device)

    def load(self, target: TargetRef) -> dict[str, Any] | None:
        try:
            return self.driver.load(target)
        except UsageError:
            raise
        except Exception as error:  # the user's build step may raise anything
            raise UsageError(f"cannot build {target.name}: {type(error).__name__}: {error}") from None

    def observe(self, request: Any) -> Observation:
        return self.driver.observe(request)

    def close(self) -> None:
        pass
