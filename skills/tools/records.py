"""What one tool call leaves behind: plain data the tools produce and the solver's trace keeps.

It lives with the tools, the lower layer, so the registry never imports the solver.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class ToolCallRecord:
    tool: str
    arguments: dict[str, Any]
    summary: str
    duration_ms: float
    error: str = ""
