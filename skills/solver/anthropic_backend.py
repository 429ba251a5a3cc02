"""The Anthropic backend: a tool-use agent that reads the code and proposes a diff.

The only module that imports `anthropic`. `solve(context)` ranks the skills as the offline
solver does, gives the model the top ones as its system prompt and the finding as delimited data,
lets it call the read-only tool registry, and takes its answer from a `propose_fix` tool (a
structured proposal) or a `no_fix` tool. The diff is checked (unidiff, safety, `git apply
--check`) and a refusal goes back to the model once; then the proposal is validated exactly as
an offline candidate (tests, benchmark before/after) and a failing one is not presented.

Budgets (turns, tokens, wall time) come from settings at call time; the SDK retries 429/5xx/529
with backoff. Token usage and the estimated cost are returned in Candidate.usage. The API key is
read from the environment per call and never logged, traced or stored.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anthropic
import jsonschema
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from unidiff import PatchSet
from unidiff.errors import UnidiffParseError

from skills.gitio import GitError, commit_info, is_work_tree, run_git
from skills.selection import RankedSkill, rank_skills
from skills.solver import prompts
from skills.solver import rationale as rationale_text
from skills.solver.offline import (
    MIN_VALIDATION_BUDGET_S,
    SolverError,
    _Bench,
    _solve_deadline,
    _validation_summary,
    _verdict,
    locate_function,
    regression_parent,
    resolve_function,
)
from skills.solver.types import Candidate, SkillSpec, SolveContext, ToolCallRecord, Validation
from skills.solver.validation import (
    BENCH_RUNS,
    BENCH_TIMEOUT_S,
    TEST_TIMEOUT_S,
    ValidationError,
    check_patch_safety,
    scratch_worktree,
    validate_in_worktree,
    worktree_diff,
    worktree_reset,
)

logger = logging.getLogger(__name__)

BACKEND = "anthropic"
# A refused proposal (malformed, does not apply) and a proposal that fails validation each go
# back to the model once; the second refusal ends the run.
PROPOSAL_CORRECTIONS = 1
VALIDATION_CORRECTIONS = 1
# What the transcript keeps of one tool result: the run's record, not a copy of the repository.
TRANSCRIPT_BLOCK_CHARS = 8000
MIN_RESPONSE_TOKENS = 256
NUDGE = (
    f"Finish by calling `{prompts.PROPOSE_FIX}` with a unified diff, or `{prompts.NO_FIX}` with "
    "the reason; plain text does not end the run."
)


class AnthropicSolveError(SolverError):
    """The run ended without a proposal; `partial` keeps its trace, transcript and usage."""

    def __init__(self, message: str, *, partial: Candidate | None = None) -> None:
        super().__init__(message)
        self.partial = partial


# --- configuration ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Prices:
    """USD per million tokens."""

    input: float
    output: float
    cache_write: float
    cache_read: float


@dataclass(frozen=True)
class LLMConfig:
    model: str
    base_url: str
    max_retries: int
    timeout_s: float
    max_turns: int
    max_tokens: int
    response_max_tokens: int
    max_seconds: float
    prices: Prices


def _number(name: str, kind: type, minimum: float) -> Any:
    """A setting as int/float >= minimum; ImproperlyConfigured naming it otherwise."""
    value = getattr(settings, name)
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise ImproperlyConfigured(f"{name} must be a number, got {value!r}") from None
    if number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {number}")
    return number


def load_config() -> LLMConfig:
    """The backend's settings, read now (so a changed setting applies to the next solve)."""
    model = str(getattr(settings, "ANTHROPIC_MODEL", "") or "").strip()
    if not model:
        raise ImproperlyConfigured("ANTHROPIC_MODEL must name a model, e.g. claude-sonnet-5-5")
    base_url = str(getattr(settings, "ANTHROPIC_BASE_URL", "") or "").strip()
    if base_url and not base_url.startswith(("http://", "https://")):
        raise ImproperlyConfigured(f"ANTHROPIC_BASE_URL must be an http(s) URL, got {base_url!r}")
    return LLMConfig(
        model=model,
        base_url=base_url,
        max_retries=_number("ANTHROPIC_MAX_RETRIES", int, 0),
        timeout_s=_number("ANTHROPIC_TIMEOUT_S", float, 1.0),
        max_turns=_number("WATTSON_LLM_MAX_TURNS", int, 1),
        max_tokens=_number("WATTSON_LLM_MAX_TOKENS", int, 1000),
        response_max_tokens=_number("WATTSON_LLM_RESPONSE_MAX_TOKENS", int, MIN_RESPONSE_TOKENS),
        max_seconds=_number("WATTSON_LLM_MAX_SECONDS", float, 1.0),
        prices=Prices(
            input=_number("WATTSON_LLM_PRICE_INPUT_PER_MTOK", float, 0.0),
            output=_number("WATTSON_LLM_PRICE_OUTPUT_PER_MTOK", float, 0.0),
            cache_write=_number("WATTSON_LLM_PRICE_CACHE_WRITE_PER_MTOK", float, 0.0),
            cache_read=_number("WATTSON_LLM_PRICE_CACHE_READ_PER_MTOK", float, 0.0),
        ),
    )


