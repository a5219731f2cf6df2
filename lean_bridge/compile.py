"""Compile the emitted Lean files with ``lake env lean`` inside a TorchLean checkout, when one can.

Compiling needs a Lean toolchain (``lake`` on ``PATH``) and a TorchLean checkout whose
``lake`` environment provides Mathlib and TorchLean. Without either, ``compile_files``
returns a ``Skipped`` result naming what is missing; that is not a failure.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

TIMEOUT_S = 1800


@dataclass
class CompileResult:
    skipped: str = ""  # why nothing was compiled; empty when compiling ran
    failures: dict[str, str] = field(default_factory=dict)  # file -> the end of Lean's output
    compiled: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


def compile_files(files: Sequence[Path], torchlean: Path | None, lake: str | None = None) -> CompileResult:
    """Run ``lake env lean FILE`` in ``torchlean`` for each file; skip when there is no toolchain or checkout."""
    lake = lake or shutil.which("lake")
    if lake is None:
        return CompileResult(skipped="no Lean toolchain: `lake` is not on PATH (elan installs one)")
    if torchlean is None:
        return CompileResult(skipped="no TorchLean checkout given (--torchlean PATH)")
    result = CompileResult()
    for path in files:
        try:
            run = subprocess.run([lake, "env", "lean", str(path.resolve())], cwd=torchlean, capture_output=True,
                                 text=True, timeout=TIMEOUT_S)
        except (OSError, subprocess.TimeoutExpired) as error:
            result.failures[str(path)] = str(error)
            continue
        if run.returncode == 0:
            result.compiled.append(str(path))
        else:
            result.failures[str(path)] = (run.stdout + run.stderr)[-2000:]
    return result
