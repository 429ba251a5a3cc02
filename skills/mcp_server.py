"""Serve the read-only tool registry over MCP, confined to one repository.

The SDK is imported inside build_server on purpose: creating an MCPServer configures logging, so
only the serving command (and tests) should pay for it.
"""

from __future__ import annotations

import inspect
import logging
from typing import TYPE_CHECKING, Any

from skills.tools import REGISTRY, RepoSandbox, Tool, call_tool

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

logger = logging.getLogger(__name__)

INSTRUCTIONS = (
    "Read-only tools over one git repository (Wattson). Paths are relative to the repository "
    "root; nothing outside it, and nothing in .git, can be read. Nothing can be written."
)
_PYTHON_TYPES = {"string": str, "integer": int, "number": float, "boolean": bool}


def _wrapper(sandbox: RepoSandbox, tool: Tool):
    """A function whose signature mirrors tool.input_schema, so the SDK can bind arguments.

    The SDK derives its argument model from the signature; the schema clients see is replaced by
    the registry's own (stricter) one, and call_tool validates against that schema again.
    """
    properties: dict[str, Any] = tool.input_schema.get("properties", {})
    required = set(tool.input_schema.get("required", []))
    parameters = []
    for name, spec in properties.items():
        # Annotated `str` even when optional: the SDK would otherwise try to JSON-decode string
        # arguments (a search pattern like "[0-9]+" must stay a string).
        annotation = _PYTHON_TYPES.get(spec.get("type", "string"), str)
        default = inspect.Parameter.empty if name in required else None
        parameters.append(
            inspect.Parameter(
                name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation
            )
        )

    def run(**arguments: Any) -> str:
        from mcp.server.mcpserver.exceptions import ToolError as MCPToolError

        given = {key: value for key, value in arguments.items() if value is not None}
        text, record = call_tool(sandbox, tool.name, given)
        logger.info(
            "mcp %s %s -> %s (%.0f ms)", tool.name, given, record.summary, record.duration_ms
        )
        if record.error:
            # An is_error result for the client, not a crash of the server.
            raise MCPToolError(record.error)
        return text

    run.__name__ = tool.name
    run.__doc__ = tool.description
    run.__signature__ = inspect.Signature(parameters, return_annotation=str)  # type: ignore[attr-defined]
    return run


def build_server(sandbox: RepoSandbox, *, name: str = "wattson") -> MCPServer:
    """An MCPServer exposing every registry tool with its explicit JSON schema."""
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.tools.base import Tool as MCPTool
    from mcp_types import ToolAnnotations

    read_only = ToolAnnotations(read_only_hint=True, destructive_hint=False, open_world_hint=False)
    tools = []
    for tool in REGISTRY.values():
        mcp_tool = MCPTool.from_function(
            _wrapper(sandbox, tool),
            name=tool.name,
            description=tool.description,
            annotations=read_only,
            structured_output=False,
        )
        # The advertised schema says additionalProperties: false; make the SDK's argument model
        # (built fresh for this wrapper) refuse unknown arguments too instead of dropping them.
        arg_model = mcp_tool.fn_metadata.arg_model
        arg_model.model_config["extra"] = "forbid"
        arg_model.model_rebuild(force=True)
        tools.append(mcp_tool.model_copy(update={"parameters": tool.input_schema}))
    return MCPServer(name=name, instructions=INSTRUCTIONS, tools=tools)
