"""Which commit caused a regression: the hook detection calls (issue #14 item 3 fills it in).

`rank` gets the commits bracketing a change and the regressed functions, and returns candidate
commits, most likely first, with per-factor scores the finding page shows. Until attribution
is written it returns nothing, and a finding names the first bad point's commit as its root
cause (exact when the history has a point for every commit).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Candidate:
    commit: str
    title: str = ""
    author: str = ""  # email: routes the review to them
    score: float = 0.0
    factors: dict[str, float] = field(default_factory=dict)


def rank(
    *,
    repository_path: str | None,
    last_good_commit: str,
    first_bad_commit: str,
    functions: list[str],
) -> list[Candidate]:
    """Commits in (last_good_commit, first_bad_commit], most likely cause first."""
    return []
