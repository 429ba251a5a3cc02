"""A stand-in for GitLab's REST API (v4), on 127.0.0.1, for python-gitlab to talk to.

The shapes GitLab documents: `PRIVATE-TOKEN` checked (401 "401 Unauthorized"), projects named
by their URL-encoded path (`/projects/group%2Fname`), 201 on create, 409 with "Another open
merge request already exists for this source branch: !N" for a duplicate, merge request
`state` opened / merged / closed with `iid` and `web_url`, `reviewer_ids` on create and update,
user search, pagination with Link and the X-Page / X-Next-Page / X-Total headers, and a 429
with Retry-After and RateLimit-* headers when rate limited. `merge()`, `close()`, `reopen()`
change a merge request as a person would; `event()` builds the Merge Request Hook that follows.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from urllib.parse import unquote

from tests.fakes.rest_server import Answer, FakeRestServer, Request, Route

DEFAULT_TOKEN = "glpat-fakeGitLabToken000000"
_PROJECT = r"/projects/(?P<project>[^/]+)"


@dataclass
class FakeMergeRequest:
    iid: int
    project: str
    source_branch: str
    target_branch: str
    title: str
    description: str
    state: str = "opened"
    reviewer_ids: list[int] = field(default_factory=list)


class FakeGitLab(FakeRestServer):
    prefix = "/api/v4"
    default_page_size = 20

    def __init__(
        self,
        *,
        users: dict[str, str] | None = None,
        projects: set[str] | None = None,
        token: str = DEFAULT_TOKEN,
    ) -> None:
        self.token = token
        self.users = dict(users or {})  # username -> public email
        self.user_ids = {name: 100 + n for n, name in enumerate(self.users)}
        self.projects = set(projects or set())
        self.merge_requests: dict[tuple[str, int], FakeMergeRequest] = {}
        self._iids = itertools.count(1)
        super().__init__()

    def routes(self) -> list[Route]:
        return [
            ("GET", "/users", self._users),
            ("POST", f"{_PROJECT}/merge_requests", self._create),
            ("GET", f"{_PROJECT}/merge_requests", self._list),
            ("GET", f"{_PROJECT}/merge_requests/(?P<iid>[0-9]+)", self._get),
            ("PUT", f"{_PROJECT}/merge_requests/(?P<iid>[0-9]+)", self._update),
        ]

    def authorised(self, request: Request) -> Answer | None:
        if request.headers.get("PRIVATE-TOKEN") != self.token:
            return Answer(401, {"message": "401 Unauthorized"})
        return None

    def common_headers(self) -> dict[str, str]:
        return {
            "RateLimit-Limit": "2000",
            "RateLimit-Remaining": "1999",
            "RateLimit-Reset": str(int(time.time()) + 60),
        }

    def page_headers(self, *, page: int, size: int, last: int, total: int) -> dict[str, str]:
        return {
            "X-Page": str(page),
            "X-Per-Page": str(size),
            "X-Next-Page": str(page + 1) if page < last else "",
            "X-Prev-Page": str(page - 1) if page > 1 else "",
            "X-Total": str(total),
            "X-Total-Pages": str(last),
        }

    # --- helpers a test uses -----------------------------------------------------------------

    def rate_limited(self, method: str, path_regex: str, *, retry_after: int = 30) -> None:
        self.fail_next(
            method,
            path_regex,
            429,
            {"message": "Retry later"},
            {
                "Retry-After": str(retry_after),
                "RateLimit-Remaining": "0",
                "RateLimit-Reset": str(int(time.time()) + retry_after),
            },
        )

    def merge(self, project: str, iid: int) -> None:
        self.merge_requests[(project, iid)].state = "merged"

    def close(self, project: str, iid: int) -> None:
        self.merge_requests[(project, iid)].state = "closed"

    def reopen(self, project: str, iid: int) -> None:
        self.merge_requests[(project, iid)].state = "opened"

    def event(self, project: str, iid: int, action: str) -> dict:
        """The Merge Request Hook payload GitLab sends after `action` (merge, close, reopen)."""
        mr = self.merge_requests[(project, iid)]
        return {
            "object_kind": "merge_request",
            "event_type": "merge_request",
            "user": {"username": "maintainer"},
            "project": {"path_with_namespace": project, "web_url": f"{self.origin}/{project}"},
            "object_attributes": {**self._mr_json(mr), "action": action},
        }

    # --- JSON shapes -------------------------------------------------------------------------

    def _user_json(self, username: str) -> dict:
        return {
            "id": self.user_ids[username],
            "username": username,
            "name": username.title(),
            "state": "active",
            "web_url": f"{self.origin}/{username}",
        }

    def _mr_json(self, mr: FakeMergeRequest) -> dict:
        by_id = {uid: name for name, uid in self.user_ids.items()}
        return {
            "id": 5000 + mr.iid,
            "iid": mr.iid,
            "project_id": abs(hash(mr.project)) % 10**6,
            "title": mr.title,
            "description": mr.description,
            "state": mr.state,
            "source_branch": mr.source_branch,
            "target_branch": mr.target_branch,
            "web_url": f"{self.origin}/{mr.project}/-/merge_requests/{mr.iid}",
            "reviewers": [self._user_json(by_id[uid]) for uid in mr.reviewer_ids if uid in by_id],
        }

    # --- routes ------------------------------------------------------------------------------

    def _project(self, request: Request) -> str | None:
        name = unquote(request.match["project"])
        return name if name in self.projects else None

    def _users(self, request: Request) -> Answer:
        search = request.query.get("search", "")
        username = request.query.get("username", "")
        found = [
            self._user_json(name)
            for name, email in self.users.items()
            if (username and name == username)
            or (search and (search.lower() == email.lower() or search.lower() in name))
        ]
        return self.paginate(request, found)

    def _create(self, request: Request) -> Answer:
        project = self._project(request)
        if project is None:
            return Answer(404, {"message": "404 Project Not Found"})
        data = request.body or {}
        for mr in self.merge_requests.values():
            if (
                mr.project == project
                and mr.source_branch == data.get("source_branch")
                and mr.state == "opened"
            ):
                return Answer(
                    409,
                    {
                        "message": [
                            "Another open merge request already exists for this source "
                            f"branch: !{mr.iid}"
                        ]
                    },
                )
        mr = FakeMergeRequest(
            next(self._iids),
            project,
            data["source_branch"],
            data["target_branch"],
            data["title"],
            data.get("description", ""),
            reviewer_ids=list(data.get("reviewer_ids") or []),
        )
        self.merge_requests[(project, mr.iid)] = mr
        return Answer(201, self._mr_json(mr))

    def _list(self, request: Request) -> Answer:
        project = self._project(request)
        if project is None:
            return Answer(404, {"message": "404 Project Not Found"})
        state = request.query.get("state", "all")
        source = request.query.get("source_branch", "")
        target = request.query.get("target_branch", "")
        found = [
            self._mr_json(mr)
            for mr in sorted(self.merge_requests.values(), key=lambda m: m.iid)
            if mr.project == project
            and (state == "all" or mr.state == state)
            and (not source or mr.source_branch == source)
            and (not target or mr.target_branch == target)
        ]
        return self.paginate(request, found)

    def _get(self, request: Request) -> Answer:
        mr = self.merge_requests.get((self._project(request), int(request.match["iid"])))
        if mr is None:
            return Answer(404, {"message": "404 Not found"})
        return Answer(200, self._mr_json(mr))

    def _update(self, request: Request) -> Answer:
        mr = self.merge_requests.get((self._project(request), int(request.match["iid"])))
        if mr is None:
            return Answer(404, {"message": "404 Not found"})
        data = request.body or {}
        if "reviewer_ids" in data:
            mr.reviewer_ids = [int(uid) for uid in data["reviewer_ids"]]
        return Answer(200, self._mr_json(mr))
