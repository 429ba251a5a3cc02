"""Read-only tools the solver (and the MCP server) use to gather context from a repository.

Every tool takes a RepoSandbox first and returns text; call_tool validates, runs, caps and times a
call and never raises for a tool's own errors.
"""

from skills.tools.registry import REGISTRY, Tool, call_tool, skill_docs, tool_definitions
from skills.tools.sandbox import MAX_OUTPUT_BYTES, TRUNCATED, RepoSandbox, ToolError

__all__ = [
    "MAX_OUTPUT_BYTES",
    "REGISTRY",
    "TRUNCATED",
    "RepoSandbox",
    "Tool",
    "ToolError",
    "call_tool",
    "skill_docs",
    "tool_definitions",
]
