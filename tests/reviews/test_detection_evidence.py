"""The finding page shows a detected regression's evidence: chart, figures, candidates, bisect."""

from __future__ import annotations

import re

import pytest

from reviews.charts import change_point
from reviews.models import Finding, Service

GOOD, BAD, CAUSE = "a" * 40, "b" * 40, "c" * 40


def _evidence(series: str = "cpu share: pricing.quote.unit_price") -> dict:
    points = [[f"2026-11-{1 + i // 24:02d}T{i % 24:02d}:00:00+00:00", GOOD, 0.3] for i in range(30)]
    points += [[f"2026-11-{3 + i // 24:02d}T{i % 24:02d}:00:00+00:00", BAD, 4.8] for i in range(20)]
    return {
        "detector": {"method": "binary segmentation, Pettitt rank test", "alpha": 0.001},
        "changes": [
            {
                "series": series,
                "unit": "% CPU",
                "last_good_commit": GOOD,
                "first_bad_commit": BAD,
                "baseline_mean": 0.3,
                "baseline_stdev": 0.05,
                "current_mean": 4.8,
                "magnitude_pct": 4.5,
                "p_value": 1.5e-9,
                "seasonal_period": None,
                "change_index": 30,
                "points": points,
            }
        ],
        "candidates": [
            {
                "commit": CAUSE,
                "title": "Match products case-insensitively",
                "author": "rita@example.com",
                "score": 0.84,
                "factors": {"function": 0.9, "callees": 0.0, "file": 1.0},
            },
            {"commit": BAD, "title": "Docs", "author": "sam@example.com", "score": 0.0},
        ],
        "bisect": {
            "status": "found",
            "reason": "cccccccccccc is the first commit whose benchmark is slow",
            "commit": CAUSE,
            "before_s": 0.0087,
            "after_s": 0.0831,
            "bench_cmd": "python3 bench.py",
            "steps": [
                {"commit": GOOD, "seconds": 0.0087, "verdict": "good", "log": "run 1: 0.0087s"},
                {"commit": BAD, "seconds": 0.0829, "verdict": "bad", "log": "<b>run</b>"},
                {"commit": CAUSE, "seconds": 0.0831, "verdict": "bad", "log": ""},
            ],
        },
    }


@pytest.fixture
def detected(db) -> Finding:
    service = Service.objects.create(name="storage-pricing")
    return Finding.objects.create(
        service=service,
        kind="regression",
        source="wattson-detect",
        external_id="detect:1",
        payload_sha256="0" * 64,
        title="pricing.quote.unit_price: +4.5 share points",
        metric="cpu",
        magnitude_pct=4.5,
        functions=[{"symbol": "pricing.quote.unit_price"}],
        evidence=_evidence(),
    )


def _section(html: str) -> str:
    return html[
        html.index('id="detection"') : html.index("</section>", html.index('id="detection"'))
    ]


def test_the_finding_page_draws_the_series_with_its_change_point(client_for, reviewer, detected):
    html = client_for(reviewer).get(f"/findings/{detected.pk}/").content.decode()
    section = _section(html)
    assert "<svg" in section and 'class="change-point"' in section
    assert section.count("<circle") == 50
    assert "change: bbbbbbbbbbbb" in section
    assert "mean before: 0.3 % CPU" in section and "mean after: 4.8 % CPU" in section
    assert "% CPU</text>" in section  # the y axis names the unit
    # The test's figures.
    assert "1.5e-09" in section and "90.0 σ of the baseline" in section
    assert "4.5 points" in section


def test_the_page_lists_candidates_with_factors_and_the_bisect_log(client_for, reviewer, detected):
    section = _section(client_for(reviewer).get(f"/findings/{detected.pk}/").content.decode())
    assert "Match products case-insensitively" in section and "0.840" in section
    assert "function 0.90" in section and "file 1.00" in section
    assert section.index(CAUSE[:12]) < section.index("Docs")
    assert "made the benchmark slower: 0.0087 s before it, 0.0831 s at it" in section
    verdicts = re.findall(r'class="verdict-(\w+)"', section)
    assert verdicts == ["good", "bad", "bad"]
    assert "&lt;b&gt;run&lt;/b&gt;" in section and "<b>run</b>" not in section
    # Strict CSP: nothing inline.
    assert "style=" not in section and "<script" not in section


def test_a_hostile_series_name_is_escaped_in_the_chart(client_for, reviewer, detected):
    detected.evidence = _evidence(series="</title><script>alert(1)</script>")
    detected.save()
    section = _section(client_for(reviewer).get(f"/findings/{detected.pk}/").content.decode())
    assert "<script>" not in section and "&lt;script&gt;alert(1)" in section


def test_malformed_evidence_shows_less_never_an_error(client_for, reviewer, detected):
    detected.evidence = {
        "changes": [{"points": "nope", "change_index": "x"}, 7],
        "candidates": [{"commit": 5, "factors": ["x"]}, "junk"],
        "bisect": {"status": "running", "steps": [None, {"seconds": "slow"}]},
    }
    detected.save()
    response = client_for(reviewer).get(f"/findings/{detected.pk}/")
    assert response.status_code == 200
    section = _section(response.content.decode())
    assert "<svg" not in section and "running" in section


def test_a_finding_without_detection_evidence_has_no_such_section(client_for, reviewer, detected):
    detected.evidence = {"note": "hand-written"}
    detected.save()
    html = client_for(reviewer).get(f"/findings/{detected.pk}/").content.decode()
    assert 'id="detection"' not in html


def test_the_chart_says_so_when_there_are_too_few_points():
    svg = change_point(
        points=[("t", "c", 1.0)],
        change_index=0,
        baseline_mean=1,
        current_mean=1,
        unit="s",
        title="x",
    )
    assert "Too few points to draw." in svg
