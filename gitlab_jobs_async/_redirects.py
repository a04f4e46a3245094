"""Which redirect to follow, and with or without credentials: one pure decision. Strictly private.

GitLab redirects in two cases the SDK follows: a GET of a renamed project's old path (a 301
on the same origin), and an artifact download sent to object storage (a 302 to another
origin, with a signed URL). The rules:

* only GET and HEAD are followed; any other method gets the redirect as its answer;
* a redirect on the configured origin keeps the credentials, unless an earlier hop has left
  the origin already;
* a redirect to another origin is followed only where the caller allows it (streamed
  downloads), and never with credentials; otherwise the redirect is the answer;
* a ``Location`` that is not an http(s) URL with a host and a valid port is a
  :class:`ResponseError`, whatever the request.
"""

from __future__ import annotations

import attrs
from yarl import URL

from ._errors import ResponseError
from ._protocol import redact_url

__all__ = ["MAX_REDIRECTS", "REDIRECT_STATUSES", "Hop", "next_hop"]

MAX_REDIRECTS = 5
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_FOLLOWED_METHODS = frozenset({"GET", "HEAD"})


@attrs.frozen
class Hop:
    """A redirect to follow.

    Attributes:
        url: where to send the request next.
        credentials: whether it may carry the client's credentials (only on the configured
            origin, and only while no hop has left it).
    """

    url: URL
    credentials: bool


def next_hop(
    *,
    method: str,
    status: int,
    location: str | None,
    url: URL,
    origin: URL,
    credentials: bool,
    cross_origin: bool,
) -> Hop | None:
    """The redirect to follow after an answer, or ``None`` when the answer is final.

    Args:
        method: the request's method.
        status: the answer's status.
        location: its ``Location`` header, if any.
        url: the URL the answer came from (a relative ``Location`` is joined onto it).
        origin: the configured GitLab origin.
        credentials: whether the request that got this answer carried credentials.
        cross_origin: whether a redirect to another origin may be followed (without
            credentials); if not, such a redirect is the final answer.

    Raises:
        ResponseError: the ``Location`` is malformed or not an http(s) URL.
    """
    if status not in REDIRECT_STATUSES or method not in _FOLLOWED_METHODS or not location:
        return None
    target = _target(url, location, status=status, method=method)
    if target.origin() == origin:
        return Hop(target, credentials=credentials)
    return Hop(target, credentials=False) if cross_origin else None


def _target(url: URL, location: str, *, status: int, method: str) -> URL:
    """The absolute URL ``location`` names, checked before anything is sent there."""
    try:
        target = url.join(URL(location, encoded=True))
        valid = target.scheme in ("http", "https") and bool(target.host)
        valid = valid and target.port is not None and 0 < target.port < 65536
        if valid:
            target.origin()  # yarl refuses some hosts only here
    except (ValueError, TypeError):
        valid = False
    if not valid:
        # Not quoted: a Location can carry signed query parameters.
        raise ResponseError(
            "redirect to a malformed or non-HTTP Location",
            status=status,
            method=method,
            url=redact_url(url),
        )
    return target
