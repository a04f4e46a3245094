"""The fake GitLab's knobs: how it behaves where GitLab installations differ.

Kept apart from the store (what exists) and the observations (what happened), so a test
can read at a glance how a fake was configured, and change it at runtime.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

import attrs

from ._ratelimits import Limit

__all__ = ["Clock", "Knobs", "LogRanges", "ManualClock"]

Clock = Callable[[], float]
"""Unix time in seconds, as ``time.time`` gives it; the fake's rate-limit windows use it."""

LogRanges = Literal["archived", "always", "never"]
"""How the log endpoint treats ``Range``: ``archived`` as newer GitLab (finished jobs'
archived logs are served with byte ranges, running jobs' live logs whole), ``never`` as
older GitLab (always the whole log), ``always`` for running logs too (no GitLab does it;
benchmarks of a client's use of 206)."""


@attrs.define
class ManualClock:
    """A clock that moves only when told: rate-limit windows in tests without sleeping.

    Args:
        now: the starting Unix time (default: the start of a minute, so windows of any
            period that divides 60 begin at it).
    """

    now: float = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds``."""
        self.now += seconds


@attrs.define
class Knobs:
    """Every setting of a fake GitLab, all changeable at runtime."""

    latency: float = 0.0
    """Seconds added before every answer (benchmarks)."""
    enforce_offset_limit: bool = False
    """GitLab's flag-gated offset cap on the project jobs list (§5.2): 405 past it."""
    offset_limit: int = 50_000
    max_count: int = 10_000
    """Lists with more rows than this send no totals (§5.1)."""
    log_ranges: LogRanges = "archived"
    object_storage: bool = False
    """Send artifact archive downloads to the storage origin with a 302, as GitLab does
    with object storage."""
    rate_limits: list[Limit] = attrs.Factory(list)
    """Rate limits in force (see :mod:`._ratelimits`); empty: none, as self-managed
    GitLab by default."""
    clock: Clock = time.time
    """What the rate limits count windows by."""
