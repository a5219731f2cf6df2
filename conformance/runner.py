"""Hold an implementation against the oracle, case by case, dtype by dtype.

For each case and dtype: draw and round the inputs, compute the exact
reference, call the implementation (under a time limit), check the output's
dtype, shape and value, backpropagate a random upstream gradient and check
every gradient, and check that no input was modified in place. Every check
yields a ``QuantityResult``; nothing is dropped when an implementation
crashes or hangs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import mpmath
import numpy as np
import torch

from ..derivations.symbolic import variant_key
from ..derivations.units import split_units
from ..spec import LossSpec, get_spec
from .cases import COMPLEX_DTYPES, Case, expandable, generate_cases, round_to
from .compare import Comparison, compare
from .deviations import find_known, find_known_claim
from .extra_checks import check_twice, double_backward, forward_mode, hvp_claim, jvp_claim, random_like
from .gradient_checks import verify_gradients
from .implementations import (
    Implementation,
    TimeLimitExceeded,
    UsageError,
    is_unsupported,
    pytorch_implementation,
    time_limit,
)
from .layouts import place
from .oracle import Reference, differentiated, exact_reference, same_value
from .probes import probe_cases
from .replay import Reproducer
from .reproducer import reproducer
from .shrink import shrink
from .tolerance import DTYPES, branch_ambiguous, ulp

FAILING = ("fail", "error", "unstable")


@dataclass
class QuantityResult:
    """One checked quantity of one case: ``value`` or ``grad NAME`` (or a whole-case error).

    status: pass | fail | known (a recorded PyTorch deviation) | unsupported |
    error (crash, hang, wrong type) | unstable (the oracle itself moved).
    """

    loss: str
    dtype: str
    case: str
    quantity: str
    status: str
    worst_ulps: float = 0.0
    worst_relative: float = 0.0
    worst_ratio: float = 0.0
    worst_index: int = -1
    expected: str = ""
    got: str = ""
    message: str = ""
    reproducer: str = ""
    input_size: int = 0
    shrunk_case: str = ""
    shrunk_expected: str = ""
    shrunk_got: str = ""
    shrunk_reproducer: str = ""

    @property
    def direction(self) -> str:
        return "backward" if self.quantity.startswith(("grad", "hvp")) else "forward"


@dataclass
class Result:
    """Everything one run checked. ``ok`` is False if anything failed."""

    results: list[QuantityResult] = field(default_factory=list)
    spec_problems: list[str] = field(default_factory=list)
    cases: dict[tuple[str, str], Case] = field(default_factory=dict, repr=False)
    """(loss, case name) → the Case, for the failures' shrunk cases and reproducer files."""

    def merge(self, other: Result) -> None:
        self.results.extend(other.results)
        self.spec_problems.extend(other.spec_problems)
        self.cases.update(other.cases)

    def smallest_failures(self) -> list[QuantityResult]:
        """Per failing (loss, dtype, direction), its failing check with the fewest input elements."""
        picked = []
        for rows in self.groups().values():
            failing = [r for r in rows if r.status in FAILING]
            if failing:
                picked.append(min(failing, key=lambda r: (r.input_size, -r.worst_ratio)))
        return picked

    @property
    def ok(self) -> bool:
        return not self.spec_problems and not any(r.status in FAILING for r in self.results)

    @property
    def failures(self) -> list[QuantityResult]:
        return [r for r in self.results if r.status in FAILING]

    def groups(self) -> dict[tuple[str, str, str], list[QuantityResult]]:
        """Results by (loss, dtype, direction), in run order."""
        grouped: dict[tuple[str, str, str], list[QuantityResult]] = {}
        for r in self.results:
            grouped.setdefault((r.loss, r.dtype, r.direction), []).append(r)
        return grouped

    def summary(self) -> str:
        lines = []
        for (loss, dtype, direction), rows in self.groups().items():
            lines.append(f"{loss:34s} {dtype:9s} {direction:8s} {verdict(rows):11s} "
                         f"worst {max(r.worst_ulps for r in rows):.3g} ulp")
        lines.extend(f"spec problem: {p}" for p in self.spec_problems)
        lines.append("OK" if self.ok else f"FAILED: {len(self.failures)} non-conforming checks")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def verdict(rows: Sequence[QuantityResult]) -> str:
    """A group's verdict: FAIL beats UNSTABLE beats KNOWN beats PASS; all-unsupported is UNSUPPORTED."""
    statuses = {r.status for r in rows}
    if statuses & {"fail", "error"}:
        return "FAIL"
    if "unstable" in statuses:
        return "UNSTABLE"
    if statuses == {"unsupported"}:
        return "UNSUPPORTED"
    if "known" in statuses:
        return "KNOWN"
    return "PASS"


