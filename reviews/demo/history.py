"""The demo's measurements: a fleet profile history with a regression in it, detected and bisected.

One demo repository (pricing-engine) gets hourly profile windows of its service, as a fleet
profiler would send them, each tagged with the commit deployed then. The history is generated
deterministically from the repository's commits: a fixed seed's noise around each function's
share, and a step in pricing.quote.unit_price's share from the first deploy that contains the
regressing commit. Deploys skip commits (2-currency is deployed, then 5-readme), so attribution
ranks three candidates and bisect has to measure to settle it. Loading goes through the same
services as `manage.py import_profile` and `manage.py detect`, so the demo's finding is filed,
attributed and bisected exactly as a team's would be.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from reviews.detection.changepoints import DetectorConfig
from reviews.detection.profiles import FunctionShareRow, ProfileData
from reviews.models import Repository, Series
from reviews.services.measurements import profile_import
from reviews.services.regressions import (
    FiledRegression,
    regression_findings_file,
    series_detect,
)

# Samples per window: the shares below are of these.
SAMPLES = 20_000


@dataclass(frozen=True)
class Deploy:
    step: str  # the fixture step (commit) running in production
    start: str  # ISO 8601, fixed so re-running the demo re-sends the same windows
    hours: int


@dataclass(frozen=True)
class ProfiledFunction:
    symbol: str
    file: str
    share: float  # inclusive share of the service's CPU, 0..1
    share_after: float | None = None  # from the regressing deploy on (None: unchanged)


@dataclass(frozen=True)
class ProfileHistory:
    repository: str
    regression_step: str  # the commit that changed the shares
    deploys: tuple[Deploy, ...]
    functions: tuple[ProfiledFunction, ...]
    noise: float = 0.06  # relative standard deviation of each share
    seed: int = 14


PRICING_HISTORY = ProfileHistory(
    repository="pricing-engine",
    regression_step="3-regression",
    deploys=(
        Deploy("1-base", "2026-11-08T00:00:00+00:00", 48),
        Deploy("2-currency", "2026-11-13T00:00:00+00:00", 60),
        Deploy("5-readme", "2026-11-22T00:00:00+00:00", 60),
    ),
    functions=(
        ProfiledFunction("pricing.quote.unit_price", "pricing/quote.py", 0.012, 0.057),
        ProfiledFunction("pricing.quote.volume_tier", "pricing/quote.py", 0.021),
        ProfiledFunction("pricing.currency.format_dollars", "pricing/currency.py", 0.008),
    ),
)
HISTORIES = (PRICING_HISTORY,)


def _windows(history: ProfileHistory, steps: list[str]) -> list[tuple[datetime, str, ProfileData]]:
    """(window start, deployed step, profile) per hour; the same every time (fixed seed)."""
    rng = random.Random(history.seed)
    regressed_from = steps.index(history.regression_step)
    windows = []
    for deploy in history.deploys:
        regressed = steps.index(deploy.step) >= regressed_from
        start = datetime.fromisoformat(deploy.start)
        for hour in range(deploy.hours):
            rows = []
            for function in history.functions:
                level = function.share
                if regressed and function.share_after is not None:
                    level = function.share_after
                share = max(0.0, level * (1 + rng.gauss(0, history.noise)))
                rows.append(FunctionShareRow(function.symbol, function.file, share, share * 0.7))
            windows.append((start + timedelta(hours=hour), deploy.step, ProfileData(SAMPLES, rows)))
    return windows


def demo_history_load(
    history: ProfileHistory, *, shas: dict[str, str], service: str, actor: Any | None = None
) -> list[FiledRegression]:
    """Send the history's windows, detect, and file what the detector finds (idempotent)."""
    repository = Repository.objects.get(name=history.repository)
    for start, step, data in _windows(history, list(shas)):
        profile_import(
            data=data,
            service=service,
            repository=repository,
            start=start,
            end=start + timedelta(hours=1),
            commit=shas[step],
            source="folded",
            actor=actor,
        )
    config = DetectorConfig()
    changes = []
    for series in Series.objects.filter(service=service, repository=repository):
        changes += series_detect(series=series, config=config)
    return regression_findings_file(changes, config=config, actor=actor)
