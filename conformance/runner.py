"""Hold a target against the oracle, in typed stages: plan → reference → observation → verdict.

* **plan**: the cases of a loss (its option grid and the gate's probes), in a fixed order;
* **reference**: the exact value and gradients of a case in a dtype, from the oracle alone;
* **observation**: what the implementation returned, from a worker process (``driver``);
* **verdict**: the judge's ``QuantityResult`` per checked quantity (``judge``).

A **unit** is one (loss, target, dtype): its cases run in plan order against one worker, then the
unit is settled (``unit_runner.settle_unit``: capabilities, strictness) and its failures shrunk. Units are
independent, so they run side by side (``schedule``) and the result is the same for any number of
jobs. The parent never imports the implementation: a dead or hung worker is a failure naming the
cause, a fresh worker takes the next case, and after ``DEATHS_BEFORE_GIVING_UP`` deaths in a row
the unit's remaining cases are reported as not run.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any

import mpmath
import numpy as np

from ..spec import LossSpec
from .capabilities import ANYTHING, Capabilities, lacks_kernel, says_unsupported
from .cases import COMPLEX_DTYPES, Case, expandable, round_to
from .deviations import find_known_raised, find_known_shape
from .driver import CallRequest, Driver, Observation, Raised, digest
from .extra_checks import random_like
from .implementations import NamedCallable
from .judge import (
    Trial,
    judge_gradient,
    judge_hvp,
    judge_jvp,
    judge_repeat,
    judge_value,
    returned_problem,
)
from .oracle import differentiated, exact_reference, same_value
from .reproducer import reproducer
from .results import FAILING, QuantityResult, Result, Status, mode_of, verdict
from .targets import TargetRef
from .workers import InProcessWorker, Worker, WorkerLost

__all__ = ["FAILING", "CaseRunner", "QuantityResult", "Result", "RunSettings", "Status", "verdict"]

DEATHS_BEFORE_GIVING_UP = 3
"""Deaths in the first call of a case, in a row, after which a unit's remaining cases are not run."""

_STEPS = {"backward": "backward", "a second call": "twice", "a third call": "twice",
          "backward of a second call": "twice", "backward of a third call": "twice", "forward mode": "jvp",
          "double backward": "hvp"}
"""The driver's announcements (``Driver._call`` labels) by the step they belong to."""


@dataclass(frozen=True)
class RunSettings:
    """How a run treats its targets: where, how long a call may take, what must be supported."""

    device: str = "cpu"
    timeout: float = 20.0
    strict: bool = False
    require: frozenset[str] = frozenset()
    supports: Capabilities = field(default_factory=Capabilities)
    in_process: bool = False
    fail_fast: bool = False
    budget: float = 0.0
    """Seconds of deep search (``deep``) per unit after its planned cases; 0: none."""


def _wire_options(options: Mapping[str, Any]) -> tuple[dict[str, Any], tuple[str, ...]]:
    """Options as plain data for the worker: an imported callable travels as its ``MODULE:ATTR``."""
    wired = {n: (v.name if isinstance(v, NamedCallable) else v) for n, v in options.items()}
    return wired, tuple(n for n, v in options.items() if isinstance(v, NamedCallable))


_NO_DERIVATIVE = re.compile(r"^derivative for \S+ is not implemented")
"""Autograd's words for an op without a derivative formula (eager double backward of multi_margin_loss)."""


