"""``FakeGitLab``: the HTTP servers around the store, its knobs and its observations."""

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
from ._call import throttle
from ._errors import FakeError, Throttled
from ._faults import Fault, misbehave
from ._knobs import Clock, Knobs, LogRanges
from ._ratelimits import Counters, Limit, PresetName, preset
from ._recording import RecordedRequest
from ._routes import add_routes
from ._state import Store
from ._webhooks import Webhooks, event_uuid_middleware

__all__ = ["FakeGitLab"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

MAX_REQUEST_LINE = 8192
"""nginx's ``large_client_header_buffers`` (8k): a longer request line gets its 414, a
longer header line its 400."""


def _nginx(status: int, reason: str) -> web.Response:
    """nginx's own error page, which names the error and nothing of the request."""
    title = f"{status} {reason}"
    page = (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n"
        "</body>\r\n</html>\r\n"
    )
    return web.Response(status=status, text=page, content_type="text/html")


class FakeGitLab(Webhooks):
    """A fake GitLab serving the Jobs API over real HTTP on 127.0.0.1.

    Seed it with :meth:`add_user`, :meth:`add_project`, :meth:`add_pipeline`,
    :meth:`add_job` and friends (or :func:`~gitlab_jobs_async.testing.generate`), then
    point any client at :attr:`url`. It answers with GitLab's status codes, headers, error
    bodies and pagination rules, and records every request in :attr:`requests`. Its
    settings are in :attr:`knobs`; what it saw in :attr:`observed`.

    Args:
        external_url: the URL GitLab believes it has; used in ``web_url`` fields and in
            ``Link`` headers. Defaults to :attr:`url`. Set it to another host to check that
            a client never follows ``Link`` hosts.
        port: the port to listen on (default: any free one).
        rate_limits: a preset (``"gitlab.com"`` or ``"off"``) or the limits themselves.
        clock: Unix time for the rate limits' windows (default ``time.time``); pass a
            :class:`~gitlab_jobs_async.testing.ManualClock` to test without sleeping.
    """

    def __init__(
        self,
        external_url: str | None = None,
        *,
        port: int = 0,
        rate_limits: PresetName | list[Limit] = "off",
        clock: Clock = time.time,
    ) -> None:
        super().__init__()
        self._external_url = external_url.rstrip("/") if external_url else None
        self._port = port
        self._runner: web.AppRunner | None = None
        self._storage: web.AppRunner | None = None
        self.knobs = Knobs(clock=clock)
        self.counters = Counters()
        """Rate-limit counts in their current windows."""
        self.set_rate_limits(rate_limits)
        self.faults: list[Fault] = []
        self.url = ""
        """``http://127.0.0.1:<port>``, set by :meth:`start`."""
        self.storage_url = ""
        """The object-storage origin's URL, set by :meth:`start`."""

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Start serving on 127.0.0.1."""
        app = web.Application(middlewares=[self._middleware, event_uuid_middleware])
        add_routes(app, self)
        # Long request lines and headers reach the middleware, which answers as nginx would.
        self._runner = web.AppRunner(
            app,
            handler_cancellation=True,
            access_log=None,
            max_line_size=16 << 20,
            max_field_size=1 << 20,
        )
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self._port).start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        self._storage = web.AppRunner(storage_app(self, self.observed), access_log=None)
        await self._storage.setup()
        await web.TCPSite(self._storage, "127.0.0.1", 0).start()
        self.storage_url = f"http://127.0.0.1:{self._storage.addresses[0][1]}"

    async def close(self) -> None:
        """Stop serving, and sending webhooks."""
        await self._stop_webhooks()
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

    # -- addresses, knobs and observations --------------------------------------------------

    @property
    def store(self) -> Store:
        """The fake's records (the fake itself: its seeding API is the store's)."""
        return self

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

    def set_rate_limits(self, limits: PresetName | list[Limit]) -> None:
        """Put a preset (``"gitlab.com"``, ``"off"``) or a list of limits in force now,
        with fresh counts."""
        self.knobs.rate_limits = preset(limits) if isinstance(limits, str) else list(limits)
        self.counters.clear()

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received, in order."""
        return self.observed.requests

    @property
    def storage_requests(self) -> list[RecordedRequest]:
        """Every request the object-storage origin received, in order."""
        return self.observed.storage_requests

    @property
    def in_flight(self) -> int:
        """Requests being answered right now."""
        return self.observed.in_flight

    @property
    def peak_in_flight(self) -> int:
        """The most requests answered at once since start (or since reset to 0)."""
        return self.observed.peak_in_flight

    @peak_in_flight.setter
    def peak_in_flight(self, value: int) -> None:
        self.observed.peak_in_flight = value

    latency = property(
        lambda self: self.knobs.latency,
        lambda self, value: setattr(self.knobs, "latency", value),
        doc="Seconds added before every answer (:attr:`Knobs.latency`).",
    )
    enforce_offset_limit = property(
        lambda self: self.knobs.enforce_offset_limit,
        lambda self, value: setattr(self.knobs, "enforce_offset_limit", value),
        doc=":attr:`Knobs.enforce_offset_limit`.",
    )
    offset_limit = property(
        lambda self: self.knobs.offset_limit,
        lambda self, value: setattr(self.knobs, "offset_limit", value),
        doc=":attr:`Knobs.offset_limit`.",
    )
    max_count = property(
        lambda self: self.knobs.max_count,
        lambda self, value: setattr(self.knobs, "max_count", value),
        doc=":attr:`Knobs.max_count`.",
    )
    object_storage = property(
        lambda self: self.knobs.object_storage,
        lambda self, value: setattr(self.knobs, "object_storage", value),
        doc=":attr:`Knobs.object_storage`.",
    )

    @property
    def honour_range(self) -> bool:
        """Older spelling of :attr:`Knobs.log_ranges`: ``True`` is ``"always"``, ``False``
        ``"never"``."""
        return self.knobs.log_ranges == "always"

    @honour_range.setter
    def honour_range(self, value: bool) -> None:
        mode: LogRanges = "always" if value else "never"
        self.knobs.log_ranges = mode

    # -- serving --------------------------------------------------------------------------

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        path = request.raw_path.split("?", 1)[0]
        if len(request.method) + len(request.raw_path) + 10 > MAX_REQUEST_LINE:
            # Never echo the line: it may hold `private_token=`.
            return _nginx(414, "Request-URI Too Large")
        if any(len(k) + len(v) + 2 > MAX_REQUEST_LINE for k, v in request.raw_headers):
            return _nginx(400, "Request Header Or Cookie Too Large")
        body = await request.read() if request.can_read_body else b""
        peer = request.transport.get_extra_info("peername") if request.transport else None
        record = RecordedRequest(
            request.method,
            path,
            tuple(request.query.items()),
            request.headers,
            body,
            at=time.monotonic(),
            peer=int(peer[1]) if peer else 0,
        )
        observed = self.observed
        observed.requests.append(record)
        observed.in_flight += 1
        observed.peak_in_flight = max(observed.peak_in_flight, observed.in_flight)
        try:
            response = await self._answer(request, handler, record)
        except asyncio.CancelledError:
            record.outcome.cancelled = True
            raise
        finally:
            observed.in_flight -= 1
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
        fault = next((f for f in self.faults if f.takes(record)), None)
        if fault is not None:
            fault.hits += 1
        delay = self.knobs.latency + (fault.delay if fault else 0.0)
        if delay:
            await asyncio.sleep(delay)
        canned = fault.canned(request, self.storage_url) if fault is not None else None
        if canned is not None:
            return canned
        limit_headers, throttled = throttle(self, request, record.path)
        try:
            if throttled is not None:
                raise throttled
            response = await handler(request)
        except Throttled as exc:
            record.outcome.limited_by = exc.limit
            self.observed.rate_limited[exc.limit] += 1
            response = exc.response()
        except FakeError as exc:
            response = exc.response()
        for name, value in limit_headers.items():
            response.headers.setdefault(name, value)
        if fault is not None and fault.after is not None:
            fault.after()
        return await misbehave(request, response, fault) if fault is not None else response
