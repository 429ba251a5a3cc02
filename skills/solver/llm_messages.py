"""Plain-data helpers for the Anthropic conversation: content blocks, the transcript, errors.

No `anthropic` import: the backend hands these the SDK's objects and bodies.
"""

from __future__ import annotations

import json
from typing import Any

# What the transcript keeps of one tool result: the run's record, not a copy of the repository.
TRANSCRIPT_BLOCK_CHARS = 8000


def with_final_newline(text: str) -> str:
    return text if text.endswith("\n") else text + "\n"


def block_dict(block: Any) -> dict[str, Any]:
    """A response content block as the plain dict the next request sends back."""
    data = block.model_dump(exclude_none=True) if hasattr(block, "model_dump") else dict(block)
    kind = data.get("type")
    if kind == "text":
        return {"type": "text", "text": data.get("text", "")}
    if kind == "tool_use":
        return {
            "type": "tool_use",
            "id": data["id"],
            "name": data["name"],
            "input": data.get("input") or {},
        }
    return data


def clip_block(block: dict[str, Any]) -> dict[str, Any]:
    content = block.get("content")
    if not isinstance(content, str) or len(content) <= TRANSCRIPT_BLOCK_CHARS:
        return block
    hidden = len(content) - TRANSCRIPT_BLOCK_CHARS
    return {**block, "content": content[:TRANSCRIPT_BLOCK_CHARS] + f"\n[{hidden} more characters]"}


def error_detail(body: Any) -> str:
    if isinstance(body, dict):
        error = body.get("error") if isinstance(body.get("error"), dict) else body
        kind, message = error.get("type", ""), error.get("message", "")
        return f"{kind}: {message}"[:500] if kind or message else json.dumps(body)[:500]
    return str(body)[:500]
