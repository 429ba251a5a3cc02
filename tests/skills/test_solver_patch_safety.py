"""The solver refuses a model's diff that carries a symlink or mode rider (issue #10 item 6).

The model is a script (tests/fakes), the SDK is real. Each rider rides on the scenario's genuine
precompile-regex fix, so only the patch-safety check stands between it and a reviewer.
"""

from __future__ import annotations

import os

import pytest

from skills.solver import anthropic_backend
from skills.solver.anthropic_backend import AnthropicSolveError
from tests.fakes.anthropic_api import FakeAnthropicAPI, last_tool_results, result_text
from tests.fakes.llm_scripts import LABELS_FILE, context_for, precompile, precompile_diff, propose
from tests.support.symlink_patches import (
    HOSTILE_NAMES,
    LINK,
    LINK_TARGET,
    add_symlink,
    hostile_diffs,
)


@pytest.fixture
def llm(settings, monkeypatch, tmp_path):
    settings.WATTSON_WORK_DIR = tmp_path / "work"
    settings.ANTHROPIC_MAX_RETRIES = 1
    started: list[FakeAnthropicAPI] = []

    def start(script) -> FakeAnthropicAPI:
        api = FakeAnthropicAPI(script).start()
        started.append(api)
        settings.ANTHROPIC_BASE_URL = api.base_url
        monkeypatch.setenv("ANTHROPIC_API_KEY", api.api_key)
        return api

    yield start
    for api in started:
        api.stop()


@pytest.fixture
def labels(scenario):
    built = scenario("label_regex")
    add_symlink(built["path"])
    return built


def _hostile(built: dict) -> dict[str, str]:
    path = built["path"]
    fixed = precompile((path / LABELS_FILE).read_text())
    return hostile_diffs(path, fix_path=LABELS_FILE, fixed_text=fixed)


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_a_model_diff_with_a_symlink_or_mode_rider_is_refused_and_never_validated(
    name, labels, llm
):
    rider = _hostile(labels)[name]
    api = llm([propose(rider), propose(rider)])

    with pytest.raises(AnthropicSolveError) as failure:
        anthropic_backend.solve(context_for(labels))

    message = str(failure.value)
    assert message.startswith("the model's diff was refused twice"), message
    assert "symlink" in message or "mode" in message, message
    (refusal,) = last_tool_results(api.bodies[1])
    assert refusal["is_error"] and "the proposal was refused" in result_text(refusal)
    assert not any(r.tool == "validate" for r in failure.value.partial.trace)
    assert os.readlink(labels["path"] / LINK) == LINK_TARGET


def test_after_a_refused_rider_only_the_clean_fix_is_proposed(labels, llm):
    clean = precompile_diff(labels["path"])
    llm([propose(_hostile(labels)["symlink-retarget-mode-unstated"]), propose(clean)])

    candidate = anthropic_backend.solve(context_for(labels))

    assert candidate.outcome == "proposal" and candidate.diff == clean
    assert LINK not in candidate.diff and "mode" not in candidate.diff
    refused = [r for r in candidate.trace if r.tool == "propose_fix" and r.error]
    assert len(refused) == 1 and "symlink" in refused[0].error
