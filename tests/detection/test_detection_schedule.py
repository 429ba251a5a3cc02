"""The scheduled detection: over every stored series, each regression filed once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django_q.models import Schedule

from reviews.apps import BISECT_SWEEP_FUNC, DETECT_FUNC
from reviews.detection.attribution import change_bracket
from reviews.models import Finding
from reviews.services.regressions import DETECT_SOURCE
from reviews.tasks import detect_regressions
from tests.detection.helpers import START, commit_at, history_csv, series_values

pytestmark = pytest.mark.django_db


def test_migrate_schedules_detection_hourly():
    schedule = Schedule.objects.get(func=DETECT_FUNC)
    assert schedule.schedule_type == Schedule.HOURLY and schedule.repeats == -1
    # Bisects a lost message or a dead worker left waiting are swept every minute.
    sweep = Schedule.objects.get(func=BISECT_SWEEP_FUNC)
    assert sweep.schedule_type == Schedule.MINUTES and sweep.minutes == 1


def test_the_scheduled_run_files_stored_regressions_once(tmp_path):
    path = history_csv(
        tmp_path / "h.csv",
        {
            "render": series_values(seed=11, step_at=90, step=5.0),
            "parse": series_values(seed=12, step_at=60, step=5.0),
            "quiet": series_values(seed=13),
        },
    )
    call_command("import_history", str(path), "--format", "csv", "--service", "billing")
    filed = detect_regressions()
    findings = Finding.objects.filter(source=DETECT_SOURCE)
    # Two commits, two findings: grouping is by commit, not by run.
    assert sorted(filed) == sorted(findings.values_list("id", flat=True))
    assert sorted(findings.values_list("root_cause_commit", flat=True)) == sorted(
        [commit_at(60), commit_at(90)]
    )
    assert detect_regressions() == []
    assert findings.count() == 2


def test_profile_functions_that_grew_are_one_finding_per_function(tmp_path):
    # A day of hourly windows; from the 13th on, render takes 20 % more of the samples.
    for hour in range(24):
        render = 30 if hour < 12 else 50
        stacks = tmp_path / f"w{hour}.folded"
        stacks.write_text(
            f"main (app/main.py:1);render (app/render.py:5) {render + hour % 2}\n"
            f"main (app/main.py:1);parse (app/parse.py:3) {100 - render}\n"
        )
        call_command(
            "import_profile",
            str(stacks),
            "--format",
            "folded",
            "--service",
            "web",
            "--start",
            f"2024-01-01T{hour:02d}:00:00Z",
            "--end",
            f"2024-01-01T{hour:02d}:59:00Z",
            "--commit",
            commit_at(hour),
        )
    detect_regressions()
    [finding] = Finding.objects.filter(source=DETECT_SOURCE)
    assert [f["symbol"] for f in finding.functions] == ["app.render.render"]
    assert finding.root_cause_commit == commit_at(12)
    assert 15 < finding.magnitude_pct < 25  # share points gained


def test_a_change_seen_a_point_after_its_deploy_is_blamed_on_that_deploy(tmp_path):
    # Two deploys: commit A up to point 69, commit B from 70; B's slow-down shows from 71 on
    # (a warm-up point). Blaming the point's own commit would bracket B with B: nothing to
    # attribute, and the finding would name no range.
    good, bad = commit_at(1), commit_at(2)
    values = series_values(seed=21, step_at=71, step=6.0)
    path = tmp_path / "deploys.csv"
    lines = ["time,commit,series,value"]
    for i, value in enumerate(values):
        when = (START + timedelta(hours=i)).isoformat()
        lines.append(f"{when},{good if i < 70 else bad},render,{value!r}")
    path.write_text("\n".join(lines) + "\n")
    call_command("import_history", str(path), "--format", "csv", "--service", "billing")
    [finding_id] = detect_regressions()
    finding = Finding.objects.get(pk=finding_id)
    [change] = finding.evidence["changes"]
    assert (change["last_good_commit"], change["first_bad_commit"]) == (good, bad)
    assert finding.root_cause_commit == bad
    assert change["points"][change["change_index"]][1] == bad


def test_change_bracket_moves_only_to_a_deploy_that_near():
    commits = ["a"] * 10 + ["b"] * 10
    assert change_bracket(commits, 11, within=4) == 10
    assert change_bracket(commits, 9, within=4) == 10
    assert change_bracket(commits, 16, within=4) == 16
    assert change_bracket([""] * 20, 11, within=4) == 11
