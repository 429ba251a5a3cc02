"""Attribution ranks the commits between two points; bisect names the one that made it slower."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from reviews.detection.attribution import rank
from reviews.inlet_tasks import bisect_task, sweep_bisects_task
from reviews.models import AuditEvent, Finding, Repository, Service, SolveRun
from reviews.services import bisect as bisect_service
from reviews.services.bisect import bisect_queue, finding_bisect
from reviews.services.ingest import on_findings_created
from reviews.services.regressions import DetectedChange, regression_findings_file

BASE = """COST = 1.0


def hot(items):
    return [helper(item) for item in items]


def helper(item):
    return item * 2


def other(value):
    return value + 1
"""
# The regression: the callee got slower (the bench reads COST, so it is deterministic).
SLOW = BASE.replace("COST = 1.0", "COST = 3.0").replace(
    "    return item * 2\n", "    total = sum(range(item))\n    return item * 2 + total * 0\n"
)
TWEAKED = SLOW.replace("return value + 1", "return value + 2")
BENCH = "from pkg.core import COST\nprint(f'seconds: {COST}')\n"


def _git(repo: Path, *args: str, author: tuple[str, str] = ("Sam", "sam@example.com")) -> str:
    env = {
        "GIT_AUTHOR_NAME": author[0],
        "GIT_AUTHOR_EMAIL": author[1],
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
        "HOME": str(repo),
        "PATH": "/usr/bin:/bin",
    }
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=env
    ).stdout.strip()


def _commit(repo: Path, files: dict[str, str], message: str, author: tuple[str, str]) -> str:
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", message, author=author)
    return _git(repo, "rev-parse", "HEAD")


@pytest.fixture
def history(tmp_path: Path) -> dict[str, str]:
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    shas = {"path": str(repo)}
    sam, rita, lena = ("Sam", "sam@example.com"), ("Rita", "rita@example.com"), ("Lena", "l@x.io")
    shas["good"] = _commit(
        repo, {"pkg/__init__.py": "", "pkg/core.py": BASE, "bench.py": BENCH}, "Base", sam
    )
    shas["docs"] = _commit(repo, {"README.md": "core\n"}, "Document the core", lena)
    shas["regression"] = _commit(repo, {"pkg/core.py": SLOW}, "Sum what helper sees", rita)
    shas["tweak"] = _commit(repo, {"pkg/core.py": TWEAKED}, "other() adds two", sam)
    shas["bad"] = _commit(repo, {"README.md": "core, faster\n"}, "More docs", lena)
    return shas


def test_rank_puts_the_commit_touching_the_callee_first_with_its_factors(history):
    candidates = rank(
        repository_path=history["path"],
        last_good_commit=history["good"],
        first_bad_commit=history["bad"],
        functions=["pkg.core.hot"],
    )
    assert [c.commit for c in candidates[:2]] == [history["regression"], history["tweak"]]
    top = candidates[0]
    assert top.author == "rita@example.com" and top.title == "Sum what helper sees"
    assert top.factors["callees"] > 0 and top.factors["function"] == 0
    assert top.factors["file"] == 1.0
    # Same file, no line of hot() or helper(): only the file factor.
    assert candidates[1].factors == {"function": 0.0, "callees": 0.0, "file": 1.0}
    # Documentation commits score nothing.
    assert {c.commit for c in candidates if c.score == 0} == {history["docs"], history["bad"]}


def test_rank_scores_lines_inside_the_named_function_highest(history):
    candidates = rank(
        repository_path=history["path"],
        last_good_commit=history["good"],
        first_bad_commit=history["bad"],
        functions=["pkg.core.other"],
    )
    assert candidates[0].commit == history["tweak"]
    assert candidates[0].factors["function"] > 0
    assert candidates[0].score > candidates[1].score


def test_rank_without_a_resolvable_function_still_prefers_code_over_docs(history):
    candidates = rank(
        repository_path=history["path"],
        last_good_commit=history["good"],
        first_bad_commit=history["bad"],
        functions=["bench_quote_seconds"],
    )
    assert {c.commit for c in candidates[:2]} == {history["regression"], history["tweak"]}
    assert all(set(c.factors) == {"python"} for c in candidates)


def test_rank_refuses_what_is_not_a_commit(history):
    assert (
        rank(
            repository_path=history["path"],
            last_good_commit="--all",
            first_bad_commit=history["bad"],
            functions=["pkg.core.hot"],
        )
        == []
    )


@pytest.fixture
def detected(db, history, settings, tmp_path, django_user_model):
    settings.WATTSON_WORK_DIR = tmp_path / "work"
    settings.WATTSON_BENCH_RUNS = 1
    rita = django_user_model.objects.create_user(username="rita", email="Rita@example.com")
    repository = Repository.objects.create(
        name="core", path=history["path"], bench_cmd="python3 bench.py"
    )
    service = Service.objects.create(name="core-svc", repository=repository)
    finding = Finding.objects.create(
        kind="regression",
        source="wattson-detect",
        external_id="detect:core",
        payload_sha256="0" * 64,
        service=service,
        repository=repository,
        title="pkg.core.hot slower",
        metric="cpu",
        magnitude_pct=5.0,
        functions=[{"symbol": "pkg.core.hot"}],
        # Attribution's first guess, and the routing that came with it.
        root_cause_commit=history["tweak"],
        root_cause_author="sam@example.com",
        evidence={
            "changes": [{"last_good_commit": history["good"], "first_bad_commit": history["bad"]}]
        },
    )
    return finding, rita


def test_bisect_names_the_commit_and_routes_the_review_to_its_author(detected, history):
    finding, rita = detected
    outcome = finding_bisect(finding_id=finding.pk)
    assert outcome.status == "found"
    finding.refresh_from_db()
    assert finding.root_cause_commit == history["regression"]
    assert finding.root_cause_author == "rita@example.com"
    assert finding.assignee == rita
    record = finding.evidence["bisect"]
    assert record["commit"] == history["regression"]
    assert (record["before_s"], record["after_s"]) == (1.0, 3.0)
    # Both ends, then the regression (bad) and the docs commit before it (good).
    measured = [(s["commit"], s["verdict"]) for s in record["steps"]]
    assert measured == [
        (history["good"], "good"),
        (history["bad"], "bad"),
        (history["regression"], "bad"),
        (history["docs"], "good"),
    ]
    assert record["bench_cmd"] == "python3 bench.py"
    assert AuditEvent.objects.filter(verb="finding.bisect", target_id=str(finding.pk)).exists()


def test_bisect_stops_at_its_step_bound_and_says_what_is_left(detected, history, settings):
    settings.WATTSON_BISECT_MAX_STEPS = 2
    finding, _ = detected
    outcome = finding_bisect(finding_id=finding.pk)
    assert outcome.status == "inconclusive"
    assert "stopped after 2 measurements" in outcome.reason
    finding.refresh_from_db()
    assert finding.root_cause_commit == history["tweak"]  # nothing named: nothing changed


def test_bisect_says_so_when_the_benchmark_does_not_show_the_regression(detected, history):
    finding, _ = detected
    Repository.objects.filter(pk=finding.repository_id).update(
        bench_cmd="python3 -c \"print('seconds: 1.0')\""
    )
    outcome = finding_bisect(finding_id=finding.pk)
    assert outcome.status == "inconclusive"
    assert "does not show the regression" in outcome.reason


def test_bisect_is_queued_only_for_a_range_with_several_commits(detected, history, monkeypatch):
    finding, _ = detected
    queued: list[int] = []
    monkeypatch.setattr(bisect_service, "async_task", lambda *a, **k: queued.append(a[1]))
    assert bisect_queue([finding.pk]) == [finding.pk] and queued == [finding.pk]
    finding.refresh_from_db()
    assert finding.evidence["bisect"]["status"] == "queued"
    assert bisect_queue([finding.pk]) == []  # already queued
    one = Finding.objects.filter(pk=finding.pk)
    one.update(
        evidence={
            "changes": [{"last_good_commit": history["tweak"], "first_bad_commit": history["bad"]}]
        }
    )
    assert bisect_queue([finding.pk]) == []


def _detected_change(history: dict[str, str], repository: str) -> DetectedChange:
    return DetectedChange(
        series="pkg.core.hot",
        service="core-svc",
        repository=repository,
        function="pkg.core.hot",
        unit="share",
        last_good_commit=history["good"],
        first_bad_commit=history["bad"],
        first_bad_time=datetime(2024, 1, 2, tzinfo=UTC),
        baseline_mean=1.0,
        baseline_stdev=0.1,
        current_mean=3.0,
        magnitude_pct=2.0,
        p_value=1e-6,
        period=None,
    )


def test_a_url_repository_is_attributed_through_this_machines_mirror(db, history, settings):
    settings.WATTSON_WORK_DIR = Path(history["path"]).parent / "work"
    settings.WATTSON_MIRROR_DIR = Path(history["path"]).parent / "mirrors"
    _git(Path(history["path"]), "config", "uploadpack.allowFilter", "true")
    repository = Repository.objects.create(name="core", url=f"file://{history['path']}")
    Service.objects.create(name="core-svc", repository=repository)
    [filed] = regression_findings_file([_detected_change(history, "core")])
    finding = Finding.objects.get(pk=filed.finding)
    # Without the mirror (Repository.path is empty) there were no candidates and the root
    # cause was the first bad commit, a docs change.
    assert finding.root_cause_commit == history["regression"]
    assert finding.root_cause_author == "rita@example.com"
    candidates = finding.evidence["candidates"]
    assert [c["commit"] for c in candidates[:2]] == [history["regression"], history["tweak"]]


def test_an_unreachable_url_repository_still_files_the_regression(db, history, settings, tmp_path):
    settings.WATTSON_WORK_DIR = tmp_path / "work"
    settings.WATTSON_MIRROR_DIR = tmp_path / "mirrors"
    repository = Repository.objects.create(name="core", url=f"file://{tmp_path}/gone.git")
    Service.objects.create(name="core-svc", repository=repository)
    [filed] = regression_findings_file([_detected_change(history, "core")])
    finding = Finding.objects.get(pk=filed.finding)
    assert finding.evidence["candidates"] == []
    assert finding.root_cause_commit == history["bad"]


def test_auto_solve_waits_for_the_bisect_and_then_starts_from_the_commit_it_named(
    detected, history, monkeypatch, settings
):
    settings.WATTSON_AUTO_SOLVE = True
    finding, rita = detected
    monkeypatch.setattr(bisect_service, "async_task", lambda *a, **k: None)
    on_findings_created([finding.pk])
    finding.refresh_from_db()
    # Attribution guessed the tweak; a solve now would fix, and route, the wrong commit.
    assert finding.evidence["bisect"]["status"] == "queued"
    assert not SolveRun.objects.filter(finding=finding).exists()
    assert bisect_task(finding.pk) == "found"
    finding.refresh_from_db()
    [run] = SolveRun.objects.filter(finding=finding)
    assert finding.status == Finding.Status.SOLVING
    assert finding.root_cause_commit == history["regression"] and finding.assignee == rita


def test_auto_solve_does_not_wait_when_there_is_no_bisect_to_run(detected, monkeypatch, settings):
    settings.WATTSON_AUTO_SOLVE = True
    finding, _ = detected
    Repository.objects.filter(pk=finding.repository_id).update(bench_cmd="")
    on_findings_created([finding.pk])
    assert SolveRun.objects.filter(finding=finding).count() == 1


def _age(finding: Finding, **bisect) -> None:
    """Set the finding's bisect record as a worker (or a lost one) left it."""
    Finding.objects.filter(pk=finding.pk).update(evidence={**finding.evidence, "bisect": bisect})


