"""aiohttp's failures as the SDK's typed errors: the one mapping. Strictly private."""

from __future__ import annotations

import aiohttp

from ._errors import RequestTimeout, TransportError

__all__ = ["transport_error"]


def transport_error(
    exc: BaseException, *, method: str, url: str, answered: bool = False
) -> tuple[TransportError, bool]:
    """The typed error for a timeout or an ``aiohttp.ClientError``, and whether it was sent.

    Args:
        exc: the ``TimeoutError`` or ``aiohttp.ClientError`` caught.
        method: the request's method.
        url: the request URL, already without credentials.
        answered: whether the response's headers had arrived (the body broke off).

    Returns:
        The error to raise, and ``False`` only when the request provably never left (the
        connection could not be opened), so that even an unsafe request may be sent again.
    """
    error: TransportError
    if isinstance(exc, TimeoutError):
        sent = not isinstance(exc, aiohttp.ConnectionTimeoutError)
        reason = "GitLab stopped sending" if answered else "GitLab did not answer in time"
        error = RequestTimeout(reason, method=method, url=url)
    else:
        sent = not isinstance(exc, aiohttp.ClientConnectorError)
        what = "the answer broke off" if answered else "request failed"
        error = TransportError(f"{what}: {type(exc).__name__}", method=method, url=url)
    error.__cause__ = exc
    return error, sent
