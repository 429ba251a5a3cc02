"""manage.py detect / import_history / import_profile: the CI gate, its JSON, every format."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from reviews.models import Finding, FunctionShare, Point, ProfileWindow, Series
from reviews.services.regressions import DETECT_SOURCE
from tests.detection.helpers import FIXTURES, commit_at, history_csv, series_values

pytestmark = pytest.mark.django_db


def _detect(*args: str) -> tuple[int, dict]:
    out = StringIO()
    try:
        call_command("detect", *args, "--json", stdout=out)
        code = 0
    except SystemExit as exc:
        code = exc.code
    return code, json.loads(out.getvalue())


def test_a_step_fails_the_gate_and_files_one_finding_per_commit(tmp_path):
    path = history_csv(
        tmp_path / "h.csv",
        {
            "render": series_values(seed=1, step_at=80, step=6.0),
            "render_large": series_values(seed=2, step_at=80, step=8.0),
            "parse": series_values(seed=3),
        },
    )
    code, document = _detect(str(path), "--format", "csv", "--service", "billing")
    assert code == 1
    assert document["series"] == 3
    regressions = document["regressions"]
    assert {r["series"] for r in regressions} == {"render", "render_large"}
    assert {r["commit"] for r in regressions} == {commit_at(80)}
    assert set(regressions[0]) == {"finding", "series", "commit", "magnitude_pct", "p_value"}
    # Both series changed at the same commit: one finding, naming both.
    [finding] = Finding.objects.filter(source=DETECT_SOURCE)
    assert {r["finding"] for r in regressions} == {finding.pk}
    assert finding.kind == "regression" and finding.service.name == "billing"
    assert finding.root_cause_commit == commit_at(80)
    assert {f["symbol"] for f in finding.functions} == {"render", "render_large"}
    assert 7 < finding.magnitude_pct < 9
    assert finding.confidence > 0.999
    assert abs(finding.baseline - 100) < 1 and abs(finding.current - 108) < 1
    change = finding.evidence["changes"][0]
    assert change["last_good_commit"] == commit_at(79)
    assert change["points"][change["change_index"]][1] == commit_at(80)

    # The same history again: nothing new stored or filed, and the gate still fails.
    code, again = _detect(str(path), "--format", "csv", "--service", "billing")
    assert code == 1 and again["regressions"] == regressions
    assert Finding.objects.filter(source=DETECT_SOURCE).count() == 1
    assert Point.objects.count() == 360


def test_a_quiet_history_passes_the_gate(tmp_path):
    path = history_csv(tmp_path / "h.csv", {"render": series_values(seed=9)})
    assert _detect(str(path), "--format", "csv", "--service", "billing") == (
        0,
        {"series": 1, "regressions": []},
    )
    assert not Finding.objects.exists()


GOOD = "time,commit,series,value\n2024-01-01,abc1234,good,1.0\n"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (GOOD + "yesterday,abc1234,render,1.0\n", "line 3: time"),
        (GOOD + "2024-01-02,abc1234,render,fast\n", "line 3: value"),
        (GOOD + "2024-01-02,abc1234,,1.0\n", "line 3: series"),
        ("time,commit,name,value\n2024-01-01,abc1234,render,1.0\n", "series"),
    ],
)
def test_malformed_history_names_the_field_and_stores_nothing(tmp_path, body, field):
    path = tmp_path / "bad.csv"
    path.write_text(body)
    with pytest.raises(CommandError) as raised:
        call_command("detect", str(path), "--format", "csv", "--service", "billing")
    assert raised.value.returncode == 2
    assert f"bad.csv: {field}:" in str(raised.value)
    assert not Series.objects.exists() and not Point.objects.exists()


def test_a_changed_resend_is_refused_whole(tmp_path):
    path = history_csv(tmp_path / "h.csv", {"render": [1.0, 2.0, 3.0]})
    call_command("import_history", str(path), "--format", "csv", "--service", "s")
    history_csv(path, {"render": [1.0, 2.5, 3.0], "other": [1.0, 1.0, 1.0]})
    with pytest.raises(CommandError) as raised:
        call_command("import_history", str(path), "--format", "csv", "--service", "s")
    assert raised.value.returncode == 2 and "re-sent data must be identical" in str(raised.value)
    assert list(Series.objects.values_list("name", flat=True)) == ["render"]
    assert sorted(Point.objects.values_list("value", flat=True)) == [1.0, 2.0, 3.0]


@pytest.mark.parametrize(
    ("file", "fmt", "series", "points"),
    [
        ("asv", "asv", 3, 9),
        ("pyperf.json", "pyperf", 1, 1),
        ("pytest_benchmark.json", "pytest-benchmark", 1, 1),
        ("history.csv", "csv", 2, 3),
        ("otava.csv", "otava", 2, 3),
    ],
)
def test_every_history_format_is_stored_once(file, fmt, series, points):
    def run() -> dict:
        out = StringIO()
        call_command(
            "import_history",
            str(FIXTURES / file),
            "--format",
            fmt,
            "--service",
            "s",
            "--json",
            stdout=out,
        )
        return json.loads(out.getvalue())

    first = run()
    assert (len(first["series"]), first["points_created"]) == (series, points)
    second = run()
    assert (second["points_created"], second["points_existing"]) == (0, points)
    assert Point.objects.count() == points


def test_asv_values_commits_and_parameters_are_read():
    call_command("import_history", str(FIXTURES / "asv"), "--format", "asv", "--service", "s")
    large = Series.objects.get(name="benchmarks.time_parse('large')")
    assert large.unit == "s"
    assert list(large.points.values_list("commit", "value")) == [
        ("aaaaaaa1" * 5, 0.2),
        ("bbbbbbb2" * 5, 0.202),
        ("ccccccc3" * 5, pytest.approx(0.3)),
    ]


@pytest.mark.parametrize(
    ("file", "fmt", "function", "share"),
    [
        ("stacks.folded", "folded", "app.render.render", 0.4),
        ("profile.speedscope.json", "speedscope", "app.render.render", 0.5),
        ("work.pstats", "pstats", "<genexpr>", None),
    ],
)
def test_profiles_become_inclusive_shares_per_window(file, fmt, function, share):
    args = [str(FIXTURES / file), "--format", fmt, "--service", "s"]
    window = ["--start", "2024-01-01T00:00:00Z", "--end", "2024-01-01T01:00:00Z"]
    call_command("import_profile", *args, *window, "--commit", "abc1234")
    call_command("import_profile", *args, *window, "--commit", "abc1234")
    assert ProfileWindow.objects.count() == 1
    row = FunctionShare.objects.get(function=function)
    assert 0 < row.inclusive_share <= 1
    if share is not None:
        assert row.inclusive_share == pytest.approx(share)
    # Each big function is also a series detection runs over.
    series = Series.objects.get(name=f"profile:{function}")
    assert series.function == function and series.points.count() == 1


def test_a_malformed_profile_names_the_line(tmp_path):
    path = tmp_path / "bad.folded"
    path.write_text("main;render 10\nmain;parse lots\n")
    with pytest.raises(CommandError) as raised:
        call_command(
            "import_profile",
            str(path),
            "--format",
            "folded",
            "--service",
            "s",
            "--start",
            "2024-01-01",
            "--end",
            "2024-01-02",
        )
    assert raised.value.returncode == 2 and "line 2: count" in str(raised.value)
    assert not ProfileWindow.objects.exists()


def test_many_series_at_one_commit_are_one_finding_within_the_evidence_limit(tmp_path):
    history = {
        f"bench_{number:02d}": series_values(seed=100 + number, n=300, step_at=40, step=6.0)
        for number in range(12)
    }
    code, document = _detect(
        str(history_csv(tmp_path / "h.csv", history)), "--format", "csv", "--service", "s"
    )
    assert code == 1 and len(document["regressions"]) == 12
    [finding] = Finding.objects.filter(source=DETECT_SOURCE)
    assert len(finding.functions) == 12 and finding.evidence["series_changed"] == 12
    assert len(json.dumps(finding.evidence)) < 64 * 1024
    for change in finding.evidence["changes"]:
        # The chart keeps the change in view even when it is far from the newest points.
        assert change["points"][change["change_index"]][1] == commit_at(40)


def test_family_alpha_tests_each_series_at_its_bonferroni_share(tmp_path):
    # A step just significant for one series at 0.001, not at 0.001 / 50.
    history = {"render": series_values(seed=39, step_at=100, step=0.9)}
    history |= {f"quiet_{n}": series_values(seed=200 + n, n=120) for n in range(49)}
    path = str(history_csv(tmp_path / "h.csv", history))
    code, single = _detect(path, "--format", "csv", "--service", "s", "--min-effect", "0.005")
    assert code == 1 and [r["series"] for r in single["regressions"]] == ["render"]
    assert single["regressions"][0]["p_value"] > 0.001 / 50
    code, family = _detect(
        path,
        "--format",
        "csv",
        "--service",
        "s",
        "--min-effect",
        "0.005",
        "--family-alpha",
        "0.001",
    )
    assert (code, family["regressions"]) == (0, [])


WINDOW = ["--service", "s", "--start", "2024-01-01T00:00:00Z", "--end", "2024-01-01T01:00:00Z"]


def _stored() -> tuple[int, int, int, int]:
    return (
        ProfileWindow.objects.count(),
        FunctionShare.objects.count(),
        Series.objects.count(),
        Point.objects.count(),
    )


@pytest.mark.parametrize(
    ("name", "fmt", "body", "says"),
    [
        ("bad.speedscope.json", "speedscope", '{"shared": {"frames": []}}', "profiles"),
        ("bad.json", "speedscope", "{not json", "bad.json"),
        ("bad.pstats", "pstats", "not a pstats file", "bad.pstats"),
        ("bad.folded", "folded", "main;render 10\nmain;parse -3\n", "line 2"),
    ],
)
def test_every_malformed_profile_is_exit_2_and_stores_nothing(tmp_path, name, fmt, body, says):
    path = tmp_path / name
    path.write_text(body)
    with pytest.raises(CommandError) as raised:
        call_command("import_profile", str(path), "--format", fmt, *WINDOW)
    assert raised.value.returncode == 2 and says in str(raised.value)
    assert _stored() == (0, 0, 0, 0)


def test_a_profile_resent_with_other_samples_is_refused_whole(tmp_path):
    path = tmp_path / "w.folded"
    path.write_text("main;render 40\nmain;parse 60\n")
    call_command("import_profile", str(path), "--format", "folded", *WINDOW)
    before = _stored()
    shares = sorted(FunctionShare.objects.values_list("function", "inclusive_share"))
    path.write_text("main;render 70\nmain;parse 30\nmain;other 5\n")
    with pytest.raises(CommandError) as raised:
        call_command("import_profile", str(path), "--format", "folded", *WINDOW)
    assert raised.value.returncode == 2 and "re-sent data must be identical" in str(raised.value)
    assert _stored() == before
    assert sorted(FunctionShare.objects.values_list("function", "inclusive_share")) == shares


def test_detect_exit_2_on_bad_usage_and_json_keys_per_regression(tmp_path):
    with pytest.raises(CommandError) as raised:
        call_command("detect", str(tmp_path / "missing.csv"), "--format", "csv")
    assert raised.value.returncode == 2
    path = history_csv(tmp_path / "h.csv", {"render": series_values(seed=1, step_at=70, step=5.0)})
    code, document = _detect(str(path), "--format", "csv", "--service", "billing")
    assert code == 1 and set(document) == {"series", "regressions"}
    [regression] = document["regressions"]
    assert set(regression) == {"finding", "series", "commit", "magnitude_pct", "p_value"}
    assert regression["commit"] == commit_at(70)
