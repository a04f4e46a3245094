"""aiohttp's failures as the SDK's typed errors, with nothing secret attached. Strictly private.

aiohttp's exceptions can hold the request they failed on: a ``ClientResponseError`` for a
malformed answer (a header over 8 KiB, a bad status line) carries ``request_info.headers``,
credentials included, and so does everything chained to it. So an aiohttp exception never
becomes the ``__cause__`` or ``__context__`` of an error the SDK raises: the error is made
outside the ``except`` block and :attr:`~gitlab_jobs_async.TransportError.reason` names
what failed instead, with any credential value scrubbed from aiohttp's own wording.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import NoReturn

import aiohttp

from ._errors import RequestTimeout, TransportError

__all__ = ["raise_clean", "transport_error"]

_DETAILED = (
    aiohttp.ClientConnectorError,  # host, port and the OS error: no request data
    aiohttp.ClientOSError,
    aiohttp.ServerDisconnectedError,
    aiohttp.ClientPayloadError,
)
_MAX_REASON = 200


def transport_error(
    exc: BaseException,
    *,
    method: str,
    url: str,
    answered: bool = False,
    secrets: Collection[str] | None = None,
) -> tuple[TransportError, bool]:
    """The typed error for a timeout or an ``aiohttp.ClientError``, and whether it was sent.

    Args:
        exc: the ``TimeoutError`` or ``aiohttp.ClientError`` caught.
        method: the request's method.
        url: the request URL, already without credentials.
        answered: whether the response's headers had arrived (the body broke off).
        secrets: the credential values to scrub from aiohttp's wording; ``None`` to give the
            exception's type only.

    Returns:
        The error to raise, and ``False`` only when the request provably never left (the
        connection could not be opened), so that even an unsafe request may be sent again.
    """
    if isinstance(exc, TimeoutError):
        sent = not isinstance(exc, aiohttp.ConnectionTimeoutError)
        reason = "GitLab stopped sending" if answered else "GitLab did not answer in time"
        return RequestTimeout(reason, method=method, url=url), sent
    sent = not isinstance(exc, aiohttp.ClientConnectorError)
    what = "the answer broke off" if answered else "request failed"
    return TransportError(f"{what}: {_reason(exc, secrets)}", method=method, url=url), sent


def _reason(exc: BaseException, secrets: Collection[str] | None) -> str:
    name = type(exc).__name__
    if secrets is None:
        return name
    if isinstance(exc, aiohttp.ClientResponseError):
        detail = exc.message  # the parser's wording, without the URL or the request
    elif isinstance(exc, _DETAILED):
        detail = str(exc)
    else:
        return name  # e.g. InvalidURL, whose text is a URL that may be signed
    for secret in secrets:
        if secret:
            detail = detail.replace(secret, "<redacted>")
    detail = " ".join(detail.split())[:_MAX_REASON]
    return f"{name} ({detail})" if detail else name


def raise_clean(error: BaseException) -> NoReturn:
    """Raise ``error`` with no ``__context__``, even inside an ``except`` block.

    Python chains the exception being handled to one raised meanwhile; a context manager's
    exit runs while the caller's aiohttp exception is being handled, so a plain ``raise``
    there would chain it. Clearing the context and re-raising keeps it cleared.
    """
    try:
        raise error
    except BaseException as raised:
        raised.__context__ = None
        raise
