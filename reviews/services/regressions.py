"""From stored series to regression findings: detect change points, group them, ingest them.

`series_detect` runs reviews.detection.changepoints on one stored series and describes each
regression as a `DetectedChange` (plain data: the finding page, attribution and the bench read
it without the ORM). `regression_findings_file` groups changes of the same service, repository,
first bad commit and function into ONE finding each and files them through the findings ingest
(reviews.services.ingest), so a detected regression is solved and reviewed like any other.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings

from reviews.detection import attribution
from reviews.detection.changepoints import DetectorConfig, changes_find
from reviews.models import Finding, Repository, Series
from reviews.services.ingest import finding_ingest
from reviews.services.repositories import repository_local_path
from skills.mirrors import MirrorError

logger = logging.getLogger(__name__)

DETECT_SOURCE = "wattson-detect"
# Points of each series a finding's evidence carries (the chart), series per finding, and points
# in all: a point is ~100 bytes of JSON and the evidence must stay under the ingest's 64 KiB.
EVIDENCE_POINTS = 120
EVIDENCE_SERIES = 8
EVIDENCE_POINTS_TOTAL = 400
# The newest points a series is tested on.
DETECT_WINDOW = 500
_COMMIT = re.compile(r"^[0-9a-f]{7,64}$")


@dataclass(frozen=True)
class DetectedChange:
    """One regression in one series, with what a finding and its chart need."""

    series: str
    service: str
    repository: str | None
    function: str  # the profiled function; "" for a benchmark
    unit: str
    last_good_commit: str
    first_bad_commit: str
    first_bad_time: datetime
    baseline_mean: float
    baseline_stdev: float
    current_mean: float
    magnitude_pct: float  # benchmarks: relative slow-down; profile shares: share points gained
    p_value: float
    period: int | None
    # The points tested, oldest first: (time, commit, value); the first bad one is change_index.
    points: list[tuple[str, str, float]] = field(default_factory=list)
    change_index: int = 0

    @property
    def group_key(self) -> tuple[str, str, str, str]:
        return (self.service, self.repository or "", self.first_bad_commit, self.function)


@dataclass
class FiledRegression:
    finding: int
    created: bool
    changes: list[DetectedChange]


def series_detect(*, series: Series, config: DetectorConfig | None = None) -> list[DetectedChange]:
    """The regressions in a stored series' newest points (oldest first)."""
    config = config or DetectorConfig()
    rows = list(
        series.points.order_by("-time", "-id").values_list("time", "commit", "value")[
            :DETECT_WINDOW
        ]
    )[::-1]
    values = [value for _, _, value in rows]
    changes = changes_find(
        values, config=config, higher_is_better=series.better == Series.Better.HIGHER
    )
    repository = series.repository.name if series.repository_id else None
    detected = []
    commits = [commit for _, commit, _ in rows]
    for change in changes:
        index = attribution.change_bracket(commits, change.index, within=config.min_segment)
        if series.function:
            magnitude = abs(change.current_median - change.baseline_median)
        else:
            magnitude = 100 * change.magnitude
        detected.append(
            DetectedChange(
                series=series.name,
                service=series.service,
                repository=repository,
                function=series.function,
                unit=series.unit,
                last_good_commit=rows[index - 1][1],
                first_bad_commit=rows[index][1],
                first_bad_time=rows[index][0],
                baseline_mean=change.baseline_mean,
                baseline_stdev=change.baseline_stdev,
                current_mean=change.current_mean,
                magnitude_pct=magnitude,
                p_value=change.p_value,
                period=change.period,
                points=[(t.isoformat(), c, v) for t, c, v in rows],
                change_index=index,
            )
        )
    return detected


def _external_id(key: tuple[str, str, str, str], first_bad_time: datetime) -> str:
    service, repository, commit, function = key
    where = commit or first_bad_time.isoformat()
    text = f"{repository or service}:{where}:{function or 'benchmarks'}"
    if len(text) > 180:
        text = text[:120] + ":" + hashlib.sha256(text.encode()).hexdigest()[:40]
    return f"detect:{text}"


