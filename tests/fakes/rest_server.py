"""What the fake code hosts share: a threaded HTTP server on 127.0.0.1 with a routing table,
recorded requests, scripted failures and RFC 5988 pagination (`Link: <...>; rel="next"`).

A host fake subclasses FakeRestServer, lists routes as (method, regex, handler) and answers
with `Answer`s; handlers get the parsed request. `fail_next(...)` makes the next matching
request fail the way the host would (a rate limit with its headers, a 5xx), once, before the
route runs — so a test drives a client's error handling through the real wire.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit


@dataclass
class Request:
    method: str
    path: str  # raw (still percent-encoded), without the query
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    match: re.Match | None = None


@dataclass
class Answer:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    status: int


@dataclass
class _Failure:
    method: str
    pattern: re.Pattern
    answer: Answer


Route = tuple[str, str, Callable[[Request], Answer]]


class FakeRestServer:
    prefix = ""  # the API root's path, e.g. "/api/v3"
    page_size_param = "per_page"
    default_page_size = 30

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self._failures: list[_Failure] = []
        self._lock = threading.RLock()
        self._compiled = [
            (method, re.compile(f"^{self.prefix}{pattern}$"), handler)
            for method, pattern, handler in self.routes()
        ]
        self._server: ThreadingHTTPServer | None = None

    # --- to override -------------------------------------------------------------------------

    def routes(self) -> list[Route]:
        return []

    def authorised(self, request: Request) -> Answer | None:
        """None when the request carries a valid token, else the host's refusal."""
        return None

    def common_headers(self) -> dict[str, str]:
        return {}

    # --- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> FakeRestServer:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def _serve(self) -> None:
                fake._handle(self)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def origin(self) -> str:
        assert self._server is not None, "use the fake as a context manager"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def base_url(self) -> str:
        return self.origin + self.prefix

    # --- scripting ---------------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        path_regex: str,
        status: int,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """The next `method` request whose path (after the prefix) matches fails like this."""
        pattern = re.compile(f"^{self.prefix}{path_regex}$")
        self._failures.append(_Failure(method, pattern, Answer(status, body, headers or {})))

    def calls(self, method: str, path_regex: str) -> list[Recorded]:
        pattern = re.compile(f"^{self.prefix}{path_regex}$")
        return [r for r in self.requests if r.method == method and pattern.match(r.path)]

    def paginate(self, request: Request, items: list[Any]) -> Answer:
        """One page of `items` with the host's Link header (and page headers)."""
        size = int(request.query.get(self.page_size_param, self.default_page_size))
        page = int(request.query.get("page", 1))
        chunk = items[(page - 1) * size : page * size]
        last = max(1, -(-len(items) // size))
        links = []

        def link(number: int, rel: str) -> str:
            query = urlencode({**request.query, "page": number})
            return f'<{self.origin}{request.path}?{query}>; rel="{rel}"'

        if page < last:
            links.append(link(page + 1, "next"))
            links.append(link(last, "last"))
        if page > 1:
            links.append(link(page - 1, "prev"))
            links.append(link(1, "first"))
        headers = {"Link": ", ".join(links)} if links else {}
        headers.update(self.page_headers(page=page, size=size, last=last, total=len(items)))
        return Answer(200, chunk, headers)

    def page_headers(self, *, page: int, size: int, last: int, total: int) -> dict[str, str]:
        return {}

    # --- the wire ----------------------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        split = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        request = Request(handler.command, split.path, query, dict(handler.headers), body)
        with self._lock:
            answer = self._answer(request)
            self.requests.append(
                Recorded(request.method, request.path, query, request.headers, body, answer.status)
            )
        payload = b"" if answer.body is None else json.dumps(answer.body).encode()
        handler.send_response(answer.status)
        headers = {"Content-Type": "application/json; charset=utf-8", **self.common_headers()}
        headers.update(answer.headers)
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)

    def _answer(self, request: Request) -> Answer:
        refusal = self.authorised(request)
        if refusal is not None:
            return refusal
        for failure in list(self._failures):
            if failure.method == request.method and failure.pattern.match(request.path):
                self._failures.remove(failure)
                return failure.answer
        for method, pattern, route in self._compiled:
            match = pattern.match(request.path)
            if match and method == request.method:
                request.match = match
                return route(request)
        return Answer(404, {"message": "Not Found"})
