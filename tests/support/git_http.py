"""A real git remote over smart HTTP for tests: `git http-backend` behind a local HTTP server.

Clone, fetch (with --filter) and push use git's own transport, as against GitHub or GitLab.
Optional HTTP Basic auth (one username and password) answers 401 without them, so credentials
can be tested; every request is recorded (method, path, whether it was authorised).

    with GitHttpServer(tmp_path / "served", username="u", password="p") as server:
        url = server.serve(source_repo, "team/app.git")   # a bare copy, filters allowed
        ...
        server.down = True   # every request now answers 503 (a host that is down)

Fake code-host servers can mount it for their git URLs.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit


@dataclass
class Request:
    method: str
    path: str
    authorized: bool


@dataclass
class GitHttpServer:
    root: Path
    username: str | None = None
    password: str | None = None
    down: bool = False
    requests: list[Request] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.root = Path(self.root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._server: ThreadingHTTPServer | None = None

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> GitHttpServer:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self._server = server
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> GitHttpServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() the server first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # --- repositories ------------------------------------------------------------------------

    def serve(self, source: Path, name: str) -> str:
        """Serve a bare copy of `source` as `name`; its URL."""
        target = self.root / name
        shutil.rmtree(target, ignore_errors=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["git", "clone", "--bare", "--quiet", str(source), str(target)],
            check=True,
            capture_output=True,
        )
        for key, value in (
            ("uploadpack.allowFilter", "true"),
            ("uploadpack.allowAnySHA1InWant", "true"),
            ("http.receivepack", "true"),
        ):
            subprocess.run(["git", "-C", str(target), "config", key, value], check=True)
        return f"{self.base_url}/{name}"

    def path_of(self, name: str) -> Path:
        return self.root / name

    def authorized(self, header: str | None) -> bool:
        if self.username is None:
            return True
        if not header or not header.startswith("Basic "):
            return False
        try:
            decoded = base64.b64decode(header.removeprefix("Basic ")).decode()
        except ValueError:
            return False
        return decoded == f"{self.username}:{self.password}"


def _read_body(handler: BaseHTTPRequestHandler) -> bytes:
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        chunks = []
        while True:
            size = int(handler.rfile.readline().strip().split(b";")[0], 16)
            if size == 0:
                handler.rfile.readline()
                break
            chunks.append(handler.rfile.read(size))
            handler.rfile.readline()
        return b"".join(chunks)
    length = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(length) if length else b""


def _handler_for(server: GitHttpServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args) -> None:  # quiet
            pass

        def _respond(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _git(self) -> None:
            body = _read_body(self)
            authorized = server.authorized(self.headers.get("Authorization"))
            parts = urlsplit(self.path)
            server.requests.append(Request(self.command, parts.path, authorized))
            if server.down:
                self._respond(503, b"down for maintenance\n", {"Content-Type": "text/plain"})
                return
            if not authorized:
                self._respond(
                    401,
                    b"authentication required\n",
                    {"WWW-Authenticate": 'Basic realm="git"', "Content-Type": "text/plain"},
                )
                return
            env = {
                "PATH": "/usr/local/bin:/usr/bin:/bin",
                "GIT_PROJECT_ROOT": str(server.root),
                "GIT_HTTP_EXPORT_ALL": "1",
                "PATH_INFO": parts.path,
                "QUERY_STRING": parts.query,
                "REQUEST_METHOD": self.command,
                "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                "CONTENT_LENGTH": str(len(body)),
                "REMOTE_USER": server.username or "anonymous",
                "REMOTE_ADDR": self.client_address[0],
                "GIT_CONFIG_NOSYSTEM": "1",
            }
            if self.headers.get("Git-Protocol"):
                env["GIT_PROTOCOL"] = self.headers["Git-Protocol"]
            if self.headers.get("Content-Encoding"):
                env["HTTP_CONTENT_ENCODING"] = self.headers["Content-Encoding"]
            result = subprocess.run(
                ["git", "http-backend"], input=body, capture_output=True, env=env, timeout=120
            )
            raw = result.stdout
            head, _, payload = raw.partition(b"\r\n\r\n")
            if not _:
                head, _, payload = raw.partition(b"\n\n")
            status, headers = 200, {}
            for line in head.decode("latin-1").splitlines():
                name, _, value = line.partition(":")
                if name.lower() == "status":
                    status = int(value.strip().split()[0])
                elif name:
                    headers[name.strip()] = value.strip()
            self._respond(status, payload, headers)

        do_GET = _git
        do_POST = _git

    return Handler