def _format(value: Any) -> str:
    return "" if value is None else str(value)


@dataclass
class _Trial:
    """One case in one dtype: its exact values, reference, torch inputs and call arguments."""

    case: Case
    dtype: str
    tensors: dict[str, np.ndarray]
    upstream: np.ndarray
    reference: Reference | None  # None until the implementation has returned
    inputs: dict[str, torch.Tensor]
    make: Callable[..., QuantityResult]

    @property
    def wrt(self) -> list[str]:
        return list(self.reference.grads)

    def arguments(self, spec: LossSpec, inputs: dict[str, torch.Tensor] | None = None
                  ) -> tuple[list[torch.Tensor], dict[str, Any]]:
        """Positional tensors and keywords (optional tensors, then options), the F.<loss> way."""
        inputs = self.inputs if inputs is None else inputs
        positional = [inputs[t.name] for t in spec.required_tensors]
        keywords: dict[str, Any] = {n: t for n, t in inputs.items() if spec.tensor(n).optional}
        keywords.update(self.case.options)
        return positional, keywords


class CaseRunner:
    """Runs one case in one dtype against one implementation."""

    def __init__(self, spec: LossSpec, impl: Implementation, device: str, timeout: float):
        self.spec, self.impl, self.device, self.timeout = spec, impl, device, timeout
        self.hung: str = ""  # set once the implementation times out: later cases are not run

    def run(self, case: Case, dtype: str) -> list[QuantityResult]:
        tensors = case.tensors(dtype)
        upstream = case.upstream(dtype)
        repro = reproducer(self.spec, case, dtype, tensors, upstream)
        size = sum(int(v.size) for v in tensors.values())

        def make(quantity: str, status: str, **details: Any) -> QuantityResult:
            return QuantityResult(self.spec.name, dtype, case.name, quantity, status, reproducer=repro,
                                  input_size=size, **details)

        if self.hung:
            return [make("value", "error", message=f"not run: {self.hung}")]
        if any(v.dtype.kind == "c" for v in tensors.values()) and dtype not in COMPLEX_DTYPES:
            return [make("value", "unsupported", message=f"{dtype} has no complex counterpart")]
        torch_dtype = getattr(torch, dtype)
        kinds = {"f": torch_dtype, "c": getattr(torch, COMPLEX_DTYPES.get(dtype, dtype)), "i": torch.int64,
                 "u": torch.int64}
        wrt = set(differentiated(self.spec, tensors, case.options))
        expand = set(expandable(self.spec, case.shape_case, case.present)) if case.layout == "expanded" else set()
        inputs = {name: place(v, kinds[v.dtype.kind], self.device, case.layout, name in wrt, name in expand)
                  for name, v in tensors.items()}
        trial = _Trial(case, dtype, tensors, upstream, None, inputs, make)
        snapshot = {name: t.detach().clone() for name, t in inputs.items()}
        positional, keywords = trial.arguments(self.spec)
        try:
            with time_limit(self.timeout):
                output = self.impl(*positional, **keywords)
        except (Exception, SystemExit) as error:  # the implementation under test may raise anything
            return [make("value", self._classify(error, trial), message=_one_line(error))]
        # The reference is computed only for a call that returned: an unsupported dtype costs no oracle time.
        trial.reference = exact_reference(self.spec, tensors, case.options, upstream)
        if trial.reference.unstable:
            return [make("value", "unstable", message="; ".join(trial.reference.unstable[:3]))]
        results = [self._check_value(trial, output)]
        if results[0].status != "error" and trial.wrt:
            results += self._check_grads(trial, output)
        if results[0].status != "error" and case.checks:
            results += self._extra_checks(trial, output)
        changed = [n for n, t in inputs.items() if not _same_bits(t.detach(), snapshot[n])]
        if changed:
            results.append(make("inputs unchanged", "error", message=f"modified in place: {', '.join(changed)}"))
        return results

    def _classify(self, error: BaseException, trial: _Trial, backward: bool = False) -> str:
        """unsupported only when PyTorch itself has no kernel for these inputs; else an error."""
        if isinstance(error, TimeLimitExceeded):
            self.hung = f"the implementation hung earlier ({error})"
            return "error"
        if is_unsupported(error) and self._pytorch_lacks_kernel(trial, backward):
            return "unsupported"
        return "error"

    def _pytorch_lacks_kernel(self, trial: _Trial, backward: bool) -> bool:
        """Does PyTorch's own function raise "not implemented" here (forward, or also backward)?"""
        positional, keywords = trial.arguments(self.spec)
        try:
            output = pytorch_implementation(self.spec.name)(*positional, **keywords)
            if backward:
                torch.autograd.grad(output.sum(), [trial.inputs[n] for n in trial.wrt], allow_unused=True)
        except Exception as error:  # whatever PyTorch raises, only "not implemented" counts
            return is_unsupported(error)
        return False

    def _extra_checks(self, trial: _Trial, output: torch.Tensor) -> list[QuantityResult]:
        """The case's ``checks`` (see ``extra_checks``): twice, jvp, hvp."""
        results = []
        for check in trial.case.checks:
            try:
                with time_limit(self.timeout):
                    result = getattr(self, f"_check_{check}")(trial, output, self.impl)
            except (Exception, SystemExit) as error:  # the implementation may not support the mode at all
                status = self._classify(error, trial)
                if status == "error" and not isinstance(error, TimeLimitExceeded):
                    status = self._pytorch_cannot(check, trial, output)
                result = trial.make(check, status, message=_one_line(error))
            if result is not None:
                results.append(result)
        return results

    def _pytorch_cannot(self, check: str, trial: _Trial, output: torch.Tensor) -> str:
        """'unsupported' when PyTorch's own function cannot do ``check`` either; else 'error'."""
        try:
            with time_limit(self.timeout):
                getattr(self, f"_check_{check}")(trial, output, pytorch_implementation(self.spec.name))
        except Exception:  # whatever PyTorch raises: it has no such mode for these inputs
            return "unsupported"
        return "error"

    def _caller(self, trial: _Trial, impl: Implementation) -> Callable[[dict[str, torch.Tensor]], Any]:
        def call(inputs: dict[str, torch.Tensor]) -> Any:
            positional, keywords = trial.arguments(self.spec, inputs)
            return impl(*positional, **keywords)
        return call

    def _upstream_tensor(self, trial: _Trial, output: torch.Tensor) -> torch.Tensor:
        return torch.tensor(trial.upstream, dtype=output.dtype, device=output.device)

    def _check_twice(self, trial: _Trial, output: torch.Tensor, impl: Implementation) -> QuantityResult:
        call = self._caller(trial, impl)
        problem = check_twice(lambda: call(trial.inputs), output, [trial.inputs[n] for n in trial.wrt],
                              self._upstream_tensor(trial, output))
        return trial.make("twice", "error" if problem else "pass", message=problem)

    def _tangents(self, trial: _Trial, salt: int) -> dict[str, np.ndarray]:
        """Random directions, zero at a domain's ends (a one-sided or infinite derivative: KL at t = 0) and
        where PyTorch's stated backward convention departs from the derivative (see ``_conventional``)."""
        rng = np.random.default_rng([trial.case.seed, trial.case.number, salt])
        conventional = self._conventional(trial)
        tangents = {}
        for n in trial.wrt:
            values = trial.tensors[n]
            domain = trial.case.shape_case.domains.get(n, self.spec.tensor(n).domain_for(trial.case.options))
            ends = np.isin(values, [e for e in (domain.lo, domain.hi, *domain.edges) if np.isfinite(e)])
            ends |= conventional.get(n, False)
            tangents[n] = np.where(ends, 0.0, round_to(random_like(rng, values), trial.dtype))
        return tangents

    def _conventional(self, trial: _Trial) -> dict[str, np.ndarray]:
        """Per differentiated tensor, where the backward convention differs from the derivative of the math
        (an active clamp: gaussian_nll_loss's var below eps). There forward mode may follow either (PyTorch's
        follows the math for gaussian_nll_loss and the convention for binary_cross_entropy) and double
        backward differentiates the convention as if the clamp were the identity, so neither is pinned."""
        if trial.reference.math_grads is not None:
            math = trial.reference.math_grads
        elif self.spec.gradient_conventions:
            math = exact_reference(self.spec, trial.tensors, trial.case.options, trial.upstream,
                                   conventions=False).grads
        else:
            return {}
        return {n: np.array([not same_value(a, b, mpmath.mpf(1)) for a, b in zip(trial.reference.grads[n], math[n])],
                            dtype=bool).reshape(trial.tensors[n].shape)
                for n in trial.wrt if n in math}

    def _check_jvp(self, trial: _Trial, output: torch.Tensor, impl: Implementation) -> QuantityResult | None:
        if not trial.wrt or any(trial.tensors[n].dtype.kind == "c" for n in trial.wrt):
            return None
        if any(branch_ambiguous(trial.dtype, b.slack) for n in trial.wrt for b in trial.reference.grad_bounds[n]):
            return None  # within rounding of a kink: a correct kernel may take either branch
        if any(mpmath.isnan(v) for v in trial.reference.value):
            return None  # a NaN loss (an all-ignored mean, 0/0) has no derivative to hold a tangent to
        tangents = self._tangents(trial, 1)
        torch_tangents = {n: torch.tensor(t, dtype=output.dtype, device=self.device) for n, t in tangents.items()}
        got = forward_mode(self._caller(trial, impl), trial.inputs, torch_tangents)
        if got.shape != output.shape or got.dtype != output.dtype:
            return trial.make("jvp", "error", message=f"output tangent {got.dtype}{tuple(got.shape)}, expected "
                              f"{output.dtype}{tuple(output.shape)}")
        got_values = got.to("cpu", torch.float64).numpy()
        exact, projected, allowed = jvp_claim(trial.reference, trial.upstream, tangents, got_values, trial.dtype,
                                              max(sum(t.size for t in tangents.values()), 1))
        return self._judge_scalar(trial, "jvp", exact, projected, allowed)

    def _check_hvp(self, trial: _Trial, output: torch.Tensor, impl: Implementation) -> QuantityResult | None:
        if not trial.wrt or any(trial.tensors[n].dtype.kind == "c" for n in trial.wrt):
            return None
        w, v = self._tangents(trial, 2), self._tangents(trial, 3)
        torch_w = {n: torch.tensor(t, dtype=output.dtype, device=self.device) for n, t in w.items()}
        got = double_backward(self._caller(trial, impl), trial.inputs, trial.wrt,
                              self._upstream_tensor(trial, output), torch_w)
        got_values = {n: h.to("cpu", torch.float64).numpy() for n, h in got.items()}
        claim = hvp_claim(self.spec, trial.tensors, trial.case.options, trial.upstream, w, v, got_values,
                          trial.dtype, max(sum(t.size for t in w.values()), 1))
        if claim is None:  # not smooth at this point: no second-order claim
            return None
        return self._judge_scalar(trial, "hvp", *claim)

    def _judge_scalar(self, trial: _Trial, quantity: str, exact: Any, got: Any, allowed: Any) -> QuantityResult:
        shown = f"projection {mpmath.nstr(got, 12)} against exact {mpmath.nstr(exact, 12)}"
        expected, returned = mpmath.nstr(exact, 17), mpmath.nstr(got, 17)
        if not (mpmath.isfinite(got) and mpmath.isfinite(exact)):  # special values must match exactly
            same = (mpmath.isnan(got) and mpmath.isnan(exact)) or got == exact
            exact, got, allowed = mpmath.mpf(1), mpmath.mpf(1 if same else "inf"), mpmath.mpf(1)
        error = abs(got - exact)
        ratio = float(error / allowed) if allowed else (0.0 if error == 0 else float("inf"))
        ulps = float(error / ulp(exact, trial.dtype))
        relative = float(error / abs(exact)) if exact else 0.0
        status, message = "pass", ""
        if not error <= allowed:
            known = find_known_claim(trial.case, quantity, trial.dtype, trial.reference, relative)
            status = "known" if known else "fail"
            message = f"known deviation {known}" if known else f"{shown}, allowed ±{mpmath.nstr(allowed, 3)}"
        return trial.make(quantity, status, worst_ulps=ulps, worst_relative=relative, worst_ratio=ratio,
                          worst_index=0, expected=expected, got=returned, message=message)

    def _check_value(self, trial: _Trial, output: Any) -> QuantityResult:
        torch_dtype = getattr(torch, trial.dtype)
        problem = ""
        if not isinstance(output, torch.Tensor):
            problem = f"returned {type(output).__name__}, not a tensor"
        elif output.dtype != torch_dtype:
            problem = f"output dtype {output.dtype}, expected {torch_dtype}"
        elif output.device.type != self.device:
            problem = f"output on {output.device}, expected {self.device}"
        elif tuple(output.shape) != trial.reference.shape:
            problem = f"output shape {tuple(output.shape)}, expected {trial.reference.shape}"
        if problem:
            return trial.make("value", "error", message=problem)
        got = output.detach().to("cpu", torch.float64).numpy()
        return self._judge(trial, "value", trial.reference.value, trial.reference.value_bounds, got)

    def _check_grads(self, trial: _Trial, output: torch.Tensor) -> list[QuantityResult]:
        if not output.requires_grad:
            return [trial.make(f"grad {n}", "error", message="output does not require grad: the graph is detached")
                    for n in trial.wrt]
        delta = torch.tensor(trial.upstream, dtype=output.dtype, device=output.device)
        try:
            with time_limit(self.timeout):
                grads = torch.autograd.grad(output, [trial.inputs[n] for n in trial.wrt], delta, allow_unused=True)
        except (Exception, SystemExit) as error:  # the implementation's backward may raise anything
            status = self._classify(error, trial, backward=True)
            return [trial.make(f"grad {n}", status, message=_one_line(error)) for n in trial.wrt]
        results = []
        for name, grad in zip(trial.wrt, grads):
            quantity = f"grad {name}"
            expected = trial.inputs[name]
            if grad is None:  # not connected to the output: its gradient is zero
                grad = torch.zeros_like(expected)
            if grad.dtype != expected.dtype or grad.shape != expected.shape:
                results.append(trial.make(quantity, "error", message=f"gradient {grad.dtype}{tuple(grad.shape)},"
                                          f" expected {expected.dtype}{tuple(expected.shape)}"))
                continue
            if grad.is_complex():  # compared part by part: (re, im) interleaved, as the reference holds it
                grad = torch.view_as_real(grad.detach().to("cpu", torch.complex128).resolve_conj())
            got = grad.detach().to("cpu", torch.float64).numpy()
            results.append(self._judge(trial, quantity, trial.reference.grads[name],
                                       trial.reference.grad_bounds[name], got))
        return results

    def _judge(self, trial: _Trial, quantity: str, exact: Sequence, bounds: Sequence,
               got: np.ndarray) -> QuantityResult:
        """Compare, then look failures up among the known deviations.

        A known deviation's elements are left out of the reported error figures,
        so the rest of the tensor's accuracy stays visible.
        """
        derivative = quantity != "value"
        comparison = compare(exact, bounds, got, trial.dtype, derivative=derivative)
        status, message = "pass", ""
        if not comparison.ok:
            known = find_known(trial.case, quantity, trial.dtype, trial.tensors, trial.reference,
                               comparison.failing, got)
            status = "known" if known else "fail"
            message = f"known deviation {known}" if known else (
                f"{len(comparison.failing)} of {got.size} elements outside tolerance"
                + self._convention_note(comparison))
            if known:
                comparison = compare(exact, bounds, got, trial.dtype, skip=set(comparison.failing),
                                     derivative=derivative)
        return trial.make(quantity, status, worst_ulps=comparison.worst_ulps,
                          worst_relative=comparison.worst_relative, worst_ratio=comparison.worst_ratio,
                          worst_index=comparison.worst_index, expected=_format(comparison.worst_exact),
                          got=_format(comparison.worst_got), message=message)


    def _convention_note(self, comparison: Comparison) -> str:
        """Names a failure at an exact kink a convention mismatch, with the conventions the spec states."""
        if not comparison.at_kink:
            return ""
        stated = "; ".join(f"{c.name}: {c.text}" for c in self.spec.conventions) or "none stated"
        return (f"; convention mismatch at a kink: {len(comparison.at_kink)} of them read a unit exactly on a kink "
                f"(a branch argument is 0), where the spec states PyTorch's convention ({stated})")


