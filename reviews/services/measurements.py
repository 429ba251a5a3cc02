"""Storing benchmark histories and profiles: idempotent, all or nothing.

The API (reviews/api/measurements.py) and the commands (`import_history`, `import_profile`,
`detect`) read a file with reviews.detection and hand the rows here. Re-sending the same data
changes nothing; a point or profile window re-sent with a different value is a conflict, and
nothing of that upload is written.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction

from reviews.detection.histories import HistoryError, HistoryRow
from reviews.detection.profiles import ProfileData
from reviews.models import FunctionShare, Point, ProfileWindow, Repository, Series
from reviews.services.audit import audit_record

# A profile's functions become series (inclusive share, in %) when they hold at least this
# share of the window; at most this many per window: the rest are noise for detection.
PROFILE_SERIES_MIN_SHARE = 0.005
PROFILE_SERIES_MAX = 200

# Values equal within this relative tolerance are the same measurement re-sent (a float that
# went through JSON or CSV and back).
_SAME_VALUE = 1e-9


class MeasurementConflict(HistoryError):
    """Data re-sent under a stored key with a different value (the API's 409, exit 1)."""


@dataclass
class HistoryImport:
    series: list[int] = field(default_factory=list)
    series_created: int = 0
    points_created: int = 0
    points_existing: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "series": self.series,
            "series_created": self.series_created,
            "points_created": self.points_created,
            "points_existing": self.points_existing,
        }


def repository_for(name: str | None) -> Repository | None:
    """The registered repository named `name` (None for no name); HistoryError when unknown."""
    if not name:
        return None
    repository = Repository.objects.filter(name=name).first()
    if repository is None:
        raise HistoryError(
            "repository",
            f"no registered repository is named {name!r}: register it with `manage.py add_repo`",
        )
    return repository


def _same(a: float, b: float) -> bool:
    return abs(a - b) <= _SAME_VALUE * max(abs(a), abs(b), 1.0)


def _unique_rows(rows: list[HistoryRow]) -> dict[tuple[str, datetime, str], HistoryRow]:
    unique: dict[tuple[str, datetime, str], HistoryRow] = {}
    for row in rows:
        key = (row.series, row.time, row.commit)
        earlier = unique.get(key)
        if earlier is not None and not _same(earlier.value, row.value):
            raise MeasurementConflict(
                "value",
                f"series {row.series!r} has two values at {row.time.isoformat()} "
                f"(commit {row.commit or '-'}): {earlier.value} and {row.value}",
            )
        unique[key] = row
    return unique


def history_import(
    *,
    rows: list[HistoryRow],
    service: str,
    repository: Repository | None,
    source: str,
    actor: Any | None,
    better: str = Series.Better.LOWER,
) -> HistoryImport:
    """Store every row as a point of its (service, series); one transaction."""
    if not service or len(service) > 200:
        raise HistoryError("service", "name the service these measurements are of (1-200 chars)")
    if not rows:
        raise HistoryError("file", "no measurements in it")
    unique = _unique_rows(rows)
    names = sorted({row.series for row in rows})
    too_long = next((name for name in names if len(name) > 300), None)
    if too_long:
        raise HistoryError("series", f"{too_long[:60]!r}... is longer than 300 characters")
    result = HistoryImport()
    with transaction.atomic():
        units = {row.series: row.unit for row in rows if row.unit}
        series_by_name = _series_for(names, units, service, repository, source, better, result)
        by_series: dict[int, list[HistoryRow]] = defaultdict(list)
        for row in unique.values():
            by_series[series_by_name[row.series].pk].append(row)
        new_points: list[Point] = []
        for series_id, series_rows in by_series.items():
            stored = {
                (p.time, p.commit): p.value
                for p in Point.objects.filter(
                    series_id=series_id, time__in={row.time for row in series_rows}
                )
            }
            for row in series_rows:
                value = stored.get((row.time, row.commit))
                if value is None:
                    new_points.append(
                        Point(
                            series_id=series_id, time=row.time, commit=row.commit, value=row.value
                        )
                    )
                elif _same(value, row.value):
                    result.points_existing += 1
                else:
                    raise MeasurementConflict(
                        "value",
                        f"series {row.series!r} at {row.time.isoformat()} (commit "
                        f"{row.commit or '-'}) is stored with value {value}, re-sent as "
                        f"{row.value}: re-sent data must be identical; nothing was stored",
                    )
        Point.objects.bulk_create(new_points, batch_size=1000)
        result.points_created = len(new_points)
        result.series = sorted(s.pk for s in series_by_name.values())
        if new_points:
            audit_record(
                actor=actor,
                verb="history.import",
                target=next(iter(series_by_name.values())),
                data={"service": service, "source": source, **result.as_dict()},
            )
    return result


