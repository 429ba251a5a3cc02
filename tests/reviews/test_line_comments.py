"""Line comments: threads on diff lines, replies, resolve / re-open, roles, carry-over to the next
revision (re-anchored or outdated), the text "Request changes" sends the solver, the API."""

from __future__ import annotations

import pytest
from django.urls import reverse

from reviews.models import AuditEvent, Finding, Proposal, ReviewThread, Service, SolveRun
from reviews.selectors.comments import proposal_threads
from reviews.services.comments import (
    CommentConflict,
    CommentForbidden,
    CommentInvalid,
    comments_for_solver,
    request_changes_comment,
    thread_create,
    thread_reopen,
    thread_reply,
    thread_resolve,
)
from reviews.services.proposals import proposal_store_revision
from skills.solver.types import Candidate, Validation

HEADER = [
    "diff --git a/app/render.py b/app/render.py",
    "--- a/app/render.py",
    "+++ b/app/render.py",
]
DIFF_R1 = "\n".join(
    [
        *HEADER,
        "@@ -1,6 +1,8 @@",
        " import re",
        "+",
        '+_SPACES = re.compile(r"\\s+")',
        " ",
        " ",
        " def clean(text):",
        '-    return re.sub(r"\\s+", " ", text)',
        '+    return _SPACES.sub(" ", text)',
        " ",
        "",
    ]
)
# Revision 2 adds three lines above: "return _SPACES.sub" moves from new line 7 to 10, and the
# old side is unchanged; the compiled-pattern line is rewritten, so a thread on it is outdated.
DIFF_R2 = "\n".join(
    [
        *HEADER,
        "@@ -1,6 +1,11 @@",
        " import re",
        "+",
        "+# Compiled once: clean() runs per invoice line.",
        '+_SPACES = re.compile(r"[ \\t\\n]+")',
        "+",
        "+",
        " ",
        " ",
        " def clean(text):",
        '-    return re.sub(r"\\s+", " ", text)',
        '+    return _SPACES.sub(" ", text)',
        " ",
        "",
    ]
)


@pytest.fixture
def finding(db):
    service = Service.objects.create(name="billing-invoices")
    return Finding.objects.create(
        service=service,
        kind=Finding.Kind.REGRESSION,
        source="test",
        external_id="comments-1",
        payload_sha256="0" * 64,
        title="clean() got slower",
        metric="cpu",
        magnitude_pct=2.0,
        status=Finding.Status.IN_REVIEW,
    )


@pytest.fixture
def proposal(finding):
    return Proposal.objects.create(
        finding=finding, revision=1, diff=DIFF_R1, applies=True, tests_passed=True
    )


def _second_revision(finding: Finding, diff: str = DIFF_R2) -> Proposal:
    run = SolveRun.objects.create(finding=finding, revision=2, status=SolveRun.Status.RUNNING)
    candidate = Candidate(
        outcome="proposal",
        skill_slug="precompile-regex",
        diff=diff,
        validation=Validation(applies=True, tests_passed=True, base_commit="a" * 40),
    )
    return proposal_store_revision(run=run, candidate=candidate)


def _thread(proposal, actor, line=7, side="new", end=None, text="Name this SPACE_RUNS?"):
    return thread_create(
        proposal=proposal,
        actor=actor,
        path="app/render.py",
        side=side,
        start_line=line,
        end_line=end,
        text=text,
    )


# --- writes and roles ---------------------------------------------------------------------------


def test_reviewer_comments_on_a_line_and_the_anchor_keeps_its_text(proposal, reviewer):
    thread = _thread(proposal, reviewer)
    thread.refresh_from_db()
    assert thread.location == "app/render.py:7"
    assert thread.line_text == '    return _SPACES.sub(" ", text)'
    assert [c.text for c in thread.comments.all()] == ["Name this SPACE_RUNS?"]
    assert AuditEvent.objects.filter(verb="thread.create", target_id=str(thread.pk)).exists()


def test_a_range_on_the_old_side_is_anchored_to_the_base_lines(proposal, reviewer):
    thread = _thread(proposal, reviewer, line=3, end=4, side="old")
    assert thread.location == "app/render.py:3-4"
    assert thread.line_text.split("\n") == ["", "def clean(text):"]


