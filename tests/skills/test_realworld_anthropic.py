"""bench/realworld with --backend anthropic, replayed against the local fake Messages API.

run.py's per-case function runs two corpus cases with ANTHROPIC_BASE_URL at the fake (the real
SDK, the real solve command, the real re-check): a scripted model that proposes the upstream
maintainers' own fix for toolz-join is a valid fix, one that proposes a fast but wrong change to
toolz-interleave is refused by validation (an honest no_fix, never a wrong fix presented), and
both carry the tokens and dollars the conversation cost, which the summary divides by the valid
fixes.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from reviews.services import solving
from tests.fakes.anthropic_api import FakeAnthropicAPI, Reply, reply, text, tool_use

HERE = Path(__file__).resolve().parents[2] / "bench" / "realworld"


@pytest.fixture
def fake_api(settings, monkeypatch):
    started: list[FakeAnthropicAPI] = []

    def start(script, **options) -> FakeAnthropicAPI:
        api = FakeAnthropicAPI(script, **options).start()
        started.append(api)
        settings.ANTHROPIC_BASE_URL = api.base_url
        monkeypatch.setenv("ANTHROPIC_BASE_URL", api.base_url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", api.api_key)
        return api

    yield start
    for api in started:
        api.stop()


@pytest.fixture
def corpus(db, settings, tmp_path, monkeypatch):
    settings.WATTSON_WORK_DIR = tmp_path / "work"
    settings.WATTSON_AUTO_SOLVE = False
    settings.ANTHROPIC_MAX_RETRIES = 0
    settings.WATTSON_LLM_PRICE_INPUT_PER_MTOK = 3.0
    settings.WATTSON_LLM_PRICE_OUTPUT_PER_MTOK = 15.0
    monkeypatch.setattr(solving, "solve_run_enqueue", lambda *, run_id: None)
    return tmp_path


def _propose(diff: str):
    """A model turn proposing `diff` under the first skill the solver offered it."""

    def step(body: dict) -> Reply:
        propose = next(t for t in body["tools"] if t["name"] == "propose_fix")
        skill = propose["input_schema"]["properties"]["skill"]["enum"][0]
        return reply(
            text("I will make this change."),
            tool_use(
                "propose_fix",
                {
                    "skill": skill,
                    "diff": diff,
                    "rationale": "A scripted proposal for the corpus replay.",
                    "expected_recovery": 0.5,
                    "risks": "None known.",
                },
            ),
        )

    return step


def _wrong_interleave_diff(realworld, tmp_path: Path) -> str:
    """Drops exhausted-iterator bookkeeping: faster, and every sequence yields only once."""
    repo = tmp_path / "scratch-interleave"
    sys.modules["build"].build("toolz-interleave", repo)
    path = repo / "toolz" / "itertoolz.py"
    source = path.read_text()
    assert "                newiters.append(itr)\n" in source
    path.write_text(source.replace("                newiters.append(itr)\n", "", 1))
    return subprocess.run(
        ["git", "-C", str(repo), "diff", "--no-color"], check=True, capture_output=True, text=True
    ).stdout


def test_anthropic_backend_replays_two_corpus_cases(realworld, fake_api, corpus, capsys):
    reference = (HERE / "cases" / "toolz-join" / "reference.diff").read_text()
    api = fake_api([_propose(reference)])
    valid = realworld.run_case("toolz-join", corpus, "anthropic")
    assert api.bodies, "the solver never called the fake Messages API"

    assert valid["backend"] == "anthropic"
    assert valid["outcome"] == "valid", (valid["reason"], valid["refusals"])
    assert valid["wattson_speedup"] and valid["upstream_speedup"]
    assert valid["tokens"] > 0 and valid["cost_usd"] > 0

    wrong = _wrong_interleave_diff(realworld, corpus)
    # The model insists: every correction it is offered, it proposes the same wrong diff.
    fake_api([], when_exhausted=_propose(wrong))
    refused = realworld.run_case("toolz-interleave", corpus, "anthropic")

    assert refused["outcome"] == "no_fix", refused["reason"]
    assert "did not pass validation" in refused["reason"]
    assert "tests fail" in refused["reason"]
    assert refused["tokens"] > 0 and refused["cost_usd"] > 0

    summary = realworld.summarise([valid, refused])
    assert (summary["valid"], summary["wrong"], summary["no_fix"]) == (1, 0, 1)
    assert summary["tokens"] == valid["tokens"] + refused["tokens"]
    # Everything spent, failures included, over the one valid fix.
    assert summary["tokens_per_valid_fix"] == summary["tokens"]
    assert summary["dollars_per_valid_fix"] == pytest.approx(
        valid["cost_usd"] + refused["cost_usd"], abs=1e-6
    )
    realworld.print_text([valid, refused], summary)
    printed = capsys.readouterr().out
    assert f"{valid['tokens']:,} tokens ${valid['cost_usd']:.4f}" in printed
    assert f"${summary['dollars_per_valid_fix']:.4f} per valid fix" in printed
