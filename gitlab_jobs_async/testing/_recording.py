"""What the fake GitLab records of each request, and the faults tests can script."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import attrs
from multidict import CIMultiDict, CIMultiDictProxy

__all__ = ["Fault", "Outcome", "RecordedRequest", "frozen_headers"]


def frozen_headers(headers: Mapping[str, str]) -> CIMultiDictProxy[str]:
    """A read-only, case-insensitive copy of ``headers``."""
    return CIMultiDictProxy(CIMultiDict(headers))


@attrs.define(eq=False)
class Outcome:
    """How the fake answered a request; filled in after the request was recorded."""

    status: int | None = None
    cancelled: bool = False
    response_bytes: int = 0


@attrs.frozen
class RecordedRequest:
    """One request the fake received, as it arrived.

    ``path`` is the raw, undecoded path (``%2F`` stays ``%2F``), without the query;
    ``query`` holds the decoded query pairs in order; ``headers`` is a case-insensitive,
    read-only copy of the request headers; ``body`` the raw body.

    Equality compares those five fields. :attr:`status`, :attr:`cancelled` and
    :attr:`response_bytes` tell how the fake answered (``None``/``False``/``0`` while the
    request is in progress).
    """

    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    headers: Mapping[str, str] = attrs.field(converter=frozen_headers, hash=False)
    body: bytes = b""
    at: float = attrs.field(default=0.0, eq=False)
    """When it arrived (``time.monotonic()``)."""
    peer: int = attrs.field(default=0, eq=False)
    """The client's source port: one per connection, so reuse shows as repeats."""
    outcome: Outcome = attrs.field(factory=Outcome, eq=False, repr=False)

    @property
    def status(self) -> int | None:
        """The status of the answer; ``None`` while in progress or when none was sent."""
        return self.outcome.status

    @property
    def cancelled(self) -> bool:
        """The client went away before the answer was sent."""
        return self.outcome.cancelled

    @property
    def response_bytes(self) -> int:
        """Body bytes of the answer (for benchmarks of what a client downloads)."""
        return self.outcome.response_bytes

    def param(self, name: str) -> str | None:
        """The first value of query parameter ``name``."""
        return next((v for k, v in self.query if k == name), None)


@attrs.define(eq=False)
class Fault:
    """A scripted misbehaviour for requests that ``match``.

    Args:
        match: which requests (a predicate over :class:`RecordedRequest`).
        delay: seconds to wait before handling.
        status: answer with this status and ``body`` instead of handling the request.
        body: the JSON (dict/list) or text body of that answer.
        headers: extra headers of that answer.
        times: how many matching requests it applies to (``None``: all).
        after: a callable run after the request was handled (e.g. to add jobs).
        behaviour: a transport-level fault instead of a status:
            ``"reset"`` closes the connection before handling the request;
            ``"reset_mid_body"`` handles it, sends half the answer and closes;
            ``"truncate"`` handles it and sends a complete answer of half the body;
            ``"drip"`` handles it and sends the body in small, slow pieces;
            ``"redirect"`` answers 302 to :attr:`FakeGitLab.storage_url` (a second origin
            that records what it receives) without handling the request.
    """

    match: Callable[[RecordedRequest], bool]
    delay: float = 0.0
    status: int | None = None
    body: Any = None
    headers: dict[str, str] = attrs.Factory(dict)
    times: int | None = 1
    after: Callable[[], None] | None = None
    behaviour: str | None = None
    hits: int = 0
