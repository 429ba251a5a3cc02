"""Error pages and the API docs in headless Chromium: styled, under our CSP, offline.

Screenshots: artifacts/screenshots/error_404_<width>.png, error_405.png, api_docs.png.
"""

from __future__ import annotations

import pytest

from tests.e2e.conftest import login, screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def csp_errors(page) -> list[str]:
    return [e for e in page.console_errors if "Content Security Policy" in e]


@pytest.mark.parametrize("width", (800, 1366))
def test_unknown_url_shows_our_404_with_debug_on(page, reviewer, settings, width):
    settings.DEBUG = True  # development: Django would show its technical 404 page
    page.set_viewport_size({"width": width, "height": 900})
    login(page, reviewer)
    response = page.goto("/no/such/page/")
    assert response.status == 404
    assert page.title() == "Page not found · Wattson"
    assert page.locator("h1").inner_text() == "We couldn't find that page"
    # Our stylesheet applied (the card is white on the grey page), nothing blocked by the CSP.
    card = page.locator("section.card")
    assert card.evaluate("el => getComputedStyle(el).backgroundColor") == "rgb(255, 255, 255)"
    assert not csp_errors(page), page.console_errors
    page.get_by_role("link", name="Go to the review queue").click()
    assert page.locator("h1").inner_text() == "Review queue"
    page.go_back()
    screenshot(page, f"error_404_{width}")


def test_wrong_method_shows_our_405(page, reviewer):
    login(page, reviewer)
    response = page.goto("/proposals/1/approve/")
    assert response.status == 405
    assert response.headers["allow"] == "POST"
    assert page.locator("h1").inner_text() == "This page can't be used that way"
    assert "Nothing was changed" in page.locator("main").inner_text()
    assert not csp_errors(page), page.console_errors
    screenshot(page, "error_405")


def test_api_docs_work_offline_under_our_csp(page, reviewer, live_server):
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    login(page, reviewer)
    response = page.goto("/api/docs/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.locator(".swagger-ui .info .title").wait_for()
    assert "Wattson API" in page.locator(".swagger-ui .info .title").inner_text()
    # The operations were read from our schema and drawn.
    assert page.locator(".opblock").count() >= 3
    assert not csp_errors(page), page.console_errors
    outside = [url for url in requests if not url.startswith((live_server.url, "data:"))]
    assert outside == [], f"the docs page reached outside: {outside}"
    screenshot(page, "api_docs")


def test_approving_after_the_session_expired_returns_to_the_proposal(page, reviewer, tmp_path):
    from reviews.models import Decision
    from tests.reviews.gate_helpers import make_proposal, make_repo, make_skill

    make_skill("memoize")
    proposal = make_proposal(repo=make_repo(tmp_path / "repo"), estimated_watts=120.0)
    login(page, reviewer)
    page.goto(f"/proposals/{proposal.pk}/")
    # The session ends while the tab is open (timeout, logout elsewhere); the CSRF cookie stays.
    context = page.context
    kept = [cookie for cookie in context.cookies() if cookie["name"] != "sessionid"]
    context.clear_cookies()
    context.add_cookies(kept)
    page.click("#approve-button")
    page.wait_for_load_state()
    assert "/login/" in page.url
    assert "Your session expired; nothing was decided." in page.locator("main").inner_text()
    page.fill("input[name=username]", reviewer.get_username())
    page.fill("input[name=password]", "correct-horse-battery-staple")
    page.click("button[type=submit]")
    page.wait_for_load_state()
    # Back on the proposal, never a 405 page, with the note; nothing was decided.
    assert page.url.endswith(f"/proposals/{proposal.pk}/?expired=1")
    assert "Log in and decide again" in page.locator(".messages").inner_text()
    assert page.locator("#approve-button").is_visible()
    assert not Decision.objects.exists()
    assert not csp_errors(page), page.console_errors
    screenshot(page, "session_expired_back_on_proposal")
