"""A loopback HTTP server to build fakes of real APIs on, for adapter tests.

A fake is a :class:`FakeServer` with routes that implement the documented API (paging,
limits, validation) over state the test can inspect. Tests script faults on it —
``fake.fail_next(429, headers={"Retry-After": "1"})``, ``fake.drop_next()``,
``fake.slow_next(2.0)`` — and assert on ``fake.requests``. It listens on 127.0.0.1 on a
free port and serves each request in its own thread::

    fake = FakeServer()

    @fake.route("GET", r"/v1/things")
    def things(request: Request) -> Reply:
        return Reply(200, {"results": []})

    with fake:
        requests.get(fake.url + "/v1/things")
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
import time
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import attrs


@attrs.frozen
class Request:
    """A request the fake received."""

    method: str
    path: str
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]
    body: bytes
    match: Mapping[str, str] = attrs.field(factory=dict)

    def json(self) -> Any:
        """The body decoded as JSON (None when empty)."""
        return json.loads(self.body) if self.body else None

    def arg(self, name: str, default: str | None = None) -> str | None:
        """The first value of a query parameter."""
        values = self.query.get(name)
        return values[0] if values else default

    def header(self, name: str) -> str | None:
        """A request header, case-insensitively."""
        lowered = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == lowered), None)


@attrs.frozen
class Reply:
    """What a route answers: a status, a JSON (or text) body and headers."""

    status: int = 200
    body: Any = None
    headers: Mapping[str, str] = attrs.field(factory=dict)
    text: str | None = None


Handler = Callable[[Request], Reply]


@attrs.define
class _Fault:
    kind: str  # "reply", "drop" or "slow"
    reply: Reply | None = None
    seconds: float = 0.0


class FakeServer:
    """A threaded HTTP server on 127.0.0.1 with routes, scripted faults and a request log."""

    def __init__(self) -> None:
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self.requests: list[Request] = []
        self._faults: list[_Fault] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- set-up -------------------------------------------------------------------------
    def route(self, method: str, pattern: str) -> Callable[[Handler], Handler]:
        """Register a handler for ``method`` and a path regex (named groups land in ``match``)."""

        def register(handler: Handler) -> Handler:
            self.routes.append((method.upper(), re.compile(pattern + r"\Z"), handler))
            return handler

        return register

    def fail_next(
        self,
        status: int = 503,
        count: int = 1,
        *,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Answer the next ``count`` requests with ``status`` instead of routing them."""
        reply = Reply(
            status,
            body if body is not None else {"message": f"injected {status}"},
            dict(headers or {}),
        )
        with self._lock:
            self._faults.extend(_Fault("reply", reply) for _ in range(count))

    def drop_next(self, count: int = 1) -> None:
        """Close the connection of the next ``count`` requests without answering."""
        with self._lock:
            self._faults.extend(_Fault("drop") for _ in range(count))

    def slow_next(self, seconds: float, count: int = 1) -> None:
        """Wait ``seconds`` before handling each of the next ``count`` requests."""
        with self._lock:
            self._faults.extend(_Fault("slow", seconds=seconds) for _ in range(count))

    # -- running ------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:54321``."""
        if self._server is None:
            raise RuntimeError("the fake server is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeServer:
        """Start serving on a free loopback port."""
        fake = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # small keep-alive answers would wait ~40 ms for an ACK

            def log_message(self, format: str, *args: Any) -> None:
                return None

            def _handle(self) -> None:
                fake._serve(self)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- handling -----------------------------------------------------------------------
    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        parts = urlsplit(handler.path)
        request = Request(
            method=handler.command,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers=dict(handler.headers.items()),
            body=body,
        )
        with self._lock:
            self.requests.append(request)
            fault = self._faults.pop(0) if self._faults else None
        if fault is not None and fault.kind == "slow":
            time.sleep(fault.seconds)
            fault = None
        if fault is not None and fault.kind == "drop":
            handler.close_connection = True
            with contextlib.suppress(OSError):
                handler.connection.shutdown(socket.SHUT_RDWR)
            return
        reply = (
            fault.reply
            if fault is not None and fault.reply is not None
            else self._dispatch(request)
        )
        # A client that timed out (a slow_next fault) has hung up: nobody is left to answer.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self._write(handler, reply)

    def _dispatch(self, request: Request) -> Reply:
        allowed = []
        for method, pattern, route in self.routes:
            match = pattern.match(request.path)
            if match is None:
                continue
            if method != request.method:
                allowed.append(method)
                continue
            try:
                return route(attrs.evolve(request, match=match.groupdict()))
            except Exception as exc:  # a bug in the fake must show up as a 500, not a hang
                return Reply(500, {"message": f"fake server error: {type(exc).__name__}: {exc}"})
        if allowed:
            return Reply(405, {"message": f"method {request.method} not allowed"})
        return Reply(404, {"message": f"no route for {request.method} {request.path}"})

    @staticmethod
    def _write(handler: BaseHTTPRequestHandler, reply: Reply) -> None:
        if reply.text is not None:
            payload = reply.text.encode()
            content_type = "text/plain; charset=utf-8"
        elif reply.body is None:
            payload, content_type = b"", "application/json"
        else:
            payload = json.dumps(reply.body).encode()
            content_type = "application/json;charset=utf-8"
        handler.send_response(reply.status)
        headers = {"Content-Type": content_type, **reply.headers}
        for key, value in headers.items():
            handler.send_header(key, value)
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)
