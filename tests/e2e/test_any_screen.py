"""Any screen, every eye: the main pages at 800 px and 1,366 px in headless Chromium.

Each page must fit its width (no page-wide horizontal scroll, no table column cut off or
hidden), pass axe-core's colour-contrast rule (WCAG AA, 4.5:1), run without a CSP violation
and show the date in the console's one format. Screenshots: artifacts/screenshots/
screen_<page>_<width>.png.

axe-core is vendored in tests/e2e/vendor/axe-core (MPL-2.0). It is added with an init script
(the DevTools protocol), not a <script> tag: our CSP rightly blocks inline scripts.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from django.utils import timezone

from reviews.models import Finding, Service
from skills.models import Skill, SkillStats
from tests.e2e.conftest import login, screenshot
from tests.reviews.test_proposal_page import make_proposal, two_file_change
from tests.reviews.test_reports import data  # noqa: F401 - the hand-made report data

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
WIDTHS = (800, 1366)
ONE_DATE_FORMAT = re.compile(r"^\d{1,2} [A-Z][a-z]{2} \d{4}, \d{2}:\d{2} UTC$")

# What a person could not see without knowing to look: the page itself wider than the window,
# table headers not displayed (unless a priority column's value moved into the row's title cell),
# or table columns past the right edge of what holds them.
LAYOUT = """() => {
  const out = {pageOverflow: document.documentElement.scrollWidth - window.innerWidth,
               hidden: [], clipped: []};
  for (const table of document.querySelectorAll('table')) {
    if (table.closest('.diffview')) continue;  // code lines scroll inside the diff viewer
    let holder = table.parentElement;
    while (holder && holder !== document.body && holder.clientWidth >= table.offsetWidth - 1
           && getComputedStyle(holder).overflowX === 'visible') holder = holder.parentElement;
    const right = Math.min(holder.getBoundingClientRect().right, window.innerWidth);
    for (const th of table.querySelectorAll('th')) {
      const label = th.textContent.trim() || '(blank)';
      const box = th.getBoundingClientRect();
      if (getComputedStyle(th).display === 'none' || box.width === 0) {
        // A priority column may step aside only if every row shows its value elsewhere.
        const fold = th.dataset.fold;
        const rows = table.tBodies[0] ? [...table.tBodies[0].rows] : [];
        const folded = fold && rows.every(row => {
          const shown = row.querySelector(`.fold[data-fold="${fold}"]`);
          return shown && shown.getClientRects().length > 0;
        });
        if (!folded) out.hidden.push(label);
      }
      else if (box.right > right + 1) out.clipped.push(label);
    }
  }
  return out;
}"""

CONTRAST = """async () => {
  const result = await axe.run(document, {runOnly: {type: 'rule', values: ['color-contrast']}});
  return result.violations.flatMap(
    v => v.nodes.map(n => n.target.join(' ') + ': ' + n.failureSummary));
}"""


@pytest.fixture
def main_pages(reviewer, tmp_path) -> dict[str, str]:
    """The URL of each main page, each with something on it."""
    repo, base, diff = two_file_change(tmp_path / "shop-repo")
    proposal = make_proposal(
        repo_path=repo,
        base=base,
        diff=diff,
        rationale="`Cart.total` compiled its pattern per item; it is compiled once now.",
        test_log="Ran 12 tests in 0.004s\n\nOK\n",
        bench_log="before: seconds: 0.2000\nafter: seconds: 0.0500\n",
        measured_watts=820.0,
        expected_recovery=0.9,
        measured_recovery=0.74,
    )
    finding = proposal.finding
    Finding.objects.filter(pk=finding.pk).update(assignee=reviewer, detected_at=timezone.now())
    search = Service.objects.create(name="search-indexer-frontend")
    for n, status in enumerate(Finding.Status.values):
        other = Finding.objects.create(
            kind=Finding.Kind.OPPORTUNITY if n % 2 else Finding.Kind.REGRESSION,
            source="fleet-survey-weekly",
            external_id=f"screen-{n}",
            payload_sha256="0" * 64,
            service=search,
            title=f"Tokenizer lowercases each term twice in the per-document loop ({status})",
            metric="cpu",
            magnitude_pct=2.5 + n,
            status=status,
            assignee=reviewer if n % 3 == 0 else None,
            estimated_watts=1_250 * (n + 1),
        )
        ago = timezone.now() - dt.timedelta(hours=5 * n)
        Finding.objects.filter(pk=other.pk).update(created_at=ago)
    return {
        "queue": "/",
        "finding": f"/findings/{finding.pk}/",
        "proposal": f"/proposals/{proposal.pk}/",
        "my_reviews": "/my-reviews/",
        "not_found": "/no/such/page/",
    }


def check_page(page, name: str, width: int) -> None:
    page.wait_for_load_state("networkidle")
    # First, so a failing page leaves its picture behind.
    screenshot(page, f"screen_{name}_{width}")
    layout = page.evaluate(LAYOUT)
    assert layout["pageOverflow"] <= 0, f"{name} at {width}px scrolls sideways: {layout}"
    assert not layout["hidden"], f"{name} at {width}px hides columns {layout['hidden']}"
    assert not layout["clipped"], f"{name} at {width}px cuts off columns {layout['clipped']}"
    assert page.evaluate(CONTRAST) == [], f"{name} at {width}px: text below 4.5:1"
    assert page.locator("a.skip-link[href='#main']").count() == 1, f"{name}: no skip link"
    text = page.locator("body").inner_text()
    assert "{#" not in text and "{%" not in text, f"{name}: template syntax shown as text"
    # The 404 page's own status is logged by Chromium; anything else is a CSP or script error.
    errors = [e for e in page.console_errors if not (name == "not_found" and "404" in e)]
    assert not errors, f"{name} at {width}px: {errors}"
    page.console_errors.clear()


@pytest.mark.parametrize("width", WIDTHS)
def test_main_pages_fit_and_meet_contrast(page, main_pages, reviewer, width):
    page.add_init_script(path=str(AXE))
    page.set_viewport_size({"width": width, "height": 900})
    page.goto("/login/")
    check_page(page, "login", width)
    login(page, reviewer)
    for name, url in main_pages.items():
        page.goto(url)
        check_page(page, name, width)


def test_reports_fit_and_meet_contrast_with_figures(page, data, manager):  # noqa: F811
    """Taken as a manager, who sees every team's figures (a reviewer with no team sees none).

    Both widths in one test: the hand-made report data is made once per test.
    """
    page.add_init_script(path=str(AXE))
    login(page, manager)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.goto("/reports/")
        assert page.locator(".stat-banked .stat-label").inner_text() == "BANKED (ESTIMATED)"
        assert page.locator("[data-testid=banked-watts]").inner_text() == "1.5 kW"
        assert page.locator("[data-testid=banked-measured]").inner_text() == "measured: 800 W"
        check_page(page, "reports", width)


@pytest.fixture
def skills_listed(db) -> None:
    """A skill list as an admin sees it: long names, owners, statistics on every row."""
    for n, slug in enumerate(("precompile-regex", "memoize", "hoist-loop-invariant", "profile")):
        skill, _ = Skill.objects.update_or_create(
            slug=slug,
            defaults={
                "name": f"{slug.replace('-', ' ').title()} in hot paths",
                "codemod": "" if slug == "profile" else slug.replace("-", "_"),
                "owner": f"perf-team-{slug}@example.com",
                "description": "Rewrites the pattern so the work is done once, not per call.",
            },
        )
        SkillStats.objects.update_or_create(
            skill=skill,
            version=None,
            defaults={
                "approved": 10 + n,
                "rejected": n,
                "acceptance_rate": (10 + n) / (10 + 2 * n),
                "wilson_lower": 0.61,
                "banked_watts": 12_345.0,
            },
        )


@pytest.mark.parametrize("width", WIDTHS)
def test_the_admin_skill_list_fits(page, skills_listed, skill_admin, width):
    page.add_init_script(path=str(AXE))
    page.set_viewport_size({"width": width, "height": 900})
    login(page, skill_admin)
    page.goto("/admin/skills/skill/")
    assert page.locator("#result_list tbody tr").count() >= 4
    screenshot(page, f"screen_admin_skills_{width}")
    # Django's app sidebar (navigation, with visually hidden headers) steps aside below
    # 1,100 px on purpose; the skill list itself is what must fit.
    layout = page.evaluate(LAYOUT.replace("'.diffview'", "'.diffview, #nav-sidebar'"))
    assert layout["pageOverflow"] <= 0, f"admin skills at {width}px scrolls sideways: {layout}"
    assert not layout["hidden"], f"admin skills at {width}px hides columns {layout['hidden']}"
    assert not layout["clipped"], f"admin skills at {width}px cuts off {layout['clipped']}"
    assert not page.console_errors, page.console_errors


def test_dates_read_the_same_everywhere(page, main_pages, reviewer):
    login(page, reviewer)
    seen = 0
    for name in ("queue", "finding", "proposal", "my_reviews"):
        page.goto(main_pages[name])
        for time in page.locator("time").all():
            # A compact age ("3 h") shows the full date on hover; either way the same format.
            shown = time.get_attribute("title") or time.inner_text()
            assert ONE_DATE_FORMAT.match(shown), f"{name}: {shown!r}"
            assert dt.datetime.fromisoformat(time.get_attribute("datetime")).tzinfo is not None
            seen += 1
    assert seen >= 8


def test_skip_link_is_first_and_moves_focus_to_the_content(page, main_pages, reviewer):
    login(page, reviewer)
    page.goto(main_pages["queue"])
    page.keyboard.press("Tab")
    focused = page.locator(":focus")
    assert focused.inner_text() == "Skip to content"
    box = focused.bounding_box()
    assert box is not None and box["y"] >= 0, "the focused skip link is off screen"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    # The next Tab lands inside the content, past the navigation.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('main') !== null")
