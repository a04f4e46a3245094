"""The one place that does HTTP: URL joining, auth headers, timeouts, retries, error mapping.

Strictly private: services call :class:`Transport`; users never see it. JSON requests and
streams share one attempt loop (:meth:`Transport._attempts`): the pace, the client's budget,
one attempt, then :func:`~._retry.decide` on a failure. Redirects are followed by one loop
(:meth:`Transport._send`) on the rules of :func:`~._redirects.next_hop`; aiohttp's failures
become typed errors in one place, :func:`~._failures.transport_error`.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from ssl import SSLContext
from typing import Any, TypeVar

import aiohttp
import attrs
from yarl import URL

from ._config import RetryPolicy
from ._errors import APIError, OutcomeUnknown, RateLimited, TransportError
from ._failures import raise_clean, transport_error
from ._protocol import error_for, redact_url
from ._ratelimit import Pacer
from ._redirects import MAX_REDIRECTS, next_hop
from ._request_context import extra_headers
from ._response import Response, body_chunks, read_limited
from ._retry import Outcome, decide

__all__ = ["Params", "Response", "Transport", "body_chunks"]

log = logging.getLogger("gitlab_jobs_async")

Params = Sequence[tuple[str, str]]
T = TypeVar("T")

_IDEMPOTENT = frozenset({"GET", "HEAD"})
_READ_BUFFER = 2**20  # as the client's own session: fewer pause/resume cycles on big bodies


@attrs.frozen
class _Failure:
    """A failed attempt: the error to raise if it is not retried, and what retrying needs."""

    error: APIError | TransportError
    outcome: Outcome


@attrs.frozen
class _Opened:
    """A streamed response with a success status, and what must be closed after it."""

    response: aiohttp.ClientResponse
    shown: str
    resources: AsyncExitStack


class Transport:
    """Sends requests to one GitLab API base URL with one set of headers. Strictly private."""

    def __init__(
        self,
        *,
        base_url: URL,
        headers: Mapping[str, str],
        credentials: Mapping[str, str],
        timeout: aiohttp.ClientTimeout,
        retry: RetryPolicy,
        max_concurrency: int,
        requests_per_minute: float | None = None,
        max_body_size: int = 64 * 2**20,
        ssl: SSLContext | bool = True,
    ) -> None:
        self.base_url = base_url
        self.max_concurrency = max_concurrency
        # One budget for the whole client: every request, from every list and task, holds a
        # slot while it is on the wire, so many lists at once cannot open many x N connections.
        self._budget = asyncio.Semaphore(max_concurrency)
        self._origin = base_url.origin()
        self._public = dict(headers)
        self._headers = {**headers, **credentials}
        # The tokens themselves ("Bearer <token>" is sent for OAuth), to scrub from texts.
        self._secrets = tuple(value.split(" ")[-1] for value in credentials.values())
        self._timeout = timeout
        self._stream_timeout = attrs.evolve(timeout, total=None)
        self._retry = retry
        self._max_body = max_body_size
        self._ssl = ssl
        self.pacer = Pacer(per_minute=requests_per_minute, max_pause=retry.max_retry_after)
        self._session: aiohttp.ClientSession | None = None
        self._secret_names = ", ".join(f"{name}=<redacted>" for name in credentials)
        self._sleep: Callable[[float], Awaitable[None]] = asyncio.sleep  # tests inject a clock

    def attach(self, session: aiohttp.ClientSession | None) -> None:
        self._session = session

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            raise RuntimeError(
                "the GitLab client is not open: use `async with GitLab(...) as gl:` first"
            )
        return self._session

    def url(self, path: str) -> URL:
        """Join a relative, already percent-encoded path onto the base URL, keeping ``%2F``."""
        return URL(str(self.base_url) + path, encoded=True)

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Params = (),
        json_body: Any = None,
        idempotent: bool | None = None,
    ) -> Response:
        """Send a request, retrying what is safe, and return the read response.

        ``idempotent`` (default: GET and HEAD) marks a request that may be sent again after a
        failure that could have reached GitLab. Raises the matching :class:`APIError`
        subclass for an error status, :class:`TransportError` when no answer came, and
        :class:`OutcomeUnknown` when a non-idempotent request may have reached GitLab.
        """
        url = self._full_url(path, params)
        repeatable = method in _IDEMPOTENT if idempotent is None else idempotent
        return await self._attempts(
            method, url, repeatable, lambda n: self._json_attempt(method, url, json_body, n)
        )

    @asynccontextmanager
    async def stream(
        self,
        method: str,
        path: str,
        *,
        params: Params = (),
        headers: Mapping[str, str] | None = None,
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """Open a response whose body the caller reads in chunks; always released on exit.

        Retried as :meth:`request` is until a success status arrives, then never again, so
        no byte is handed over twice. Redirects are followed (GitLab sends artifact
        downloads to object storage with a 302), but a hop that leaves the configured origin
        goes through a session of the transport's own, with none of the client's session's
        headers, auth or cookies: no credential leaves the origin, whoever put it on the
        session. Opening (redirects, response headers and any error body) must finish within
        the client's total timeout; the body then has only the read timeout, since a large
        log may take longer than any fixed total. The client's budget is held while opening,
        not while the caller reads the body.
        """
        url = self._full_url(path, params)
        extra = dict(headers or {})
        opened = await self._attempts(
            method,
            url,
            method in _IDEMPOTENT,
            lambda n: self._stream_attempt(method, url, extra, n),
        )
        async with opened.resources:
            try:
                yield opened.response
            except (TimeoutError, aiohttp.ClientError) as exc:
                # Only when the caller read the response itself rather than by body_chunks.
                # Bytes were delivered already: not retried, so nothing is repeated.
                error, _ = transport_error(exc, method=method, url=opened.shown, answered=True)
            else:
                return
            raise_clean(error)

    def _full_url(self, path: str, params: Params) -> URL:
        url = self.url(path)
        return url.extend_query(list(params)) if params else url

    async def _attempts(
        self,
        method: str,
        url: URL,
        repeatable: bool,
        attempt_once: Callable[[int], Awaitable[T | _Failure]],
    ) -> T:
        """Make attempts until one succeeds or :func:`~._retry.decide` says to stop."""
        waited = 0.0  # in back-off only: RetryPolicy.timeout bounds this, not the requests
        attempt = 0
        while True:
            attempt += 1
            await self.pacer.wait()
            async with self._budget:
                result = await attempt_once(attempt)
            if not isinstance(result, _Failure):
                return result
            error = result.error
            decision = decide(
                self._retry,
                repeatable=repeatable,
                outcome=result.outcome,
                attempt=attempt,
                waited=waited,
                jitter=random.random(),
            )
            if not decision.retry:
                if decision.outcome_unknown and isinstance(error, TransportError):
                    raise OutcomeUnknown(error.reason, method=method, url=error.url) from error
                raise_clean(error)
            if decision.pause_all:
                # Every task of the client waits too, rather than each hitting the wall.
                self.pacer.pause(decision.delay, "429 from GitLab")
            log.warning(
                "retrying %s %s in %.2fs after %s (attempt %d of %d)",
                method,
                redact_url(url),
                decision.delay,
                type(error).__name__,
                attempt,
                self._retry.attempts,
            )
            await self._sleep(decision.delay)
            waited += decision.delay

    async def _json_attempt(
        self, method: str, url: URL, json_body: Any, attempt: int
    ) -> Response | _Failure:
        shown = redact_url(url)
        clock = time.monotonic()
        try:
            resp, final = await self._send(
                method, url, json_body=json_body, timeouts=self._timeout, cross_origin=False
            )
            shown = redact_url(final)
            try:
                body = await read_limited(resp, self._max_body, method=method, url=shown)
            finally:
                resp.release()
        except (TimeoutError, aiohttp.ClientError) as exc:
            return self._failure(exc, method, shown)
        except TransportError as exc:  # too many redirects
            return _Failure(exc, Outcome())
        log.debug(
            "%s %s -> %d (%d bytes, %.0f ms, attempt %d) [%s]",
            method,
            shown,
            resp.status,
            len(body),
            (time.monotonic() - clock) * 1000,
            attempt,
            self._secret_names,
        )
        if 200 <= resp.status < 300:
            return Response(resp.status, resp.headers, body, method, shown)
        return _failed(error_for(resp.status, resp.headers, body, method=method, url=shown))

    async def _stream_attempt(
        self, method: str, url: URL, extra: dict[str, str], attempt: int
    ) -> _Opened | _Failure:
        shown = redact_url(url)
        resources = AsyncExitStack()
        try:
            # aiohttp's read timeout restarts with every byte: only a deadline bounds a
            # server dripping its headers. The body, read at the caller's pace, has none.
            async with asyncio.timeout(self._timeout.total):
                resp, final = await self._send(
                    method,
                    url,
                    extra=extra,
                    timeouts=self._stream_timeout,
                    cross_origin=True,
                    resources=resources,
                )
                resources.callback(resp.release)
                shown = redact_url(final)
                log.debug(
                    "%s %s -> %d (streamed, attempt %d) [%s]",
                    method,
                    shown,
                    resp.status,
                    attempt,
                    self._secret_names,
                )
                if 200 <= resp.status < 300:
                    return _Opened(resp, shown, resources)
                # An error body is read as a JSON body is: limited, and its failures typed.
                body = await read_limited(resp, self._max_body, method=method, url=shown)
                failure = _failed(
                    error_for(resp.status, resp.headers, body, method=method, url=shown)
                )
        except (TimeoutError, aiohttp.ClientError) as exc:
            failure = self._failure(exc, method, shown)
        except TransportError as exc:  # too many redirects
            failure = _Failure(exc, Outcome())
        except BaseException:
            await resources.aclose()
            raise
        await resources.aclose()
        return failure

    async def _send(
        self,
        method: str,
        url: URL,
        *,
        timeouts: aiohttp.ClientTimeout,
        cross_origin: bool,
        json_body: Any = None,
        extra: Mapping[str, str] | None = None,
        resources: AsyncExitStack | None = None,
    ) -> tuple[aiohttp.ClientResponse, URL]:
        """Send one attempt, following redirects; the final response, its body unread.

        Which redirect is followed, and whether it keeps the credentials, is
        :func:`~._redirects.next_hop`'s answer; ``cross_origin`` (streams only) lets a hop
        leave the configured origin, without credentials, through a session of its own
        that ``resources`` closes.
        """
        extra = extra or {}
        # A webhook handler's X-Gitlab-Event-UUID (GitLab's recursion detection) rides along
        # under the client's own headers, and only to GitLab.
        headers = {**extra_headers(), **self._headers, **extra}
        session, credentials = self.session, True
        for _ in range(MAX_REDIRECTS + 1):
            resp = await session.request(
                method,
                url,
                headers=headers,
                json=json_body,
                timeout=timeouts,
                allow_redirects=False,
                # A borrowed session made with raise_for_status=True would turn GitLab's
                # answers into aiohttp exceptions (a 403 into "outcome unknown"): not here.
                raise_for_status=False,
                ssl=self._ssl,
            )
            if credentials:
                self.pacer.observe(resp.headers)  # GitLab's view, not object storage's
            try:
                hop = next_hop(
                    method=method,
                    status=resp.status,
                    location=resp.headers.get("Location"),
                    url=resp.url,
                    origin=self._origin,
                    credentials=credentials,
                    cross_origin=cross_origin,
                )
            except BaseException:
                resp.release()
                raise
            if hop is None:
                return resp, url
            resp.release()
            url = hop.url
            if credentials and not hop.credentials:
                assert resources is not None, "cross-origin hops need resources"
                credentials = False
                session = await resources.enter_async_context(self._plain_session())
                headers = {**self._public, **extra}  # never a token to another host
        raise TransportError("too many redirects", method=method, url=redact_url(url))

    def _plain_session(self) -> aiohttp.ClientSession:
        """A session for hops off the origin: no default headers, auth, cookies or middleware.

        The client's session may be borrowed, and aiohttp adds a session's default headers,
        auth and cookies to every request it sends: so a hop that leaves the origin never
        goes through it, whoever put credentials on it.
        """
        return aiohttp.ClientSession(
            cookie_jar=aiohttp.DummyCookieJar(),
            trust_env=self.session.trust_env,  # the same proxies from the environment
            read_bufsize=_READ_BUFFER,
        )

    def _failure(self, exc: BaseException, method: str, shown: str) -> _Failure:
        error, sent = transport_error(exc, method=method, url=shown, secrets=self._secrets)
        return _Failure(error, Outcome(sent=sent))


def _failed(error: APIError) -> _Failure:
    retry_after = error.retry_after if isinstance(error, RateLimited) else None
    return _Failure(error, Outcome(status=error.status, retry_after=retry_after))
