"""The ``kinetic demo``: realistic Accounts and Contacts loaded into the embedded org and exported back.

Example:
    >>> from kinetic_core.demo import run_demo
    >>> summary = run_demo(client, Path("/tmp/demo"), records=10_000)  # doctest: +SKIP
"""

from __future__ import annotations

from kinetic_core.demo.data import DemoFiles, generate
from kinetic_core.demo.run import DemoFailure, DemoSummary, StepResult, run_demo

__all__ = ["DemoFailure", "DemoFiles", "DemoSummary", "StepResult", "generate", "run_demo"]