def _long_ago(seconds: float) -> str:
    return (timezone.now() - timedelta(seconds=seconds)).isoformat()


def test_a_lost_bisect_message_is_queued_again_then_given_up_and_the_solve_starts(
    detected, monkeypatch, settings, django_capture_on_commit_callbacks
):
    settings.WATTSON_AUTO_SOLVE = True
    finding, _ = detected
    sent: list[int] = []
    monkeypatch.setattr(bisect_service, "async_task", lambda *a, **k: sent.append(a[1]))
    on_findings_created([finding.pk])
    assert sent == [finding.pk]
    # Within the grace nothing moves: a worker may still pick it up.
    assert sweep_bisects_task() == {"requeued": [], "ended": [], "solved": []}
    late = settings.WATTSON_SOLVE_QUEUED_GRACE_S + 5
    for attempt in range(1, bisect_service.LOST_REQUEUES + 1):
        finding.refresh_from_db()
        _age(finding, **{**finding.evidence["bisect"], "queued_at": _long_ago(late)})
        with django_capture_on_commit_callbacks(execute=True):
            assert sweep_bisects_task()["requeued"] == [finding.pk]
        finding.refresh_from_db()
        assert finding.evidence["bisect"]["requeues"] == attempt
        assert not SolveRun.objects.filter(finding=finding).exists()  # still waiting on it
    assert sent == [finding.pk] * (1 + bisect_service.LOST_REQUEUES)
    _age(finding, **{**finding.evidence["bisect"], "queued_at": _long_ago(late)})
    swept = sweep_bisects_task()
    assert swept["ended"] == [finding.pk] and len(swept["solved"]) == 1
    finding.refresh_from_db()
    assert finding.evidence["bisect"]["status"] == "failed"
    assert "lost 3 times" in finding.evidence["bisect"]["reason"]
    assert finding.status == Finding.Status.SOLVING
    assert AuditEvent.objects.filter(verb="finding.bisect", new_state="failed").exists()


