"""A scripted stand-in for the Anthropic Messages API, on 127.0.0.1, for the real SDK to talk to.

It speaks the wire format the SDK expects (POST /v1/messages; `message` objects with `text` and
`tool_use` blocks, a stop_reason and usage; `{"type": "error", ...}` bodies with retry headers),
checks the API key (`x-api-key` or `Authorization: Bearer`), rejects what the real API would
reject in a tool-use conversation (a tool_use left without its tool_result), and records every
request so a test can assert what the client sent.

    api = FakeAnthropicAPI([reply(tool_use("get_function", {"symbol": "pkg.f"})), ...])
    with api:
        client = anthropic.Anthropic(api_key=api.api_key, base_url=api.base_url)

Each script step is a Reply, a Fail, or a function of the request body returning one (to echo a
tool id, or answer what the client asked). Steps are consumed in order, one per HTTP request,
retries included; when the script runs out, `when_exhausted` answers (by default a 500 that
names the problem, so a test fails loudly instead of hanging).
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DEFAULT_KEY = "sk-ant-fake-test-key"
_ids = itertools.count(1)


@dataclass
class Reply:
    """A 200 response: one assistant message."""

    content: list[dict[str, Any]]
    stop_reason: str = ""  # default: "tool_use" when there is a tool_use block, else "end_turn"
    usage: dict[str, int] | None = None  # default: computed from the request
    model: str = ""  # default: the model the request named


@dataclass
class Fail:
    """An error response in the API's error format."""

    status: int
    error_type: str
    message: str
    headers: dict[str, str] = field(default_factory=dict)


Step = Reply | Fail | Callable[[dict[str, Any]], "Reply | Fail"]


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any] | None
    status: int = 0  # what the fake answered
    # time.monotonic() when the request arrived: tests compare gaps (retry waits), never totals.
    at: float = 0.0


# --- building blocks for scripts ---------------------------------------------------------------


def text(value: str) -> dict[str, Any]:
    return {"type": "text", "text": value}


def tool_use(name: str, tool_input: dict[str, Any], *, tool_id: str = "") -> dict[str, Any]:
    return {
        "type": "tool_use",
        "id": tool_id or f"toolu_fake_{next(_ids):04d}",
        "name": name,
        "input": tool_input,
    }


def reply(*blocks: dict[str, Any], stop_reason: str = "", usage: dict | None = None) -> Reply:
    return Reply(list(blocks), stop_reason=stop_reason, usage=usage)


def rate_limited(retry_after_ms: int = 10) -> Fail:
    return Fail(
        429,
        "rate_limit_error",
        "Number of request tokens has exceeded your per-minute rate limit",
        {"retry-after-ms": str(retry_after_ms), "retry-after": "1"},
    )


def overloaded(retry_after_ms: int = 10) -> Fail:
    return Fail(529, "overloaded_error", "Overloaded", {"retry-after-ms": str(retry_after_ms)})


def server_error(retry_after_ms: int = 10) -> Fail:
    return Fail(500, "api_error", "Internal server error", {"retry-after-ms": str(retry_after_ms)})


def bad_request(message: str) -> Fail:
    return Fail(400, "invalid_request_error", message)


# --- reading requests --------------------------------------------------------------------------


