"""``CaseRunner._pytorch_lacks``: a target's error is excused as "PyTorch itself does not support this" only where
PyTorch's own eager function says it has no kernel or no derivative for that form and mode, never because eager
raised something else or could not be asked at all (a compiled-path error must stay an error)."""

import numpy as np
import pytest
from losscheck.conformance.driver import CallRequest, Observation, Raised, Returned
from losscheck.conformance.runner import CaseRunner, RunSettings
from losscheck.conformance.targets import CompileSettings, TargetRef
from losscheck.spec import get_spec

RETURNED = Returned(np.zeros(()), "float64", (), "cpu")
NO_HALF = Raised("NotImplementedError", "\"multi_margin_loss_cpu_kernel\" not implemented for 'Half'", True)
NO_FORWARD_AD = Raised("NotImplementedError", "Trying to use forward AD with multi_margin_loss that does not support "
                       "it because it has not been implemented yet.", True)
NO_DOUBLE_BACKWARD = Raised("RuntimeError", "derivative for aten::multi_margin_loss_backward is not implemented")
OTHER = Raised("RuntimeError", "unsupported operation: more than one element of the written-to tensor refers to a "
               "single memory location. Please clone() the tensor before performing the operation.")


class EagerSays:
    """PyTorch's eager function, answering with a fixed observation (or failing to be asked)."""

    def __init__(self, observation):
        self.observation = observation

    def observe(self, request):
        if isinstance(self.observation, Exception):
            raise self.observation
        return self.observation


def lacks(observation, mode):
    runner = CaseRunner.__new__(CaseRunner)
    runner.spec, runner.settings = get_spec("multi_margin_loss"), RunSettings()
    runner._pytorch = EagerSays(observation)
    target = TargetRef("multi_margin_loss", compile=CompileSettings())
    request = CallRequest(target, "float64", {}, (), (), {}, (), (), "contiguous", (), np.ones(()))
    return runner._pytorch_lacks(request, mode)


@pytest.mark.parametrize("observation, mode", [
    (Observation(NO_HALF), "value"),
    (Observation(RETURNED, jvp=NO_FORWARD_AD), "jvp"),
    (Observation(RETURNED, hvp=NO_DOUBLE_BACKWARD), "hvp"),
    (Observation(RETURNED, hvp=Raised("RuntimeError", "torch.compile does not currently support double backward")),
     "hvp")])
def test_pytorch_words_for_a_missing_kernel_or_derivative_excuse(observation, mode):
    assert lacks(observation, mode)


@pytest.mark.parametrize("observation, mode", [
    (Observation(RETURNED), "value"),  # eager runs it: the target's error is its own
    (Observation(RETURNED, grads={"input": RETURNED}), "backward"),
    (Observation(RETURNED, jvp=OTHER), "jvp"),  # eager fails too, but not for want of an implementation
    (Observation(RETURNED, hvp=OTHER), "hvp"),
    (Observation(RETURNED, grads=Raised("RuntimeError", "boom")), "backward"),
    (Observation(NO_HALF), "backward"),  # no eager forward kernel says nothing of the target's own backward
    (Observation(Raised("RuntimeError", "shape mismatch")), "value"),
    (RuntimeError("the parent's PyTorch could not be asked"), "value"),
    (RuntimeError("the parent's PyTorch could not be asked"), "hvp")])
def test_anything_else_excuses_nothing(observation, mode):
    assert not lacks(observation, mode)
