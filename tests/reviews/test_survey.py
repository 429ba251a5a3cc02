"""The survey: every function against every skill's trigger, filed as ranked opportunities."""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django_q.models import Schedule

from reviews.detection.profiles import profile_read
from reviews.inlet_tasks import survey_all_task
from reviews.models import Finding, Repository, Service
from reviews.services.survey import (
    SCHEDULE_FUNC,
    SCHEDULE_NAME,
    SURVEY_SOURCE,
    survey_external_id,
    survey_run,
)

TEXT = '''import re


def clean(text):
    """Collapse whitespace."""
    text = text.strip()
    text = text.lower()
    return re.sub(r"\\s+", " ", text)


def join_all(items):
    out = ""
    for item in items:
        out += str(item)
    return out


def add(a, b):
    return a + b
'''
FORMAT = """def render(rows):
    page = ""
    for row in rows:
        page += row
    return page
"""


@pytest.fixture
def surveyed(db, tmp_path: Path, settings) -> Repository:
    settings.VAR_DIR = tmp_path / "var"
    root = tmp_path / "repo"
    (root / "shop" / "tests").mkdir(parents=True)
    (root / "shop" / "__init__.py").write_text("")
    (root / "shop" / "text.py").write_text(TEXT)
    (root / "shop" / "fmt.py").write_text(FORMAT)
    # Tests are not where the fleet spends its CPU: never surveyed.
    (root / "shop" / "tests" / "test_text.py").write_text(FORMAT.replace("render", "test_x"))
    for argv in (
        ["init", "-q", "-b", "main"],
        ["add", "-A"],
        ["-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "shop"],
    ):
        subprocess.run(["git", "-C", str(root), *argv], check=True, capture_output=True)
    repository = Repository.objects.create(name="shop", path=str(root))
    Service.objects.create(name="shop-web", repository=repository, fleet_servers=1000)
    return repository


def _filed(ids: list[int]) -> list[tuple[str, str]]:
    findings = Finding.objects.in_bulk(ids)
    return [(findings[pk].functions[0]["symbol"], findings[pk].pattern) for pk in ids]


def test_survey_files_one_opportunity_per_function_and_skill_ranked_by_watts(surveyed):
    result = survey_run(repository=surveyed)
    assert result.functions == 4  # clean, join_all, add, render; the test file is skipped
    filed = _filed(result.opportunities)
    assert ("shop.text.clean", "precompile-regex") in filed
    assert ("shop.text.join_all", "string-join") in filed
    assert ("shop.fmt.render", "string-join") in filed
    assert all(symbol != "shop.text.add" for symbol, _ in filed)
    findings = [Finding.objects.get(pk=pk) for pk in result.opportunities]
    assert all(f.kind == "opportunity" and f.source == SURVEY_SOURCE for f in findings)
    watts = [f.estimated_watts for f in findings]
    assert watts == sorted(watts, reverse=True) and watts[0] > 0
    first = findings[0]
    assert first.external_id == survey_external_id(
        "shop", first.functions[0]["symbol"], first.pattern
    )
    assert first.evidence["survey"]["share_from"] == "lines"


def test_survey_again_changes_nothing(surveyed):
    first = survey_run(repository=surveyed)
    count = Finding.objects.count()
    again = survey_run(repository=surveyed)
    assert again.created == [] and sorted(again.opportunities) == sorted(first.opportunities)
    assert Finding.objects.count() == count


def test_a_profile_weights_the_ranking_and_leaves_out_what_it_never_sampled(surveyed, tmp_path):
    stacks = tmp_path / "fleet.folded"
    # render is hot; clean barely sampled; join_all never.
    stacks.write_text(
        "main (shop/app.py:1);render (shop/fmt.py:1) 90\n"
        "main (shop/app.py:1);clean (shop/text.py:4) 10\n"
    )
    result = survey_run(repository=surveyed, profile=profile_read(stacks, "folded"))
    filed = _filed(result.opportunities)
    assert filed[0] == ("shop.fmt.render", "string-join")
    assert ("shop.text.clean", "precompile-regex") in filed
    assert all(symbol != "shop.text.join_all" for symbol, _ in filed)
    render = Finding.objects.get(pk=result.opportunities[0])
    assert render.functions[0]["cpu_share_pct"] == pytest.approx(90.0)
    assert render.evidence["survey"]["share_from"] == "profile"


def test_survey_command_prints_the_contract_json_and_refuses_an_unknown_repository(surveyed):
    out = io.StringIO()
    call_command("survey", "shop", "--json", stdout=out)
    document = json.loads(out.getvalue())
    assert document["functions"] == 4
    assert document["opportunities"] and all(isinstance(i, int) for i in document["opportunities"])
    with pytest.raises(CommandError) as error:
        call_command("survey", "nope")
    assert error.value.returncode == 2 and "add_repo" in str(error.value)


JOINER = """def build_{n}(items):
    out = ""
    for item in items:
        out += str(item) + "{n}"
    return out


def plain_{n}(a, b):
    return a * {n} + b
"""


@pytest.mark.parametrize("processes", [1, 2])
def test_one_run_confirms_every_hit_the_same_with_or_without_worker_processes(
    surveyed, monkeypatch, processes
):
    root = Path(surveyed.path)
    for module in range(6):
        (root / "shop" / f"gen{module}.py").write_text(
            "\n\n".join(JOINER.format(n=module * 10 + k) for k in range(5))
        )
    subprocess.run(["git", "-C", str(root), "add", "-A"], check=True)
    subprocess.run(
        [
            "git",
            "-C",
            str(root),
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@e.com",
            "commit",
            "-qm",
            "g",
        ],
        check=True,
    )
    monkeypatch.setattr("reviews.detection.survey.CONFIRM_PROCESSES", processes)
    result = survey_run(repository=surveyed, limit=40)
    assert result.unconfirmed == 0
    filed = _filed(result.opportunities)
    builds = {f"shop.gen{m}.build_{m * 10 + k}" for m in range(6) for k in range(5)}
    assert {symbol for symbol, skill in filed if skill == "string-join"} >= builds
    assert not any(".plain_" in symbol for symbol, _ in filed)
    assert (
        len(result.created) == len(filed)
        and survey_run(repository=surveyed, limit=40).created == []
    )


def test_migrate_schedules_the_survey_daily_and_its_task_surveys_each_repository(surveyed):
    schedule = Schedule.objects.get(name=SCHEDULE_NAME)
    assert schedule.func == SCHEDULE_FUNC and schedule.schedule_type == Schedule.DAILY
    first = survey_all_task()
    assert first["shop"] >= 3
    assert survey_all_task() == {"shop": 0}
