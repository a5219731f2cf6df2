"""losscheck: loss functions checked against symbolic specs and an exact oracle, in ULPs.

``losscheck.check(loss, impl=None, dtypes=..., device="cpu", seed=0)`` runs the
conformance check for one loss and returns a Result with ``.ok``.
"""

from .conformance.api import check
from .conformance.implementations import UsageError
from .conformance.results import Result

__all__ = ["Result", "UsageError", "check"]
__version__ = "0.1.0"