def last_tool_results(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The tool_result blocks of the request's last (user) message."""
    messages = body.get("messages") or []
    if not messages or not isinstance(messages[-1].get("content"), list):
        return []
    return [b for b in messages[-1]["content"] if b.get("type") == "tool_result"]


def result_text(block: dict[str, Any]) -> str:
    content = block.get("content")
    if isinstance(content, list):
        return "\n".join(str(b.get("text", "")) for b in content if isinstance(b, dict))
    return str(content or "")


def protocol_problem(body: Any) -> str:
    """What the real API would refuse with a 400 in this request, or ""."""
    if not isinstance(body, dict):
        return "the body must be a JSON object"
    if not isinstance(body.get("model"), str) or not body["model"]:
        return "model: field required"
    if not isinstance(body.get("max_tokens"), int) or body["max_tokens"] < 1:
        return "max_tokens: field required and must be a positive integer"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "messages: at least one message is required"
    if messages[0].get("role") != "user":
        return "messages: the first message must use the user role"
    names = [t.get("name") for t in body.get("tools") or []]
    if len(names) != len(set(names)):
        return "tools: tool names must be unique"
    pending: set[str] = set()
    for index, message in enumerate(messages):
        role = message.get("role")
        if index and role == messages[index - 1].get("role"):
            return f"messages.{index}: roles must alternate between user and assistant"
        content = message.get("content")
        blocks = content if isinstance(content, list) else []
        if role == "user":
            answered = {b.get("tool_use_id") for b in blocks if b.get("type") == "tool_result"}
            if pending - answered:
                missing = ", ".join(sorted(pending - answered))
                return (
                    f"messages.{index}: tool_use ids were found without tool_result blocks "
                    f"immediately after: {missing}"
                )
            if answered - pending:
                return f"messages.{index}: unexpected tool_use_id in tool_result blocks"
            pending = set()
        else:
            pending = {b["id"] for b in blocks if b.get("type") == "tool_use"}
    if messages[-1].get("role") != "user":
        return "the last message must use the user role"
    return ""


# --- the server --------------------------------------------------------------------------------


class FakeAnthropicAPI:
    """The fake server; a context manager that starts and stops it."""

    def __init__(
        self,
        script: Iterable[Step] = (),
        *,
        api_key: str = DEFAULT_KEY,
        when_exhausted: Step | None = None,
    ) -> None:
        self.script: list[Step] = list(script)
        self.api_key = api_key
        self.when_exhausted = when_exhausted
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._cached_prefixes: set[str] = set()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # lifecycle

    def start(self) -> FakeAnthropicAPI:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                fake._handle(self)

            def do_GET(self) -> None:  # noqa: N802
                fake._send(self, 404, {"type": "error", "error": _error("not_found_error", "")})

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeAnthropicAPI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start the fake first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # what tests read

    @property
    def bodies(self) -> list[dict[str, Any]]:
        """Bodies of the message requests that were answered with a message."""
        return [r.body for r in self.requests if r.status == 200 and r.body is not None]

    @property
    def remaining(self) -> int:
        return len(self.script)

    # handling

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in handler.headers.items()}
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            body = None
        record = RecordedRequest("POST", handler.path, headers, body, at=time.monotonic())
        with self._lock:
            self.requests.append(record)
        if handler.path.split("?")[0] != "/v1/messages":
            record.status = 404
            self._send(handler, 404, {"type": "error", "error": _error("not_found_error", "")})
            return
        if not self._authorised(headers):
            record.status = 401
            error = _error("authentication_error", "invalid x-api-key")
            self._send(handler, 401, {"type": "error", "error": error})
            return
        problem = protocol_problem(body)
        if problem:
            record.status = 400
            error = _error("invalid_request_error", problem)
            self._send(handler, 400, {"type": "error", "error": error})
            return
        with self._lock:
            step = self.script.pop(0) if self.script else self.when_exhausted
        if step is None:
            step = Fail(500, "api_error", "the fake's script ran out: the client asked again")
        if callable(step):
            step = step(body)
        if isinstance(step, Fail):
            record.status = step.status
            error = _error(step.error_type, step.message)
            self._send(handler, step.status, {"type": "error", "error": error}, step.headers)
            return
        record.status = 200
        self._send(handler, 200, self._message(step, body))

    def _authorised(self, headers: dict[str, str]) -> bool:
        bearer = headers.get("authorization", "")
        if bearer.lower().startswith("bearer "):
            return bearer[7:].strip() == self.api_key
        return headers.get("x-api-key") == self.api_key

    def _message(self, step: Reply, body: dict[str, Any]) -> dict[str, Any]:
        has_tool_use = any(block.get("type") == "tool_use" for block in step.content)
        return {
            "id": f"msg_fake_{next(_ids):06d}",
            "type": "message",
            "role": "assistant",
            "model": step.model or body["model"],
            "content": step.content,
            "stop_reason": step.stop_reason or ("tool_use" if has_tool_use else "end_turn"),
            "stop_sequence": None,
            "usage": step.usage if step.usage is not None else self._usage(body),
        }

    def _usage(self, body: dict[str, Any]) -> dict[str, int]:
        """Plausible counts: the cached prefix is written once, then read on later turns."""
        prefix = json.dumps([body.get("tools"), body.get("system")], sort_keys=True)
        marked = "cache_control" in prefix
        prefix_tokens = len(prefix) // 4 if marked else 0
        rest = len(json.dumps(body.get("messages"))) // 4
        with self._lock:
            seen = prefix in self._cached_prefixes
            if marked:
                self._cached_prefixes.add(prefix)
        return {
            "input_tokens": rest + (0 if marked else len(prefix) // 4),
            "output_tokens": 60,
            "cache_creation_input_tokens": 0 if seen else prefix_tokens,
            "cache_read_input_tokens": prefix_tokens if seen else 0,
        }

    @staticmethod
    def _send(
        handler: BaseHTTPRequestHandler,
        status: int,
        payload: dict[str, Any],
        headers: dict[str, str] | None = None,
    ) -> None:
        data = json.dumps(payload).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.send_header("request-id", f"req_fake_{next(_ids):06d}")
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)


def _error(error_type: str, message: str) -> dict[str, str]:
    return {"type": error_type, "message": message}
