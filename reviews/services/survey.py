"""File the survey's opportunities through the findings ingest, ranked by estimated watts.

`survey_run` scans a registered repository (reviews.detection.survey), weights each hit by the
function's share of the service's CPU, and ingests one opportunity per (repository, function,
skill) under a stable external_id, the skill as its `pattern` hint. The share is the function's
inclusive share in the profile when one is given (a function the profile never sampled is not
hot, and is not filed); without a profile it is the function's share of the repository's lines,
a stated guess that ranks big functions first. The finding's magnitude is that share times the
skill's expected recovery, so its estimated watts (the ingest's formula) rank the queue.

Idempotent: an opportunity already filed is left as it is, even when a new profile would weigh
it differently (what a reviewer saw stays what was filed).
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings

from reviews.detection.profiles import ProfileData
from reviews.detection.survey import HitConfirmer, SurveyHit, SurveyScan, survey_scan
from reviews.models import Finding, Repository, Source
from reviews.services.ingest import finding_ingest
from reviews.services.solve_context import skill_specs

SURVEY_SOURCE = "wattson-survey"
DEFAULT_LIMIT = 100
# Hits whose codemod is asked, at most, per opportunity filed; hits per batch and process; and
# the seconds confirming may take (a guard: a 50,000-line repository needs about 25 on 2 cores).
CONFIRM_FACTOR = 20
CONFIRM_BATCH = 8
CONFIRM_BUDGET_S = 120.0
SCHEDULE_NAME = "wattson: survey repositories"
SCHEDULE_FUNC = "reviews.inlet_tasks.survey_all_task"


class SurveyError(Exception):
    """The repository cannot be surveyed; the message says why."""


@dataclass
class SurveyResult:
    repository: str
    functions: int
    files: int
    lines: int
    hits: int
    refused: int = 0  # hits the skill's codemod would not change
    unconfirmed: int = 0  # hits left for the next run when the confirming budget ran out
    opportunities: list[int] = field(default_factory=list)  # finding ids, most watts first
    created: list[int] = field(default_factory=list)
    unparsable: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "repository": self.repository,
            "functions": self.functions,
            "files": self.files,
            "lines": self.lines,
            "hits": self.hits,
            "refused": self.refused,
            "unconfirmed": self.unconfirmed,
            "opportunities": self.opportunities,
            "created": self.created,
            "unparsable": self.unparsable,
        }


def survey_external_id(repository: str, symbol: str, skill: str) -> str:
    """Stable per (repository, function, skill); long names keep a hash to stay under 200."""
    text = f"survey:{repository}:{symbol}:{skill}"
    if len(text) > 200:
        text = text[:150] + ":" + hashlib.sha256(text.encode()).hexdigest()[:40]
    return text


def _profile_shares(profile: ProfileData) -> tuple[dict[str, float], dict[tuple[str, str], float]]:
    """Inclusive shares by symbol, and by (file suffix, function name) for profiles of paths."""
    by_symbol: dict[str, float] = {}
    by_file: dict[tuple[str, str], float] = {}
    for row in profile.shares:
        by_symbol[row.function] = max(by_symbol.get(row.function, 0.0), row.inclusive_share)
        if row.file:
            key = (row.file.lstrip("./"), row.function.rsplit(".", 1)[-1])
            by_file[key] = max(by_file.get(key, 0.0), row.inclusive_share)
    return by_symbol, by_file


def _share(hit: SurveyHit, scan: SurveyScan, shares: tuple | None) -> float:
    """The function's share of the service's CPU, 0..1."""
    function = hit.function
    if shares is None:
        return function.lines / max(1, scan.lines)
    by_symbol, by_file = shares
    if function.symbol in by_symbol:
        return by_symbol[function.symbol]
    name = function.qualname.rsplit(".", 1)[-1]
    for (file, profiled_name), share in by_file.items():
        if profiled_name == name and (file == function.path or file.endswith("/" + function.path)):
            return share
    return 0.0


def _payload(
    repository: Repository, service: str, hit: SurveyHit, share: float, share_from: str
) -> dict:
    function, skill = hit.function, hit.skill
    magnitude = round(min(100.0, 100 * share * skill.expected_recovery), 6)
    return {
        "kind": "opportunity",
        "external_id": survey_external_id(repository.name, function.symbol, skill.slug),
        "source": SURVEY_SOURCE,
        "service": service,
        "repository": repository.name,
        "title": f"{skill.name} in {function.symbol}"[:300],
        "metric": "cpu",
        "magnitude_pct": max(magnitude, 1e-6),
        "functions": [
            {
                "symbol": function.symbol,
                "file": function.path,
                "line": function.line,
                "cpu_share_pct": round(100 * share, 6),
            }
        ],
        "pattern": skill.slug,
        "evidence": {
            "survey": {
                "skill": skill.slug,
                "trigger": list(hit.reasons),
                "share_pct": round(100 * share, 6),
                "share_from": share_from,
                "expected_recovery": skill.expected_recovery,
                "function_lines": function.lines,
            }
        },
    }


def _confirmed(
    repository: Repository,
    weighed: list[tuple[float, SurveyHit]],
    limit: int,
    result: SurveyResult,
) -> list[tuple[float, SurveyHit, str]]:
    """The first `limit` hits, most watts first, already filed or confirmed by their codemod.

    Hits are asked in rank order, a batch at a time across the confirmer's processes, until
    `limit` are accepted or CONFIRM_FACTOR x `limit` hits were considered; the order of the
    answers is the rank order, so the outcome does not depend on the number of processes.
    Neither what is already filed nor what a codemod refused (remembered under the var dir,
    per function text and skill version) is asked again. CONFIRM_BUDGET_S only guards against
    a pathological repository: what it leaves unconfirmed the next run reaches.
    """
    root = Path(repository.path)
    filed = set(
        Finding.objects.filter(source=SURVEY_SOURCE, repository=repository).values_list(
            "external_id", flat=True
        )
    )
    considered = weighed[: limit * CONFIRM_FACTOR]
    refused_before = _refusals_read(repository)
    refused_now: dict[str, str] = {}
    accepted: list[tuple[float, SurveyHit, str]] = []
    stop_at = time.monotonic() + CONFIRM_BUDGET_S
    with HitConfirmer(root) as confirmer:
        batch_size = CONFIRM_BATCH * max(1, confirmer.processes)
        for start in range(0, len(considered), batch_size):
            if len(accepted) >= limit:
                break
            batch = considered[start : start + batch_size]
            keys = [
                survey_external_id(repository.name, hit.function.symbol, hit.skill.slug)
                for _share, hit in batch
            ]
            ask = [
                hit
                for key, (_share, hit) in zip(keys, batch, strict=True)
                if key not in filed and _refusal_key(hit) not in refused_before
            ]
            verdicts: dict[int, tuple[bool, str]] = {}
            if time.monotonic() <= stop_at:
                verdicts = dict(zip(map(id, ask), confirmer.confirm(ask), strict=True))
            for key, (share, hit) in zip(keys, batch, strict=True):
                if len(accepted) >= limit:
                    break
                if key in filed:
                    accepted.append((share, hit, ""))
                elif _refusal_key(hit) in refused_before:
                    result.refused += 1
                elif id(hit) not in verdicts:
                    result.unconfirmed += 1
                elif verdicts[id(hit)][0]:
                    accepted.append((share, hit, verdicts[id(hit)][1]))
                else:
                    result.refused += 1
                    refused_now[_refusal_key(hit)] = verdicts[id(hit)][1][:300]
    if refused_now:
        _refusals_write(repository, {**refused_before, **refused_now})
    return accepted


def _refusal_key(hit: SurveyHit) -> str:
    """A codemod's refusal holds while the function's text and the skill's version do."""
    version = hit.skill.version_id or 0
    return f"{hit.skill.slug}:{version}:{hit.function.digest}"