def api_key() -> str:
    """The key, from the environment at call time (or settings, for a deployment that sets it)."""
    return os.environ.get("ANTHROPIC_API_KEY") or getattr(settings, "ANTHROPIC_API_KEY", "") or ""


def make_client(config: LLMConfig, key: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        api_key=key,
        base_url=config.base_url or None,
        max_retries=config.max_retries,
        timeout=config.timeout_s,
    )


# --- usage and cost --------------------------------------------------------------------------

USAGE_FIELDS = (
    "input_tokens",
    "output_tokens",
    "cache_creation_input_tokens",
    "cache_read_input_tokens",
)


@dataclass
class Usage:
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(USAGE_FIELDS, 0))
    api_calls: int = 0

    def add(self, usage: Any) -> None:
        self.api_calls += 1
        for name in USAGE_FIELDS:
            self.counts[name] += int(getattr(usage, name, 0) or 0)

    @property
    def total_tokens(self) -> int:
        return sum(self.counts.values())

    def cost_usd(self, prices: Prices) -> float:
        c = self.counts
        dollars = (
            c["input_tokens"] * prices.input
            + c["output_tokens"] * prices.output
            + c["cache_creation_input_tokens"] * prices.cache_write
            + c["cache_read_input_tokens"] * prices.cache_read
        ) / 1_000_000
        return round(dollars, 6)

    def as_dict(self, prices: Prices) -> dict[str, Any]:
        return {**self.counts, "model_calls": self.api_calls, "cost_usd": self.cost_usd(prices)}


# --- the run ---------------------------------------------------------------------------------


@dataclass
class Proposed:
    skill: SkillSpec
    diff: str
    rationale: str
    risks: str
    expected_recovery: float
    validation: Validation


def solve(
    context: SolveContext,
    *,
    bench_runs: int | None = None,
    client: Any | None = None,
    progress: Callable[[ToolCallRecord], None] | None = None,
) -> Candidate:
    """One agent run in a scratch worktree: a validated candidate or no_fix; else it raises."""
    # As offline: validation commands get what is left of the worker's task timeout.
    deadline = _solve_deadline()
    config = load_config()
    key = api_key()
    if client is None and not key:
        raise SolverError("the anthropic backend needs ANTHROPIC_API_KEY in the environment")
    repo = Path(context.repo_path)
    if not repo.is_dir():
        raise SolverError(f"repository path {context.repo_path} does not exist")
    if not is_work_tree(repo):
        raise SolverError(f"{context.repo_path} is not a git work tree")
    try:
        with contextlib.ExitStack() as stack:
            root = stack.enter_context(scratch_worktree(repo, context.default_branch))

            def make_baseline() -> Path:
                # A clean checkout for interleaved before/after benchmark runs, as offline.
                return stack.enter_context(scratch_worktree(repo, context.default_branch))

            agent = _Agent(
                context=context,
                root=root,
                config=config,
                client=client or make_client(config, key),
                bench=_Bench(
                    make_baseline,
                    context.bench_cmd,
                    BENCH_RUNS if bench_runs is None else bench_runs,
                    deadline,
                    repo,
                ),
                progress=progress,
            )
            return agent.run()
    except ValidationError as exc:
        raise SolverError(str(exc)) from None


