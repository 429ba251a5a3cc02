"""Plain data and shared helpers for the codemods."""

from __future__ import annotations

from dataclasses import dataclass


class CodemodRefused(Exception):
    """str(exc) is a concrete reason, e.g. 'tax_rate reads the mutable global RULES'."""


@dataclass(frozen=True)
class CodemodInput:
    source: str  # the file's content at HEAD
    path: str  # repo-relative path, e.g. "checkout/tax.py"
    qualname: str  # the target inside the module: "func" or "Class.method"
    root_cause_before: str | None = None  # regressions: the file at root_cause^ (None: absent)
    root_cause_after: str | None = None  # regressions: the file at the root-cause commit
    hint: str = ""  # optional free text (reviewer comment)
    # The repository checkout the file belongs to: constants and purity are judged over every
    # Python file in it (skills.codemods.repository). None: over this file alone.
    repo_root: str | None = None


@dataclass(frozen=True)
class CodemodResult:
    new_source: str
    summary: str  # concrete: what changed, at which line(s), and why it saves CPU
    first_line: int  # 1-based line range in the ORIGINAL source that the change touches
    last_line: int