class CaseRunner:
    """Runs the cases of one unit (loss, target, dtype) against one worker."""

    def __init__(self, spec: LossSpec, target: TargetRef, worker: Any, settings: RunSettings,
                 capabilities: Capabilities = ANYTHING):
        self.spec, self.target, self.worker, self.settings = spec, target, worker, settings
        self.capabilities = capabilities
        self.deaths = 0
        self.lost = ""  # set after repeated deaths: the unit's later cases are not run
        self._pytorch = Driver(settings.device)  # PyTorch's own function, in this process: it is not user code

    @classmethod
    def for_source(cls, spec: LossSpec, source: str = "pytorch", settings: RunSettings | None = None) -> CaseRunner:
        """A runner for ``source`` (``pytorch`` or ``MODULE:ATTR``) with a worker of its own (tests, replays)."""
        settings = settings or RunSettings()
        target = TargetRef(spec.name, source, device=settings.device)
        worker = new_worker(settings)
        worker.load(target)
        return cls(spec, target, worker, settings)

    # -- stage helpers --
    def _request(self, case: Case, dtype: str, tensors: dict[str, np.ndarray], upstream: np.ndarray,
                 wrt: list[str], target: TargetRef | None = None, **modes: Any) -> CallRequest:
        options, callables = _wire_options(case.options)
        expand = expandable(self.spec, case.shape_case, case.present) if case.layout == "expanded" else ()
        return CallRequest(target or self.target, dtype, tensors, tuple(t.name for t in self.spec.required_tensors),
                           tuple(n for n in tensors if self.spec.tensor(n).optional), options, callables,
                           tuple(wrt), case.layout, tuple(expand), upstream, **modes)

    def _tangents(self, case: Case, dtype: str, tensors: dict[str, np.ndarray], wrt: list[str], salt: int,
                  conventional: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Random directions, zero at a domain's ends (a one-sided or infinite derivative: KL at t = 0) and
        where PyTorch's stated backward convention departs from the derivative (see ``_conventional``)."""
        rng = np.random.default_rng([case.seed, case.number, salt])
        tangents = {}
        for n in wrt:
            values = tensors[n]
            domain = case.shape_case.domains.get(n, self.spec.tensor(n).domain_for(case.options))
            ends = np.isin(values, [e for e in (domain.lo, domain.hi, *domain.edges) if np.isfinite(e)])
            ends |= conventional.get(n, False)
            tangents[n] = np.where(ends, 0.0, round_to(random_like(rng, values), dtype))
        return tangents

    def _conventional(self, case: Case, tensors: dict[str, np.ndarray], upstream: np.ndarray, reference: Any,
                      wrt: list[str]) -> dict[str, np.ndarray]:
        """Per differentiated tensor, where the backward convention differs from the derivative of the math
        (an active clamp: gaussian_nll_loss's var below eps). There forward mode may follow either (PyTorch's
        follows the math for gaussian_nll_loss and the convention for binary_cross_entropy) and double
        backward differentiates the convention as if the clamp were the identity, so neither is pinned."""
        if reference.math_grads is not None:
            math = reference.math_grads
        elif self.spec.gradient_conventions:
            math = exact_reference(self.spec, tensors, case.options, upstream, conventions=False).grads
        else:
            return {}
        return {n: np.array([not same_value(a, b, mpmath.mpf(1)) for a, b in zip(reference.grads[n], math[n])],
                            dtype=bool).reshape(tensors[n].shape)
                for n in wrt if n in math}

    def _pytorch_lacks(self, request: CallRequest, mode: str) -> bool:
        """Does PyTorch's own eager function say "not implemented" for this form and mode: no kernel for the
        dtype or device (value), or no derivative for the mode ("Trying to use forward AD with ... that does not
        support it", "derivative for aten::... is not implemented")? Only those words excuse a target's error as
        PyTorch lacking it; eager raising anything else, or failing to run at all, excuses nothing."""
        own = replace(request, target=TargetRef(self.spec.name, "pytorch", device=self.settings.device),
                      twice=False)
        try:
            observation = self._pytorch.observe(own)
        except Exception:  # losscheck could not even ask PyTorch: no evidence that PyTorch lacks anything
            return False
        if isinstance(observation.output, Raised):
            return mode == "value" and lacks_kernel(observation.output.message)
        outcome = {"backward": observation.grads, "jvp": observation.jvp, "hvp": observation.hvp}.get(mode)
        return isinstance(outcome, Raised) and (outcome.not_implemented or says_unsupported(outcome.message)
                                                or lacks_kernel(outcome.message)
                                                or bool(_NO_DERIVATIVE.search(outcome.message)))

    def _raised(self, make: Any, quantities: Sequence[str], error: Raised, request: CallRequest,
                mode: str, case: Case) -> list[QuantityResult]:
        """A raised exception: unsupported when declared by raising (NotImplementedError, PyTorch's words for a
        mode it lacks) or when PyTorch itself lacks the kernel; known where the target's ledger records
        that raise (a compiler failure); any other exception is an error."""
        if error.type == "SystemExit":
            return [make(q, Status.ERROR, message=f"exited: SystemExit({error.message}) raised during {mode}")
                    for q in quantities]
        message = str(error)
        pytorch_words = lacks_kernel(error.message) or says_unsupported(error.message)
        if (pytorch_words or error.not_implemented or mode in ("jvp", "hvp")) and self._pytorch_lacks(request, mode):
            return [make(q, Status.UNSUPPORTED, message=f"PyTorch itself does not support this: {message}",
                         declared=True) for q in quantities]
        if error.not_implemented or (mode in ("jvp", "hvp") and says_unsupported(error.message)):
            return [make(q, Status.UNSUPPORTED, message=f"raised: {message}") for q in quantities]
        reference = cache(lambda: exact_reference(self.spec, request.tensors, case.options, request.upstream,
                                                  dtype=request.dtype))
        known = [find_known_raised(case, q, request.dtype, request.tensors, message, reference, self.target.ledgers)
                 for q in quantities]
        if all(known):
            return [make(q, Status.KNOWN, message=f"known deviation {k}: raised {message}")
                    for q, k in zip(quantities, known)]
        return [make(q, Status.ERROR, message=message) for q in quantities]

    # -- one case --
    def run(self, case: Case, dtype: str) -> list[QuantityResult]:
        tensors = case.tensors(dtype)
        upstream = case.upstream(dtype)
        repro = reproducer(self.spec, case, dtype, tensors, upstream)
        size = sum(int(v.size) for v in tensors.values())
        form = _form(case)

        def make(quantity: str, status: Status, **details: Any) -> QuantityResult:
            return QuantityResult(self.spec.name, dtype, case.name, quantity, status, reproducer=repro,
                                  input_size=size, target=self.target.name, form=f"{form} {mode_of(quantity)}",
                                  **details)

        if self.lost:
            return [make("value", Status.NOT_RUN, message=f"not run: {self.lost}")]
        if any(v.dtype.kind == "c" for v in tensors.values()) and dtype not in COMPLEX_DTYPES:
            return [make("value", Status.UNSUPPORTED, message=f"{dtype} has no complex counterpart", declared=True)]
        excluded = self.capabilities.excluded(case, dtype, self.settings.device)
        if excluded:
            return [make("value", Status.UNSUPPORTED, message=excluded, declared=True)]
        wrt = differentiated(self.spec, tensors, case.options)
        declared_out = [m for m in ("backward", *(c for c in case.checks if c in ("jvp", "hvp")))
                        if not self.capabilities.allows_mode(m)]
        backward = bool(wrt) and "backward" not in declared_out
        wanted = [c for c in case.checks if c not in declared_out]
        smooth_wrt = [n for n in wrt if tensors[n].dtype.kind != "c"]
        reference = None
        tangents = w = v = None
        if smooth_wrt and backward and {"jvp", "hvp"} & set(wanted):
            reference = exact_reference(self.spec, tensors, case.options, upstream, dtype=dtype)
            conventional = self._conventional(case, tensors, upstream, reference, smooth_wrt)
            if "jvp" in wanted and len(smooth_wrt) == len(wrt):
                tangents = self._tangents(case, dtype, tensors, wrt, 1, conventional)
            if "hvp" in wanted and len(smooth_wrt) == len(wrt):
                w = self._tangents(case, dtype, tensors, wrt, 2, conventional)
                v = self._tangents(case, dtype, tensors, wrt, 3, conventional)
        request = self._request(case, dtype, tensors, upstream, wrt if backward else [], twice="twice" in wanted,
                                jvp_tangents=tangents, hvp_directions=w)
        lost: WorkerLost | None = None
        try:
            observation = self.worker.observe(request)
        except WorkerLost as error:
            lost, observation = error, error.partial
        if observation is None:  # it died in the first call: no progress at all
            self.deaths += 1
            if self.deaths >= DEATHS_BEFORE_GIVING_UP:
                self.lost = f"the worker died in the first call {self.deaths} times in a row (last: {lost.cause})"
            return [make("value", Status.ERROR, message=lost.cause + self._last_output())]
        self.deaths = 0
        if isinstance(observation.output, Raised):
            return self._raised(make, ["value"], observation.output, request, "value", case)
        # The reference is computed only for a call that returned: an unsupported dtype costs no oracle time.
        if reference is None:
            reference = exact_reference(self.spec, tensors, case.options, upstream, dtype=dtype)
        if reference.unstable:
            return [make("value", Status.UNSTABLE, message="; ".join(reference.unstable[:3]))]
        trial = Trial(self.spec, case, dtype, tensors, upstream, reference, wrt, self.target.ledgers, make)
        problem = returned_problem(observation.output, dtype, self.settings.device, reference.shape, "output")
        known_shape = problem and not returned_problem(observation.output, dtype, self.settings.device,
                                                       observation.output.shape, "output") and find_known_shape(
            case, dtype, reference, observation.output.shape, self.target.ledgers)
        if problem and not known_shape:  # no tensor of the right form: nothing to judge or differentiate
            return [make("value", Status.FAIL, message=problem), *self._inputs_result(trial, observation, dtype)]
        results = [judge_value(trial, observation.output, known_shape or "")]
        results += [make(f"grad {m}", Status.UNSUPPORTED, message="declared unsupported: mode backward",
                         declared=True) for m in wrt if not backward]
        died_in = _STEPS.get(lost.during, "value") if lost else ""
        if backward and died_in != "backward":
            results += self._grads(trial, observation, request)
        results += self._extra(trial, observation, request, wanted, declared_out, tangents, w, v)
        if lost:
            results += self._lost_step(trial, lost, died_in, wanted)
        return results + self._inputs_result(trial, observation, dtype)

    def _last_output(self) -> str:
        last = self.worker.last_output() if hasattr(self.worker, "last_output") else ""
        return f" (its last output: {last})" if last else ""

    def _lost_step(self, trial: Trial, lost: WorkerLost, died_in: str, wanted: list[str]) -> list[QuantityResult]:
        """The step the worker died in is a failure naming the cause; the case's later steps were not run."""
        order = ["backward", "twice", "jvp", "hvp"]
        quantities = {"backward": [f"grad {n}" for n in trial.wrt], "twice": ["twice"], "jvp": ["jvp"],
                      "hvp": ["hvp"]}
        results = [trial.make(q, Status.ERROR, message=lost.cause + self._last_output())
                   for q in quantities.get(died_in, [])]
        later = [s for s in order[order.index(died_in) + 1:] if s in wanted] if died_in in order else []
        skipped = f"not run: the worker died earlier in this case ({lost.cause})"
        results += [trial.make(q, Status.NOT_RUN, message=skipped) for s in later for q in quantities[s]]
        return results

    def _grads(self, trial: Trial, observation: Observation, request: CallRequest) -> list[QuantityResult]:
        names = [f"grad {n}" for n in trial.wrt]
        if observation.grads is None:
            return [trial.make(q, Status.FAIL, message="output does not require grad: the graph is detached")
                    for q in names]
        if isinstance(observation.grads, Raised):
            return self._raised(trial.make, names, observation.grads, request, "backward", trial.case)
        return [judge_gradient(trial, n, observation.grads[n], self.settings.device) for n in trial.wrt]

    def _extra(self, trial: Trial, observation: Observation, request: CallRequest, wanted: list[str],
               declared_out: list[str], tangents: Any, w: Any, v: Any) -> list[QuantityResult]:
        results = [trial.make(m, Status.UNSUPPORTED, message=f"declared unsupported: mode {m}", declared=True)
                   for m in declared_out if m in trial.case.checks]
        if "twice" in wanted and observation.repeat is not None:
            results.append(judge_repeat(trial, observation.output, observation.repeat, observation.repeat_grads))
        if tangents is not None and observation.jvp is not None:
            if isinstance(observation.jvp, Raised):
                results += self._raised(trial.make, ["jvp"], observation.jvp, request, "jvp", trial.case)
            else:
                results += [r for r in [judge_jvp(trial, observation.jvp, tangents, self.settings.device)] if r]
        if w is not None and observation.hvp is not None:
            if isinstance(observation.hvp, Raised):
                results += self._raised(trial.make, ["hvp"], observation.hvp, request, "hvp", trial.case)
            else:
                results += [r for r in [judge_hvp(trial, observation.hvp, w, v, self.settings.device)] if r]
        return results

    def _inputs_result(self, trial: Trial, observation: Observation, dtype: str) -> list[QuantityResult]:
        """One finding per case when the implementation wrote into an input (later checks ran on fresh copies)."""
        if not observation.inputs_after:  # the worker died before it could look
            return []
        expected = _input_digests(trial.tensors, dtype)
        changed = [n for n, d in expected.items() if observation.inputs_after.get(n) != d]
        if not changed:
            return []
        return [trial.make("inputs unchanged", Status.FAIL, message=f"modified in place: {', '.join(changed)}")]


def _input_digests(tensors: Mapping[str, np.ndarray], dtype: str) -> dict[str, str]:
    """The digest each input must still have after the call: its exact values in the tensor's dtype."""
    import torch

    kinds = {"f": getattr(torch, dtype), "c": getattr(torch, COMPLEX_DTYPES.get(dtype, "complex128")),
             "i": torch.int64, "u": torch.int64}
    return {n: digest(torch.tensor(v, dtype=kinds[v.dtype.kind])) for n, v in tensors.items()}


def _form(case: Case) -> str:
    """A case's form, which capabilities may describe: shape case, options and optional tensors, not values."""
    optional = sorted(t for t in case.present if case.spec.tensor(t).optional)
    options = ", ".join(f"{k}={v!r}" for k, v in sorted(case.options.items()))
    return f"{case.shape_case.name} [{options}]" + (f" +{'+'.join(optional)}" if optional else "")


def new_worker(settings: RunSettings) -> Any:
    """A worker for a unit: a process of its own, or this process with ``in_process`` (debugging only)."""
    return (InProcessWorker if settings.in_process else Worker)(settings.device, settings.timeout)