class _Agent:
    def __init__(
        self,
        *,
        context: SolveContext,
        root: Path,
        config: LLMConfig,
        client: Any,
        bench: _Bench,
        progress: Callable[[ToolCallRecord], None] | None = None,
    ) -> None:
        from skills.tools import RepoSandbox

        self.context = context
        self.root = root
        self.config = config
        self.client = client
        self.bench = bench
        self.sandbox = RepoSandbox(
            root,
            root_cause_commit=context.root_cause.commit if context.root_cause else None,
            skill_docs={
                s.slug: f"{s.instructions}\n\n{s.mitigation}".strip() for s in context.skills
            },
        )
        self.trace: list[ToolCallRecord] = []
        self.usage = Usage()
        self.messages: list[dict[str, Any]] = []
        self.system_text = ""
        self.refusals: list[dict[str, str]] = []
        self.skills: dict[str, SkillSpec] = {}
        self.proposal_corrections = PROPOSAL_CORRECTIONS
        self.validation_corrections = VALIDATION_CORRECTIONS
        self.started = time.monotonic()
        self.progress = progress

    # bookkeeping

    def step(self, name: str, arguments: dict, summary: str, started: float, error: str = ""):
        elapsed = (time.perf_counter() - started) * 1000
        self.record(ToolCallRecord(name, arguments, summary[:500], round(elapsed, 2), error[:2000]))

    def record(self, record: ToolCallRecord) -> None:
        """Trace one call, and tell the live status listener (which must never break a run)."""
        self.trace.append(record)
        if self.progress is not None:
            try:
                self.progress(record)
            except Exception:
                logger.exception("solve progress listener failed")

    def candidate(self, **fields: Any) -> Candidate:
        """A Candidate carrying this run's trace, usage and transcript."""
        return Candidate(
            trace=list(self.trace),
            refusals=list(self.refusals),
            backend=BACKEND,
            model_name=self.config.model,
            usage=self.usage.as_dict(self.config.prices),
            transcript=self.transcript(),
            **fields,
        )

    def fail(self, message: str) -> AnthropicSolveError:
        return AnthropicSolveError(message, partial=self.candidate(outcome="no_fix"))

    def transcript(self) -> list[dict[str, Any]]:
        """The conversation for the trace viewer, tool results clipped."""
        out: list[dict[str, Any]] = [{"role": "system", "content": self.system_text}]
        for message in self.messages:
            content = message["content"]
            if isinstance(content, list):
                content = [_clip_block(block) for block in content]
            out.append({"role": message["role"], "content": content})
        return out

    # ranking

    def rank(self) -> list[RankedSkill]:
        code: dict[str, str] = {}
        for ref in self.context.functions:
            resolved = resolve_function(self.root, ref)
            if resolved is None:
                continue
            path, qualname = resolved
            located = locate_function((self.root / path).read_text(errors="replace"), qualname)
            if located:
                code[ref.symbol] = located[2]
        root_cause = self.context.root_cause
        if self.context.kind == "regression" and root_cause and root_cause.commit:
            with contextlib.suppress(GitError, ValueError):
                code["root_cause_diff"] = commit_info(self.root, root_cause.commit).diff
        started = time.perf_counter()
        ranked, not_applicable = rank_skills(self.context, code)
        self.refusals = list(not_applicable)
        self.step(
            "rank_skills",
            {"functions": [ref.symbol for ref in self.context.functions]},
            ", ".join(f"{r.slug} ({r.score:.2f})" for r in ranked) or "no applicable skill",
            started,
        )
        return ranked

    # the loop

    def run(self) -> Candidate:
        ranked = self.rank()
        if not ranked:
            return self.candidate(
                outcome="no_fix", no_fix_reason="no enabled skill applies to this finding"
            )
        self.skills = {item.slug: item.skill for item in ranked}
        self.system_text = prompts.system_prompt(ranked)
        system = [
            {"type": "text", "text": self.system_text, "cache_control": {"type": "ephemeral"}}
        ]
        from skills.tools import tool_definitions

        tools = [*tool_definitions(), *prompts.answer_tools(list(self.skills))]
        tools[-1] = {**tools[-1], "cache_control": {"type": "ephemeral"}}
        self.messages = [{"role": "user", "content": prompts.finding_message(self.context)}]

        for turn in range(1, self.config.max_turns + 1):
            response = self.call_model(turn, system, tools)
            content = [_block_dict(block) for block in response.content]
            self.messages.append({"role": "assistant", "content": content})
            tool_uses = [block for block in content if block.get("type") == "tool_use"]
            if not tool_uses:
                cut = " (the reply hit max_tokens)" if response.stop_reason == "max_tokens" else ""
                self.messages.append({"role": "user", "content": NUDGE + cut})
                continue
            results, outcome = self.answer(
                tool_uses, truncated=response.stop_reason == "max_tokens"
            )
            if outcome is not None:
                return outcome
            self.messages.append({"role": "user", "content": results})
        raise self.fail(
            f"the model made no acceptable proposal within {self.config.max_turns} turns "
            "(WATTSON_LLM_MAX_TURNS); see the transcript"
        )

    def call_model(self, turn: int, system: list[dict], tools: list[dict]) -> Any:
        elapsed = time.monotonic() - self.started
        remaining_s = self.config.max_seconds - elapsed
        if remaining_s <= 1:
            raise self.fail(
                f"the conversation ran out of time after {elapsed:.0f} s "
                f"(WATTSON_LLM_MAX_SECONDS={self.config.max_seconds:g}); see the transcript"
            )
        remaining_tokens = self.config.max_tokens - self.usage.total_tokens
        if remaining_tokens < MIN_RESPONSE_TOKENS:
            raise self.fail(
                f"the run used {self.usage.total_tokens:,} tokens, its budget "
                f"(WATTSON_LLM_MAX_TOKENS={self.config.max_tokens:,}); see the transcript"
            )
        started = time.perf_counter()
        arguments = {"turn": turn, "model": self.config.model}
        try:
            response = self.client.messages.create(
                model=self.config.model,
                max_tokens=min(self.config.response_max_tokens, remaining_tokens),
                system=system,
                tools=tools,
                messages=self.messages,
                timeout=min(self.config.timeout_s, remaining_s),
            )
        except anthropic.APIError as exc:
            message = _api_error_message(exc, self.config)
            self.step("model", arguments, "API error", started, error=message)
            raise self.fail(message) from None
        self.usage.add(response.usage)
        names = [b.name for b in response.content if getattr(b, "type", "") == "tool_use"]
        summary = (
            f"{response.stop_reason}: {', '.join(names) or 'text only'} · "
            f"{getattr(response.usage, 'input_tokens', 0):,} in "
            f"(+{getattr(response.usage, 'cache_read_input_tokens', 0) or 0:,} cached) / "
            f"{getattr(response.usage, 'output_tokens', 0):,} out"
        )
        self.step("model", arguments, summary, started)
        return response

    def answer(
        self, tool_uses: list[dict], *, truncated: bool
    ) -> tuple[list[dict], Candidate | None]:
        """A tool_result for every tool_use (the API requires it), or the run's outcome."""
        from skills.tools import REGISTRY, call_tool

        results: list[dict] = []
        for block in tool_uses:
            name, tool_input = block.get("name", ""), block.get("input")
            if truncated:
                text, error = "", "your reply was cut off at max_tokens; send the call again"
            elif name == prompts.PROPOSE_FIX:
                outcome, error = self.propose(tool_input)
                if outcome is not None:
                    return results, outcome
                text = ""
            elif name == prompts.NO_FIX:
                reason = str((tool_input or {}).get("reason") or "").strip() or "none given"
                self.step("no_fix", {"reason": reason[:500]}, reason, time.perf_counter())
                return results, self.candidate(
                    outcome="no_fix", no_fix_reason=f"the model found no safe fix: {reason}"
                )
            elif name in REGISTRY:
                text, record = call_tool(self.sandbox, name, tool_input)
                self.record(record)
                error = record.error
            else:
                text, error = "", f"unknown tool {name!r}"
                self.step(
                    name or "?", {"input": tool_input}, "unknown tool", time.perf_counter(), error
                )
            result: dict[str, Any] = {"type": "tool_result", "tool_use_id": block["id"]}
            if error:
                result["content"] = f"error: {error}"
                result["is_error"] = True
            else:
                result["content"] = prompts.tool_result_text(name, text)
            results.append(result)
        return results, None

    # the proposal

    def propose(self, tool_input: Any) -> tuple[Candidate | None, str]:
        """(candidate, "") when the run ends here; (None, why) to tell the model; raises if out."""
        started = time.perf_counter()
        data = tool_input if isinstance(tool_input, dict) else {}
        arguments = {
            "skill": str(data.get("skill", ""))[:100],
            "diff_lines": str(data.get("diff", "")).count("\n"),
            "expected_recovery": data.get("expected_recovery"),
        }
        problem = self.check_proposal(tool_input)
        diff = ""
        if not problem:
            try:
                diff = self.canonical_diff(_with_final_newline(data["diff"]))
            except GitError as exc:
                problem = f"git apply failed: {str(exc)[-1500:]}"
        previous = self.context.previous_diff.strip()
        if not problem and previous and diff.strip() == previous:
            problem = "it is the same diff as the revision the reviewer asked to change"
        if problem:
            self.step(prompts.PROPOSE_FIX, arguments, "refused", started, error=problem)
            if self.proposal_corrections <= 0:
                raise self.fail(f"the model's diff was refused twice: {problem}")
            self.proposal_corrections -= 1
            return None, f"the proposal was refused: {problem}"
        self.step(prompts.PROPOSE_FIX, arguments, "the diff applies; validating", started)
        skill = self.skills[data["skill"]]
        validation = self.validate(diff, data["skill"])
        verdict = _verdict(validation)
        if verdict:
            self.refusals.append({"skill": skill.slug, "reason": f"model's diff: {verdict}"})
            if self.validation_corrections <= 0:
                return (
                    self.candidate(
                        outcome="no_fix",
                        no_fix_reason=f"the model's fix did not pass validation: {verdict}",
                    ),
                    "",
                )
            self.validation_corrections -= 1
            return None, f"validation failed, nothing was proposed: {verdict}"
        proposed = Proposed(
            skill=skill,
            diff=diff,
            rationale=str(data["rationale"]),
            risks=str(data.get("risks") or ""),
            expected_recovery=float(data["expected_recovery"]),
            validation=validation,
        )
        return self.finish(proposed), ""

    def check_proposal(self, tool_input: Any) -> str:
        schema = prompts.answer_tools(list(self.skills))[0]["input_schema"]
        try:
            jsonschema.validate(tool_input, schema)
        except jsonschema.ValidationError as exc:
            where = ".".join(str(p) for p in exc.absolute_path)
            return f"invalid input{' for ' + where if where else ''}: {exc.message[:300]}"
        return check_diff(self.root, _with_final_newline(tool_input["diff"]))

    def canonical_diff(self, diff: str) -> str:
        """The diff as git prints it after applying it: what the reviewer sees and git applies."""
        try:
            run_git(self.root, "apply", "-", input_text=diff)
            return worktree_diff(self.root)
        finally:
            worktree_reset(self.root)

    def validate(self, diff: str, slug: str) -> Validation:
        """Tests, then the benchmark interleaved with a clean baseline: the offline solver's way."""
        context, bench = self.context, self.bench
        remaining = bench.remaining()
        if remaining < MIN_VALIDATION_BUDGET_S:
            raise self.fail("no time left to validate the model's diff within the solve timeout")
        baseline = bench.baseline_dir()
        started = time.perf_counter()
        validation = validate_in_worktree(
            self.root,
            diff,
            test_cmd=context.test_cmd,
            bench_cmd=context.bench_cmd if baseline is not None else "",
            bench_runs=bench.runs,
            baseline_dir=baseline,
            test_timeout=min(TEST_TIMEOUT_S, remaining / 2),
            bench_timeout=min(BENCH_TIMEOUT_S, remaining / (4 * max(bench.runs, 1))),
        )
        if baseline is not None and validation.bench_before_s is None and validation.bench_log:
            # The unchanged code's benchmark fails: nothing can be measured; the tests decide.
            bench.broken_log = validation.bench_log
            validation.bench_after_s = None
        if bench.broken_log:
            validation.bench_log = f"the benchmark fails on the unchanged code:\n{bench.broken_log}"
        verdict = _verdict(validation)
        self.step(
            "validate",
            {"skill": slug},
            verdict or _validation_summary(validation),
            started,
            error=verdict,
        )
        return validation

    def finish(self, proposed: Proposed) -> Candidate:
        context, validation = self.context, proposed.validation
        # A regression's recovery is the share of the regression undone: as offline, the
        # benchmark at the root-cause commit's parent, once per solve.
        regression_parent(validation, context, self.bench, self.step)
        measured = validation.measured_recovery
        expected = max(0.0, min(1.0, proposed.expected_recovery))
        recovery = measured if measured is not None else expected
        estimated = context.fleet.watts(context.magnitude_pct, recovery)
        rationale = "\n\n".join(
            part
            for part in (
                proposed.rationale.strip(),
                f"*Proposed by `{self.config.model}` (Anthropic backend) applying "
                f"**{proposed.skill.name}**; the checks below are Wattson's own.*",
                "**Validated** in a scratch worktree of "
                + rationale_text._code(context.default_branch)
                + ":",
                rationale_text._measured_line(context, validation),
                rationale_text._savings_line(
                    context,
                    estimated,
                    recovery,
                    measured is not None,
                    of_regression=validation.bench_parent_s is not None,
                ),
            )
            if part
        )
        return self.candidate(
            outcome="proposal",
            skill_slug=proposed.skill.slug,
            skill_version_id=proposed.skill.version_id,
            diff=proposed.diff,
            rationale=rationale + "\n",
            risks=proposed.risks.strip(),
            expected_recovery=expected,
            estimated_watts=estimated,
            measured_watts=(
                context.fleet.watts(context.magnitude_pct, measured)
                if measured is not None
                else None
            ),
            validation=validation,
        )


