"""A solve run's stored trace and transcript, made ready for plain-text display.

Only shapes data: every string stays text, and the templates escape it (never `|safe`). The
proposal page and the finding page (for failed and no-fix runs) show the same record.
"""

from __future__ import annotations

import json
from typing import Any


def pretty_json(value: Any) -> str:
    if value in (None, "", {}, []):
        return ""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)
    except (TypeError, ValueError):
        return repr(value)


def _is_refusal(item: dict) -> bool:
    """An ordinary "no" the solver expects: a codemod or a proposed diff declined ("refused",
    skills.solver.offline / anthropic_backend) or a candidate validation turned down. A crash,
    an unknown codemod or a failing tool stays an error."""
    if not item.get("error"):
        return False
    return item.get("summary") == "refused" or item.get("tool") == "validate"


def trace_entries(trace: Any) -> list[dict]:
    """Numbered tool calls: tool, pretty arguments, summary, duration, error or refusal."""
    entries = []
    for number, raw in enumerate(trace if isinstance(trace, list) else [], start=1):
        item = raw if isinstance(raw, dict) else {"summary": raw}
        refused = _is_refusal(item)
        duration = item.get("duration_ms")
        try:
            duration = float(duration) if duration is not None else None
        except (TypeError, ValueError):
            duration = None
        entries.append(
            {
                "number": number,
                "tool": str(item.get("tool") or item.get("name") or "?"),
                "arguments": pretty_json(item.get("arguments")),
                "summary": str(item.get("summary") or ""),
                "duration_ms": duration,
                "error": "" if refused else str(item.get("error") or ""),
                "refusal": str(item.get("error") or "") if refused else "",
            }
        )
    return entries


def transcript_entries(transcript: Any) -> list[dict]:
    """The LLM conversation as (role, [(label, text)]) for plain-text display."""
    entries = []
    for message in transcript if isinstance(transcript, list) else []:
        if not isinstance(message, dict):
            entries.append({"role": "?", "blocks": [("", pretty_json(message))]})
            continue
        content = message.get("content")
        blocks: list[tuple[str, str]] = []
        if isinstance(content, str):
            blocks.append(("", content))
        elif isinstance(content, list):
            for block in content:
                if not isinstance(block, dict):
                    blocks.append(("", pretty_json(block)))
                    continue
                kind = str(block.get("type") or "")
                if kind == "text":
                    blocks.append(("", str(block.get("text") or "")))
                elif kind == "tool_use":
                    label = f"tool call: {block.get('name', '?')}"
                    blocks.append((label, pretty_json(block.get("input"))))
                elif kind == "tool_result":
                    body = block.get("content")
                    if isinstance(body, list):
                        body = "\n".join(
                            str(b.get("text", "")) if isinstance(b, dict) else str(b) for b in body
                        )
                    label = "tool error" if block.get("is_error") else "tool result"
                    blocks.append((label, pretty_json(body)))
                else:
                    blocks.append((kind, pretty_json(block)))
        else:
            blocks.append(("", pretty_json(content)))
        entries.append({"role": str(message.get("role") or "?"), "blocks": blocks})
    return entries
