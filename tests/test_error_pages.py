"""Branded 403, 404, 405 and 500 pages, under our CSP, with DEBUG off and on."""

from __future__ import annotations

import re

import pytest

from console.middleware import CONTENT_SECURITY_POLICY

pytestmark = pytest.mark.django_db


def assert_branded(response, status: int) -> str:
    """Our page for `status`: the layout, the skip link, our CSP, no inline script or style."""
    assert response.status_code == status
    html = response.content.decode()
    assert f'data-error-page="{status}"' in html
    assert 'class="skip-link" href="#main"' in html
    assert "/static/wattson.css" in html
    assert response["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert not re.search(r"<script(?![^>]*\bsrc=)", html), "inline script"
    assert "<style" not in html and " style=" not in html, "inline style"
    return html


def test_unknown_url_is_our_404(client_for, reviewer):
    html = assert_branded(client_for(reviewer).get("/no/such/page/"), 404)
    assert "We couldn't find that page" in html
    assert "/no/such/page/" in html


def test_unknown_url_is_our_404_with_debug_on(client_for, reviewer, settings):
    settings.DEBUG = True
    html = assert_branded(client_for(reviewer).get("/no/such/page/"), 404)
    # Not Django's technical page, which lists the URL patterns.
    assert "URLconf" not in html
    assert "We couldn't find that page" in html


def test_unknown_url_is_our_404_when_logged_out(client, settings):
    settings.DEBUG = True
    html = assert_branded(client.get("/no/such/page/"), 404)
    assert 'href="/login/"' in html


def test_append_slash_still_redirects_with_debug_on(client_for, reviewer, settings):
    settings.DEBUG = True
    response = client_for(reviewer).get("/my-reviews")
    assert response.status_code == 301
    assert response["Location"] == "/my-reviews/"


def test_a_missing_finding_is_our_404(client_for, reviewer):
    assert_branded(client_for(reviewer).get("/findings/999999/"), 404)


def test_wrong_method_is_our_405_keeping_allow(client_for, reviewer):
    response = client_for(reviewer).get("/proposals/1/approve/")
    html = assert_branded(response, 405)
    assert response["Allow"] == "POST"
    assert "Nothing was changed" in html
    assert "not GET" in html


def test_api_errors_stay_json(client_for, reviewer):
    response = client_for(reviewer).delete("/api/v1/findings/")
    assert response.status_code == 405
    assert response["Content-Type"].startswith("application/json")


def test_no_role_is_our_403(client_for, outsider):
    html = assert_branded(client_for(outsider).get("/"), 403)
    assert "has no Wattson role yet" in html


def test_server_error_is_our_500(client_for, reviewer, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr("reviews.views.findings.findings_queue_page", broken)
    client = client_for(reviewer)
    client.raise_request_exception = False
    html = assert_branded(client.get("/"), 500)
    assert "Something went wrong on our side" in html
    assert "the database went away" not in html
