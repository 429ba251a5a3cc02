"""Scenario repositories the tests build from files inside the project.

Each folder here is one scenario: a small Python package with a real performance problem in its
history, stdlib `unittest` tests and a `bench.py` that prints `seconds: X`. `scenario.json` names
the commits (one fixture folder laid over the previous tree per commit, with fixed authors and
dates, so every build gives the same shas) and holds the finding a detector would send, with
`root_cause_step` in place of the regressing commit's sha. The demo's repository builder does the
git work; nothing here needs the network or `../shared`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from email.utils import parseaddr
from pathlib import Path
from typing import Any

from reviews.demo.builder import demo_repo_build
from reviews.demo.catalog import DemoCommit, DemoRepo, Person

SCENARIOS_DIR = Path(__file__).resolve().parent
SCENARIO_NAMES = sorted(p.parent.name for p in SCENARIOS_DIR.glob("*/scenario.json"))
# Keys of scenario.json that describe the build rather than the scenario.
_BUILD_KEYS = ("commits", "finding")


@dataclass(frozen=True)
class ScenarioRepo(DemoRepo):
    """A demo-shaped repository whose fixture folders live in tests/scenarios/<scenario>/."""

    scenario_dir: Path = SCENARIOS_DIR

    @property
    def fixture_dir(self) -> Path:
        return self.scenario_dir


def _commit(spec: dict[str, str]) -> DemoCommit:
    name, email = parseaddr(spec["author"])
    return DemoCommit(spec["step"], Person(name, email), spec["date"], spec["message"])


def build_scenario(name: str, dest: Path) -> dict[str, Any]:
    """Build scenario `name` as a git repository at dest; {"finding", "meta", "path"}.

    `finding` is the detector's payload with the real root-cause sha; `meta` is scenario.json
    without the build details (name, expected_skill, test_cmd, bench_cmd).
    """
    scenario_dir = SCENARIOS_DIR / name
    spec = json.loads((scenario_dir / "scenario.json").read_text())
    commits = tuple(_commit(c) for c in spec["commits"])
    repo = ScenarioRepo(
        name=dest.name,
        service=spec["finding"]["service"],
        team="",
        fleet_servers=0,
        commits=commits,
        findings=(),
        scenario_dir=scenario_dir,
    )
    built = demo_repo_build(repo, root=dest.parent)
    finding = {k: v for k, v in spec["finding"].items() if k != "root_cause_step"}
    step = spec["finding"].get("root_cause_step")
    if step:
        commit = next(c for c in commits if c.step == step)
        finding["root_cause"] = {"commit": built.shas[step], "author": commit.author.email}
    meta = {k: v for k, v in spec.items() if k not in _BUILD_KEYS}
    return {"finding": finding, "meta": meta, "path": built.path}
