"""Scripted model turns for the label_regex scenario, and the diffs a model would write.

The diffs are computed, not pasted: a known-good (or known-bad) edit is made to the scenario's
file and `git diff` prints the patch, then the file is restored.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from skills.catalog import SEED_SKILLS
from skills.solver.types import Fleet, FunctionRef, RootCause, SkillSpec, SolveContext
from tests.fakes.anthropic_api import Reply, reply, text, tool_use

LABELS_FILE = "shipping/labels.py"
LABELS_SYMBOL = "shipping.labels.parse_tracking"
FLEET = Fleet(servers=1000, watts_per_server=350.0, pue=1.2, price_per_kwh=0.12)
RATIONALE = "Compile the tracking pattern once at import; `parse_tracking` reuses it per parcel."


def seed_skill_specs() -> tuple[SkillSpec, ...]:
    fields = SkillSpec.__dataclass_fields__
    return tuple(
        SkillSpec(**{k: v for k, v in seed.items() if k in fields}) for seed in SEED_SKILLS
    )


def context_for(built: dict, **overrides) -> SolveContext:
    """The SolveContext reviews would build for a scenario's finding (no database)."""
    finding = built["finding"]
    root_cause = finding.get("root_cause")
    values = {
        "finding_id": 1,
        "kind": finding["kind"],
        "title": finding["title"],
        "metric": finding["metric"],
        "magnitude_pct": finding["magnitude_pct"],
        "service": finding["service"],
        "repo_path": str(built["path"]),
        "default_branch": "main",
        "functions": tuple(FunctionRef(f["symbol"], f.get("file")) for f in finding["functions"]),
        "fleet": FLEET,
        "root_cause": RootCause(root_cause["commit"], author=root_cause.get("author", ""))
        if root_cause
        else None,
        "pattern": finding.get("pattern", ""),
        "test_cmd": built["meta"]["test_cmd"],
        "bench_cmd": "",
        "skills": seed_skill_specs(),
        "backend": "anthropic",
    }
    values.update(overrides)
    return SolveContext(**values)


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True
    ).stdout


def diff_of_edit(repo: Path, edit) -> str:
    """The patch `edit(source) -> new source` makes to shipping/labels.py; the file is restored."""
    path = Path(repo) / LABELS_FILE
    original = path.read_text()
    path.write_text(edit(original))
    try:
        return _git(repo, "diff", "--no-color", "--src-prefix=a/", "--dst-prefix=b/")
    finally:
        path.write_text(original)


def precompile(source: str) -> str:
    """The known-good precompile-regex fix: one module-level compiled pattern."""
    start = source.index("    match = re.fullmatch(")
    end = source.index("    if match is None")
    call = source[start:end]
    pattern = call[call.index('r"""') : call.index('""",') + 3]
    source = (
        source[:start] + "    match = _TRACKING_PATTERN.fullmatch(raw.strip())\n" + source[end:]
    )
    constant = (
        f"\n_TRACKING_PATTERN = re.compile(\n    {pattern},\n    re.IGNORECASE | re.VERBOSE,\n)\n"
    )
    anchor = "import re\n"
    return source.replace(anchor, anchor + constant, 1)


def precompile_diff(repo: Path) -> str:
    return diff_of_edit(repo, precompile)


def breaking_diff(repo: Path) -> str:
    """Applies cleanly, and breaks the scenario's tests (services come back lower-case)."""
    return diff_of_edit(
        repo, lambda s: precompile(s).replace("service.upper()", "service.lower()", 1)
    )


def propose(diff: str, *, skill: str = "precompile-regex", recovery: float = 0.6) -> Reply:
    return reply(
        text("The pattern is compiled on every call; I will hoist it."),
        tool_use(
            "propose_fix",
            {
                "skill": skill,
                "diff": diff,
                "rationale": RATIONALE,
                "expected_recovery": recovery,
                "risks": "None beyond the tests: the pattern and flags are unchanged.",
            },
        ),
    )


def investigate() -> list[Reply]:
    """The two reading turns of a careful model: the function, then the root-cause commit."""
    return [
        reply(
            text("Let me read the regressed function."),
            tool_use("get_function", {"symbol": LABELS_SYMBOL, "file": LABELS_FILE}),
        ),
        reply(tool_use("root_cause_commit", {})),
    ]
