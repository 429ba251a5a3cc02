"""The one seam to the code hosts' REST APIs: PyGithub for GitHub, python-gitlab for GitLab.

Each client does four things — find the host user behind a commit or an email, open a pull /
merge request (or find the one already open for the branch), request review, read a request's
state — and turns every host error into a HostError that says whether to retry and when. Both
libraries would otherwise wait out a rate limit inside the call (up to an hour on GitHub); that
waiting is switched off here, so a worker is never parked: the delivery is rescheduled instead
(reviews.services.code_hosts.delivery). Tokens go to the libraries only; they never appear in an
error message, which carries the host's own message and status.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Protocol

import github
import gitlab
import requests
from github import Auth, GithubException
from gitlab.exceptions import GitlabError

from reviews.services.code_hosts.hosts import GITHUB, GITLAB, HostTarget

# Host answers worth trying again later: rate limits and the host's own trouble.
_RETRYABLE_STATUS = {403, 429, 500, 502, 503, 504}


class HostError(Exception):
    """A host refused or failed; `retry_after` seconds until a retry may work, None: never."""

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.retry_after = retry_after


@dataclass(frozen=True)
class OpenedRequest:
    number: int
    url: str
    existed: bool  # the host already had one open for the branch (a 422 / 409 on create)
    # Why review could not be requested ("" when it was, or nobody was asked): the request
    # stays open either way.
    review_note: str = ""


@dataclass(frozen=True)
class RequestState:
    status: str  # "open", "merged" or "closed"


class HostClient(Protocol):
    def find_user(self, *, email: str, commit_sha: str) -> str: ...

    def open_request(
        self, *, branch: str, base: str, title: str, body: str, reviewer: str
    ) -> OpenedRequest: ...

    def request_review(self, *, number: int, reviewer: str) -> None: ...

    def request_state(self, *, number: int) -> RequestState: ...


def retry_after_seconds(
    headers: dict[str, str] | None, *, now: float | None = None
) -> float | None:
    """What a host's headers say about waiting: Retry-After (seconds or a date), else the
    rate-limit reset time (GitHub's X-RateLimit-Reset, GitLab's RateLimit-Reset) when the
    remaining quota is 0; None when they say nothing."""
    if not headers:
        return None
    lowered = {key.lower(): value for key, value in headers.items()}
    now = time.time() if now is None else now
    value = lowered.get("retry-after")
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            try:
                return max(0.0, parsedate_to_datetime(value).timestamp() - now)
            except (TypeError, ValueError):
                return None
    remaining = lowered.get("x-ratelimit-remaining", lowered.get("ratelimit-remaining"))
    reset = lowered.get("x-ratelimit-reset", lowered.get("ratelimit-reset"))
    if remaining == "0" and reset:
        try:
            return max(0.0, float(reset) - now)
        except ValueError:
            return None
    return None


def _message(data: object, fallback: str) -> str:
    if isinstance(data, dict):
        text = str(data.get("message") or data.get("error") or fallback)
        details = [
            str(error.get("message", "")) if isinstance(error, dict) else str(error)
            for error in data.get("errors", []) or []
        ]
        details = [d for d in details if d]
        return f"{text}: {'; '.join(details)}" if details else text
    return str(data or fallback)


# --- GitHub ---------------------------------------------------------------------------------------


class GitHubClient:
    def __init__(self, target: HostTarget, *, token: str, timeout: int) -> None:
        self.target = target
        # retry=None: PyGithub's default retry sleeps until a rate limit resets.
        self._github = github.Github(
            auth=Auth.Token(token),
            base_url=target.api_url,
            timeout=timeout,
            retry=None,
            lazy=True,
            per_page=100,
        )
        self._repo = self._github.get_repo(target.project)

    def _error(self, exc: GithubException, doing: str) -> HostError:
        status = exc.status
        wait = retry_after_seconds(exc.headers)
        message = f"GitHub answered {status} while {doing}: {_message(exc.data, 'no message')}"
        if wait is None and status in _RETRYABLE_STATUS and status != 403:
            wait = 0.0  # no hint: the caller's backoff decides
        if status == 403 and wait is None:
            # A 403 without rate-limit headers is a permission problem: retrying will not help.
            message += " (the token lacks permission on this repository)"
        return HostError(message, status=status, retry_after=wait)

    def find_user(self, *, email: str, commit_sha: str) -> str:
        """The GitHub login behind the commit (GitHub links commit emails to accounts), else
        the user whose public email matches; "" when none does."""
        try:
            if commit_sha:
                author = self._repo.get_commit(commit_sha).author
                if author is not None and author.login:
                    return author.login
            if email:
                for user in self._github.search_users(f"{email} in:email"):
                    return user.login
        except GithubException as exc:
            if exc.status in (404, 422):
                return ""  # the commit is not on the host (yet), or the query was refused
            raise self._error(exc, "looking up the root-cause author") from None
        return ""

    def _existing(self, branch: str, base: str) -> OpenedRequest | None:
        owner = self.target.project.split("/", 1)[0]
        for pull in self._repo.get_pulls(state="open", head=f"{owner}:{branch}", base=base):
            return OpenedRequest(pull.number, pull.html_url, existed=True)
        return None

    def open_request(
        self, *, branch: str, base: str, title: str, body: str, reviewer: str
    ) -> OpenedRequest:
        try:
            try:
                pull = self._repo.create_pull(base=base, head=branch, title=title, body=body)
                opened = OpenedRequest(pull.number, pull.html_url, existed=False)
            except GithubException as exc:
                # 422 "A pull request already exists for owner:branch": a retry after a lost
                # answer, or someone opened it by hand. Link that one.
                existing = self._existing(branch, base) if exc.status == 422 else None
                if existing is None:
                    raise
                opened = existing
        except GithubException as exc:
            raise self._error(exc, "opening the pull request") from None
        if reviewer:
            try:
                self.request_review(number=opened.number, reviewer=reviewer)
            except HostError as exc:
                return OpenedRequest(opened.number, opened.url, opened.existed, exc.message)
        return opened

    def request_review(self, *, number: int, reviewer: str) -> None:
        try:
            self._repo.get_pull(number).create_review_request(reviewers=[reviewer])
        except GithubException as exc:
            raise self._error(exc, f"requesting review from {reviewer}") from None

    def request_state(self, *, number: int) -> RequestState:
        try:
            pull = self._repo.get_pull(number)
            merged, state = pull.merged, pull.state
        except GithubException as exc:
            raise self._error(exc, f"reading pull request #{number}") from None
        return RequestState("merged" if merged else ("open" if state == "open" else "closed"))


# --- GitLab ---------------------------------------------------------------------------------------


class GitLabClient:
    def __init__(self, target: HostTarget, *, token: str, timeout: int) -> None:
        self.target = target
        # python-gitlab's exceptions carry no headers: keep the last response's, for
        # Retry-After.
        self._last_headers: dict[str, str] = {}
        session = requests.Session()
        session.hooks["response"].append(self._remember_headers)
        self._gitlab = gitlab.Gitlab(
            target.api_url,
            private_token=token,
            timeout=timeout,
            session=session,
            retry_transient_errors=False,
        )
        # It would sleep through a 429 (Retry-After) inside the call, and takes the switch only
        # per request: make "never wait here" the default of every request this client makes.
        self._gitlab.http_request = functools.partial(  # type: ignore[method-assign]
            self._gitlab.http_request, obey_rate_limit=False
        )
        self._project = self._gitlab.projects.get(target.project, lazy=True)

    def _remember_headers(self, response: requests.Response, *args, **kwargs) -> None:
        self._last_headers = dict(response.headers)

    def _error(self, exc: GitlabError, doing: str) -> HostError:
        status = exc.response_code
        wait = retry_after_seconds(self._last_headers) if status in _RETRYABLE_STATUS else None
        if wait is None and status in _RETRYABLE_STATUS and status != 403:
            wait = 0.0
        message = f"GitLab answered {status} while {doing}: {exc.error_message}"
        return HostError(message, status=status, retry_after=wait)

    def _user_id(self, username: str) -> int | None:
        users = self._gitlab.users.list(username=username, get_all=False)
        return users[0].id if users else None

    def find_user(self, *, email: str, commit_sha: str) -> str:
        """The GitLab username whose email matches the commit's author; "" when none does."""
        if not email:
            return ""
        try:
            for user in self._gitlab.users.list(search=email, iterator=True):
                return user.username
        except GitlabError as exc:
            raise self._error(exc, "looking up the root-cause author") from None
        return ""

    def _existing(self, branch: str, base: str) -> OpenedRequest | None:
        for mr in self._project.mergerequests.list(
            source_branch=branch, target_branch=base, state="opened", iterator=True
        ):
            return OpenedRequest(mr.iid, mr.web_url, existed=True)
        return None

    def open_request(
        self, *, branch: str, base: str, title: str, body: str, reviewer: str
    ) -> OpenedRequest:
        try:
            data: dict[str, object] = {
                "source_branch": branch,
                "target_branch": base,
                "title": title,
                "description": body,
            }
            reviewer_id = self._user_id(reviewer) if reviewer else None
            if reviewer_id is not None:
                data["reviewer_ids"] = [reviewer_id]
            try:
                mr = self._project.mergerequests.create(data)
                return OpenedRequest(mr.iid, mr.web_url, existed=False)
            except GitlabError as exc:
                # 409 "Another open merge request already exists for this source branch".
                existing = self._existing(branch, base) if exc.response_code == 409 else None
                if existing is None:
                    raise
                if reviewer:
                    try:
                        self.request_review(number=existing.number, reviewer=reviewer)
                    except HostError as review_exc:
                        return OpenedRequest(
                            existing.number, existing.url, True, review_exc.message
                        )
                return existing
        except GitlabError as exc:
            raise self._error(exc, "opening the merge request") from None

    def request_review(self, *, number: int, reviewer: str) -> None:
        try:
            reviewer_id = self._user_id(reviewer)
            if reviewer_id is not None:
                mr = self._project.mergerequests.get(number, lazy=True)
                mr.reviewer_ids = [reviewer_id]
                mr.save()
        except GitlabError as exc:
            raise self._error(exc, f"requesting review from {reviewer}") from None

    def request_state(self, *, number: int) -> RequestState:
        try:
            mr = self._project.mergerequests.get(number)
        except GitlabError as exc:
            raise self._error(exc, f"reading merge request !{number}") from None
        return RequestState({"merged": "merged", "opened": "open"}.get(mr.state, "closed"))


def client_for(target: HostTarget, *, token: str, timeout: int) -> HostClient:
    if target.host == GITHUB:
        return GitHubClient(target, token=token, timeout=timeout)
    if target.host == GITLAB:
        return GitLabClient(target, token=token, timeout=timeout)
    raise ValueError(f"unknown code host {target.host!r}")
