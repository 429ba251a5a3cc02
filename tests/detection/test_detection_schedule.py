"""The scheduled detection: over every stored series, each regression filed once."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django_q.models import Schedule

from reviews.apps import DETECT_FUNC
from reviews.models import Finding
from reviews.services.regressions import DETECT_SOURCE
from reviews.tasks import detect_regressions
from tests.detection.helpers import commit_at, history_csv, series_values

pytestmark = pytest.mark.django_db


def test_migrate_schedules_detection_hourly():
    schedule = Schedule.objects.get(func=DETECT_FUNC)
    assert schedule.schedule_type == Schedule.HOURLY and schedule.repeats == -1


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
