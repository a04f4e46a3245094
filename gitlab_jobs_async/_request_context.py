"""Extra headers for the API requests made in the current context, such as a webhook handler's.

GitLab stops webhook loops by *recursion detection*: a hook delivery carries
``X-Gitlab-Event-UUID``, and an API request that sends the same header back is known to be
caused by that event, so the hooks it would fire in turn can be recognised and cut off
(GitLab's ``lib/gitlab/web_hooks/recursion_detection.rb`` and its webhook docs). The webhook
receiver sets that header with :func:`request_headers` around each handler; the transport
adds :func:`extra_headers` to every request it sends. A context variable carries them, so
tasks a handler starts (which copy its context) carry them too, and concurrent handlers
never see each other's.

Strictly private. The transport adds these under its own headers: they never replace the
client's credentials or ``User-Agent``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from types import MappingProxyType

__all__ = ["extra_headers", "request_headers"]

_NONE: Mapping[str, str] = MappingProxyType({})
_extra: ContextVar[Mapping[str, str]] = ContextVar("gitlab_jobs_async_extra_headers", default=_NONE)


def extra_headers() -> Mapping[str, str]:
    """The headers every API request sent in the current context must also carry (often none)."""
    return _extra.get()


def _check(name: str, value: str) -> None:
    for part in (name, value):
        if not isinstance(part, str):
            raise TypeError(f"header names and values must be str, not {type(part).__name__}")
        if any(c in part for c in "\r\n\0"):
            raise ValueError(f"header {name!r} contains a line break or NUL")
    if not name or not name.isascii() or any(c in name for c in " :\t"):
        raise ValueError(f"{name!r} is not a header name")


@contextmanager
def request_headers(headers: Mapping[str, str]) -> Iterator[None]:
    """Add ``headers`` to every API request sent inside the ``with`` block (and its tasks).

    Nested blocks add to the outer ones; a name given again replaces the outer value.

    Raises:
        ValueError: for a name or value that cannot be an HTTP header.
        TypeError: for a name or value that is not a ``str``.
    """
    for name, value in headers.items():
        _check(name, value)
    token = _extra.set(MappingProxyType({**_extra.get(), **headers}))
    try:
        yield
    finally:
        _extra.reset(token)
