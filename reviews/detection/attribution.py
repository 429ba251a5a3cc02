"""Which commit caused a regression: the commits bracketing a change, ranked (issue #14 item 3).

`rank` reads the commits in (last good, first bad] with git (skills.gitio, the one way to call
it) and scores each by how much it touches the regressed functions, read with `ast` at that very
commit and its parent, so a function that moved or grew is still found:

- function: changed lines inside a regressed function (added lines against the function's
  span at the commit, removed lines against its span at the parent), saturating: n / (n + 3);
- callees: the same for the repository functions they call, one or two levels deep
  (skills.solver.callgraph, read in a scratch worktree at the first bad commit), n / (n + 3);
- file: 1 when the commit touches a file holding one of those functions.

score = 0.6 function + 0.3 callees + 0.1 file. When no named function resolves (a benchmark's
name is not a symbol), the only factor is `python`: changed lines of non-test Python files,
n / (n + 10), weighted 0.1, so a code change still ranks above a change to documentation.
Ties keep the newer commit first. Bisect (reviews.services.bisect) settles what this cannot.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from skills.gitio import GitError, is_work_tree, run_git
from skills.solver.callgraph import callees as repository_callees
from skills.solver.callgraph import module_name
from skills.solver.gather import locate_function
from skills.worktrees import WorktreeError, scratch_worktree

# Commits considered at most between two points (the newest): a longer gap is a history with
# too few points for attribution to mean much, and bisect names the commit anyway.
MAX_COMMITS = 200
WEIGHTS = {"function": 0.6, "callees": 0.3, "file": 0.1}
FALLBACK_WEIGHT = 0.1
_SHA = re.compile(r"^[0-9a-fA-F]{7,64}$")
_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
_COMMIT_MARK = "\x1ecommit\x1f"


@dataclass(frozen=True)
class Candidate:
    commit: str
    title: str = ""
    author: str = ""  # email: routes the review to them
    score: float = 0.0
    factors: dict[str, float] = field(default_factory=dict)


@dataclass
class _Change:
    """One commit's diff as line numbers: per path, removed (old side) and added (new side)."""

    sha: str
    author: str
    title: str
    removed: dict[str, list[int]] = field(default_factory=dict)
    added: dict[str, list[int]] = field(default_factory=dict)

    @property
    def paths(self) -> set[str]:
        return set(self.removed) | set(self.added)


@dataclass(frozen=True)
class _Target:
    path: str
    qualname: str
    role: str  # "function" | "callees"


def change_bracket(commits: list[str], index: int, *, within: int) -> int:
    """The change's first bad point, moved to the nearest deploy within `within` points.

    A change can only start where another commit was deployed, while a detector places it a
    point or two off in noise: one point late and the last good and first bad points carry the
    same commit, leaving nothing to attribute. The nearest point whose commit differs from the
    point before (the earlier on a tie) is taken; `index` stays when none is that near, or the
    points carry no commits.
    """
    boundaries = [
        point
        for point in range(max(1, index - within), min(len(commits) - 1, index + within) + 1)
        if commits[point] and commits[point - 1] and commits[point] != commits[point - 1]
    ]
    return min(boundaries, key=lambda point: (abs(point - index), point), default=index)


def commits_between(repository_path: str, last_good: str, first_bad: str) -> list[str]:
    """Commits in (last_good, first_bad], oldest first (at most MAX_COMMITS, the newest)."""
    if not (_SHA.match(last_good) and _SHA.match(first_bad)):
        return []
    result = run_git(
        repository_path, "rev-list", "--reverse", f"{last_good}..{first_bad}", "--", check=False
    )
    if result.returncode != 0:
        return []
    return result.stdout.split()[-MAX_COMMITS:]


def _changes(repository_path: str, last_good: str, first_bad: str) -> list[_Change]:
    """Every commit of the range with its zero-context diff, in one git call."""
    log = run_git(
        repository_path,
        "log",
        f"--format={_COMMIT_MARK}%H%x1f%ae%x1f%s",
        "-U0",
        "--no-color",
        "--no-ext-diff",
        "--no-textconv",
        "--no-renames",
        f"-n{MAX_COMMITS}",
        f"{last_good}..{first_bad}",
        "--",
    ).stdout
    changes: list[_Change] = []
    path = ""
    # split("\n"), not splitlines(): that also splits at the record separator the format uses.
    for line in log.split("\n"):
        if line.startswith(_COMMIT_MARK):
            sha, author, title = (line[len(_COMMIT_MARK) :].split("\x1f") + ["", ""])[:3]
            changes.append(_Change(sha, author, title))
        elif not changes:
            continue
        elif line.startswith("--- "):
            path = line[6:] if line.startswith("--- a/") else ""
        elif line.startswith("+++ "):
            # A deleted file's new side is /dev/null: its lines count against the old path.
            path = line[6:] if line.startswith("+++ b/") else path
        elif (match := _HUNK.match(line)) and path:
            old_start, old_count = int(match[1]), int(match[2] if match[2] is not None else 1)
            new_start, new_count = int(match[3]), int(match[4] if match[4] is not None else 1)
            change = changes[-1]
            change.removed.setdefault(path, []).extend(range(old_start, old_start + old_count))
            change.added.setdefault(path, []).extend(range(new_start, new_start + new_count))
    return changes


