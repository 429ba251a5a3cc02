"""A stand-in for GitHub's REST API (v3, as GitHub Enterprise serves it under /api/v3), on
127.0.0.1, for PyGithub to talk to.

It speaks the shapes the real API documents: `Authorization: token|Bearer` checked (401 "Bad
credentials"), rate-limit headers on every answer, 201 on create, 422 "Validation Failed" with
"A pull request already exists for owner:branch." for a duplicate, 422 for a head branch the
repository does not have or a reviewer who is not a collaborator, pagination by `per_page` /
`page` with Link headers, commits whose `author` is the linked account (or null), user search
by `<email> in:email`. `merge()`, `close()` and `reopen()` change a pull request as a person on
GitHub would, and `event()` builds the `pull_request` webhook delivery that follows.

    with FakeGitHub(users={"alice": "alice@example.com"}, repositories={"acme/shop"}) as gh:
        Github(auth=Auth.Token(gh.token), base_url=gh.base_url)
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import unquote

from tests.fakes.rest_server import Answer, FakeRestServer, Request, Route

DEFAULT_TOKEN = "ghp_fakeGitHubToken0000000000000000000"
_REPO = r"/repos/(?P<owner>[^/]+)/(?P<name>[^/]+)"


@dataclass
class FakePull:
    number: int
    repository: str
    head: str
    base: str
    title: str
    body: str
    author: str
    state: str = "open"
    merged: bool = False
    requested_reviewers: list[str] = field(default_factory=list)


class FakeGitHub(FakeRestServer):
    prefix = "/api/v3"

    def __init__(
        self,
        *,
        users: dict[str, str] | None = None,
        repositories: set[str] | None = None,
        commits: dict[str, str | None] | None = None,
        collaborators: set[str] | None = None,
        branch_exists: Callable[[str, str], bool] | None = None,
        token: str = DEFAULT_TOKEN,
        bot_login: str = "wattson-bot",
    ) -> None:
        self.token = token
        self.bot_login = bot_login
        self.users = dict(users or {})  # login -> public email
        self.repositories = set(repositories or set())
        # sha -> login of the account GitHub linked the commit's email to (None: unlinked)
        self.commits = dict(commits or {})
        self.collaborators = set(collaborators if collaborators is not None else self.users)
        self.branch_exists = branch_exists or (lambda repository, branch: True)
        self.pulls: dict[tuple[str, int], FakePull] = {}
        self._numbers = itertools.count(1)
        self.rate_remaining = 5000
        super().__init__()

    def routes(self) -> list[Route]:
        return [
            ("GET", f"{_REPO}/commits/(?P<sha>[^/]+)", self._commit),
            ("GET", "/search/users", self._search_users),
            ("POST", f"{_REPO}/pulls", self._create_pull),
            ("GET", f"{_REPO}/pulls", self._list_pulls),
            ("GET", f"{_REPO}/pulls/(?P<number>[0-9]+)", self._get_pull),
            (
                "POST",
                f"{_REPO}/pulls/(?P<number>[0-9]+)/requested_reviewers",
                self._request_reviewers,
            ),
        ]

    def authorised(self, request: Request) -> Answer | None:
        given = request.headers.get("Authorization", "")
        if given not in (f"token {self.token}", f"Bearer {self.token}"):
            return Answer(
                401,
                {
                    "message": "Bad credentials",
                    "documentation_url": "https://docs.github.com/rest",
                    "status": "401",
                },
            )
        return None

    def common_headers(self) -> dict[str, str]:
        self.rate_remaining = max(0, self.rate_remaining - 1)
        return {
            "X-RateLimit-Limit": "5000",
            "X-RateLimit-Remaining": str(self.rate_remaining),
            "X-RateLimit-Reset": str(int(time.time()) + 3600),
            "X-RateLimit-Resource": "core",
            "X-GitHub-Media-Type": "github.v3; format=json",
        }

    # --- helpers a test uses -----------------------------------------------------------------

    def rate_limited(self, method: str, path_regex: str, *, reset_in: int = 30) -> None:
        """The next matching request hits the primary rate limit, as GitHub answers it."""
        self.fail_next(
            method,
            path_regex,
            403,
            {
                "message": "API rate limit exceeded for user ID 1.",
                "documentation_url": "https://docs.github.com/rest/rate-limit",
            },
            {
                "X-RateLimit-Limit": "5000",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": str(int(time.time()) + reset_in),
            },
        )

    def merge(self, repository: str, number: int) -> None:
        pull = self.pulls[(repository, number)]
        pull.state, pull.merged = "closed", True

    def close(self, repository: str, number: int) -> None:
        self.pulls[(repository, number)].state = "closed"

    def reopen(self, repository: str, number: int) -> None:
        self.pulls[(repository, number)].state = "open"

    def event(self, repository: str, number: int, action: str) -> dict:
        """The `pull_request` webhook payload GitHub sends after `action`."""
        return {
            "action": action,
            "number": number,
            "pull_request": self._pull_json(self.pulls[(repository, number)]),
            "repository": self._repo_json(repository),
            "sender": {"login": "maintainer", "type": "User"},
        }

    @staticmethod
    def signed(payload: dict, secret: str) -> tuple[bytes, str]:
        """The raw body and its X-Hub-Signature-256 header, as GitHub computes them."""
        body = json.dumps(payload).encode()
        digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        return body, f"sha256={digest}"

    # --- JSON shapes -------------------------------------------------------------------------

    def _user_json(self, login: str) -> dict:
        return {
            "login": login,
            "id": abs(hash(login)) % 10**6,
            "type": "User",
            "url": f"{self.base_url}/users/{login}",
            "html_url": f"{self.origin}/{login}",
        }

    def _repo_json(self, repository: str) -> dict:
        owner, name = repository.split("/")
        return {
            "id": abs(hash(repository)) % 10**6,
            "name": name,
            "full_name": repository,
            "owner": self._user_json(owner),
            "url": f"{self.base_url}/repos/{repository}",
            "html_url": f"{self.origin}/{repository}",
            "default_branch": "main",
        }

    def _pull_json(self, pull: FakePull) -> dict:
        owner = pull.repository.split("/")[0]
        return {
            "id": 1000 + pull.number,
            "number": pull.number,
            "state": pull.state,
            "title": pull.title,
            "body": pull.body,
            "merged": pull.merged,
            "merged_at": "2026-12-01T10:00:00Z" if pull.merged else None,
            "user": self._user_json(pull.author),
            "url": f"{self.base_url}/repos/{pull.repository}/pulls/{pull.number}",
            "html_url": f"{self.origin}/{pull.repository}/pull/{pull.number}",
            "head": {"ref": pull.head, "label": f"{owner}:{pull.head}", "sha": "0" * 40},
            "base": {"ref": pull.base, "label": f"{owner}:{pull.base}", "sha": "1" * 40},
            "requested_reviewers": [self._user_json(login) for login in pull.requested_reviewers],
        }

    @staticmethod
    def _validation_failed(message: str, *, resource: str = "PullRequest") -> Answer:
        return Answer(
            422,
            {
                "message": "Validation Failed",
                "errors": [{"resource": resource, "code": "custom", "message": message}],
                "documentation_url": "https://docs.github.com/rest/pulls/pulls#create-a-pull-request",
                "status": "422",
            },
        )

    # --- routes ------------------------------------------------------------------------------

    def _repository(self, request: Request) -> str | None:
        name = f"{unquote(request.match['owner'])}/{unquote(request.match['name'])}"
        return name if name in self.repositories else None

    def _commit(self, request: Request) -> Answer:
        repository, sha = self._repository(request), request.match["sha"]
        if repository is None or sha not in self.commits:
            return Answer(
                422 if repository else 404, {"message": f"No commit found for SHA: {sha}"}
            )
        login = self.commits[sha]
        return Answer(
            200,
            {
                "sha": sha,
                "commit": {"message": "a commit", "author": {"email": self.users.get(login, "")}},
                "author": self._user_json(login) if login else None,
                "url": f"{self.base_url}/repos/{repository}/commits/{sha}",
            },
        )

    def _search_users(self, request: Request) -> Answer:
        query = request.query.get("q", "")
        email = query.replace(" in:email", "").replace("+in:email", "").strip()
        found = [login for login, address in self.users.items() if address == email]
        page = self.paginate(request, [{**self._user_json(login), "score": 1.0} for login in found])
        page.body = {"total_count": len(found), "incomplete_results": False, "items": page.body}
        return page

    def _create_pull(self, request: Request) -> Answer:
        repository = self._repository(request)
        if repository is None:
            return Answer(404, {"message": "Not Found"})
        data = request.body or {}
        head, base = data.get("head", ""), data.get("base", "")
        owner = repository.split("/")[0]
        if not data.get("title") or not head or not base:
            return self._validation_failed("title, head and base are required")
        if not self.branch_exists(repository, head):
            return Answer(
                422,
                {
                    "message": "Validation Failed",
                    "errors": [{"resource": "PullRequest", "field": "head", "code": "invalid"}],
                },
            )
        for pull in self.pulls.values():
            if pull.repository == repository and pull.head == head and pull.state == "open":
                return self._validation_failed(f"A pull request already exists for {owner}:{head}.")
        pull = FakePull(
            next(self._numbers),
            repository,
            head,
            base,
            data["title"],
            data.get("body", ""),
            self.bot_login,
        )
        self.pulls[(repository, pull.number)] = pull
        return Answer(201, self._pull_json(pull), {"Location": self._pull_json(pull)["url"]})

    def _list_pulls(self, request: Request) -> Answer:
        repository = self._repository(request)
        if repository is None:
            return Answer(404, {"message": "Not Found"})
        state = request.query.get("state", "open")
        head = request.query.get("head", "")
        base = request.query.get("base", "")
        owner = repository.split("/")[0]
        found = [
            self._pull_json(pull)
            for pull in sorted(self.pulls.values(), key=lambda p: p.number)
            if pull.repository == repository
            and (state == "all" or pull.state == state)
            and (not head or f"{owner}:{pull.head}" == head)
            and (not base or pull.base == base)
        ]
        return self.paginate(request, found)

    def _get_pull(self, request: Request) -> Answer:
        repository = self._repository(request)
        pull = self.pulls.get((repository, int(request.match["number"])))
        if pull is None:
            return Answer(404, {"message": "Not Found"})
        return Answer(200, self._pull_json(pull))

    def _request_reviewers(self, request: Request) -> Answer:
        repository = self._repository(request)
        pull = self.pulls.get((repository, int(request.match["number"])))
        if pull is None:
            return Answer(404, {"message": "Not Found"})
        reviewers = (request.body or {}).get("reviewers", [])
        for login in reviewers:
            if login == pull.author:
                return self._validation_failed(
                    "Review cannot be requested from pull request author."
                )
            if login not in self.collaborators:
                return self._validation_failed(
                    "Reviews may only be requested from collaborators. One or more of the "
                    "users or teams you specified is not a collaborator of the "
                    f"{repository} repository."
                )
        pull.requested_reviewers += [r for r in reviewers if r not in pull.requested_reviewers]
        return Answer(201, self._pull_json(pull))
