"""The worker process's entry point: ``python -m losscheck.conformance.worker_main``.

A module of its own, imported by nothing else, so that the driver's classes keep their package
names when the worker pickles them (see ``driver.serve``).
"""

from losscheck.conformance.driver import serve

serve()