def _change_evidence(change: DetectedChange, max_points: int) -> dict[str, Any]:
    # The newest points, keeping the change in view: at most half of them before it.
    start = max(0, len(change.points) - max_points)
    start = min(start, max(0, change.change_index - max_points // 2))
    points = change.points[start : start + max_points]
    return {
        "series": change.series,
        "unit": change.unit,
        "last_good_commit": change.last_good_commit,
        "first_bad_commit": change.first_bad_commit,
        "baseline_mean": change.baseline_mean,
        "baseline_stdev": change.baseline_stdev,
        "current_mean": change.current_mean,
        "magnitude_pct": round(change.magnitude_pct, 6),
        "p_value": change.p_value,
        "seasonal_period": change.period,
        "change_index": change.change_index - start,
        "points": [list(point) for point in points],
    }


def _payload(
    key: tuple[str, str, str, str],
    changes: list[DetectedChange],
    config: DetectorConfig,
    candidates: list[attribution.Candidate],
) -> dict[str, Any]:
    service, repository, commit, function = key
    changes = sorted(changes, key=lambda change: (-change.magnitude_pct, change.series))
    worst = changes[0]
    what = function or (
        worst.series if len(changes) == 1 else f"{len(changes)} benchmarks ({worst.series}, ...)"
    )
    at = f"commit {commit[:12]}" if commit else worst.first_bad_time.strftime("%Y-%m-%d %H:%M")
    unit = "share points" if function else "%"
    per_series = min(EVIDENCE_POINTS, EVIDENCE_POINTS_TOTAL // min(len(changes), EVIDENCE_SERIES))
    payload: dict[str, Any] = {
        "kind": "regression",
        "external_id": _external_id(key, worst.first_bad_time),
        "source": DETECT_SOURCE,
        "service": service,
        "title": f"{what}: +{worst.magnitude_pct:.2f} {unit} since {at}"[:300],
        "metric": "cpu",
        "magnitude_pct": min(100.0, max(worst.magnitude_pct, 1e-6)),
        "baseline": worst.baseline_mean,
        "current": worst.current_mean,
        "confidence": max(0.0, min(1.0, 1 - min(change.p_value for change in changes))),
        "detected_at": worst.first_bad_time.isoformat(),
        "functions": [{"symbol": function or change.series} for change in changes[:50]],
        "evidence": {
            "detector": config.as_dict(),
            "changes": [
                _change_evidence(change, per_series) for change in changes[:EVIDENCE_SERIES]
            ],
            "series_changed": len(changes),
            "candidates": [
                {
                    "commit": c.commit,
                    "title": c.title,
                    "author": c.author,
                    "score": c.score,
                    "factors": c.factors,
                }
                for c in candidates[:3]
            ],
        },
    }
    if repository:
        payload["repository"] = repository
    cause = candidates[0] if candidates else None
    if cause is not None and _COMMIT.match(cause.commit):
        payload["root_cause"] = {"commit": cause.commit, "title": cause.title}
        if cause.author:
            payload["root_cause"]["author"] = cause.author
    elif _COMMIT.match(commit):
        payload["root_cause"] = {"commit": commit}
    return payload


def _attribution_path(repository: Repository | None, commits: tuple[str, str]) -> str | None:
    """Where attribution reads the repository: its work tree, or a URL's mirror on this machine.

    A mirror that cannot be had (host down, commit not pushed) leaves the finding without
    candidates rather than failing the detection: bisect and the solve say why on their own.
    """
    if repository is None:
        return None
    wanted = tuple(commit for commit in commits if _COMMIT.match(commit))
    try:
        return repository_local_path(repository, commits=wanted) or None
    except MirrorError as exc:
        logger.warning("no attribution for %s: %s", repository.name, exc)
        return None


def regression_findings_file(
    changes: list[DetectedChange],
    *,
    config: DetectorConfig | None = None,
    actor: Any | None = None,
) -> list[FiledRegression]:
    """One finding per (service, repository, first bad commit, function); idempotent.

    A group already filed (same key) is left as it is: later points may shift its figures, and
    a finding is what was seen when it was filed. Raises ValueError when the ingest refuses a
    payload (a bug here, not bad input: the payloads are ours).
    """
    config = config or DetectorConfig()
    groups: dict[tuple[str, str, str, str], list[DetectedChange]] = {}
    for change in changes:
        groups.setdefault(change.group_key, []).append(change)
    repositories = Repository.objects.in_bulk(
        [name for name in {key[1] for key in groups} if name], field_name="name"
    )
    payloads = []
    for key, members in sorted(groups.items()):
        candidates = attribution.rank(
            repository_path=_attribution_path(
                repositories.get(key[1]), (members[0].last_good_commit, key[2])
            ),
            last_good_commit=members[0].last_good_commit,
            first_bad_commit=key[2],
            functions=sorted({m.function or m.series for m in members}),
        )
        payloads.append((key, members, _payload(key, members, config, candidates)))
    stored = dict(
        Finding.objects.filter(
            source=DETECT_SOURCE, external_id__in=[p["external_id"] for _, _, p in payloads]
        ).values_list("external_id", "id")
    )
    filed = [
        FiledRegression(finding=stored[p["external_id"]], created=False, changes=members)
        for _, members, p in payloads
        if p["external_id"] in stored
    ]
    fresh = [(members, p) for _, members, p in payloads if p["external_id"] not in stored]
    batch = settings.WATTSON_INGEST_MAX_BATCH
    for start in range(0, len(fresh), batch):
        chunk = fresh[start : start + batch]
        result = finding_ingest(payload=[p for _, p in chunk], actor=actor)
        if not result.ok:
            raise ValueError(f"the ingest refused detected regressions: {result.errors[:3]}")
        created = set(result.created)
        by_key = dict(
            Finding.objects.filter(
                source=DETECT_SOURCE, external_id__in=[p["external_id"] for _, p in chunk]
            ).values_list("external_id", "id")
        )
        for members, p in chunk:
            pk = by_key[p["external_id"]]
            filed.append(FiledRegression(finding=pk, created=pk in created, changes=members))
    return filed


def detection_sweep(*, config: DetectorConfig | None = None) -> list[FiledRegression]:
    """Detect over every stored series and file what is new (the scheduled task's body)."""
    config = config or DetectorConfig()
    changes: list[DetectedChange] = []
    for series in Series.objects.select_related("repository").iterator(chunk_size=200):
        changes += series_detect(series=series, config=config)
    return regression_findings_file(changes, config=config)
