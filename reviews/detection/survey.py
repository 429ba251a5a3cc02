"""The survey (offense): every function of a repository against every skill's static trigger.

Plain data in and out (no Django). The repository's Python files (git's list, tests left out)
are parsed once each with `ast`; each module-level function and method is matched with the same
trigger code the solver ranks skills with (skills.selection.trigger_match), on the same kinds of
text (the function's own source, and its loops' text from skills.solver.callgraph). A hit needs
one of the skill's code patterns to appear: a trigger with no code pattern would match every
function, which tells a reviewer nothing. Some triggers are broad (memoize's is "has a loop"), so
before a hit is filed, `hit_confirmed` asks the skill's codemod whether it would change anything
in that function (judged over that file alone, which is cheap and errs towards refusing);
whether the change is worth it is still the solve's question, with its tests and benchmark.
A codemod takes 0.05-0.3 s per function, so `HitConfirmer` asks them in worker processes (one
per core, at most CONFIRM_PROCESSES) when the caller may have children: a django-q worker is a
daemon process and may not, and confirms in its own process.
"""

from __future__ import annotations

import ast
import hashlib
import multiprocessing
import os
import re
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from types import TracebackType

from skills.codemods import REGISTRY, CodemodInput, CodemodRefused, run_codemod
from skills.gitio import run_git
from skills.selection import trigger_match
from skills.solver.callgraph import loop_texts, module_name
from skills.solver.types import Fleet, FunctionRef, SkillSpec, SolveContext

# Tests, and code that is not shipped, are not where a fleet spends its CPU.
_NOT_SHIPPED = re.compile(r"(^|/)(tests?|testing|docs?|examples?|benchmarks?)/|(^|/)test_[^/]*$")
_NO_FLEET = Fleet(servers=0, watts_per_server=0.0, pue=1.0, price_per_kwh=0.0)
CONFIRM_PROCESSES = 4


@dataclass(frozen=True)
class SurveyedFunction:
    symbol: str  # dotted module path + qualname, as a finding names it
    path: str  # repo-relative
    qualname: str
    line: int
    lines: int
    digest: str  # sha256 of the function's text: a verdict on it holds while it is unchanged


@dataclass(frozen=True)
class SurveyHit:
    function: SurveyedFunction
    skill: SkillSpec
    reasons: tuple[str, ...]


@dataclass
class SurveyScan:
    functions: list[SurveyedFunction]
    hits: list[SurveyHit]
    files: int
    lines: int
    unparsable: list[str]


def shipped_python_files(root: Path) -> list[str]:
    """The repository's tracked Python files, tests and docs left out."""
    listed = run_git(root, "ls-files", "-z", "--", "*.py").stdout.split("\0")
    return sorted(path for path in listed if path and not _NOT_SHIPPED.search(path))


def _defs(tree: ast.AST, prefix: str = "") -> Iterable[tuple[str, ast.AST]]:
    for node in getattr(tree, "body", []):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield f"{prefix}{node.name}", node
        elif isinstance(node, ast.ClassDef):
            yield from _defs(node, f"{prefix}{node.name}.")


def _functions(path: str, source: str) -> list[tuple[SurveyedFunction, str]]:
    tree = ast.parse(source, filename=path)
    lines = source.splitlines(keepends=True)
    found = []
    for qualname, node in _defs(tree):
        first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
        last = node.end_lineno or node.lineno
        text = "".join(lines[first - 1 : last])
        symbol = f"{module_name(path)}.{qualname}"
        digest = hashlib.sha256(text.encode()).hexdigest()
        function = SurveyedFunction(symbol, path, qualname, first, last - first + 1, digest)
        found.append((function, text))
    return found


def _context(function: SurveyedFunction, root: Path, skills: tuple[SkillSpec, ...]) -> SolveContext:
    return SolveContext(
        finding_id=0,
        kind="opportunity",
        title="",
        metric="cpu",
        magnitude_pct=0.0,
        service="",
        repo_path=str(root),
        default_branch="",
        functions=(FunctionRef(function.symbol, function.path, function.line),),
        fleet=_NO_FLEET,
        skills=skills,
    )


