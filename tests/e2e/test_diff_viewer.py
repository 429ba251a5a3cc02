"""The diff viewer in a real browser: unified and side-by-side, context expansion, warnings.

Uses the shared `page` fixture and `login` helper (tests/e2e/conftest.py). Screenshots go to
artifacts/screenshots/diff_*.png.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.conftest import login
from tests.reviews.test_proposal_page import (
    CART_AFTER,
    CART_BEFORE,
    UTIL_AFTER,
    UTIL_BEFORE,
    make_change,
    make_proposal,
    two_file_change,
)

pytestmark = pytest.mark.e2e

SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


def _shot(page, name: str, *, locator=None) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"diff_{name}.png"
    if locator is not None:
        # The sticky top bar would cover the element's top edge in an element screenshot.
        page.evaluate("document.querySelector('.topbar').style.position = 'static'")
        locator.screenshot(path=str(path))
        page.evaluate("document.querySelector('.topbar').style.position = ''")
    else:
        page.screenshot(path=str(path), full_page=True)


def _watch_errors(page) -> list[str]:
    """CSP violations, script errors and failed requests on the page."""
    errors: list[str] = []

    def console(msg) -> None:
        # A blocked inline script or style (CSP) is reported on the console.
        if msg.type == "error" and "Content Security Policy" in msg.text:
            errors.append(msg.text)

    def response(resp) -> None:
        if resp.status >= 400 and not resp.url.endswith("/favicon.ico"):
            errors.append(f"{resp.status} {resp.url}")

    page.on("console", console)
    page.on("response", response)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


def test_toggle_side_by_side_and_expand_context(
    transactional_db, live_server, page, reviewer, tmp_path
):
    repo, base, diff = two_file_change(tmp_path / "shop-repo")
    proposal = make_proposal(
        repo_path=repo,
        base=base,
        diff=diff,
        rationale=(
            "`Cart.total` calls `re.match` with a constant pattern for every item.\n\n"
            "- compile it once at import: `_SKU_RE`\n- behaviour is unchanged"
        ),
        risks="None expected: the pattern and flags are identical.",
        test_log="Ran 12 tests in 0.004s\n\nOK\n",
        bench_log="before: seconds: 0.2000\nafter: seconds: 0.0500\n",
        measured_watts=820.0,
        trace=[
            {
                "tool": "read_code",
                "arguments": {"path": "shop/cart.py", "symbol": "Cart.total"},
                "summary": "Cart.total: 7 lines, calls re.match per item",
                "duration_ms": 4.2,
                "error": "",
            },
            {
                "tool": "run_tests",
                "arguments": {},
                "summary": "12 passed",
                "duration_ms": 812,
                "error": "",
            },
        ],  # fmt: skip
    )
    errors = _watch_errors(page)
    login(page, reviewer)
    page.goto(f"{live_server.url}/proposals/{proposal.pk}/")
    page.evaluate("window.localStorage.removeItem('wattson.diffView')")
    page.reload()

    viewer = page.locator(".diffview")
    unified = page.locator("table.dtable.unified").first
    assert unified.is_visible()
    assert page.locator("table.dtable.unified tr.r.add").count() == 5
    assert page.locator("td.hh .fn", has_text="def Cart.total").is_visible()
    # Syntax colours come from classes and the static stylesheet, not inline styles.
    keyword = page.locator("table.dtable.unified .code .k").first
    # Pygments' keyword green, darkened to reach 4.5:1 contrast.
    assert keyword.evaluate("e => getComputedStyle(e).color") == "rgb(0, 110, 0)"
    page.locator(".diff-panel").scroll_into_view_if_needed()
    _shot(page, "unified", locator=page.locator(".diff-panel"))

    page.click("button[data-view-choice=sbs]")
    sbs = page.locator("table.dtable.sbs").first
    assert sbs.is_visible() and not unified.is_visible()
    # A changed line pairs the old text (left) with the new (right) on one row.
    pair = page.locator("table.dtable.sbs tr.chg", has_text="_SKU_RE.match").first
    assert pair.locator("td.code.del").inner_text().strip().startswith("if re.match")
    assert pair.locator("td.code.add").inner_text().strip().startswith("if _SKU_RE.match")

    # Expand the unchanged lines above the first hunk, in the side-by-side view.
    gap = page.locator("table.dtable.sbs tr.gap").first
    rows_before = page.locator("table.dtable.sbs tr.r").count()
    gap.locator("button[data-expand=all]").click()
    page.wait_for_function(
        "n => document.querySelectorAll('table.dtable.sbs tr.r').length > n", arg=rows_before
    )
    expanded = page.locator("table.dtable.sbs tr.r.ctx.expanded").first
    assert "Shopping cart totals." in expanded.inner_text()
    # The expanded docstring line is coloured as a docstring: lexed with the whole file.
    assert page.locator("table.dtable.sbs tr.expanded .code .sd").count() >= 1
    page.locator(".diff-panel").scroll_into_view_if_needed()
    _shot(page, "side_by_side", locator=page.locator(".diff-panel"))

    # The choice is remembered across page loads.
    page.reload()
    assert page.locator("table.dtable.sbs").first.is_visible()
    assert page.locator("button[data-view-choice=sbs]").get_attribute("aria-pressed") == "true"
    page.click("button[data-view-choice=unified]")
    assert page.locator("table.dtable.unified").first.is_visible()
    # "Show the whole file" fetches every gap of that file.
    page.locator("#file-0 [data-expand-file]").click()
    page.wait_for_function("() => !document.querySelector('#file-0 table.dtable.unified tr.gap')")
    # "n" jumps to the next change.
    page.evaluate("window.scrollTo(0, 0)")
    page.keyboard.press("n")
    assert page.locator("table.dtable.unified tr.flash").count() == 1
    # Clicking a line number gives a link to that line; opening the link shows it.
    page.locator("table.dtable.unified tr.r.add").first.locator("td.ln").nth(1).click()
    assert page.evaluate("window.location.hash") == "#f0-n5"
    page.goto(f"{live_server.url}/proposals/{proposal.pk}/#f0-n5")
    page.reload()
    assert "flash" in page.locator('table.dtable.unified tr.r[data-n="5"]').first.get_attribute(
        "class"
    )
    # "Viewed" folds a file away and is remembered.
    page.locator("#file-1 input[data-viewed]").check()
    assert not page.locator("#file-1").evaluate("d => d.open")
    assert "1 of 2 viewed" in page.locator(".viewed-count").inner_text()
    page.reload()
    assert page.locator("#file-1 input[data-viewed]").is_checked()
    assert not page.locator("#file-1").evaluate("d => d.open")
    page.evaluate("window.scrollTo(0, 0)")
    _shot(page, "page")
    assert viewer.count() == 1
    assert errors == [], errors


def test_interdiff_between_revisions(transactional_db, live_server, page, reviewer, tmp_path):
    repo, base, diff = two_file_change(tmp_path / "shop-repo")
    first = make_proposal(repo_path=repo, base=base, diff=diff)
    _, _, diff2 = make_change(
        tmp_path / "second",
        {"shop/cart.py": CART_BEFORE, "shop/util.py": UTIL_BEFORE},
        {"shop/cart.py": CART_AFTER.replace("return len(self.items)", "return 0"),
         "shop/util.py": UTIL_AFTER},
    )  # fmt: skip
    second = make_proposal(repo_path=None, base=base, diff=diff2, finding=first.finding, revision=2)
    errors = _watch_errors(page)
    login(page, reviewer)
    page.goto(f"{live_server.url}/proposals/{second.pk}/")
    page.select_option("select[name=against]", str(first.pk))
    page.click(".interdiff-pick button")
    page.wait_for_url(f"**/proposals/{second.pk}/interdiff/{first.pk}/")
    assert page.locator("h1", has_text="Interdiff: r1 → r2").is_visible()
    assert page.locator("table.dtable.unified tr.r.add").count() == 1
    page.click("button[data-view-choice=sbs]")
    assert page.locator("table.dtable.sbs tr.chg").count() == 1
    _shot(page, "interdiff")
    assert errors == [], errors


def test_hidden_characters_are_marked_in_the_browser(
    transactional_db, live_server, page, reviewer, tmp_path
):
    repo, base, diff = make_change(
        tmp_path / "trojan",
        {"auth.py": "def allowed(user):\n    return user.is_admin\n"},
        {
            "auth.py": "def allowed(user):\n"
            '    access_level = "user\u202e \u2066# admin\u2069 \u2066"\n'
            "    return user.is_admin\n"
        },
    )
    proposal = make_proposal(repo_path=repo, base=base, diff=diff)
    errors = _watch_errors(page)
    login(page, reviewer)
    page.goto(f"{live_server.url}/proposals/{proposal.pk}/")
    warning = page.locator(".diff-warnings")
    assert warning.is_visible()
    assert "U+202E RIGHT-TO-LEFT OVERRIDE" in warning.inner_text()
    line = page.locator("tr.r.add.warn")
    assert line.count() == 1 and line.locator("span.uc").count() == 4
    warning.locator("a.warn-link").first.click()
    page.locator(".diff-panel").scroll_into_view_if_needed()
    _shot(page, "hidden_characters", locator=page.locator(".diff-panel"))
    assert errors == [], errors