def test_a_line_the_diff_does_not_show_is_refused(proposal, reviewer):
    with pytest.raises(CommentInvalid, match="not shown in this diff"):
        _thread(proposal, reviewer, line=40)
    with pytest.raises(CommentInvalid, match="not shown"):
        thread_create(
            proposal=proposal,
            actor=reviewer,
            path="other.py",
            side="new",
            start_line=1,
            text="x",
        )
    assert not ReviewThread.objects.exists()


@pytest.mark.parametrize("text", ["", "   ", "a\x00b", "x" * 10_001, "\ud800"])
def test_empty_or_unstorable_text_is_refused(proposal, reviewer, text):
    with pytest.raises(CommentInvalid):
        _thread(proposal, reviewer, text=text)


def test_managers_and_outsiders_cannot_comment_reply_or_resolve(
    proposal, reviewer, manager, outsider
):
    thread = _thread(proposal, reviewer)
    for persona in (manager, outsider):
        with pytest.raises(CommentForbidden):
            _thread(proposal, persona)
        with pytest.raises(CommentForbidden):
            thread_reply(thread=thread, actor=persona, text="me too")
        with pytest.raises(CommentForbidden):
            thread_resolve(thread=thread, actor=persona)
    assert thread.comments.count() == 1
    thread.refresh_from_db()
    assert thread.status == ReviewThread.Status.OPEN


def test_skill_admin_comments_like_a_reviewer(proposal, skill_admin):
    assert _thread(proposal, skill_admin).author == skill_admin


def test_an_older_revision_takes_no_new_threads(finding, proposal, reviewer):
    _second_revision(finding)
    with pytest.raises(CommentConflict, match="no longer current"):
        _thread(proposal, reviewer)


def test_reply_resolve_and_reopen(proposal, reviewer, reviewer2):
    thread = _thread(proposal, reviewer)
    thread_reply(thread=thread, actor=reviewer2, text="Agreed, and hoist it.")
    thread_resolve(thread=thread, actor=reviewer2)
    thread.refresh_from_db()
    assert thread.status == ReviewThread.Status.RESOLVED
    assert thread.resolved_by == reviewer2 and thread.resolved_at is not None
    with pytest.raises(CommentConflict, match="already resolved"):
        thread_resolve(thread=thread, actor=reviewer)

    thread_reopen(thread=thread, actor=reviewer)
    thread.refresh_from_db()
    assert thread.status == ReviewThread.Status.OPEN and thread.resolved_by is None
    assert [c.author for c in thread.comments.all()] == [reviewer, reviewer2]
    moves = AuditEvent.objects.filter(verb="reviewthread.status", target_id=str(thread.pk))
    assert sorted((e.old_state, e.new_state) for e in moves) == [
        ("open", "resolved"),
        ("resolved", "open"),
    ]
    assert AuditEvent.objects.filter(verb="thread.reply", target_id=str(thread.pk)).exists()


# --- the selector -------------------------------------------------------------------------------


def test_threads_listing_counts_and_role_aware_forms(proposal, reviewer, manager, outsider):
    first = _thread(proposal, reviewer)
    _thread(proposal, reviewer, line=3, text="Why compile at import?")
    thread_resolve(thread=first, actor=reviewer)

    mine = proposal_threads(user=reviewer, proposal=proposal)
    assert (mine.open_count, mine.resolved_count) == (1, 1)
    assert mine.threads[0].is_open  # open first
    assert mine.can_comment and mine.can_write and mine.files == ["app/render.py"]

    theirs = proposal_threads(user=manager, proposal=proposal)
    assert len(theirs.threads) == 2 and not theirs.can_comment and not theirs.can_write
    with pytest.raises(Exception, match="no Wattson role"):
        proposal_threads(user=outsider, proposal=proposal)


# --- carry-over ---------------------------------------------------------------------------------


