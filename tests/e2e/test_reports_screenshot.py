"""The reports page in headless Chromium: headline figures and the three charts drawn."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.e2e.conftest import login, screenshot
from tests.reviews.test_reports import data  # noqa: F401 - the hand-made report data

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_reports_page_draws_its_charts(page, data, manager):  # noqa: F811
    login(page, manager)
    page.goto("/reports/")
    assert page.locator("[data-testid=banked-watts]").inner_text() == "1.5 kW"
    charts = page.locator("svg.chart")
    assert charts.count() == 3
    titles = [t.text_content() for t in page.locator("svg.chart .chart-title").all()]
    assert titles == [
        "Savings per week",
        "Savings by service",
        "Skill acceptance (95% Wilson interval)",
    ]
    # Bars and interval whiskers were actually drawn, with units on the axes.
    assert page.locator("svg.chart rect[fill]").count() >= 4
    assert page.locator("svg.chart circle").count() >= 1
    axes = [t.text_content() for t in page.locator("svg.chart text.chart-axis").all()]
    assert "Power (kW)" in axes and "Week starting (month-day)" in axes

    # Filters narrow what is shown, without a script.
    page.select_option("select[name=service]", "search")
    page.click("form.report-filters button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("[data-testid=banked-watts]").inner_text() == "500 W"
    assert "service=search" in page.url
    assert not page.console_errors, page.console_errors

    page.goto(f"/reports/?end={dt.date(2026, 12, 31).isoformat()}")
    path = screenshot(page, "reports")
    assert path.stat().st_size > 10_000
