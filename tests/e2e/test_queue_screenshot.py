"""The review queue in a real browser: log in, filter by clicking, open a finding, screenshots.

Screenshots: artifacts/screenshots/queue.png, queue_filtered.png, finding.png.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from reviews.models import Finding, Repository, Service
from tests.e2e.conftest import login, screenshot

pytestmark = pytest.mark.e2e

S, K = Finding.Status, Finding.Kind
# (service, kind, status, title, magnitude %, watts, assigned to the reviewer, age in hours)
# fmt: off
ROWS = [
    ("checkout", K.REGRESSION, S.IN_REVIEW, "tax_rate got 3x slower after rule refactor", 4.2, 18_400, True, 3),  # noqa: E501
    ("checkout", K.OPPORTUNITY, S.NEW, "Memoize tax_rate lookups per invoice line", 2.1, 9_100, False, 30),  # noqa: E501
    ("product-feed", K.REGRESSION, S.SOLVING, "parse_sku compiles its regex on every call", 1.8, 6_300, True, 1),  # noqa: E501
    ("search", K.OPPORTUNITY, S.IN_REVIEW, "STOPWORDS list scanned per indexed word", 6.5, 1_250_000, False, 50),  # noqa: E501
    ("metrics", K.REGRESSION, S.FAILED, "encode_batch grows a bytes payload in a loop", 3.3, 42_000, False, 100),  # noqa: E501
    ("metering", K.REGRESSION, S.FIXED, "Debug f-string built for every billed line", 2.7, 12_800, True, 200),  # noqa: E501
    ("apm", K.REGRESSION, S.NO_FIX, "median(baseline) recomputed for each request", 5.0, 3_400_000, False, 400),  # noqa: E501
    ("slo", K.REGRESSION, S.REJECTED, "percentile_rank switched from bisect to a linear count", 1.1, 880, False, 700),  # noqa: E501
    ("search", K.OPPORTUNITY, S.CLOSED, "Tokenizer lowercases twice", 0.4, 420, False, 1500),
    ("checkout", K.OPPORTUNITY, S.IN_REVIEW, "Hoist currency table out of the cart loop", 1.6, 5_600, True, 8),  # noqa: E501
    ("product-feed", K.OPPORTUNITY, S.NEW, "Join SKU fragments once instead of +=", 0.9, 2_100, False, 20),  # noqa: E501
    ("metrics", K.REGRESSION, S.NEW, "Label set rebuilt per sample in the exporter", 2.2, 15_500, False, 0.2),  # noqa: E501
]
# fmt: on


def newest_first(selected) -> list[str]:
    """Titles in the queue's default order (youngest first)."""
    return [row[3] for row in sorted(selected, key=lambda row: row[7])]


@pytest.fixture
def queue_rows(reviewer):
    now = timezone.now()
    services = {name: Service.objects.get_or_create(name=name)[0] for name, *_ in ROWS}
    for n, (service, kind, status, title, magnitude, watts, mine, hours) in enumerate(ROWS):
        finding = Finding.objects.create(
            kind=kind,
            source="perf-detector" if kind == K.REGRESSION else "fleet-survey",
            external_id=f"e2e-{n}",
            payload_sha256="0" * 64,
            service=services[service],
            title=title,
            metric="cpu",
            magnitude_pct=magnitude,
            functions=[{"symbol": "pkg.module.func", "file": "pkg/module.py", "line": 10}],
            evidence={"profile": f"flame-{n}"},
            status=status,
            assignee=reviewer if mine else None,
            estimated_watts=watts,
        )
        created = now - dt.timedelta(hours=hours)
        Finding.objects.filter(pk=finding.pk).update(created_at=created)
    return ROWS


def titles(page):
    """The queue's title links; `expect(...)` on it waits for the page to settle."""
    return page.locator("table.queue tbody tr .row-link")