_BITS = {1: torch.uint8, 2: torch.int16, 4: torch.int32, 8: torch.int64}


def _same_bits(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Bitwise equality, so NaN payloads and signed zeros count too."""
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.element_size() not in _BITS:  # complex128: compare its real view
        a, b = torch.view_as_real(a), torch.view_as_real(b)
    bits = _BITS[a.element_size()]
    return bool(torch.equal(a.contiguous().view(bits), b.contiguous().view(bits)))


def _one_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}"


def check_loss(spec: LossSpec, impl: Implementation, dtypes: Sequence[str], device: str, seed: int,
               timeout: float, options: Mapping[str, Any] | None = None, fail_fast: bool = False) -> Result:
    """Run the option grid and the probes of ``spec`` in every dtype, then shrink each failure.

    The symbolic gradients are verified once per variant of the grid. ``options`` fixes options
    to one value each instead of sweeping their grids. ``fail_fast`` stops at the first failing
    check and does not shrink it.
    """
    result = Result()
    runner = CaseRunner(spec, impl, device, timeout)
    verified: set = set()
    grid = generate_cases(spec, seed, options)
    for case in grid:
        tensors = case.tensors("float64")
        key = variant_key(spec, case.present, split_units(spec, tensors, case.options), case.options)
        if key not in verified:
            verified.add(key)
            result.spec_problems.extend(verify_gradients(spec, case, tensors))
    for case in grid + probe_cases(spec, seed, first_number=len(grid), fixed=options):
        result.cases[(spec.name, case.name)] = case
        for dtype in dtypes:
            result.results.extend(runner.run(case, dtype))
            if fail_fast and not result.ok:
                return result
    _shrink_failures(result, runner)
    return result


def _shrink_failures(result: Result, runner: CaseRunner) -> None:
    """Attach to each group's smallest failure the shrunk case that still fails (see ``shrink``)."""
    for failure in result.smallest_failures():
        if runner.hung:
            return
        case = result.cases[(failure.loss, failure.case)]

        def fails(candidate: Case, failure: QuantityResult = failure) -> bool:
            return not runner.hung and any(r.quantity == failure.quantity and r.status in FAILING
                                           for r in runner.run(candidate, failure.dtype))

        try:
            shrunk = shrink(case, failure.dtype, fails)
        except Exception:  # shrinking is a convenience: the unshrunk failure stands as reported
            continue
        if shrunk is case:
            continue
        again = [r for r in runner.run(shrunk, failure.dtype) if r.quantity == failure.quantity and r.status in FAILING]
        if not again:
            continue
        result.cases[(failure.loss, shrunk.name)] = shrunk
        failure.shrunk_case, failure.shrunk_reproducer = shrunk.name, again[0].reproducer
        failure.shrunk_expected, failure.shrunk_got = again[0].expected, again[0].got


def _validate(loss: str, dtypes: Sequence[str], device: str) -> LossSpec:
    try:
        spec = get_spec(loss)
    except KeyError as error:
        raise UsageError(error.args[0]) from None
    unknown = [d for d in dtypes if d not in DTYPES]
    if unknown or not dtypes:
        raise UsageError(f"unknown dtype {', '.join(unknown) or '(none)'}; choose from {', '.join(DTYPES)}")
    if device not in ("cpu", "cuda"):
        raise UsageError(f"unknown device {device!r}; choose cpu or cuda")
    if device == "cuda" and not torch.cuda.is_available():
        raise UsageError("device cuda requested but torch.cuda.is_available() is False")
    return spec


def check(loss: str, impl: Implementation | None = None, dtypes: Sequence[str] = DTYPES,
          device: str = "cpu", seed: int = 0, timeout: float = 20.0,
          options: Mapping[str, Any] | None = None, fail_fast: bool = False) -> Result:
    """Check ``impl`` (default: PyTorch's own function) for the loss named ``loss``.

    ``options`` fixes some of the loss's options (``{"distance_function": "mymod:dist"}``)
    instead of sweeping their grids; ``fail_fast`` stops at the first failing check (same ``.ok``,
    shorter run). Raises UsageError for an unknown loss, dtype,
    device or option. Returns a Result whose ``.ok`` says whether every case conformed.
    """
    spec = _validate(loss, list(dtypes), device)
    for name, value in (options or {}).items():
        if name not in {o.name for o in spec.options}:
            raise UsageError(f"{loss} has no option {name!r}")
        try:
            spec.option(name).validate(value)
        except ValueError as error:
            raise UsageError(str(error)) from None
    implementation = impl if impl is not None else pytorch_implementation(loss)
    return check_loss(spec, implementation, list(dtypes), device, seed, timeout, options, fail_fast)


def replay(recorded: Reproducer, impl: Implementation | None = None, timeout: float = 20.0) -> list[QuantityResult]:
    """Run a reproducer file's case again: its quantities against the oracle (``impl`` default: PyTorch's)."""
    _validate(recorded.spec.name, [recorded.dtype], recorded.device)
    implementation = impl if impl is not None else pytorch_implementation(recorded.spec.name)
    return CaseRunner(recorded.spec, implementation, recorded.device, timeout).run(recorded.case, recorded.dtype)