def _resolve(root: Path, symbol: str) -> tuple[str, str] | None:
    """(path, qualname) of a dotted symbol in a checkout: the longest module prefix that exists."""
    parts = symbol.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        base = "/".join(parts[:cut])
        qualname = ".".join(parts[cut:])
        for path in (f"{base}.py", f"{base}/__init__.py"):
            file = root / path
            if file.is_file() and locate_function(file.read_text(errors="replace"), qualname):
                return path, qualname
    return None


def _targets(repository_path: str, first_bad: str, functions: list[str]) -> list[_Target]:
    """The regressed functions and their callees, resolved at the first bad commit."""
    if not is_work_tree(repository_path):
        return []
    found: list[_Target] = []
    try:
        with scratch_worktree(repository_path, first_bad) as root:
            named = [hit for symbol in functions if (hit := _resolve(root, symbol))]
            symbols = {f"{module_name(path)}.{qualname}" for path, qualname in named}
            found = [_Target(path, qualname, "function") for path, qualname in named]
            for path, qualname in named:
                for callee in repository_callees(root, path, qualname, exclude=symbols):
                    found.append(_Target(callee.path, callee.qualname, "callees"))
    except (WorktreeError, GitError, OSError):
        return []
    return found


def _span(repository_path: str, revision: str, target: _Target, cache: dict) -> range | None:
    key = (revision, target.path)
    if key not in cache:
        shown = run_git(repository_path, "show", f"{revision}:{target.path}", check=False)
        cache[key] = shown.stdout if shown.returncode == 0 else None
    source = cache[key]
    located = locate_function(source, target.qualname) if source is not None else None
    return range(located[0], located[1] + 1) if located else None


def _saturating(lines: int, half: int) -> float:
    return round(lines / (lines + half), 3) if lines else 0.0


def _score_change(
    repository_path: str, change: _Change, targets: list[_Target], cache: dict
) -> dict[str, float]:
    if not targets:
        lines = sum(
            len(numbers)
            for side in (change.added, change.removed)
            for path, numbers in side.items()
            if path.endswith(".py") and not re.search(r"(^|/)tests?(/|_)", path)
        )
        return {"python": _saturating(lines, 10)}
    touched = {"function": 0, "callees": 0}
    for target in targets:
        if target.path not in change.paths:
            continue
        after = _span(repository_path, change.sha, target, cache)
        before = _span(repository_path, f"{change.sha}^", target, cache)
        added = change.added.get(target.path, [])
        removed = change.removed.get(target.path, [])
        touched[target.role] += sum(1 for n in added if after and n in after)
        touched[target.role] += sum(1 for n in removed if before and n in before)
    return {
        "function": _saturating(touched["function"], 3),
        "callees": _saturating(touched["callees"], 3),
        "file": 1.0 if change.paths & {t.path for t in targets} else 0.0,
    }


def rank(
    *,
    repository_path: str | None,
    last_good_commit: str,
    first_bad_commit: str,
    functions: list[str],
) -> list[Candidate]:
    """Commits in (last_good_commit, first_bad_commit], most likely cause first.

    Empty when there is no repository, a commit is not a sha, or git cannot read the range.
    """
    if not repository_path or not (_SHA.match(last_good_commit) and _SHA.match(first_bad_commit)):
        return []
    try:
        changes = _changes(repository_path, last_good_commit, first_bad_commit)
    except GitError:
        return []
    targets = _targets(repository_path, first_bad_commit, functions) if changes else []
    cache: dict = {}
    ranked = []
    for age, change in enumerate(changes):  # git log lists the newest first
        factors = _score_change(repository_path, change, targets, cache)
        if targets:
            score = sum(WEIGHTS[name] * value for name, value in factors.items())
        else:
            score = FALLBACK_WEIGHT * factors["python"]
        ranked.append((-round(score, 3), age, change, factors))
    ranked.sort(key=lambda row: row[:2])
    return [
        Candidate(change.sha, change.title, change.author, -negative, factors)
        for negative, _age, change, factors in ranked
    ]