def test_queue_filters_by_clicking_and_looks_right(page, reviewer, queue_rows):
    login(page, reviewer)
    page.goto("/")
    assert page.locator("h1").inner_text() == "Review queue"
    expect(titles(page)).to_have_text(newest_first(queue_rows))
    expect(page.get_by_text("12 findings")).to_be_visible()
    expect(page.locator("td.watts", has_text="3.4 MW")).to_have_count(1)
    expect(page.locator("td.watts", has_text="18.4 kW")).to_have_count(1)
    screenshot(page, "queue")

    # Quick filter chips.
    page.get_by_role("link", name="Opportunities").click()
    opportunities = [row for row in queue_rows if row[1] == K.OPPORTUNITY]
    expect(titles(page)).to_have_text(newest_first(opportunities))
    assert set(page.locator("table.queue .badge").all_inner_texts()) == {"OPPORTUNITY"}

    page.get_by_role("link", name="Assigned to me").click()
    expect(titles(page)).to_have_text(newest_first(r for r in opportunities if r[6]))

    # The filter form: status plus a sort, then clear everything.
    page.get_by_role("link", name="Clear filters").click()
    expect(titles(page)).to_have_count(12)
    page.select_option("select[name=status]", "in_review")
    page.select_option("select[name=sort]", "watts")
    page.get_by_role("button", name="Apply").click()
    in_review = sorted((r for r in queue_rows if r[2] == S.IN_REVIEW), key=lambda r: -r[5])
    expect(titles(page)).to_have_text([r[3] for r in in_review])
    screenshot(page, "queue_filtered")

    page.get_by_role("link", name="Clear filters").click()
    expect(titles(page)).to_have_count(12)

    # Sorting by a column header, then into a finding.
    page.get_by_role("link", name="Size (W)").click()
    expect(titles(page).first).to_have_text("median(baseline) recomputed for each request")
    titles(page).first.click()
    expect(page.locator("h1")).to_contain_text("median(baseline) recomputed for each request")
    expect(page.get_by_text("3.4 MW").first).to_be_visible()
    screenshot(page, "finding")
    assert page.console_errors == []

    # On a phone the table scrolls sideways inside its card; the page itself does not.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/")
    expect(titles(page)).to_have_count(12)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "queue_mobile")


def test_finding_page_shows_the_root_cause_diff(page, reviewer, scenario):
    built = scenario("label_regex")
    sent = built["finding"]
    repository = Repository.objects.create(name="parcel-labels", path=str(built["path"]))
    service = Service.objects.create(name=sent["service"], repository=repository)
    finding = Finding.objects.create(
        kind=K.REGRESSION,
        source=sent["source"],
        external_id=sent["external_id"],
        payload_sha256="0" * 64,
        service=service,
        title=sent["title"],
        metric=sent["metric"],
        magnitude_pct=sent["magnitude_pct"],
        functions=sent["functions"],
        root_cause_commit=sent["root_cause"]["commit"],
        root_cause_author=sent["root_cause"]["author"],
        evidence={"profile": "flame-77", "note": "<script>alert(1)</script>"},
        estimated_watts=7_560,
    )
    login(page, reviewer)
    page.goto(f"/findings/{finding.pk}/")
    diff = page.locator("pre.diff")
    assert diff.is_visible()
    assert diff.locator(".dl-add").count() > 0
    assert diff.locator(".dl-del").count() > 0
    assert page.get_by_text("<script>alert(1)</script>", exact=False).count() == 1  # shown as text
    screenshot(page, "finding_root_cause")
    assert page.console_errors == []


def test_outsider_sees_the_friendly_403(page, outsider):
    login(page, outsider)
    page.goto("/")
    assert "You don't have access to this page" in page.locator("h1").inner_text()
    assert page.get_by_text("no Wattson role yet").is_visible()
    screenshot(page, "forbidden")


def test_wrong_password_is_refused_then_login_works(page, reviewer):
    page.goto("/findings/1/")
    assert "/login/" in page.url  # anonymous: sent to log in first
    page.fill("input[name=username]", reviewer.get_username())
    page.fill("input[name=password]", "not-the-password")
    page.click("button[type=submit]")
    assert page.get_by_role("alert").inner_text().startswith("Your username and password")
    screenshot(page, "login")
    login(page, reviewer)
    assert page.locator("h1").inner_text() == "Review queue"


def test_empty_queue_explains_how_to_start(page, reviewer):
    login(page, reviewer)
    page.goto("/")
    assert page.get_by_role("heading", name="No findings yet").is_visible()
    assert page.get_by_text("manage.py demo").is_visible()
    assert page.get_by_role("button", name="Copy").count() == 3  # wattson.js ran under the CSP
    assert page.console_errors == []
    screenshot(page, "queue_empty")