# --- helpers ---------------------------------------------------------------------------------


def check_diff(worktree: str | Path, diff: str) -> str:
    """Why `diff` cannot be proposed here, or "" when it parses, is safe and applies."""
    limit = int(getattr(settings, "WATTSON_PATCH_MAX_BYTES", 1024 * 1024))
    if len(diff.encode()) > limit:
        return f"the diff is larger than {limit} bytes"
    try:
        patch = PatchSet(diff)
    except UnidiffParseError as exc:
        return f"not a valid unified diff: {exc}"
    if not patch:
        return "not a unified diff: no file headers (--- a/path, +++ b/path) were found"
    for patched in patch:
        if patched.is_binary_file:
            return f"{patched.path}: binary changes are not accepted"
        path = patched.path or ""
        if path.startswith("/") or ".." in path.split("/") or path.split("/")[0] == ".git":
            return f"{path}: paths must be relative to the repository root, outside .git"
    unsafe = check_patch_safety(worktree, diff)
    if unsafe:
        return unsafe
    check = run_git(worktree, "apply", "--check", "-", input_text=diff, check=False)
    if check.returncode != 0:
        detail = (check.stderr or check.stdout or "").strip()
        return f"git apply --check failed: {detail[-1500:]}"
    return ""


def _with_final_newline(text: str) -> str:
    return text if text.endswith("\n") else text + "\n"


