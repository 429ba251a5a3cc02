"""The approve form says what approval will do for this repository (issue #13).

A local work tree gets a local branch and nothing is pushed; a URL repository gets its branch
pushed, and on GitHub or GitLab a pull (merge) request too. "Nothing is pushed" was shown for
all of them.
"""

from __future__ import annotations

import html

import pytest
from django.urls import reverse
from django.utils.html import strip_tags

from reviews.models import Repository
from tests.reviews.gate_helpers import make_proposal, make_repo


@pytest.fixture(autouse=True)
def _settings(settings, tmp_path):
    settings.WATTSON_WORK_DIR = tmp_path / "work"
    settings.WATTSON_GITLAB_HOSTS = ["gitlab.example.com"]


def _delivery_text(client, proposal) -> str:
    page = client.get(reverse("reviews:proposal", args=[proposal.pk]))
    assert page.status_code == 200
    text = html.unescape(page.content.decode())
    start = text.index('id="approval-delivery"')
    return " ".join(strip_tags(text[start : text.index("</p>", start)]).split())


def _proposal_at(url: str, tmp_path):
    proposal = make_proposal(repo=make_repo(tmp_path / "repo"))
    Repository.objects.filter(pk=proposal.finding.repository_id).update(url=url, path="")
    return proposal


@pytest.mark.django_db
def test_a_local_repository_gets_a_local_branch_and_nothing_is_pushed(
    tmp_path, reviewer2, client_for
):
    proposal = make_proposal(repo=make_repo(tmp_path / "repo"))
    text = _delivery_text(client_for(reviewer2), proposal)
    assert f"wattson/{proposal.finding_id}-r1" in text
    assert "on this server only: nothing is pushed" in text
    assert "pull request" not in text


@pytest.mark.parametrize(
    ("url", "says"),
    [
        (
            "https://github.com/acme/invoice.git",
            "pushes it to https://github.com/acme/invoice.git and opens a pull request on "
            "GitHub (acme/invoice)",
        ),
        (
            "git@gitlab.example.com:billing/tools/invoice.git",
            "opens a merge request on GitLab (billing/tools/invoice)",
        ),
        (
            "https://git.example.org/invoice.git",
            "pushes it to https://git.example.org/invoice.git; no pull request is opened",
        ),
    ],
)
@pytest.mark.django_db
def test_a_url_repository_says_where_the_branch_is_pushed(
    url, says, tmp_path, reviewer2, client_for
):
    text = _delivery_text(client_for(reviewer2), _proposal_at(url, tmp_path))
    assert says in text
    assert "nothing is pushed" not in text.lower()
    assert "The default branch is never touched" in text
