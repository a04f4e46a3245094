"""``FakeGitLab``: the HTTP server around the store, its knobs, and request recording."""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, Self

from aiohttp import web

from ._artifacts import storage_app
from ._errors import FakeError, json_response
from ._recording import Fault, RecordedRequest
from ._routes import add_routes
from ._state import Store

__all__ = ["FakeGitLab"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class FakeGitLab(Store):
    """A fake GitLab serving the Jobs API over real HTTP on 127.0.0.1.

    Seed it with :meth:`add_user`, :meth:`add_project`, :meth:`add_pipeline`,
    :meth:`add_job` and friends, then point any client at :attr:`url`. It answers with
    GitLab's status codes, headers, error bodies and pagination rules
    (see ``SERVER-BEHAVIOUR.md``), and records every request in :attr:`requests`.

    Args:
        external_url: the URL GitLab believes it has; used in ``web_url`` fields and in
            ``Link`` headers. Defaults to :attr:`url`. Set it to another host to check that
            a client never follows ``Link`` hosts.
        port: the port to listen on (default: any free one).
    """

    def __init__(self, external_url: str | None = None, *, port: int = 0) -> None:
        super().__init__()
        self._external_url = external_url.rstrip("/") if external_url else None
        self._port = port
        self._runner: web.AppRunner | None = None
        self._storage: web.AppRunner | None = None
        self.url = ""
        """``http://127.0.0.1:<port>``, set by :meth:`start`."""
        self.requests: list[RecordedRequest] = []
        """Every request received, in order."""
        self.faults: list[Fault] = []
        self.latency = 0.0
        """Seconds added before every answer (benchmarks)."""
        self.enforce_offset_limit = False
        """GitLab's flag-gated offset cap on the project jobs list (§5.2): 405 past it."""
        self.offset_limit = 50_000
        self.max_count = 10_000
        """Lists with more rows than this send no totals (§5.1)."""
        self.honour_range = False
        """Answer ``Range: bytes=N-`` on logs with a 206 (GitLab itself ignores Range)."""
        self.object_storage = False
        """Send artifact archive downloads to :attr:`storage_url` with a 302, as GitLab does
        with object storage; that second origin records what it gets in
        :attr:`storage_requests`."""
        self.storage_url = ""
        self.storage_requests: list[RecordedRequest] = []
        self.in_flight = 0
        """Requests being answered right now."""
        self.peak_in_flight = 0
        """The most requests answered at once since start (or since reset to 0)."""

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Start serving on 127.0.0.1."""
        app = web.Application(middlewares=[self._middleware])
        add_routes(app, self)
        self._runner = web.AppRunner(app, handler_cancellation=True, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self._port).start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        self._storage = web.AppRunner(storage_app(self), access_log=None)
        await self._storage.setup()
        await web.TCPSite(self._storage, "127.0.0.1", 0).start()
        self.storage_url = f"http://127.0.0.1:{self._storage.addresses[0][1]}"

    async def close(self) -> None:
        """Stop serving."""
        for runner in (self._runner, self._storage):
            if runner is not None:
                await runner.cleanup()
        self._runner = self._storage = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def api_url(self) -> str:
        """:attr:`url` + ``/api/v4``."""
        return f"{self.url}/api/v4"

    @property
    def external_url(self) -> str:
        """The URL GitLab believes it has (default :attr:`url`), without a trailing slash."""
        return self._external_url or self.url

    @external_url.setter
    def external_url(self, value: str | None) -> None:
        self._external_url = value.rstrip("/") if value else None

    def add_fault(self, match: Callable[[RecordedRequest], bool], **fields: Any) -> Fault:
        """Script a :class:`Fault` for the requests that ``match``."""
        fault = Fault(match, **fields)
        self.faults.append(fault)
        return fault

    # -- serving --------------------------------------------------------------------------

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        body = await request.read() if request.can_read_body else b""
        peer = request.transport.get_extra_info("peername") if request.transport else None
        record = RecordedRequest(
            request.method,
            request.raw_path.split("?", 1)[0],
            tuple(request.query.items()),
            request.headers,
            body,
            at=time.monotonic(),
            peer=int(peer[1]) if peer else 0,
        )
        self.requests.append(record)
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            response = await self._answer(request, handler, record)
        except asyncio.CancelledError:
            record.outcome.cancelled = True
            raise
        finally:
            self.in_flight -= 1
        record.outcome.status = response.status
        if isinstance(response, web.Response) and isinstance(response.body, bytes | bytearray):
            record.outcome.response_bytes = len(response.body)
            if response.status in (200, 201) and request.method in ("GET", "HEAD"):
                digest = hashlib.md5(response.body, usedforsecurity=False).hexdigest()
                response.headers.setdefault("ETag", f'W/"{digest}"')
        response.headers["X-Request-Id"] = uuid.uuid4().hex[:26].upper()
        response.headers["X-Runtime"] = f"{time.perf_counter() - started:.6f}"
        response.headers.setdefault("Cache-Control", "max-age=0, private, must-revalidate")
        return response

    async def _answer(
        self, request: web.Request, handler: Handler, record: RecordedRequest
    ) -> web.StreamResponse:
        fault = next(
            (f for f in self.faults if (f.times is None or f.hits < f.times) and f.match(record)),
            None,
        )
        if fault is not None:
            fault.hits += 1
        delay = self.latency + (fault.delay if fault else 0.0)
        if delay:
            await asyncio.sleep(delay)
        behaviour = fault.behaviour if fault is not None else None
        if behaviour == "reset":
            assert request.transport is not None
            request.transport.abort()
            raise asyncio.CancelledError  # the connection is gone; nothing is handled
        if behaviour == "redirect":
            return web.Response(status=302, headers={"Location": f"{self.storage_url}/elsewhere"})
        if fault is not None and fault.status is not None:
            if isinstance(fault.body, dict | list):
                return json_response(fault.body, status=fault.status, headers=fault.headers)
            return web.Response(
                status=fault.status, text=str(fault.body or ""), headers=fault.headers
            )
        try:
            response = await handler(request)
        except FakeError as exc:
            response = exc.response()
        if fault is not None and fault.after is not None:
            fault.after()
        if behaviour in ("reset_mid_body", "truncate", "drip") and isinstance(
            response, web.Response
        ):
            return await _misbehave(request, response, behaviour)
        return response


async def _misbehave(request: web.Request, response: web.Response, how: str) -> web.Response:
    body = bytes(response.body) if isinstance(response.body, bytes | bytearray) else b""
    if how == "truncate":
        return web.Response(
            status=response.status, body=body[: len(body) // 2], content_type=response.content_type
        )
    stream = web.StreamResponse(status=response.status)
    stream.content_type = response.content_type
    stream.content_length = len(body)
    await stream.prepare(request)
    if how == "reset_mid_body":
        await stream.write(body[: len(body) // 2])
        assert request.transport is not None
        request.transport.abort()
        raise asyncio.CancelledError
    for start in range(0, len(body), 512):  # drip
        await stream.write(body[start : start + 512])
        await asyncio.sleep(0.002)
    await stream.write_eof()
    return stream  # type: ignore[return-value]
