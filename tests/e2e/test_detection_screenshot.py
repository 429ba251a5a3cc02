"""A detected regression's finding page in a real browser: the chart, candidates and bisect log.

Screenshots: artifacts/screenshots/finding_detection.png (the page), finding_detection_section.png.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from reviews.models import Finding, Service
from tests.e2e.conftest import login, screenshot
from tests.reviews.test_detection_evidence import CAUSE, _evidence

pytestmark = pytest.mark.e2e


@pytest.fixture
def detected(db) -> Finding:
    service = Service.objects.create(name="storage-pricing", team="billing")
    return Finding.objects.create(
        service=service,
        kind="regression",
        source="wattson-detect",
        external_id="detect:e2e",
        payload_sha256="0" * 64,
        title="pricing.quote.unit_price: +4.50 share points since commit bbbbbbbbbbbb",
        metric="cpu",
        magnitude_pct=4.5,
        baseline=0.3,
        current=4.8,
        confidence=1.0,
        functions=[{"symbol": "pricing.quote.unit_price"}],
        root_cause_commit=CAUSE,
        root_cause_author="rita@example.com",
        evidence=_evidence(),
        estimated_watts=45_360.0,
    )


def test_the_finding_page_shows_the_detection_evidence_without_csp_errors(page, reviewer, detected):
    login(page, reviewer)
    page.goto(f"/findings/{detected.pk}/")
    section = page.locator("#detection")
    expect(section.get_by_role("heading", name="How it was detected")).to_be_visible()
    chart = section.locator("svg.chart").first
    expect(chart).to_be_visible()
    # Drawn at its size, not collapsed: the stylesheet reached the page.
    box = chart.bounding_box()
    assert box is not None and box["width"] > 600 and box["height"] > 200
    expect(chart.locator("line.change-point")).to_have_count(1)
    expect(section.locator("table.bisect-log tbody tr")).to_have_count(3)
    expect(section.get_by_text("Match products case-insensitively")).to_be_visible()
    screenshot(page, "finding_detection")
    section.screenshot(path=str(screenshot(page, "finding_detection_section", full_page=False)))
    assert page.console_errors == []
