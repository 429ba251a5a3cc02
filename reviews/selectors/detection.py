"""What the finding page shows of a detected regression: the series as charts, the test's
figures, the candidate commits with their scores, and the bisect log.

The evidence is JSON a detector sent (ours, reviews.services.regressions, or anyone's through the
ingest), so every field is checked for its type here and whatever does not fit is left out:
a malformed evidence shows less, never an error page.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from django.utils.safestring import SafeString

from reviews.charts import change_point
from reviews.models import Finding

MAX_CHARTS = 8
MAX_POINTS = 500


@dataclass(frozen=True)
class SeriesEvidence:
    series: str
    unit: str
    chart: SafeString
    figures: list[tuple[str, str]]


@dataclass(frozen=True)
class DetectionEvidence:
    series: list[SeriesEvidence] = field(default_factory=list)
    method: list[tuple[str, str]] = field(default_factory=list)
    candidates: list[dict[str, Any]] = field(default_factory=list)
    bisect: dict[str, Any] | None = None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _text(value: Any, limit: int = 200) -> str:
    return str(value)[:limit] if isinstance(value, str | int | float) else ""


def _points(raw: Any) -> list[tuple[str, str, float]]:
    points = []
    for item in raw if isinstance(raw, list) else []:
        if isinstance(item, list | tuple) and len(item) == 3:
            value = _number(item[2])
            if value is not None:
                points.append((_text(item[0], 40), _text(item[1], 64), value))
    return points[-MAX_POINTS:]


def _figure(value: float | None, unit: str = "") -> str:
    if value is None:
        return "—"
    return f"{value:.4g} {unit}".strip()


def _change_unit(unit: str) -> str:
    return "points" if "%" in unit or "share" in unit.lower() else "%"


def _series(change: dict[str, Any]) -> SeriesEvidence | None:
    points = _points(change.get("points"))
    index = change.get("change_index")
    baseline = _number(change.get("baseline_mean"))
    current = _number(change.get("current_mean"))
    if not points or not isinstance(index, int) or baseline is None or current is None:
        return None
    name, unit = _text(change.get("series")), _text(change.get("unit"), 40)
    stdev = _number(change.get("baseline_stdev"))
    p_value = _number(change.get("p_value"))
    effect = (current - baseline) / stdev if stdev else None
    period = change.get("seasonal_period")
    figures = [
        ("p-value", f"{p_value:.2g}" if p_value is not None else "—"),
        ("Mean before", _figure(baseline, unit)),
        ("Mean after", _figure(current, unit)),
        # A share series' magnitude is in share points; a benchmark's is a relative change.
        ("Change", _figure(_number(change.get("magnitude_pct")), _change_unit(unit))),
        ("Effect", f"{effect:.1f} σ of the baseline" if effect is not None else "—"),
        ("Seasonal period", f"{period} points" if isinstance(period, int) else "none found"),
        ("Last good commit", _text(change.get("last_good_commit"))[:12] or "—"),
        ("First bad commit", _text(change.get("first_bad_commit"))[:12] or "—"),
    ]
    chart = change_point(
        points=points,
        change_index=index,
        baseline_mean=baseline,
        current_mean=current,
        unit=unit,
        title=name or "Series",
    )
    return SeriesEvidence(name, unit, chart, figures)


def _candidates(raw: Any) -> list[dict[str, Any]]:
    found = []
    for item in raw if isinstance(raw, list) else []:
        if not isinstance(item, dict) or not _text(item.get("commit")):
            continue
        factors = item.get("factors") if isinstance(item.get("factors"), dict) else {}
        found.append(
            {
                "commit": _text(item.get("commit"), 64),
                "title": _text(item.get("title"), 300),
                "author": _text(item.get("author"), 254),
                "score": _number(item.get("score")),
                "factors": [
                    (_text(name, 40), number)
                    for name, value in factors.items()
                    if (number := _number(value)) is not None
                ],
            }
        )
    return found[:10]


def _bisect(raw: Any) -> dict[str, Any] | None:
    if not isinstance(raw, dict) or not _text(raw.get("status")):
        return None
    steps = [
        {
            "commit": _text(step.get("commit"), 64),
            "seconds": _number(step.get("seconds")),
            "verdict": _text(step.get("verdict"), 20),
            "log": _text(step.get("log"), 4000),
        }
        for step in (raw.get("steps") if isinstance(raw.get("steps"), list) else [])
        if isinstance(step, dict)
    ]
    return {
        "status": _text(raw.get("status"), 20),
        "reason": _text(raw.get("reason"), 1000),
        "commit": _text(raw.get("commit"), 64),
        "before_s": _number(raw.get("before_s")),
        "after_s": _number(raw.get("after_s")),
        "bench_cmd": _text(raw.get("bench_cmd"), 300),
        "steps": steps[:50],
    }


def finding_detection_evidence(*, finding: Finding) -> DetectionEvidence | None:
    """The detection evidence of a finding the caller may read; None when it carries none."""
    evidence = finding.evidence if isinstance(finding.evidence, dict) else {}
    changes = evidence.get("changes") if isinstance(evidence.get("changes"), list) else []
    series = [s for c in changes[:MAX_CHARTS] if isinstance(c, dict) and (s := _series(c))]
    candidates = _candidates(evidence.get("candidates"))
    bisect = _bisect(evidence.get("bisect"))
    if not (series or candidates or bisect):
        return None
    detector = evidence.get("detector") if isinstance(evidence.get("detector"), dict) else {}
    method = [
        (_text(key, 40), _text(value)) for key, value in detector.items() if value is not None
    ]
    return DetectionEvidence(series, method, candidates, bisect)
