"""Synthetic histories for the detection tests: seeded, so every run sees the same series."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"
START = datetime(2024, 1, 1, tzinfo=UTC)


def commit_at(index: int) -> str:
    return f"{index:07x}" + "c0ffee" * 5


def series_values(
    *,
    seed: int,
    n: int = 120,
    step_at: int | None = None,
    step: float = 0.0,
    back_at: int | None = None,
    period: int | None = None,
    amplitude: float = 0.0,
    noise: float = 1.0,
    level: float = 100.0,
) -> list[float]:
    rng = random.Random(seed)
    values = []
    for i in range(n):
        value = level + rng.gauss(0, noise)
        if period:
            value += amplitude * math.sin(2 * math.pi * i / period)
        if step_at is not None and i >= step_at and (back_at is None or i < back_at):
            value += step
        values.append(value)
    return values


def history_csv(path: Path, series: dict[str, list[float]]) -> Path:
    lines = ["time,commit,series,value"]
    for name, values in series.items():
        for i, value in enumerate(values):
            when = (START + timedelta(hours=i)).isoformat()
            lines.append(f"{when},{commit_at(i)},{name},{value!r}")
    path.write_text("\n".join(lines) + "\n")
    return path
