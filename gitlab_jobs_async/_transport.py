"""The one place that does HTTP: URL joining, auth headers, timeouts, retries, error mapping.

Strictly private: services call :class:`Transport`; users never see it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from ssl import SSLContext
from typing import Any

import aiohttp
import attrs
from multidict import CIMultiDictProxy
from yarl import URL

from ._config import RetryPolicy
from ._errors import (
    APIError,
    OutcomeUnknown,
    RateLimited,
    RequestTimeout,
    ResponseError,
    ServerError,
    TransportError,
)
from ._protocol import error_for, redact_url
from ._ratelimit import Pacer

__all__ = ["Params", "Response", "Transport", "body_chunks"]

log = logging.getLogger("gitlab_jobs_async")

try:  # the `speedups` extra: orjson parses GitLab's JSON about three times faster
    from orjson import loads as _loads
except ImportError:  # pragma: no cover - exercised when the extra is not installed
    _loads = json.loads  # type: ignore[assignment]

Params = Sequence[tuple[str, str]]

_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_IDEMPOTENT = frozenset({"GET", "HEAD"})
_MAX_REDIRECTS = 5
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


@attrs.frozen
class Response:
    """A fully read response. Strictly private."""

    status: int
    headers: CIMultiDictProxy[str]
    body: bytes
    method: str
    url: str

    def json(self) -> Any:
        """The body as JSON, or :class:`ResponseError` when it is not JSON."""
        try:
            return _loads(self.body)
        except ValueError as exc:  # orjson.JSONDecodeError is a ValueError too
            raise ResponseError(
                f"body is not valid JSON ({self.headers.get('Content-Type', 'no content type')})",
                status=self.status,
                method=self.method,
                url=self.url,
            ) from exc


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
        self._public = dict(headers)
        self._headers = {**headers, **credentials}
        self._timeout = timeout
        self._stream_timeout = attrs.evolve(timeout, total=None)
        self._retry = retry
        self._max_body = max_body_size
        self._ssl = ssl
        self.pacer = Pacer(per_minute=requests_per_minute, max_pause=retry.max_retry_after)
        self._session: aiohttp.ClientSession | None = None
        self._secret_names = ", ".join(f"{name}=<redacted>" for name in credentials)

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
        url = self.url(path)
        if params:
            url = url.extend_query(list(params))
        repeatable = method in _IDEMPOTENT if idempotent is None else idempotent
        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            try:
                await self.pacer.wait()
                async with self._budget:
                    return await self._send_once(method, url, json_body, attempt)
            except (APIError, TransportError) as exc:
                delay = self._retry_delay(repeatable, exc, attempt)
                if isinstance(exc, RateLimited) and delay is not None:
                    # Every task of the client waits too, rather than each hitting the wall.
                    self.pacer.pause(delay, "429 from GitLab")
                if delay is not None and time.monotonic() - started + delay > self._retry.timeout:
                    delay = None
                if delay is None:
                    if isinstance(exc, TransportError) and not repeatable and not _never_sent(exc):
                        raise OutcomeUnknown(
                            f"{exc.args[0].split(' (')[0]}; the request may have reached "
                            "GitLab, so it was not sent again: check the job's state",
                            method=method,
                            url=redact_url(url),
                        ) from exc
                    raise
                log.warning(
                    "retrying %s %s in %.2fs after %s (attempt %d of %d)",
                    method,
                    redact_url(url),
                    delay,
                    type(exc).__name__,
                    attempt,
                    self._retry.attempts,
                )
                await asyncio.sleep(delay)

    def _backoff(self, attempt: int) -> float:
        policy = self._retry
        backoff = min(policy.max_backoff, policy.backoff * 2.0 ** (attempt - 1))
        return backoff * (0.5 + random.random() / 2)

    def _retry_delay(self, repeatable: bool, exc: Exception, attempt: int) -> float | None:
        policy = self._retry
        if attempt >= policy.attempts:
            return None
        if isinstance(exc, RateLimited):
            # GitLab did not act on a 429, whatever the method.
            if exc.retry_after is not None:
                return exc.retry_after if exc.retry_after <= policy.max_retry_after else None
        elif isinstance(exc, ServerError):
            if not repeatable or exc.status not in _RETRY_STATUSES:
                return None
        elif isinstance(exc, TransportError):
            # Only a request that was never sent may be sent again when it is not repeatable
            # (PEERS.md §5 item 4).
            if not repeatable and not _never_sent(exc):
                return None
        else:
            return None
        return self._backoff(attempt)

    async def _send_once(self, method: str, url: URL, json_body: Any, attempt: int) -> Response:
        shown = redact_url(url)
        clock = time.monotonic()
        try:
            for _ in range(_MAX_REDIRECTS + 1):
                async with self.session.request(
                    method,
                    url,
                    headers=self._headers,
                    json=json_body,
                    timeout=self._timeout,
                    allow_redirects=False,
                    ssl=self._ssl,
                ) as resp:
                    body = await self._read(resp, method, shown)
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
                    self.pacer.observe(resp.headers)
                    target = self._same_origin_redirect(method, resp)
                    if target is None:
                        return self._check(Response(resp.status, resp.headers, body, method, shown))
                url, shown = target, redact_url(target)
        except TimeoutError as exc:
            raise RequestTimeout("GitLab did not answer in time", method=method, url=shown) from exc
        except aiohttp.ClientError as exc:
            raise TransportError(
                f"request failed: {type(exc).__name__}", method=method, url=shown
            ) from exc
        raise TransportError("too many redirects", method=method, url=shown)

    async def _read(self, resp: aiohttp.ClientResponse, method: str, shown: str) -> bytes:
        """The body, refusing one larger than the client's limit before it fills memory."""
        if (resp.content_length or 0) > self._max_body:
            raise _too_big(resp, method, shown, self._max_body)
        body = bytearray()
        async for chunk in resp.content.iter_any():
            body += chunk
            if len(body) > self._max_body:
                raise _too_big(resp, method, shown, self._max_body)
        return bytes(body)

    def _same_origin_redirect(self, method: str, resp: aiohttp.ClientResponse) -> URL | None:
        """A redirect we may follow: GET/HEAD, same scheme, host and port as the base URL.

        GitLab redirects GETs of a renamed project's old path (§1). A redirect elsewhere is not
        followed, so credentials never travel to another host.
        """
        if resp.status not in _REDIRECTS or method not in _IDEMPOTENT:
            return None
        location = resp.headers.get("Location")
        if not location:
            return None
        target = resp.url.join(URL(location, encoded=True))
        if target.origin() != self.base_url.origin():
            return None
        return target

    @staticmethod
    def _check(response: Response) -> Response:
        if 200 <= response.status < 300:
            return response
        raise error_for(
            response.status,
            response.headers,
            response.body,
            method=response.method,
            url=response.url,
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

        Redirects are followed (GitLab sends artifact downloads to object storage with a
        302), but credentials go only to the configured origin: once a redirect leaves it,
        the request carries no token. The client's budget is held until the response
        headers arrive, not while the caller reads the body at its own pace.
        """
        url = self.url(path)
        if params:
            url = url.extend_query(list(params))
        resp, shown = await self._open_with_retries(method, url, dict(headers or {}))
        try:
            yield resp
        except TimeoutError as exc:
            raise RequestTimeout("GitLab stopped sending", method=method, url=shown) from exc
        except aiohttp.ClientError as exc:
            # Bytes were delivered already: not retried, so nothing is repeated.
            raise TransportError(
                f"the answer broke off: {type(exc).__name__}", method=method, url=shown
            ) from exc
        finally:
            resp.release()

    async def _open_with_retries(
        self, method: str, url: URL, headers: dict[str, str]
    ) -> tuple[aiohttp.ClientResponse, str]:
        """Open a streamed response with a success status, retrying as :meth:`request` does
        until the first byte of the body is handed over."""
        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            shown = redact_url(url)
            try:
                await self.pacer.wait()
                async with self._budget:
                    try:
                        resp, shown = await self._open(method, url, headers)
                    except TimeoutError as exc:
                        raise RequestTimeout(
                            "GitLab did not answer in time", method=method, url=shown
                        ) from exc
                    except aiohttp.ClientError as exc:
                        raise TransportError(
                            f"request failed: {type(exc).__name__}", method=method, url=shown
                        ) from exc
                    self.pacer.observe(resp.headers)
                    log.debug(
                        "%s %s -> %d (streamed, attempt %d) [%s]",
                        method,
                        shown,
                        resp.status,
                        attempt,
                        self._secret_names,
                    )
                    if 200 <= resp.status < 300:
                        return resp, shown
                    try:
                        body = await resp.read()
                    finally:
                        resp.release()
                    raise error_for(resp.status, resp.headers, body, method=method, url=shown)
            except (APIError, TransportError) as exc:
                delay = self._retry_delay(method in _IDEMPOTENT, exc, attempt)
                if delay is not None and time.monotonic() - started + delay > self._retry.timeout:
                    delay = None
                if delay is None:
                    raise
                if isinstance(exc, RateLimited):
                    self.pacer.pause(delay, "429 from GitLab")
                log.warning(
                    "retrying %s %s in %.2fs after %s (attempt %d of %d)",
                    method,
                    shown,
                    delay,
                    type(exc).__name__,
                    attempt,
                    self._retry.attempts,
                )
                await asyncio.sleep(delay)

    async def _open(
        self, method: str, url: URL, extra: dict[str, str]
    ) -> tuple[aiohttp.ClientResponse, str]:
        headers = {**self._headers, **extra}
        for _ in range(_MAX_REDIRECTS + 1):
            resp = await self.session.request(
                method,
                url,
                headers=headers,
                timeout=self._stream_timeout,
                allow_redirects=False,
                ssl=self._ssl,
            )
            location = resp.headers.get("Location")
            if resp.status not in _REDIRECTS or not location:
                return resp, redact_url(url)
            resp.release()
            url = resp.url.join(URL(location, encoded=True))
            if url.origin() != self.base_url.origin():
                headers = {**self._public, **extra}  # never a token to another host
        raise TransportError("too many redirects", method=method, url=redact_url(url))


def _never_sent(exc: BaseException) -> bool:
    """Whether the failure happened before any byte of the request left: then it is safe to
    send it again, whatever it was."""
    cause = exc.__cause__
    return isinstance(cause, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError)


def _too_big(resp: aiohttp.ClientResponse, method: str, shown: str, limit: int) -> ResponseError:
    return ResponseError(
        f"body larger than the client's max_body_size of {limit} bytes",
        status=resp.status,
        method=method,
        url=shown,
    )


async def body_chunks(
    response: aiohttp.ClientResponse, chunk_size: int
) -> AsyncGenerator[bytes, None]:
    """A response body as chunks of at most ``chunk_size`` bytes, as they arrive.

    Reads whatever the connection has buffered (``iter_any``) and cuts it, which is markedly
    faster than ``iter_chunked`` on large bodies (benchmarks/README.md).
    """
    async for data in response.content.iter_any():
        if len(data) <= chunk_size:
            yield data
        else:
            for start in range(0, len(data), chunk_size):
                yield data[start : start + chunk_size]
