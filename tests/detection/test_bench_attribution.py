"""bench/detect.py's attribution cases: bisect names each injected culprit, attribution alone
is fooled by an innocent refactor of the same function."""

from __future__ import annotations

from bench.detect_attribution import attribution_bench
from reviews.detection.changepoints import DetectorConfig, changes_find


def _wattson(values: list[float]) -> list[int]:
    return [change.index for change in changes_find(values, config=DetectorConfig())]


def test_bisect_names_every_injected_culprit(settings, tmp_path):
    settings.WATTSON_WORK_DIR = tmp_path / "work"
    figures = attribution_bench({"Wattson": _wattson}, cases=6, seed=14, tolerance=5)
    assert figures.detected == {"Wattson": 6}
    assert figures.bisect_top1 == 6
    # The same cases without bisect: the refactors outrank the one-line culprit at times,
    # while the culprit stays among the top three.
    assert figures.top1 < 6 and figures.top3 == 6
