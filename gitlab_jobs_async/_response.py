"""Reading answers: the read JSON response, a size-limited read, and chunked bodies.

Strictly private; :mod:`._transport` opens the connections these read.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

import aiohttp
import attrs
from multidict import CIMultiDictProxy

from ._errors import ResponseError
from ._failures import raise_clean, transport_error
from ._json import loads
from ._protocol import redact_url

__all__ = ["Response", "body_chunks", "read_limited"]


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
            return loads(self.body)  # one JSON behaviour, with or without orjson
        except ValueError as exc:
            raise ResponseError(
                f"body is not valid JSON ({self.headers.get('Content-Type', 'no content type')})",
                status=self.status,
                method=self.method,
                url=self.url,
            ) from exc


async def read_limited(resp: aiohttp.ClientResponse, limit: int, *, method: str, url: str) -> bytes:
    """The whole body, refusing one larger than ``limit`` bytes before it fills memory.

    Raises:
        ResponseError: the body is larger than ``limit``.
    """
    if (resp.content_length or 0) > limit:
        raise _too_big(resp, method, url, limit)
    body = bytearray()
    async for chunk in resp.content.iter_any():
        body += chunk
        if len(body) > limit:
            raise _too_big(resp, method, url, limit)
    return bytes(body)


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
    faster than ``iter_chunked`` on large bodies (benchmarks/README.md). A body that breaks
    off or stalls raises :class:`TransportError` or :class:`RequestTimeout`, with no aiohttp
    exception chained; it is not read again, so nothing is repeated.
    """
    try:
        async for data in response.content.iter_any():
            if len(data) <= chunk_size:
                yield data
            else:
                for start in range(0, len(data), chunk_size):
                    yield data[start : start + chunk_size]
    except (TimeoutError, aiohttp.ClientError) as exc:
        shown = redact_url(response.url)
        error, _ = transport_error(exc, method=response.method, url=shown, answered=True)
    else:
        return
    raise_clean(error)
