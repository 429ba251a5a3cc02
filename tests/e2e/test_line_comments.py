"""Line comments in a real browser: comment on a diff line, reply, resolve, and j / k moving through
files and comments. The screenshot of a thread in the diff is artifacts/screenshots/
diff_thread.png."""

from __future__ import annotations

import re

import pytest

from reviews.models import ReviewThread
from tests.e2e.conftest import SCREENSHOTS, login
from tests.reviews.test_proposal_page import CART_AFTER, make_proposal, two_file_change

pytestmark = pytest.mark.e2e

FAST_LINE = CART_AFTER.splitlines().index("            if _SKU_RE.match(item.sku):") + 1


def _shot_file(page, name: str) -> None:
    """The first file of the diff, its thread included, without the sticky bar or a flash."""
    page.evaluate(
        "document.querySelector('.topbar').style.position = 'static';"
        "document.querySelectorAll('.flash').forEach(n => n.classList.remove('flash'))"
    )
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("details.dfile").first.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
    page.evaluate("document.querySelector('.topbar').style.position = ''")


def _row(page, line: int):
    table = page.locator('table.dtable.unified[data-path="shop/cart.py"]')
    return table.locator(f'tr.r[data-n="{line}"]')


def test_comment_reply_resolve_and_walk_with_j_and_k(
    transactional_db, live_server, page, reviewer, reviewer2, tmp_path
):
    repo, base, diff = two_file_change(tmp_path / "shop-repo")
    proposal = make_proposal(repo_path=repo, base=base, diff=diff, applies=True, tests_passed=True)
    login(page, reviewer)
    page.goto(f"/proposals/{proposal.pk}/")

    # Point at the line, press its "+", write, send: the thread hangs under that line.
    row = _row(page, FAST_LINE)
    row.locator("td.code").hover()
    row.locator("button.add-comment").click()
    form = page.locator("tr.new-thread-row form.inline-thread-form")
    assert f"shop/cart.py:{FAST_LINE}" in form.locator(".inline-thread-where").inner_text()
    form.locator("textarea[name=text]").fill("Name it <SKU_PATTERN>?")
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()

    thread = ReviewThread.objects.get()
    assert (thread.path, thread.side, thread.start_line) == ("shop/cart.py", "new", FAST_LINE)
    placed = _row(page, FAST_LINE).locator("xpath=following-sibling::tr[1]")
    assert "thread-row" in placed.get_attribute("class")
    assert placed.locator("article.thread .comment-body").inner_text() == "Name it <SKU_PATTERN>?"
    assert "1 open · 0 resolved" in page.locator("#h-comments").inner_text()

    # Another reviewer replies and resolves it, from the thread in the diff.
    page.context.clear_cookies()
    login(page, reviewer2)
    page.goto(f"/proposals/{proposal.pk}/#thread-{thread.pk}")
    in_diff = page.locator(f"table.dtable.unified #thread-{thread.pk}")
    in_diff.locator("textarea[name=text]").fill("Agreed; and keep it module-level.")
    in_diff.get_by_role("button", name="Reply").click()
    page.wait_for_load_state()
    in_diff = page.locator(f"table.dtable.unified #thread-{thread.pk}")
    assert in_diff.locator("li.thread-comment").count() == 2
    _shot_file(page, "diff_thread")
    in_diff.get_by_role("button", name="Resolve").click()
    page.wait_for_load_state()
    assert "0 open · 1 resolved" in page.locator("#h-comments").inner_text()
    in_diff = page.locator(f"table.dtable.unified #thread-{thread.pk}")
    assert in_diff.locator(".pill").inner_text() == "Resolved"

    # j / k: first file, the thread, the next file; k goes back.
    page.evaluate("window.scrollTo(0, 0)")
    page.locator("h1").click()
    stops = []
    for key in ("j", "j", "j", "k"):
        page.keyboard.press(key)
        current = page.locator(".kbd-current")
        assert current.count() == 1
        stops.append(
            current.evaluate(
                "n => n.matches('article.thread') ? 'thread' : "
                "n.closest('details.dfile').querySelector('.dpath').textContent.trim()"
            )
        )
    assert stops == ["shop/cart.py", "thread", "shop/util.py", "thread"]
    assert not page.console_errors, page.console_errors


def test_a_range_by_shift_click(transactional_db, live_server, page, reviewer, tmp_path):
    repo, base, diff = two_file_change(tmp_path / "shop-repo")
    proposal = make_proposal(repo_path=repo, base=base, diff=diff, applies=True, tests_passed=True)
    login(page, reviewer)
    page.goto(f"/proposals/{proposal.pk}/")
    first = _row(page, FAST_LINE - 1)
    first.locator("td.code").hover()
    first.locator("button.add-comment").click()
    last = _row(page, FAST_LINE + 1)
    last.locator("td.code").hover()
    last.locator("button.add-comment").click(modifiers=["Shift"])
    where = page.locator(".inline-thread-where").inner_text()
    assert re.search(rf"shop/cart.py:{FAST_LINE - 1}-{FAST_LINE + 1}\b", where), where
    page.locator("form.inline-thread-form textarea").fill("This loop is the hot spot.")
    page.locator("form.inline-thread-form button[type=submit]").click()
    page.wait_for_load_state()
    thread = ReviewThread.objects.get()
    assert (thread.start_line, thread.end_line) == (FAST_LINE - 1, FAST_LINE + 1)
    assert _row(page, FAST_LINE).get_attribute("class").count("has-thread") == 1
