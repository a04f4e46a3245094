"""GitLab's two kinds of rate limit, for the fake (§6; issue 11).

- :class:`Throttle` is a Rack::Attack throttle (``lib/gitlab/rack_attack.rb``): it sits in
  front of everything, counts every matching request in fixed windows (throttled ones
  included), and answers ``429 text/plain`` "Retry later" with ``RateLimit-*`` and
  ``Retry-After``. Newer GitLab also sends ``RateLimit-*`` on every answer it counted.
- :class:`EndpointLimit` is an application limit (``check_rate_limit!``,
  ``lib/gitlab/application_rate_limiter.rb``) such as ``jobs_index``: checked by the
  endpoint after authentication and parameter validation, it answers a JSON 429
  ``{"message":{"error":...}}`` with ``Retry-After`` = the whole period (newer GitLab) or
  none (older), and never shows in ``RateLimit-*``.

Both count in fixed windows aligned on Unix time (``now // period``), in whole seconds as
GitLab does, and throttle when the count goes *over* the limit.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection
from email.utils import formatdate
from typing import Literal

import attrs

__all__ = [
    "Counters",
    "EndpointLimit",
    "HeaderMode",
    "Hit",
    "JOBS_INDEX_PATH",
    "Limit",
    "PresetName",
    "Throttle",
    "preset",
    "throttle_headers",
]

HeaderMode = Literal["every_answer", "on_429", "never"]
"""Where a throttle sends ``RateLimit-*``: newer GitLab on every answer it counted,
older GitLab only on its 429, a proxy that strips them nowhere."""
PresetName = Literal["gitlab.com", "off"]

JOBS_INDEX_PATH = r"^/api/v4/projects/[^/]+/jobs/?$"
"""``GET /projects/:id/jobs``, the endpoint ``jobs_index`` limits."""
RETRY_LATER = "Retry later\n"
TOO_MANY = "This endpoint has been requested too many times. Try again later."


def _methods(value: Collection[str] | None) -> frozenset[str] | None:
    return None if value is None else frozenset(m.upper() for m in value)


@attrs.define(kw_only=True)
class _Limit:
    name: str
    limit: int
    """Requests allowed per window; the next one is throttled."""
    period: int = 60
    """The window in whole seconds."""
    path: str = r"^/api/"
    """A regular expression searched in the raw request path."""
    methods: frozenset[str] | None = attrs.field(default=None, converter=_methods)
    """The methods counted (``None``: all)."""

    def __attrs_post_init__(self) -> None:
        if self.limit < 0 or self.period < 1:
            raise ValueError(f"rate limit {self.name!r}: limit >= 0 and period >= 1 second")
        re.compile(self.path)

    def applies(self, method: str, path: str) -> bool:
        """Whether a request with ``method`` and raw ``path`` counts against this limit."""
        return (self.methods is None or method in self.methods) and bool(re.search(self.path, path))


@attrs.define(kw_only=True)
class Throttle(_Limit):
    """A Rack::Attack throttle: GitLab.com's is 2,000 authenticated API requests a minute.

    Args:
        name: ``RateLimit-Name``, e.g. ``throttle_authenticated_api``.
        limit: requests per ``period`` seconds.
        period: the fixed window, in whole seconds (tests use short ones, e.g. 2).
        path: which raw paths count (a regular expression; default the whole API).
        methods: which methods count (default all).
        who: ``authenticated`` counts requests carrying a known token, per user;
            ``unauthenticated`` the others, per client IP.
        headers: where ``RateLimit-*`` is sent (:data:`HeaderMode`).
    """

    name: str = "throttle_authenticated_api"
    limit: int = 2000
    who: Literal["authenticated", "unauthenticated"] = "authenticated"
    headers: HeaderMode = "every_answer"


@attrs.define(kw_only=True)
class EndpointLimit(_Limit):
    """An application limit such as ``jobs_index`` (600 a minute per user by default).

    Args:
        name: the limit's key (never sent to clients).
        limit: requests per ``period`` seconds, per user.
        period: the fixed window, in whole seconds.
        path: which raw paths count (default the project jobs list).
        methods: which methods count (default GET and HEAD).
        retry_after: send ``Retry-After: <period>`` on the 429, as newer GitLab does;
            older GitLab sends none.
    """

    name: str = "jobs_index"
    limit: int = 600
    path: str = JOBS_INDEX_PATH
    methods: frozenset[str] | None = attrs.field(
        default=frozenset({"GET", "HEAD"}), converter=_methods
    )
    retry_after: bool = True


Limit = Throttle | EndpointLimit


def preset(name: PresetName) -> list[Limit]:
    """GitLab.com's published limits, or self-managed GitLab's default (none).

    ``gitlab.com``: 2,000 authenticated API requests a minute per user, 500
    unauthenticated a minute per IP, and ``jobs_index`` at 600 a minute per user.
    """
    if name == "off":
        return []
    if name == "gitlab.com":
        return [
            Throttle(),
            Throttle(name="throttle_unauthenticated_api", limit=500, who="unauthenticated"),
            EndpointLimit(),
        ]
    raise ValueError(f"unknown rate-limit preset {name!r} (gitlab.com or off)")


@attrs.frozen
class Hit:
    """One request counted against a limit, at whole second ``now``."""

    limit: int
    period: int
    count: int
    now: int

    @property
    def throttled(self) -> bool:
        return self.count > self.limit

    @property
    def retry_after(self) -> int:
        """Seconds to the end of the fixed window: ``period - now % period``."""
        return self.period - self.now % self.period


@attrs.define
class Counters:
    """Request counts per (limit, discriminator) in the current window of each."""

    _windows: dict[tuple[str, str], tuple[int, int]] = attrs.Factory(dict)

    def hit(self, limit: Throttle | EndpointLimit, key: str, now: float) -> Hit:
        """Count one request by ``key`` (a user or an IP) against ``limit`` at ``now``."""
        second = math.floor(now)
        window = second // limit.period
        slot = (limit.name, key)
        seen_window, count = self._windows.get(slot, (window, 0))
        count = count + 1 if seen_window == window else 1
        self._windows[slot] = (window, count)
        return Hit(limit.limit, limit.period, count, second)

    def clear(self) -> None:
        """Forget every count (a new window for everyone)."""
        self._windows.clear()


def throttle_headers(name: str, hit: Hit, *, throttled: bool) -> dict[str, str]:
    """Rack::Attack's headers: ``RateLimit-Limit`` scaled to 60 s and rounded up,
    ``RateLimit-Remaining`` against the unscaled limit; ``RateLimit-ResetTime`` and
    ``Retry-After`` only on the 429."""
    reset = hit.now + hit.retry_after
    headers = {
        "RateLimit-Name": name,
        "RateLimit-Limit": str(math.ceil(hit.limit * 60 / hit.period)),
        "RateLimit-Observed": str(hit.count),
        "RateLimit-Remaining": str(max(hit.limit - hit.count, 0)),
        "RateLimit-Reset": str(reset),
    }
    if throttled:
        headers["RateLimit-ResetTime"] = formatdate(reset, usegmt=True)
        headers["Retry-After"] = str(hit.retry_after)
    return headers
