"""Context for a solve: the finding's functions and root-cause commit, read from the worktree.

Both backends rank skills against `code_for_triggers(gather(...))`, so a skill's trigger sees
the same code whichever backend runs.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from skills.gitio import GitError, commit_info, run_git
from skills.solver.trace import Tracer
from skills.solver.types import FunctionRef, SolveContext

# A sha only: the value reaches git's argument list (ingest checks it too; the admin may not).
SHA_RE = re.compile(r"[0-9a-fA-F]{7,64}")


def _untraced(name: str, arguments: dict[str, Any]) -> str:
    return ""


@dataclass
class TargetFunction:
    """A regressed function, resolved in the scratch worktree."""

    ref: FunctionRef
    path: str  # repo-relative
    qualname: str  # "func" or "Class.method"
    source: str = ""  # the function's own text
    first_line: int | None = None
    file_source: str = ""
    before_root_cause: str | None = None
    at_root_cause: str | None = None


@dataclass
class Gathered:
    """What the solver knows of the finding's code before it tries a skill."""

    targets: list[TargetFunction] = field(default_factory=list)
    commit_subject: str = ""
    commit_sha: str = ""
    commit_author: str = ""
    commit_diff: str = ""
    unresolved: list[str] = field(default_factory=list)


# --- resolving functions --------------------------------------------------------------------


def _definitions(tree: ast.AST, prefix: str = "") -> dict[str, ast.AST]:
    found: dict[str, ast.AST] = {}
    for node in getattr(tree, "body", []):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            name = f"{prefix}{node.name}"
            found[name] = node
            if isinstance(node, ast.ClassDef):
                found.update(_definitions(node, f"{name}."))
    return found


def locate_function(source: str, qualname: str) -> tuple[int, int, str] | None:
    """(first line incl. decorators, last line, text) of qualname in source, or None."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    node = _definitions(tree).get(qualname)
    if node is None:
        return None
    first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
    last = node.end_lineno or node.lineno
    lines = source.splitlines(keepends=True)
    return first, last, "".join(lines[first - 1 : last])


def resolve_function(root: Path, ref: FunctionRef) -> tuple[str, str] | None:
    """(repo-relative path, qualname) for a finding's function, or None when not found."""
    parts = ref.symbol.split(".")
    candidates: list[tuple[str, str]] = []
    if ref.file:
        module = ref.file.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
        if ref.symbol.startswith(module + "."):
            candidates.append((ref.file, ref.symbol[len(module) + 1 :]))
        candidates += [(ref.file, ".".join(parts[i:])) for i in range(1, len(parts))]
    for i in range(len(parts) - 1, 0, -1):
        base = "/".join(parts[:i])
        for rel in (f"{base}.py", f"{base}/__init__.py"):
            candidates.append((rel, ".".join(parts[i:])))
    for rel, qualname in candidates:
        path = root / rel
        if not qualname or not path.is_file() or not path.resolve().is_relative_to(root.resolve()):
            continue
        if locate_function(path.read_text(errors="replace"), qualname):
            return rel, qualname
    return None


def _file_at(repo: Path, revision: str, path: str) -> str | None:
    result = run_git(repo, "show", f"{revision}:{path}", check=False)
    return result.stdout if result.returncode == 0 else None


# --- gathering context ----------------------------------------------------------------------


def gather(context: SolveContext, root: Path, tracer: Tracer | None = None) -> Gathered:
    """The finding's functions and its root-cause commit, read from the scratch worktree.

    With a tracer, each read is traced as the tool call a reviewer would make for it.
    """
    trace = tracer.tool if tracer is not None else _untraced
    gathered = Gathered()
    root_cause = context.root_cause if context.kind == "regression" else None
    if root_cause and SHA_RE.fullmatch(root_cause.commit or ""):
        trace("root_cause_commit", {})
        try:
            info = commit_info(root, root_cause.commit)
            gathered.commit_sha = info.sha
            gathered.commit_subject = info.subject
            gathered.commit_author = info.author_email
            gathered.commit_diff = info.diff
        except (GitError, ValueError):
            gathered.commit_sha = ""
    outlined: set[str] = set()
    for ref in context.functions:
        arguments = {"symbol": ref.symbol, **({"file": ref.file} if ref.file else {})}
        trace("get_function", arguments)
        resolved = resolve_function(root, ref)
        if resolved is None:
            gathered.unresolved.append(ref.symbol)
            continue
        path, qualname = resolved
        file_source = (root / path).read_text(errors="replace")
        located = locate_function(file_source, qualname)
        target = TargetFunction(ref=ref, path=path, qualname=qualname, file_source=file_source)
        if located:
            target.first_line, _last, target.source = located
        if gathered.commit_sha:
            trace("file_at_revision", {"path": path, "rev": f"{gathered.commit_sha}^"})
            target.before_root_cause = _file_at(root, f"{gathered.commit_sha}^", path)
            target.at_root_cause = _file_at(root, gathered.commit_sha, path)
        if path not in outlined:
            trace("outline_file", {"path": path})
            outlined.add(path)
        gathered.targets.append(target)
    return gathered


def code_for_triggers(gathered: Gathered) -> dict[str, str]:
    """The code a skill's trigger is matched against: each function's text, the root-cause diff."""
    code = {t.ref.symbol: t.source for t in gathered.targets}
    if gathered.commit_diff:
        code["root_cause_diff"] = gathered.commit_diff
    return code


def trigger_code(context: SolveContext, root: Path) -> dict[str, str]:
    """The code a skill's trigger sees, read from `root` untraced (e.g. a registered checkout)."""
    return code_for_triggers(gather(context, root))