def _block_dict(block: Any) -> dict[str, Any]:
    """A response content block as the plain dict the next request sends back."""
    data = block.model_dump(exclude_none=True) if hasattr(block, "model_dump") else dict(block)
    kind = data.get("type")
    if kind == "text":
        return {"type": "text", "text": data.get("text", "")}
    if kind == "tool_use":
        return {
            "type": "tool_use",
            "id": data["id"],
            "name": data["name"],
            "input": data.get("input") or {},
        }
    return data


def _clip_block(block: dict[str, Any]) -> dict[str, Any]:
    content = block.get("content")
    if not isinstance(content, str) or len(content) <= TRANSCRIPT_BLOCK_CHARS:
        return block
    hidden = len(content) - TRANSCRIPT_BLOCK_CHARS
    return {**block, "content": content[:TRANSCRIPT_BLOCK_CHARS] + f"\n[{hidden} more characters]"}


def _api_error_message(exc: anthropic.APIError, config: LLMConfig) -> str:
    """A clear reason for the run's failure; never the key, never the request."""
    retries = f"after {config.max_retries} retries (ANTHROPIC_MAX_RETRIES)"
    if isinstance(exc, anthropic.AuthenticationError):
        return "the Anthropic API refused the key (401): check ANTHROPIC_API_KEY"
    if isinstance(exc, anthropic.PermissionDeniedError):
        return "the Anthropic API refused access for this key (403)"
    if isinstance(exc, anthropic.RateLimitError):
        return f"the Anthropic API kept rate-limiting the run (429) {retries}"
    if isinstance(exc, anthropic.OverloadedError):
        return f"the Anthropic API stayed overloaded (529) {retries}"
    if isinstance(exc, anthropic.APIStatusError):
        detail = _error_detail(exc.body)
        if exc.status_code >= 500:
            return f"the Anthropic API failed ({exc.status_code}) {retries}: {detail}"
        return f"the Anthropic API refused the request ({exc.status_code}): {detail}"
    if isinstance(exc, anthropic.APITimeoutError):
        return f"the Anthropic API timed out {retries}"
    if isinstance(exc, anthropic.APIConnectionError):
        where = config.base_url or "api.anthropic.com"
        return f"could not reach the Anthropic API at {where} {retries}"
    return f"the Anthropic API call failed: {type(exc).__name__}"


def _error_detail(body: Any) -> str:
    if isinstance(body, dict):
        error = body.get("error") if isinstance(body.get("error"), dict) else body
        kind, message = error.get("type", ""), error.get("message", "")
        return f"{kind}: {message}"[:500] if kind or message else json.dumps(body)[:500]
    return str(body)[:500]