def test_a_bisect_whose_worker_died_is_ended_and_the_solve_starts(detected, history, settings):
    settings.WATTSON_AUTO_SOLVE = True
    finding, _ = detected
    alive = timezone.now().isoformat()
    _age(finding, status="running", started_at=alive)
    assert sweep_bisects_task()["ended"] == []  # its worker may still be measuring
    finding.refresh_from_db()
    assert finding.evidence["bisect"] == {"status": "running", "started_at": alive}
    _age(finding, status="running", started_at=_long_ago(settings.WATTSON_SOLVE_TIMEOUT_S + 90))
    swept = sweep_bisects_task()
    assert swept["ended"] == [finding.pk]
    finding.refresh_from_db()
    assert "the worker running the bisect stopped" in finding.evidence["bisect"]["reason"]
    # The solve starts from attribution's guess, which stays the root cause.
    [run] = SolveRun.objects.filter(finding=finding)
    assert run.pk in swept["solved"]
    assert finding.root_cause_commit == history["tweak"]  # a failed bisect names nothing


def test_the_bisect_budget_stays_inside_the_task_timeout(settings):
    settings.WATTSON_SOLVE_TIMEOUT_S = 300
    settings.WATTSON_BISECT_TIMEOUT_S = 900
    assert bisect_service.bisect_budget_s() == 270.0  # django-q2 would kill it at 300 s
    settings.WATTSON_BISECT_TIMEOUT_S = 120
    assert bisect_service.bisect_budget_s() == 120.0
