"""The solve's trace: every tool call and every step of the solver's own, as they happen.

Both backends record through a Tracer, so the page's live status and the stored trace read the
same whichever backend ran.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from skills.solver.types import SolveContext, ToolCallRecord
from skills.tools import RepoSandbox, call_tool

logger = logging.getLogger(__name__)

Progress = Callable[[ToolCallRecord], None]
Step = Callable[..., None]  # Tracer.step's signature: (name, arguments, summary, started, error)


def make_sandbox(root: Path, context: SolveContext) -> RepoSandbox:
    """The read-only tool registry's view of the scratch worktree, with the skills' documents."""
    docs = {s.slug: f"{s.instructions}\n\n{s.mitigation}".strip() for s in context.skills}
    return RepoSandbox(
        root,
        root_cause_commit=context.root_cause.commit if context.root_cause else None,
        skill_docs=docs,
    )


class Tracer:
    """Calls tools and records every call, including the solver's own steps.

    `progress`, when given, hears of each record as it is made (the live status on the page).
    """

    def __init__(self, sandbox: RepoSandbox | None, progress: Progress | None = None) -> None:
        self.sandbox = sandbox
        self.records: list[ToolCallRecord] = []
        self.progress = progress

    def record(self, record: ToolCallRecord) -> None:
        """Keep one record and tell the listener, whose failure must never break a solve."""
        self.records.append(record)
        if self.progress is not None:
            try:
                self.progress(record)
            except Exception:  # live status is a nicety
                logger.exception("solve progress listener failed")

    def tool(self, name: str, arguments: dict[str, Any]) -> str:
        """Call a read-only tool and trace it; its text, or "" when it failed."""
        started = time.perf_counter()
        if self.sandbox is None:
            self.record(ToolCallRecord(name, arguments, "", 0.0, error="tool registry unavailable"))
            return ""
        try:
            text, record = call_tool(self.sandbox, name, arguments)
        except Exception as exc:  # a tool failing must not stop the solve; it is traced
            elapsed = (time.perf_counter() - started) * 1000
            self.record(ToolCallRecord(name, arguments, "", elapsed, error=str(exc)))
            return ""
        self.record(record)
        return text if not record.error else ""

    def step(
        self, name: str, arguments: dict[str, Any], summary: str, started: float, error: str = ""
    ) -> None:
        """Trace one of the solver's own steps, begun at `started` (time.perf_counter())."""
        elapsed = (time.perf_counter() - started) * 1000
        self.record(ToolCallRecord(name, arguments, summary[:500], round(elapsed, 2), error[:2000]))