def survey_scan(root: Path, skills: Iterable[SkillSpec]) -> SurveyScan:
    """Every shipped function of the checkout at `root`, and each skill trigger it sets off."""
    surveyable = tuple(s for s in skills if (s.trigger or {}).get("code_patterns"))
    scan = SurveyScan(functions=[], hits=[], files=0, lines=0, unparsable=[])
    for path in shipped_python_files(root):
        try:
            source = (root / path).read_text(encoding="utf-8")
            functions = _functions(path, source)
        except (OSError, UnicodeDecodeError, SyntaxError, ValueError):
            scan.unparsable.append(path)
            continue
        scan.files += 1
        scan.lines += source.count("\n")
        for function, text in functions:
            scan.functions.append(function)
            code = {function.symbol: text}
            loops = loop_texts(text)
            if loops:
                code[f"loops:{function.symbol}"] = "\n".join(loops)
            context = _context(function, root, surveyable)
            for skill in surveyable:
                match, reasons = trigger_match(skill, context, code)
                # 1.0: a code pattern appeared; less is "tried last" in a solve, no hit here.
                if match is not None and match >= 1.0:
                    scan.hits.append(SurveyHit(function, skill, tuple(reasons)))
    return scan


def _skeleton(source: str, qualname: str) -> str:
    """The module with only the function's own definitions: other functions, classes and
    methods left out.

    A codemod resolves LibCST metadata over the whole file (about a second for 500 lines); the
    imports, constants and the function itself are what it mostly reads to decide. What this
    leaves out (another function rebinding a global, a sibling method writing an attribute) can
    only make it accept where the solve, which runs it on the whole file, then refuses.
    """
    lines = source.splitlines(keepends=True)
    keep = [True] * len(lines)
    path = qualname.split(".")
    body = ast.parse(source).body
    # Down the qualname: at each level drop the other definitions, keep the rest.
    for depth, name in enumerate(path):
        target = None
        for node in body:
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                continue
            if node.name == name and target is None:
                target = node
                continue
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            for index in range(first - 1, node.end_lineno or node.lineno):
                keep[index] = False
        if target is None or depth == len(path) - 1 or not isinstance(target, ast.ClassDef):
            break
        body = target.body
    return "".join(line for line, kept in zip(lines, keep, strict=True) if kept)


def hit_confirmed(root: Path, hit: SurveyHit) -> tuple[bool, str]:
    """Whether the skill's codemod would change the function; a diagnosis-only skill passes."""
    codemod = hit.skill.codemod
    if not codemod:
        return True, "diagnosis only: its own code patterns appear"
    if codemod not in REGISTRY:
        return False, f"no codemod named {codemod!r}"
    function = hit.function
    try:
        source = _skeleton((root / function.path).read_text(encoding="utf-8"), function.qualname)
        result = run_codemod(codemod, CodemodInput(source, function.path, function.qualname))
    except CodemodRefused as exc:
        return False, str(exc)
    except Exception as exc:  # a codemod crash on odd code must not stop the survey
        return False, f"{codemod} failed: {exc.__class__.__name__}"
    # The summary's line numbers are the skeleton's: say only who confirmed it.
    return bool(result.new_source), f"its codemod ({codemod}) would change this function"


class HitConfirmer:
    """`hit_confirmed` over many hits, in worker processes when this process may have them.

    Use as a context manager: the pool lives as long as the survey. A pool that breaks (a
    codemod killed its worker) is dropped and the rest is confirmed here.
    """

    def __init__(self, root: Path, *, processes: int | None = None) -> None:
        self.root = root
        if processes is None:
            processes = min(CONFIRM_PROCESSES, len(os.sched_getaffinity(0)))
        self.processes = processes
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> HitConfirmer:
        if self.processes > 1 and not multiprocessing.current_process().daemon:
            # fork: the workers start at once with the codemods already imported; they only
            # read files and never touch the parent's database connection.
            self._pool = ProcessPoolExecutor(
                self.processes, mp_context=multiprocessing.get_context("fork")
            )
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None

    def confirm(self, hits: list[SurveyHit]) -> list[tuple[bool, str]]:
        """Each hit's (confirmed, reason), in the order given."""
        if self._pool is not None:
            try:
                return list(self._pool.map(partial(hit_confirmed, self.root), hits))
            except BrokenProcessPool:
                self._pool.shutdown(cancel_futures=True)
                self._pool = None
        return [hit_confirmed(self.root, hit) for hit in hits]