def test_open_threads_move_to_the_next_revision_reanchored_or_outdated(finding, proposal, reviewer):
    moved = _thread(proposal, reviewer, line=7, text="Rename?")
    old_side = _thread(proposal, reviewer, line=5, side="old", text="Keep the signature.")
    gone = _thread(proposal, reviewer, line=3, text="Is \\s right here?")
    resolved = _thread(proposal, reviewer, line=1, text="fine")
    thread_resolve(thread=resolved, actor=reviewer)

    second = _second_revision(finding)

    for thread in (moved, old_side, gone, resolved):
        thread.refresh_from_db()
    assert moved.proposal == second and not moved.is_outdated
    assert moved.location == "app/render.py:10"  # the same code, three lines lower
    assert old_side.proposal == second and old_side.location == "app/render.py:5"
    assert gone.proposal == second and gone.is_outdated
    assert "_SPACES = re.compile" in gone.context  # shown with what it was written on
    assert resolved.proposal == proposal  # resolved threads stay where they were resolved
    assert moved.origin_proposal == proposal
    listing = proposal_threads(user=reviewer, proposal=proposal)
    assert {t.pk for t in listing.carried} == {moved.pk, old_side.pk, gone.pk}
    assert AuditEvent.objects.filter(verb="thread.carry_over").count() == 3


def test_a_thread_carries_to_the_nearest_repeat_of_its_line(finding, reviewer):
    diff = (
        "diff --git a/a.py b/a.py\n--- a/a.py\n+++ b/a.py\n@@ -1,3 +1,3 @@\n"
        " x = 1\n-y = 2\n+y = 3\n x = 1\n"
    )
    first = Proposal.objects.create(finding=finding, revision=1, diff=diff)
    thread = thread_create(
        proposal=first, actor=reviewer, path="a.py", side="new", start_line=3, text="dup"
    )
    second = _second_revision(finding, diff=diff.replace("y = 3", "y = 4"))
    thread.refresh_from_db()
    assert thread.proposal == second and thread.start_line == 3  # not line 1


# --- request changes ----------------------------------------------------------------------------


def test_request_changes_sends_the_open_threads_to_the_solver(proposal, reviewer, reviewer2):
    _thread(proposal, reviewer, line=7, text="Name it SPACE_RUNS.")
    reply_on = _thread(proposal, reviewer, line=4, end=5, side="old", text="Keep the name.")
    thread_reply(thread=reply_on, actor=reviewer2, text="Yes, callers import it.")
    done = _thread(proposal, reviewer, line=3, text="Already fine.")
    thread_resolve(thread=done, actor=reviewer)

    gathered = comments_for_solver(proposal=proposal)
    assert gathered.startswith("Open line comments (2):")
    assert "- app/render.py:4-5 (old side):" in gathered
    assert "ravi: Yes, callers import it." in gathered
    assert "- app/render.py:7:\n    |     return _SPACES.sub" in gathered
    assert "rita: Name it SPACE_RUNS." in gathered
    assert "Already fine." not in gathered
    text = request_changes_comment(proposal=proposal, comment="Please tidy up.")
    assert text.startswith("Please tidy up.\n\nOpen line comments (2):")


def test_request_changes_decision_puts_the_threads_in_the_solve_run(
    proposal, reviewer, monkeypatch
):
    from reviews.services import decisions

    _thread(proposal, reviewer, line=7, text="Name it SPACE_RUNS.")
    asked = {}

    def fake_solve_request(*, finding, actor, comment, **kwargs):
        asked["comment"] = comment
        Finding.objects.filter(pk=finding.pk).update(status=Finding.Status.SOLVING)

    monkeypatch.setattr(decisions, "solve_request", fake_solve_request)
    decisions.proposal_decide(
        proposal=proposal,
        actor=reviewer,
        verdict="request_changes",
        comment="Tidy up.",
        expected_revision=1,
        expected_diff_sha256=decisions.proposal_diff_sha256(proposal),
    )
    assert asked["comment"].startswith("Tidy up.\n\nOpen line comments (1):")
    assert "app/render.py:7" in asked["comment"]


# --- pages and API ------------------------------------------------------------------------------