def _refusals_path(repository: Repository) -> Path:
    return Path(settings.VAR_DIR) / "survey" / f"refused-{repository.pk}.json"


def _refusals_read(repository: Repository) -> dict[str, str]:
    """The codemod refusals earlier surveys of this repository remembered on this machine."""
    try:
        stored = json.loads(_refusals_path(repository).read_text())
    except (OSError, ValueError):
        return {}
    return stored if isinstance(stored, dict) else {}


def _refusals_write(repository: Repository, refusals: dict[str, str]) -> None:
    path = _refusals_path(repository)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written beside and renamed: a concurrent reader sees the old file or the new one.
    staging = path.with_suffix(f".{time.monotonic_ns()}.tmp")
    staging.write_text(json.dumps(refusals))
    staging.replace(path)


def survey_run(
    *,
    repository: Repository,
    profile: ProfileData | None = None,
    limit: int = DEFAULT_LIMIT,
    actor: Any | None = None,
) -> SurveyResult:
    """Survey `repository` and file its top `limit` opportunities (by estimated watts)."""
    service = repository.services.order_by("name").first()
    if service is None:
        raise SurveyError(
            f"repository {repository.name!r} belongs to no service, so its watts cannot be "
            "estimated: register it with `manage.py add_repo NAME PATH --service S`"
        )
    if not repository.path or not Path(repository.path).is_dir():
        raise SurveyError(f"repository {repository.name!r} has no work tree on this machine")
    scan = survey_scan(Path(repository.path), skill_specs())
    shares = _profile_shares(profile) if profile is not None else None
    weighed = [(share, hit) for hit in scan.hits if (share := _share(hit, scan, shares)) > 0]
    weighed.sort(
        key=lambda pair: (
            -pair[0] * pair[1].skill.expected_recovery,
            pair[1].function.symbol,
            pair[1].skill.slug,
        )
    )
    result = SurveyResult(
        repository=repository.name,
        functions=len(scan.functions),
        files=scan.files,
        lines=scan.lines,
        hits=len(scan.hits),
        unparsable=scan.unparsable,
    )
    share_from = "profile" if profile is not None else "lines"
    payloads = []
    for share, hit, change in _confirmed(repository, weighed, limit, result):
        payload = _payload(repository, service.name, hit, share, share_from)
        payload["evidence"]["survey"]["confirmed"] = change[:300]
        payloads.append(payload)
    # A survey's opportunities wait for a reviewer's "Request fix": hundreds of speculative
    # solves queued at once would crowd out the regressions.
    Source.objects.get_or_create(name=SURVEY_SOURCE, defaults={"auto_solve": False})
    keys = [p["external_id"] for p in payloads]
    stored = set(
        Finding.objects.filter(source=SURVEY_SOURCE, external_id__in=keys).values_list(
            "external_id", flat=True
        )
    )
    fresh = [p for p in payloads if p["external_id"] not in stored]
    batch = settings.WATTSON_INGEST_MAX_BATCH
    for start in range(0, len(fresh), batch):
        outcome = finding_ingest(payload=fresh[start : start + batch], actor=actor)
        if not outcome.ok:
            raise SurveyError(f"the ingest refused survey opportunities: {outcome.errors[:3]}")
        result.created += outcome.created
    ids = dict(
        Finding.objects.filter(source=SURVEY_SOURCE, external_id__in=keys).values_list(
            "external_id", "id"
        )
    )
    watts = dict(Finding.objects.filter(pk__in=ids.values()).values_list("id", "estimated_watts"))
    result.opportunities = sorted(ids.values(), key=lambda pk: (-watts[pk], pk))
    return result


def survey_all() -> list[SurveyResult]:
    """Survey every registered repository with a work tree and a service (the schedule's body)."""
    results = []
    for repository in Repository.objects.exclude(path="").order_by("name"):
        try:
            results.append(survey_run(repository=repository))
        except SurveyError:
            continue
    return results
