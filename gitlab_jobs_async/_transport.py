"""The one place that does HTTP: URL joining, auth headers, timeouts, retries, error mapping.

Strictly private: services call :class:`Transport`; users never see it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import attrs
from multidict import CIMultiDictProxy
from yarl import URL

from ._config import RetryPolicy
from ._errors import (
    APIError,
    RateLimited,
    RequestTimeout,
    ResponseError,
    ServerError,
    TransportError,
)
from ._protocol import error_for, redact_url

__all__ = ["Params", "Response", "Transport"]

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
        self._session: aiohttp.ClientSession | None = None

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
    ) -> Response:
        """Send a request, retrying what is safe, and return the read response.

        Raises the matching :class:`APIError` subclass for an error status and
        :class:`TransportError` when no answer came.
        """
        url = self.url(path)
        if params:
            url = url.extend_query(list(params))
        attempt = 0
        while True:
            attempt += 1
            try:
                async with self._budget:
                    return await self._send_once(method, url, json_body)
            except (APIError, TransportError) as exc:
                delay = self._retry_delay(method, exc, attempt)
                if delay is None:
                    raise
                log.info(
                    "retrying %s %s in %.2fs after %s (attempt %d of %d)",
                    method, redact_url(url), delay, type(exc).__name__, attempt,
                    self._retry.attempts,
                )
                await asyncio.sleep(delay)

    def _retry_delay(self, method: str, exc: Exception, attempt: int) -> float | None:
        policy = self._retry
        if attempt >= policy.attempts:
            return None
        if isinstance(exc, RateLimited):
            if exc.retry_after is not None:
                return exc.retry_after if exc.retry_after <= policy.max_retry_after else None
        elif isinstance(exc, ServerError):
            if method not in _IDEMPOTENT or exc.status not in _RETRY_STATUSES:
                return None
        elif isinstance(exc, TransportError):
            # A POST is retried only when the connection could not be opened: then nothing
            # was sent. Any later failure may have reached GitLab (PEERS.md §5 item 4).
            if method not in _IDEMPOTENT and not isinstance(
                exc.__cause__, aiohttp.ClientConnectorError
            ):
                return None
        else:
            return None
        backoff = min(policy.max_backoff, policy.backoff * 2.0 ** (attempt - 1))
        return backoff * (0.5 + random.random() / 2)

    async def _send_once(self, method: str, url: URL, json_body: Any) -> Response:
        shown = redact_url(url)
        try:
            for _ in range(_MAX_REDIRECTS + 1):
                async with self.session.request(
                    method,
                    url,
                    headers=self._headers,
                    json=json_body,
                    timeout=self._timeout,
                    allow_redirects=False,
                ) as resp:
                    body = await resp.read()
                    log.debug("%s %s -> %d (%d bytes)", method, shown, resp.status, len(body))
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
        shown = redact_url(url)
        try:
            async with self._budget:
                resp, shown = await self._open(method, url, dict(headers or {}))
            try:
                log.debug("%s %s -> %d (streamed)", method, shown, resp.status)
                if not 200 <= resp.status < 300:
                    body = await resp.read()
                    raise error_for(resp.status, resp.headers, body, method=method, url=shown)
                yield resp
            finally:
                resp.release()
        except TimeoutError as exc:
            raise RequestTimeout("GitLab did not answer in time", method=method, url=shown) from exc
        except aiohttp.ClientError as exc:
            raise TransportError(
                f"request failed: {type(exc).__name__}", method=method, url=shown
            ) from exc

    async def _open(
        self, method: str, url: URL, extra: dict[str, str]
    ) -> tuple[aiohttp.ClientResponse, str]:
        headers = {**self._headers, **extra}
        for _ in range(_MAX_REDIRECTS + 1):
            resp = await self.session.request(
                method, url, headers=headers, timeout=self._stream_timeout, allow_redirects=False
            )
            location = resp.headers.get("Location")
            if resp.status not in _REDIRECTS or not location:
                return resp, redact_url(url)
            resp.release()
            url = resp.url.join(URL(location, encoded=True))
            if url.origin() != self.base_url.origin():
                headers = {**self._public, **extra}  # never a token to another host
        raise TransportError("too many redirects", method=method, url=redact_url(url))
