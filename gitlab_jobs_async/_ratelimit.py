"""One client-wide pace: GitLab's rate-limit headers, a pause for every task on 429, and an
optional requests-per-minute budget. Strictly private, apart from :class:`RateLimit`.

GitLab sends ``RateLimit-Limit``/``-Remaining``/``-Reset``/``-Name`` with Rack::Attack 429s
and, on newer versions, on every response (SERVER-BEHAVIOUR.md §6.1). Application limits
(the jobs list: 600 per minute per user) are invisible there and only show as a 429.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime

import attrs

from ._protocol import header_int as _int

__all__ = ["Pacer", "RateLimit"]

log = logging.getLogger("gitlab_jobs_async")

_LAST_RESET = 32_503_680_000
"""3000-01-01 in Unix seconds. A ``RateLimit-Reset`` beyond it is not Unix seconds (some
gateways send milliseconds) and is ignored rather than scaled: a guess at the unit could
pause the whole client for the wrong time."""


@attrs.frozen(kw_only=True)
class RateLimit:
    """GitLab's rate-limit view, from the ``RateLimit-*`` headers of the last response with them."""

    name: str | None
    """Which throttle, e.g. ``throttle_authenticated_api``."""
    limit: int | None
    """Requests allowed per minute."""
    remaining: int | None
    reset: datetime | None
    """When the window resets (``None`` when absent or not Unix seconds)."""

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> RateLimit | None:
        """The view in ``headers``, or ``None`` when they carry no ``RateLimit-*`` header.

        Never raises: a value that is not a number GitLab would send reads as ``None``.
        """
        limit, remaining = _int(headers, "RateLimit-Limit"), _int(headers, "RateLimit-Remaining")
        reset = _int(headers, "RateLimit-Reset")
        if reset is not None and reset > _LAST_RESET:
            reset = None
        if limit is None and remaining is None and reset is None:
            return None
        return cls(
            name=headers.get("RateLimit-Name") or None,
            limit=limit,
            remaining=remaining,
            reset=datetime.fromtimestamp(reset, tz=UTC) if reset is not None else None,
        )


class Pacer:
    """When the next request of the client may start. Strictly private.

    * after a 429, or a response saying ``RateLimit-Remaining: 0``, every task of the client
      waits until GitLab's reset, instead of each hammering on its own;
    * with ``per_minute``, requests are spaced at most that many a minute.
    """

    def __init__(self, *, per_minute: float | None, max_pause: float) -> None:
        self._interval = 60.0 / per_minute if per_minute else 0.0
        self._max_pause = max_pause
        self._resume_at = 0.0
        self._next_slot = 0.0
        self.rate_limit: RateLimit | None = None
        # Tests replace these with a virtual clock, so that no test waits for real.
        self._clock: Callable[[], float] = time.monotonic
        self._sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

    async def wait(self) -> None:
        """Wait for this request's turn."""
        now = self._clock()
        start = max(now, self._resume_at, self._next_slot)
        if self._interval:
            self._next_slot = start + self._interval
        if start > now:
            await self._sleep(start - now)

    def pause(self, seconds: float, why: str) -> None:
        """Hold every request of the client for ``seconds`` (capped by the retry policy)."""
        seconds = min(seconds, self._max_pause)
        resume = self._clock() + seconds
        if resume > self._resume_at:
            self._resume_at = resume
            log.warning("pausing all requests for %.1fs: %s", seconds, why)

    def observe(self, headers: Mapping[str, str]) -> None:
        """Read the rate-limit headers of a response; slow down before hitting the wall."""
        view = RateLimit.from_headers(headers)
        if view is None:
            return
        self.rate_limit = view
        if view.remaining == 0 and view.reset is not None:
            wait = (view.reset - datetime.now(UTC)).total_seconds()
            if wait > 0:
                self.pause(wait, f"RateLimit-Remaining is 0 ({view.name or 'rate limit'})")
