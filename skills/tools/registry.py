"""The read-only tool registry shared by the solver backends and the MCP server."""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jsonschema

from skills.tools import code, history
from skills.tools.records import ToolCallRecord
from skills.tools.sandbox import RepoSandbox, ToolError, cap_text

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Tool:
    name: str
    description: str  # written for an LLM and a human
    input_schema: dict  # JSON schema (object) for the arguments
    func: Callable[..., str]  # func(sandbox, **arguments) -> text result


def skill_docs(sandbox: RepoSandbox, slug: str | None = None) -> str:
    docs = sandbox.skill_docs
    if not slug:
        if not docs:
            return "no skill documentation is available for this run\n"
        lines = [f"{len(docs)} skill(s); call skill_docs with a slug for the full text:"]
        for name in sorted(docs):
            first = next((line for line in docs[name].splitlines() if line.strip()), "")
            lines.append(f"  {name}: {first.strip()[:120]}")
        return "\n".join(lines) + "\n"
    if slug not in docs:
        available = ", ".join(sorted(docs)) or "none"
        raise ToolError(f"no skill {slug!r}; available: {available}")
    return f"skill {slug}\n\n{docs[slug].strip()}\n"


_PATH = {"type": "string", "minLength": 1, "maxLength": 1000}
_LINE = {"type": "integer", "minimum": 1}
_REV = {"type": "string", "minLength": 1, "maxLength": 200}


def _object(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }


_TOOLS = [
    Tool(
        name="read_file",
        description=(
            "Read a text file of the repository with line numbers. Paths are relative to the "
            "repository root. Reads up to 400 lines by default (start_line..end_line, 1-based, "
            "inclusive); the header says how many lines the file has. Each line starts with its "
            "number and two spaces, which are not part of the file."
        ),
        input_schema=_object(
            {
                "path": {**_PATH, "description": "file path relative to the repository root"},
                "start_line": {**_LINE, "description": "first line to show (default 1)"},
                "end_line": {**_LINE, "description": "last line to show (inclusive)"},
            },
            ["path"],
        ),
        func=code.read_file,
    ),
    Tool(
        name="search_code",
        description=(
            "Search tracked files for a regular expression (POSIX extended syntax, as git grep "
            "-E; \\d is accepted). Returns file:line:text for each match, capped. Optionally "
            "limit to a path glob such as 'pkg/**/*.py' or a directory such as 'pkg'."
        ),
        input_schema=_object(
            {
                "pattern": {"type": "string", "minLength": 1, "maxLength": 500},
                "path": {**_PATH, "description": "optional glob or directory to search in"},
                "max_results": {"type": "integer", "minimum": 1, "maximum": 200},
            },
            ["pattern"],
        ),
        func=code.search_code,
    ),
    Tool(
        name="list_files",
        description=(
            "List the repository's tracked files, optionally under a directory ('pkg') or "
            "matching a glob ('**/*.py'). Use it to find where code lives."
        ),
        input_schema=_object(
            {
                "path": {**_PATH, "description": "optional directory or glob"},
                "max_results": {"type": "integer", "minimum": 1, "maximum": 1000},
            },
            [],
        ),
        func=code.list_files,
    ),
    Tool(
        name="outline_file",
        description=(
            "List a Python file's classes, functions and methods with their signatures and "
            "line ranges, plus its module-level names. Use it before read_file on a big module."
        ),
        input_schema=_object({"path": _PATH}, ["path"]),
        func=code.outline_file,
    ),
    Tool(
        name="get_function",
        description=(
            "Show the source of one function, class or method with line numbers, given its "
            "dotted symbol (pkg.module.func or pkg.module.Class.method). The module file is "
            "found from the dotted path; pass file= when the layout is unusual."
        ),
        input_schema=_object(
            {
                "symbol": {"type": "string", "minLength": 1, "maxLength": 300},
                "file": {**_PATH, "description": "optional file that defines the symbol"},
            },
            ["symbol"],
        ),
        func=code.get_function,
    ),
    Tool(
        name="root_cause_commit",
        description=(
            "Show the finding's root-cause commit: message, author, date, parent, files changed "
            "and the diff hunks. Pass sha= to inspect another commit, path= to limit the diff "
            "to one file."
        ),
        input_schema=_object(
            {
                "sha": {**_REV, "description": "a commit-ish; default: the root cause"},
                "path": {**_PATH, "description": "optional: only this file's changes"},
            },
            [],
        ),
        func=history.root_cause_commit,
    ),
    Tool(
        name="git_log",
        description=(
            "Recent commits (sha, date, author, subject), newest first, optionally only those "
            "touching a path."
        ),
        input_schema=_object(
            {
                "path": _PATH,
                "max_entries": {"type": "integer", "minimum": 1, "maximum": 100},
            },
            [],
        ),
        func=history.git_log,
    ),
    Tool(
        name="blame",
        description=(
            "Who last changed each line of a file (git blame), for a line range (at most 400 "
            "lines), optionally as of a revision."
        ),
        input_schema=_object(
            {"path": _PATH, "start_line": _LINE, "end_line": _LINE, "rev": _REV},
            ["path"],
        ),
        func=history.blame,
    ),
    Tool(
        name="file_at_revision",
        description=(
            "Read a file as it was at a revision (a sha, branch, tag or HEAD~N), with line "
            "numbers; e.g. the parent of the root-cause commit ('<sha>~1') to see the code "
            "before the regression."
        ),
        input_schema=_object(
            {"path": _PATH, "rev": _REV, "start_line": _LINE, "end_line": _LINE},
            ["path", "rev"],
        ),
        func=history.file_at_revision,
    ),
    Tool(
        name="skill_docs",
        description=(
            "The instructions and mitigation of a skill by slug (e.g. precompile-regex). "
            "Without a slug, lists the skills available for this finding."
        ),
        input_schema=_object({"slug": {"type": "string", "maxLength": 100}}, []),
        func=skill_docs,
    ),
]

