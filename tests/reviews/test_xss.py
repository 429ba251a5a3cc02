"""Everything on the proposal page comes from a machine or a repository: it must render as text."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from django.urls import reverse

from tests.reviews.test_proposal_page import make_change, make_proposal

CODE_PAYLOAD = "</span><script>alert(1)</script>"
ATTR_PAYLOAD = '"><img src=x onerror=alert(1)>'
ESCAPED_CODE = "&lt;/span&gt;&lt;script&gt;alert(1)&lt;/script&gt;"
# Text nodes need not escape the quote (nh3 and Pygments differ); the tag must be escaped.
ESCAPED_ATTR = "&gt;&lt;img src=x onerror=alert(1)&gt;"


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


def get(client, name: str, *args, **params) -> str:
    response = client.get(reverse(name, args=args), params)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def assert_inert(html: str, payload: str, escaped: str) -> None:
    assert payload not in html
    assert escaped in html
    assert "<img src=x" not in html
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)


def test_script_in_code_renders_as_text(client_for, reviewer, db, tmp_path):
    before = {"app.py": "x = 1\n\n\ndef f():\n    return 1\n"}
    after = {
        "app.py": f"x = 1\ny = '{CODE_PAYLOAD}'\n\n\ndef f():\n    return 1  # {CODE_PAYLOAD}\n"
    }
    repo, base, diff = make_change(tmp_path / "code", before, after)
    proposal = make_proposal(repo_path=repo, base=base, diff=diff)
    client = client_for(reviewer)
    html = get(client, "reviews:proposal", proposal.pk)
    assert_inert(html, CODE_PAYLOAD, ESCAPED_CODE)
    plain = get(client, "reviews:proposal", proposal.pk, highlight="0")
    assert_inert(plain, CODE_PAYLOAD, ESCAPED_CODE)


def test_script_in_code_without_the_repository_renders_as_text(client_for, reviewer, db):
    diff = (
        "diff --git a/app.js b/app.js\n--- a/app.js\n+++ b/app.js\n@@ -1,1 +1,2 @@\n"
        f" var a = 1;\n+{CODE_PAYLOAD}\n"
    )
    proposal = make_proposal(repo_path=None, base="", diff=diff)
    html = get(client_for(reviewer), "reviews:proposal", proposal.pk)
    assert CODE_PAYLOAD not in html and "<script>alert(1)" not in html
    assert "&lt;script&gt;" in html


def test_payload_in_a_file_name_renders_as_text(client_for, reviewer, db, tmp_path):
    name = f"pkg/{ATTR_PAYLOAD}.py"
    repo, base, diff = make_change(
        tmp_path / "names",
        {name: "a = 1\n", "ok.py": "b = 1\n"},
        {name: "a = 2\n", "ok.py": "b = 1\n"},
    )
    assert "onerror" in diff
    proposal = make_proposal(repo_path=repo, base=base, diff=diff)
    html = get(client_for(reviewer), "reviews:proposal", proposal.pk)
    assert_inert(html, ATTR_PAYLOAD, ESCAPED_ATTR)
    # The name was read correctly (git quoted it) and the file still highlights from the repo.
    assert f"pkg/&quot;{ESCAPED_ATTR}.py" in html


def test_payload_in_a_hand_written_file_header_renders_as_text(client_for, reviewer, db):
    diff = (
        f"--- a/{ATTR_PAYLOAD}.txt\n+++ b/{ATTR_PAYLOAD}.txt\n@@ -1,1 +1,1 @@ {ATTR_PAYLOAD}\n"
        "-old\n+new\n"
    )
    proposal = make_proposal(repo_path=None, base="", diff=diff)
    html = get(client_for(reviewer), "reviews:proposal", proposal.pk)
    assert_inert(html, ATTR_PAYLOAD, ESCAPED_ATTR)


def test_payload_in_the_rationale_and_risks_renders_as_text(client_for, reviewer, db):
    proposal = make_proposal(
        repo_path=None,
        base="",
        diff="",
        is_analysis=True,
        rationale=(
            f"Look: {ATTR_PAYLOAD}\n\n<script>alert(1)</script>\n\n[click](javascript:alert(1))"
        ),
        risks=f"<b onmouseover=alert(1)>{ATTR_PAYLOAD}</b>",
    )
    html = get(client_for(reviewer), "reviews:proposal", proposal.pk)
    assert_inert(html, ATTR_PAYLOAD, ESCAPED_ATTR)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'href="javascript:' not in html
    assert "<b onmouseover" not in html


def test_payload_in_the_trace_and_transcript_renders_as_text(client_for, reviewer, db):
    proposal = make_proposal(
        repo_path=None,
        base="",
        diff="",
        is_analysis=True,
        trace=[
            {
                "tool": ATTR_PAYLOAD,
                "arguments": {"path": ATTR_PAYLOAD, ATTR_PAYLOAD: 1},
                "summary": CODE_PAYLOAD,
                "duration_ms": 3,
                "error": ATTR_PAYLOAD,
            }
        ],
    )
    run = proposal.solve_run
    run.transcript = [
        {"role": ATTR_PAYLOAD, "content": CODE_PAYLOAD},
        {"role": "assistant", "content": [{"type": "text", "text": ATTR_PAYLOAD}]},
    ]
    run.refusals = [{"skill": ATTR_PAYLOAD, "reason": CODE_PAYLOAD}]
    run.save()
    html = get(client_for(reviewer), "reviews:proposal", proposal.pk)
    assert_inert(html, ATTR_PAYLOAD, ESCAPED_ATTR)
    assert CODE_PAYLOAD not in html and ESCAPED_CODE in html


def test_payload_in_expanded_context_renders_as_text(client_for, reviewer, db, tmp_path):
    lines = [f"v{i} = {i}\n" for i in range(30)]
    lines[2] = f"# {CODE_PAYLOAD} {ATTR_PAYLOAD}\n"
    before = "".join(lines)
    after = before.replace("v20 = 20\n", "v20 = 21\n")
    repo, base, diff = make_change(tmp_path / "ctx", {"c.py": before}, {"c.py": after})
    proposal = make_proposal(repo_path=repo, base=base, diff=diff)
    body = get(
        client_for(reviewer),
        "reviews:proposal_context",
        proposal.pk,
        file="0",
        **{"from": 1, "to": 5},
    )
    assert_inert(body, CODE_PAYLOAD, ESCAPED_CODE)
    assert ESCAPED_ATTR in body