def _series_for(
    names: list[str],
    units: dict[str, str],
    service: str,
    repository: Repository | None,
    source: str,
    better: str,
    result: HistoryImport,
) -> dict[str, Series]:
    existing = {s.name: s for s in Series.objects.filter(service=service, name__in=names)}
    for name in names:
        if name in existing:
            continue
        existing[name], created = Series.objects.get_or_create(
            service=service,
            name=name,
            defaults={
                "repository": repository,
                "source": source,
                "better": better,
                "unit": units.get(name, "")[:40],
            },
        )
        result.series_created += created
    # A series first sent without its repository learns it from a later upload that names it.
    unplaced = [s for s in existing.values() if repository and s.repository_id is None]
    for series in unplaced:
        series.repository = repository
        series.save(update_fields=["repository"])
    return existing


def profile_import(
    *,
    data: ProfileData,
    service: str,
    repository: Repository | None,
    start: datetime,
    end: datetime,
    commit: str,
    source: str,
    actor: Any | None,
) -> tuple[ProfileWindow, bool]:
    """Store one profile window; (window, created). The same window re-sent is left as it is."""
    if not service or len(service) > 200:
        raise HistoryError("service", "name the service this profile is of (1-200 chars)")
    if end <= start:
        raise HistoryError("end", "the window must end after it starts")
    with transaction.atomic():
        window = ProfileWindow.objects.filter(service=service, start=start, end=end).first()
        if window is not None:
            stored = {(s.function, s.file): s.inclusive_share for s in window.shares.all()}
            sent = {(r.function, r.file): r.inclusive_share for r in data.shares}
            if stored.keys() != sent.keys() or not all(
                _same(stored[key], sent[key]) for key in sent
            ):
                raise MeasurementConflict(
                    "start",
                    f"service {service!r} already has a different profile for "
                    f"{start.isoformat()}..{end.isoformat()}: re-sent data must be identical",
                )
            return window, False
        window = ProfileWindow.objects.create(
            service=service,
            repository=repository,
            start=start,
            end=end,
            commit=commit,
            source=source,
            total=data.total,
        )
        FunctionShare.objects.bulk_create(
            [
                FunctionShare(
                    window=window,
                    function=row.function,
                    file=row.file,
                    inclusive_share=row.inclusive_share,
                    self_share=row.self_share,
                )
                for row in data.shares
            ],
            batch_size=1000,
        )
        _profile_points(window, data, repository)
        audit_record(
            actor=actor,
            verb="profile.import",
            target=window,
            data={"service": service, "source": source, "functions": len(data.shares)},
        )
    return window, True


def _profile_points(
    window: ProfileWindow, data: ProfileData, repository: Repository | None
) -> None:
    """Each big enough function's inclusive share becomes a point of its series, at the window's
    end, so change-point detection runs over profiles exactly as over benchmarks."""
    rows = [r for r in data.shares if r.inclusive_share >= PROFILE_SERIES_MIN_SHARE]
    rows = rows[:PROFILE_SERIES_MAX]
    names = {f"profile:{r.function}"[:300]: r for r in rows}
    existing = {
        s.name: s for s in Series.objects.filter(service=window.service, name__in=list(names))
    }
    points = []
    for name, row in sorted(names.items()):
        series = existing.get(name)
        if series is None:
            series, _ = Series.objects.get_or_create(
                service=window.service,
                name=name,
                defaults={
                    "repository": repository,
                    "source": "profile",
                    "unit": "%",
                    "function": row.function,
                },
            )
        points.append(
            Point(
                series=series,
                time=window.end,
                commit=window.commit,
                value=100 * row.inclusive_share,
            )
        )
    Point.objects.bulk_create(points, ignore_conflicts=True)


def measured_service(*, service: str | None, repository: Repository | None) -> str:
    """The service measurements are of: the one named, else the repository's own service."""
    if service:
        return service
    if repository is not None:
        owner = repository.services.order_by("name").values_list("name", flat=True).first()
        return owner or repository.name
    raise HistoryError("service", "name the service (--service, or ?service= in the API)")
