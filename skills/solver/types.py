"""Plain data that crosses the reviews → skills boundary. No Django models in here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from skills import savings
from skills.sandbox import sandbox_notes

# Re-exported: the solver's trace is made of the tools' records, and callers import it here.
from skills.tools.records import ToolCallRecord


@dataclass(frozen=True)
class FunctionRef:
    symbol: str  # package.module.function or package.module.Class.method
    file: str | None = None  # relative to the repository root
    line: int | None = None
    cpu_share_pct: float | None = None


@dataclass(frozen=True)
class RootCause:
    commit: str
    title: str = ""
    author: str = ""
    url: str = ""


@dataclass(frozen=True)
class Fleet:
    servers: int
    watts_per_server: float
    pue: float
    price_per_kwh: float

    def watts(self, share_pct: float, recovery: float) -> float:
        """skills.savings.fleet_watts for this fleet."""
        return savings.fleet_watts(
            servers=self.servers,
            watts_per_server=self.watts_per_server,
            pue=self.pue,
            share_pct=share_pct,
            recovery=recovery,
        )

    def dollars_per_year(self, watts: float) -> float:
        """skills.savings.dollars_per_year at this fleet's price."""
        return savings.dollars_per_year(watts, self.price_per_kwh)


@dataclass(frozen=True)
class SkillSpec:
    """One skill version as the solver sees it."""

    slug: str
    name: str
    side: str  # offense | defense | both
    description: str
    trigger: dict[str, Any]
    instructions: str
    mitigation: str
    codemod: str  # "" for a diagnosis-only skill
    expected_recovery: float
    version_id: int | None = None
    version_number: int | None = None
    # Ranking input from review statistics: the 95% Wilson lower bound once enough decisions
    # exist, else None (the solver uses a fixed prior).
    quality_lower_bound: float | None = None
    needs_attention: bool = False
    # "" (no preference), "offline" or "anthropic": the skill's operational setting, not part
    # of its version; the solving service reads it when choosing a backend.
    preferred_backend: str = ""


@dataclass(frozen=True)
class SolveContext:
    finding_id: int
    kind: Literal["regression", "opportunity"]
    title: str
    metric: str
    magnitude_pct: float
    service: str
    repo_path: str
    default_branch: str
    functions: tuple[FunctionRef, ...]
    fleet: Fleet
    root_cause: RootCause | None = None
    pattern: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)
    test_cmd: str = ""
    bench_cmd: str = ""
    skills: tuple[SkillSpec, ...] = ()
    # Request changes: the reviewer's comment and the diff it was about.
    reviewer_comment: str = ""
    previous_diff: str = ""
    backend: str = "offline"


@dataclass
class Validation:
    applies: bool = False
    apply_log: str = ""
    tests_passed: bool | None = None  # None: no test command
    test_log: str = ""
    bench_before_s: float | None = None
    bench_after_s: float | None = None
    bench_log: str = ""
    base_commit: str = ""
    # Regressions: the benchmark at the root-cause commit's parent (the code before the
    # regression), or None when it was not measured or does not reproduce the regression;
    # bench_parent_note then says why, for the trace and the rationale.
    bench_parent_s: float | None = None
    bench_parent_note: str = ""
    # Baseline before blame (issue #12 item 2): the ids of tests that already fail on the
    # unpatched commit (they do not count against a patch), and what the comparison could
    # not tell (e.g. ids that could not be parsed, so the exit status decided).
    baseline_failures: list[str] = field(default_factory=list)
    baseline_note: str = ""
    # How "faster" was judged on the interleaved samples (skills.solver.speedup.Judgement
    # .as_dict(): verdict, p-value, level, pairs); {} when the benchmark was not judged.
    bench_judgement: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        """The one definition of "validation passed": the patch applies and no test failed.

        No test command (tests_passed None) is not a failure. The solver also refuses a change
        whose benchmark fails or gains nothing (skills.solver.pipeline.verdict); the gate asks
        only this, because a reviewer may accept an unmeasured change.
        """
        return self.applies and self.tests_passed is not False

    @property
    def sandbox_mode(self) -> str:
        """ "bubblewrap", "unsandboxed", or "" when no repository command ran.

        Read from the note line every command's output starts with (skills.sandbox), so the
        proposal page, which keeps only the logs, says the same.
        """
        return str(sandbox_notes(self.test_log, self.bench_log).get("mode", ""))

    @property
    def sandbox_warnings(self) -> list[str]:
        return list(sandbox_notes(self.test_log, self.bench_log).get("warnings", []))

    @property
    def measured_recovery(self) -> float | None:
        """The share of the finding's magnitude the change measurably recovers.

        With the parent figure (a regression): the share of the regression undone,
        (before - after) / (before - parent), because the finding's magnitude is the increase
        the root cause caused. Otherwise (an opportunity, or no usable parent figure): the
        share of the benchmark's time removed, 1 - after / before. Clipped to [0, 1].
        """
        before, after, parent = self.bench_before_s, self.bench_after_s, self.bench_parent_s
        if not before or after is None:
            return None
        if parent is not None and before - parent > 0:
            return max(0.0, min(1.0, (before - after) / (before - parent)))
        return max(0.0, min(1.0, 1.0 - after / before))


@dataclass
class Candidate:
    """What the solver returns: a validated proposal, an analysis, or no fix with reasons."""

    outcome: Literal["proposal", "analysis", "no_fix"]
    skill_slug: str = ""
    skill_version_id: int | None = None
    diff: str = ""
    rationale: str = ""
    risks: str = ""
    expected_recovery: float | None = None
    estimated_watts: float = 0.0
    measured_watts: float | None = None
    validation: Validation | None = None
    trace: list[ToolCallRecord] = field(default_factory=list)
    refusals: list[dict[str, str]] = field(default_factory=list)  # [{"skill", "reason"}]
    backend: str = "offline"
    model_name: str = ""
    usage: dict[str, Any] = field(default_factory=dict)
    transcript: list[dict[str, Any]] = field(default_factory=list)
    no_fix_reason: str = ""
    # A composed proposal (issue #12 item 5): the other skills whose changes are in the same
    # patch, [{"slug", "version_id"}]; each one's statistics get the decision too.
    also_skills: list[dict[str, Any]] = field(default_factory=list)