REGISTRY: dict[str, Tool] = {tool.name: tool for tool in _TOOLS}


def tool_definitions() -> list[dict]:
    """The registry in the Anthropic tools format (also what MCP's tools/list carries)."""
    # Copies: a backend may decorate its list (cache_control, ...) without touching the registry.
    return [
        {
            "name": tool.name,
            "description": tool.description,
            "input_schema": copy.deepcopy(tool.input_schema),
        }
        for tool in REGISTRY.values()
    ]


def _summary(text: str) -> str:
    """First line of a result and its size, for the solve trace."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    if len(first) > 160:
        first = first[:160] + "…"
    lines = text.count("\n") + (0 if text.endswith("\n") or not text else 1)
    return f"{first} [{lines} lines, {len(text.encode())} bytes]"


def call_tool(
    sandbox: RepoSandbox, name: str, arguments: dict | None
) -> tuple[str, ToolCallRecord]:
    """Validate, run and time one tool call. Tool errors come back as "error: ...", never raised."""
    started = time.perf_counter()
    arguments = {} if arguments is None else arguments
    record_arguments = dict(arguments) if isinstance(arguments, dict) else {"_raw": arguments}

    def finish(text: str, error: str = "") -> tuple[str, ToolCallRecord]:
        duration_ms = (time.perf_counter() - started) * 1000
        summary = error if error else _summary(text)
        return text, ToolCallRecord(name, record_arguments, summary, round(duration_ms, 2), error)

    tool = REGISTRY.get(name)
    if tool is None:
        error = f"unknown tool {name!r}; available: {', '.join(REGISTRY)}"
        return finish(f"error: {error}", error)
    try:
        jsonschema.validate(arguments, tool.input_schema)
    except jsonschema.ValidationError as exc:
        where = ".".join(str(p) for p in exc.absolute_path)
        error = f"invalid arguments for {name}: {where + ': ' if where else ''}{exc.message}"
        return finish(f"error: {error}", error)
    try:
        text = tool.func(sandbox, **arguments)
    except ToolError as exc:
        return finish(f"error: {exc}", str(exc))
    except Exception as exc:
        # A bug in a tool must not end the agent's run; it is logged and reported as an error.
        logger.exception("tool %s failed on %r", name, arguments)
        error = f"{name} failed unexpectedly: {type(exc).__name__}: {exc}"
        return finish(f"error: {error}", error)
    return finish(cap_text(text, sandbox.max_output_bytes))
