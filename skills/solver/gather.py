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
from skills.solver.callgraph import callees, loop_calls, loop_texts
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
    # A callee of a finding's function (issue #12 item 4): the symbol that calls it, and
    # whether it does so inside a loop. "" for the finding's own functions.
    via: str = ""
    in_loop: bool = False


@dataclass
class Gathered:
    """What the solver knows of the finding's code before it tries a skill."""

    targets: list[TargetFunction] = field(default_factory=list)
    commit_subject: str = ""
    commit_sha: str = ""
    commit_author: str = ""
    commit_diff: str = ""
    unresolved: list[str] = field(default_factory=list)
    # Repository functions the finding's functions call, one or two levels deep.
    callees: list[TargetFunction] = field(default_factory=list)
    # Per finding function: the text of its loops and of the repository functions they call.
    loops: dict[str, str] = field(default_factory=dict)


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
        target = _target(root, ref, path, qualname, gathered.commit_sha, trace)
        if path not in outlined:
            trace("outline_file", {"path": path})
            outlined.add(path)
        gathered.targets.append(target)
    _gather_callees(root, gathered, trace)
    return gathered


def _target(
    root: Path, ref: FunctionRef, path: str, qualname: str, commit_sha: str, trace: Any
) -> TargetFunction:
    file_source = (root / path).read_text(errors="replace")
    located = locate_function(file_source, qualname)
    target = TargetFunction(ref=ref, path=path, qualname=qualname, file_source=file_source)
    if located:
        target.first_line, _last, target.source = located
    if commit_sha:
        trace("file_at_revision", {"path": path, "rev": f"{commit_sha}^"})
        target.before_root_cause = _file_at(root, f"{commit_sha}^", path)
        target.at_root_cause = _file_at(root, commit_sha, path)
    return target


def _gather_callees(root: Path, gathered: Gathered, trace: Any) -> None:
    """The finding's functions' callees in the repository, and the code of their loops.

    A profile blames the function it samples, but the slow pattern may sit in a helper it calls:
    the callees are tried after the named functions, and triggers that need a pattern inside a
    loop (a query per item) see the loops' text with the bodies of the functions they call.
    """
    named = {t.ref.symbol for t in gathered.targets}
    by_symbol: dict[str, TargetFunction] = {}
    for target in list(gathered.targets):
        for callee in callees(root, target.path, target.qualname, exclude=named):
            if callee.symbol in by_symbol:
                continue
            trace("get_function", {"symbol": callee.symbol, "file": callee.path})
            found = _target(
                root,
                FunctionRef(callee.symbol, callee.path),
                callee.path,
                callee.qualname,
                gathered.commit_sha,
                trace,
            )
            found.via, found.in_loop = callee.caller, callee.in_loop
            by_symbol[callee.symbol] = found
            gathered.callees.append(found)
    for target in [*gathered.targets, *gathered.callees]:
        texts = loop_texts(target.source)
        for symbol in loop_calls(root, target.path, target.qualname):
            called = by_symbol.get(symbol)
            if called is not None:
                texts.append(called.source)
        if texts:
            gathered.loops[target.ref.symbol] = "\n".join(texts)


def code_for_triggers(gathered: Gathered) -> dict[str, str]:
    """The code a skill's trigger is matched against (keys: skills.selection's code scopes).

    Each function's text under its symbol, each callee's under "calls:<symbol>", the loops of
    each (with the functions they call) under "loops:<symbol>", the root-cause diff under
    "root_cause_diff".
    """
    code = {t.ref.symbol: t.source for t in gathered.targets}
    code.update({f"calls:{t.ref.symbol}": t.source for t in gathered.callees})
    code.update({f"loops:{symbol}": text for symbol, text in gathered.loops.items()})
    if gathered.commit_diff:
        code["root_cause_diff"] = gathered.commit_diff
    return code


def trigger_code(context: SolveContext, root: Path) -> dict[str, str]:
    """The code a skill's trigger sees, read from `root` untraced (e.g. a registered checkout)."""
    return code_for_triggers(gather(context, root))