def test_page_forms_comment_reply_and_resolve(client_for, proposal, reviewer):
    client = client_for(reviewer)
    response = client.post(
        reverse("reviews:thread_new", args=[proposal.pk]),
        {"path": "app/render.py", "side": "new", "start_line": "7", "text": "<b>bold</b>?"},
    )
    thread = ReviewThread.objects.get()
    assert response.status_code == 302
    assert response["Location"].endswith(f"/proposals/{proposal.pk}/#thread-{thread.pk}")
    client.post(reverse("reviews:thread_reply", args=[thread.pk]), {"text": "reply"})
    client.post(reverse("reviews:thread_resolve", args=[thread.pk]))
    page = client.get(reverse("reviews:proposal", args=[proposal.pk])).content.decode()
    assert "&lt;b&gt;bold&lt;/b&gt;?" in page and "<b>bold</b>" not in page
    assert "0 open · 1 resolved" in page
    assert 'data-thread-move="reopen"' in page


def test_page_form_with_a_bad_line_says_why(client_for, proposal, reviewer):
    client = client_for(reviewer)
    response = client.post(
        reverse("reviews:thread_new", args=[proposal.pk]),
        {"path": "app/render.py", "side": "new", "start_line": "x", "text": "hm"},
        follow=True,
    )
    assert "The start line must be a line number." in response.content.decode()
    assert not ReviewThread.objects.exists()


def test_manager_sees_threads_without_forms(client_for, proposal, reviewer, manager):
    _thread(proposal, reviewer)
    page = client_for(manager).get(reverse("reviews:proposal", args=[proposal.pk])).content
    page = page.decode()
    assert "Name this SPACE_RUNS?" in page
    assert "thread-reply" not in page and "new-thread-form" not in page
    response = client_for(manager).post(
        reverse("reviews:thread_new", args=[proposal.pk]),
        {"path": "app/render.py", "side": "new", "start_line": "7", "text": "hm"},
    )
    assert response.status_code == 403


def test_api_thread_lifecycle(client_for, proposal, reviewer, reviewer2, manager):
    client = client_for(reviewer)
    url = f"/api/v1/proposals/{proposal.pk}/threads/"
    created = client.post(
        url,
        {"path": "app/render.py", "side": "new", "start_line": 2, "end_line": 3, "text": "Why?"},
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["status"] == "open" and body["comments"][0]["author"] == "rita"
    assert body["line_text"] == '\n_SPACES = re.compile(r"\\s+")'
    thread_id = body["id"]

    client = client_for(reviewer2)
    reply = client.post(
        f"/api/v1/threads/{thread_id}/replies/", {"text": "Fine"}, content_type="application/json"
    )
    assert reply.status_code == 201 and reply.json()["author"] == "ravi"
    resolved = client.post(f"/api/v1/threads/{thread_id}/resolve/")
    assert resolved.status_code == 200 and resolved.json()["resolved_by"] == "ravi"
    again = client.post(f"/api/v1/threads/{thread_id}/resolve/")
    assert again.status_code == 409 and again.json()["code"] == "conflict"
    assert client.post(f"/api/v1/threads/{thread_id}/reopen/").json()["status"] == "open"

    bad = client.post(
        url,
        {"path": "app/render.py", "start_line": 99, "text": "x"},
        content_type="application/json",
    )
    assert bad.status_code == 400 and "not shown" in bad.json()["detail"]

    listing = client_for(manager).get(url)
    assert listing.status_code == 200 and len(listing.json()[0]["comments"]) == 2
    refused = client_for(manager).post(f"/api/v1/threads/{thread_id}/resolve/")
    assert refused.status_code == 403
    assert client_for(manager).post(f"/api/v1/threads/{thread_id + 99}/resolve/").status_code == 403


def test_next_revision_page_shows_an_outdated_thread_with_its_context(
    client_for, finding, proposal, reviewer
):
    _thread(proposal, reviewer, line=3, text="Is this pattern right?")
    second = _second_revision(finding)
    page = client_for(reviewer).get(reverse("reviews:proposal", args=[second.pk])).content
    page = page.decode()
    assert "1 open · 0 resolved · 1 outdated" in page
    assert "first written on r1" in page
    assert "_SPACES = re.compile(r&quot;\\s+&quot;)" in page  # the lines it was written on
    assert "data-placeable" not in page  # shown in the list, not hung on a line
    older = client_for(reviewer).get(reverse("reviews:proposal", args=[proposal.pk])).content
    assert "moved on with the code" in older.decode()
