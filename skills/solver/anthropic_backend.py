"""The Anthropic backend: a tool-use agent that reads the code and proposes a diff.

The only module that imports `anthropic`. `solve(context)` ranks the skills as the offline
solver does, gives the model the top ones as its system prompt and the finding as delimited data,
lets it call the read-only tool registry, and takes its answer from a `propose_fix` tool (a
structured proposal) or a `no_fix` tool. The diff is checked (the one patch-safety check, then
`git apply --check`) and a refusal goes back to the model once; then the proposal goes through
the shared pipeline (skills.solver.pipeline) exactly as an offline candidate (tests, benchmark
before/after, a regression's parent) and a failing one is not presented.

Budgets (turns, tokens, wall time) come from settings at call time (skills.solver.llm_config);
the SDK retries 429/5xx/529 with backoff. Token usage and the estimated cost are returned in
Candidate.usage. The API key is read from the environment per call and never logged, traced or
stored.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anthropic
import jsonschema

from skills.gitio import GitError, run_git
from skills.patchsafety import patch_refusal
from skills.selection import RankedSkill, rank_skills
from skills.solver import prompts
from skills.solver import rationale as rationale_text
from skills.solver.gather import Gathered, code_for_triggers, gather
from skills.solver.llm_config import (
    MIN_RESPONSE_TOKENS,
    LLMConfig,
    Usage,
    api_key,
    load_config,
)
from skills.solver.llm_messages import block_dict, clip_block, error_detail, with_final_newline
from skills.solver.pipeline import (
    MIN_VALIDATION_BUDGET_S,
    Bench,
    Limits,
    SolverError,
    regression_parent,
    savings,
    scratch,
    validate_diff,
)
from skills.solver.trace import Progress, Tracer, make_sandbox
from skills.solver.types import Candidate, SkillSpec, SolveContext, Validation
from skills.tools import REGISTRY, call_tool, tool_definitions
from skills.worktrees import worktree_diff, worktree_reset

logger = logging.getLogger(__name__)

BACKEND = "anthropic"
# A refused proposal (malformed, does not apply) and a proposal that fails validation each go
# back to the model once; the second refusal ends the run.
PROPOSAL_CORRECTIONS = 1
VALIDATION_CORRECTIONS = 1
NUDGE = (
    f"Finish by calling `{prompts.PROPOSE_FIX}` with a unified diff, or `{prompts.NO_FIX}` with "
    "the reason; plain text does not end the run."
)


class AnthropicSolveError(SolverError):
    """The run ended without a proposal; `partial` keeps its trace, transcript and usage."""

    def __init__(self, message: str, *, partial: Candidate | None = None) -> None:
        super().__init__(message)
        self.partial = partial


def make_client(config: LLMConfig, key: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        api_key=key,
        base_url=config.base_url or None,
        max_retries=config.max_retries,
        timeout=config.timeout_s,
    )


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
    progress: Progress | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Candidate:
    """One agent run in a scratch worktree: a validated candidate or no_fix; else it raises.

    `bench_runs` overrides WATTSON_BENCH_RUNS; `clock` times the conversation against
    WATTSON_LLM_MAX_SECONDS (a test moves it on instead of waiting).
    """
    config = load_config()
    key = api_key()
    if client is None and not key:
        raise SolverError("the anthropic backend needs ANTHROPIC_API_KEY in the environment")
    with scratch(context, Limits.from_settings(bench_runs=bench_runs)) as (root, bench):
        agent = _Agent(
            context=context,
            root=root,
            config=config,
            client=client or make_client(config, key),
            bench=bench,
            tracer=Tracer(make_sandbox(root, context), progress),
            clock=clock,
        )
        return agent.run()


class _Agent:
    def __init__(
        self,
        *,
        context: SolveContext,
        root: Path,
        config: LLMConfig,
        client: Any,
        bench: Bench,
        tracer: Tracer,
        clock: Callable[[], float],
    ) -> None:
        self.context = context
        self.root = root
        self.config = config
        self.client = client
        self.bench = bench
        self.tracer = tracer
        self.sandbox = tracer.sandbox
        self.usage = Usage()
        self.messages: list[dict[str, Any]] = []
        self.system_text = ""
        self.refusals: list[dict[str, str]] = []
        self.skills: dict[str, SkillSpec] = {}
        self.gathered = Gathered()
        self.proposal_corrections = PROPOSAL_CORRECTIONS
        self.validation_corrections = VALIDATION_CORRECTIONS
        self.clock = clock
        self.started = clock()

    # bookkeeping

    def candidate(self, **fields: Any) -> Candidate:
        """A Candidate carrying this run's trace, usage and transcript."""
        return Candidate(
            trace=list(self.tracer.records),
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
                content = [clip_block(block) for block in content]
            out.append({"role": message["role"], "content": content})
        return out

    # ranking

    def rank(self) -> list[RankedSkill]:
        """Rank the skills against the code the offline solver would show their triggers."""
        self.gathered = gather(self.context, self.root)
        started = time.perf_counter()
        ranked, not_applicable = rank_skills(self.context, code_for_triggers(self.gathered))
        self.refusals = list(not_applicable)
        self.tracer.step(
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
        tools = [*tool_definitions(), *prompts.answer_tools(list(self.skills))]
        tools[-1] = {**tools[-1], "cache_control": {"type": "ephemeral"}}
        self.messages = [{"role": "user", "content": prompts.finding_message(self.context)}]

        for turn in range(1, self.config.max_turns + 1):
            response = self.call_model(turn, system, tools)
            content = [block_dict(block) for block in response.content]
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
        elapsed = self.clock() - self.started
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
            self.tracer.step("model", arguments, "API error", started, error=message)
            raise self.fail(message) from None
        self.usage.add(response.usage)
        names = [b.name for b in response.content if getattr(b, "type", "") == "tool_use"]
        summary = (
            f"{response.stop_reason}: {', '.join(names) or 'text only'} · "
            f"{getattr(response.usage, 'input_tokens', 0):,} in "
            f"(+{getattr(response.usage, 'cache_read_input_tokens', 0) or 0:,} cached) / "
            f"{getattr(response.usage, 'output_tokens', 0):,} out"
        )
        self.tracer.step("model", arguments, summary, started)
        return response

    def answer(
        self, tool_uses: list[dict], *, truncated: bool
    ) -> tuple[list[dict], Candidate | None]:
        """A tool_result for every tool_use (the API requires it), or the run's outcome."""
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
                self.tracer.step("no_fix", {"reason": reason[:500]}, reason, time.perf_counter())
                return results, self.candidate(
                    outcome="no_fix", no_fix_reason=f"the model found no safe fix: {reason}"
                )
            elif name in REGISTRY:
                text, record = call_tool(self.sandbox, name, tool_input)
                self.tracer.record(record)
                error = record.error
            else:
                text, error = "", f"unknown tool {name!r}"
                self.tracer.step(
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
                diff = self.canonical_diff(with_final_newline(data["diff"]))
            except GitError as exc:
                problem = f"git apply failed: {str(exc)[-1500:]}"
        previous = self.context.previous_diff.strip()
        if not problem and previous and diff.strip() == previous:
            problem = "it is the same diff as the revision the reviewer asked to change"
        if problem:
            self.tracer.step(prompts.PROPOSE_FIX, arguments, "refused", started, error=problem)
            if self.proposal_corrections <= 0:
                raise self.fail(f"the model's diff was refused twice: {problem}")
            self.proposal_corrections -= 1
            return None, f"the proposal was refused: {problem}"
        self.tracer.step(prompts.PROPOSE_FIX, arguments, "the diff applies; validating", started)
        skill = self.skills[data["skill"]]
        validation, verdict = self.validate(diff, data["skill"])
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
        """Why the model's answer cannot be validated, or "": schema, patch safety, git apply."""
        schema = prompts.answer_tools(list(self.skills))[0]["input_schema"]
        try:
            jsonschema.validate(tool_input, schema)
        except jsonschema.ValidationError as exc:
            where = ".".join(str(p) for p in exc.absolute_path)
            return f"invalid input{' for ' + where if where else ''}: {exc.message[:300]}"
        diff = with_final_newline(tool_input["diff"])
        unsafe = patch_refusal(diff, repo=self.root)
        if unsafe:
            return unsafe
        check = run_git(self.root, "apply", "--check", "-", input_text=diff, check=False)
        if check.returncode != 0:
            detail = (check.stderr or check.stdout or "").strip()
            return f"git apply --check failed: {detail[-1500:]}"
        return ""

    def canonical_diff(self, diff: str) -> str:
        """The diff as git prints it after applying it: what the reviewer sees and git applies."""
        try:
            run_git(self.root, "apply", "-", input_text=diff)
            return worktree_diff(self.root)
        finally:
            worktree_reset(self.root)

    def validate(self, diff: str, slug: str) -> tuple[Validation, str]:
        """(validation, verdict) by the shared pipeline, exactly as an offline candidate."""
        if self.bench.remaining() < MIN_VALIDATION_BUDGET_S:
            raise self.fail("no time left to validate the model's diff within the solve timeout")
        return validate_diff(
            self.root,
            diff,
            context=self.context,
            bench=self.bench,
            tracer=self.tracer,
            arguments={"skill": slug},
        )

    def finish(self, proposed: Proposed) -> Candidate:
        context, validation = self.context, proposed.validation
        # A regression's recovery is the share of the regression undone: as offline, the
        # benchmark at the root-cause commit's parent, once per solve.
        regression_parent(
            validation, context, self.bench, self.tracer.step, self.gathered.commit_sha
        )
        expected = max(0.0, min(1.0, proposed.expected_recovery))
        saved = savings(context, validation, expected)
        return self.candidate(
            outcome="proposal",
            skill_slug=proposed.skill.slug,
            skill_version_id=proposed.skill.version_id,
            diff=proposed.diff,
            rationale=rationale_text.for_model_proposal(
                context=context,
                model=self.config.model,
                skill_name=proposed.skill.name,
                text=proposed.rationale,
                validation=validation,
                recovery=saved.recovery,
                estimated_watts=saved.estimated_watts,
            ),
            risks=proposed.risks.strip(),
            expected_recovery=expected,
            estimated_watts=saved.estimated_watts,
            measured_watts=saved.measured_watts,
            validation=validation,
        )


# --- helpers ---------------------------------------------------------------------------------


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
        detail = error_detail(exc.body)
        if exc.status_code >= 500:
            return f"the Anthropic API failed ({exc.status_code}) {retries}: {detail}"
        return f"the Anthropic API refused the request ({exc.status_code}): {detail}"
    if isinstance(exc, anthropic.APITimeoutError):
        return f"the Anthropic API timed out {retries}"
    if isinstance(exc, anthropic.APIConnectionError):
        where = config.base_url or "api.anthropic.com"
        return f"could not reach the Anthropic API at {where} {retries}"
    return f"the Anthropic API call failed: {type(exc).__name__}"
