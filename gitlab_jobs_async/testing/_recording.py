"""What the fake GitLab records of each request, and what it observed overall."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

import attrs
from multidict import CIMultiDict, CIMultiDictProxy

__all__ = ["Observations", "Outcome", "RecordedRequest", "frozen_headers"]


def frozen_headers(headers: Mapping[str, str]) -> CIMultiDictProxy[str]:
    """A read-only, case-insensitive copy of ``headers``."""
    return CIMultiDictProxy(CIMultiDict(headers))


@attrs.define(eq=False)
class Outcome:
    """How the fake answered a request; filled in after the request was recorded."""

    status: int | None = None
    cancelled: bool = False
    response_bytes: int = 0
    limited_by: str | None = None
    """The rate limit that answered 429, if one did."""


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

    @property
    def limited_by(self) -> str | None:
        """The name of the rate limit that answered it with a 429, if one did."""
        return self.outcome.limited_by

    def param(self, name: str) -> str | None:
        """The first value of query parameter ``name``."""
        return next((v for k, v in self.query if k == name), None)


@attrs.define(eq=False)
class Observations:
    """What the fake saw and did, kept apart from its state and its knobs."""

    requests: list[RecordedRequest] = attrs.Factory(list)
    """Every request to the API origin, in order."""
    storage_requests: list[RecordedRequest] = attrs.Factory(list)
    """Every request to the object-storage origin, in order."""
    in_flight: int = 0
    """Requests being answered right now."""
    peak_in_flight: int = 0
    """The most requests answered at once since start (or since reset to 0)."""
    actions: Counter[str] = attrs.Factory(Counter)
    """How many times each job action (cancel, retry, erase, play) changed state."""
    rate_limited: Counter[str] = attrs.Factory(Counter)
    """How many requests each rate limit answered with a 429, by the limit's name."""
