"""Which events were already received: a pluggable store of idempotency keys.

GitLab sends one ``Idempotency-Key`` per event and keeps it when a delivery is resent (by
hand from the hook's "Recent events", or through the API); ``X-Gitlab-Webhook-UUID`` changes
on every attempt and cannot tell a resend from a new event (GitLab's webhook docs, "Delivery
headers"). The receiver records each key it accepts; a key it has seen is a duplicate.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol, runtime_checkable

__all__ = ["IdempotencyStore", "MemoryIdempotencyStore"]


@runtime_checkable
class IdempotencyStore(Protocol):
    """Where a receiver records the idempotency keys it accepted.

    Implement it over a shared store (Redis ``SET key 1 NX EX ttl``, a database row with a
    unique key) to de-duplicate across several receiver processes.
    """

    async def add(self, key: str) -> bool:
        """Record ``key``; ``True`` if it is new, ``False`` if it was seen within the window.

        Must be atomic: two concurrent calls with one key return ``True`` once.
        """
        ...

    async def discard(self, key: str) -> None:
        """Forget ``key`` (the event it stood for was not taken after all)."""
        ...


class MemoryIdempotencyStore:
    """An in-process :class:`IdempotencyStore`: bounded in size and in time.

    A key is remembered for ``ttl`` seconds from when it was first added, and at most
    ``max_keys`` keys are kept (the oldest are forgotten first): about 100 bytes a key.

    Args:
        max_keys: how many keys to keep at most (default 100,000).
        ttl: seconds a key is remembered (default 24 hours: GitLab re-enables a disabled hook
            within a day, and resends are by hand).
        clock: monotonic seconds, for tests (default :func:`time.monotonic`).

    Raises:
        ValueError: for a ``max_keys`` below 1 or a ``ttl`` that is not positive.
    """

    def __init__(
        self,
        *,
        max_keys: int = 100_000,
        ttl: float = 24 * 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_keys < 1 or max_keys != int(max_keys):
            raise ValueError(f"max_keys must be a positive int, got {max_keys!r}")
        if not ttl > 0:
            raise ValueError(f"ttl must be a positive number of seconds, got {ttl!r}")
        self._max = max_keys
        self._ttl = float(ttl)
        self._clock = clock
        # Keys in the order added, with when each expires: with one ttl, that order is also
        # the order of expiry, so expired keys are always at the front.
        self._expiry: OrderedDict[str, float] = OrderedDict()

    def __len__(self) -> int:
        return len(self._expiry)

    def __repr__(self) -> str:
        return f"MemoryIdempotencyStore({len(self)} of {self._max} keys, ttl={self._ttl:g} s)"

    def _forget_expired(self, now: float) -> None:
        while self._expiry:
            key, expires = next(iter(self._expiry.items()))
            if expires > now:
                return
            del self._expiry[key]

    async def add(self, key: str) -> bool:
        """Record ``key``; ``True`` if new, ``False`` if seen within ``ttl`` (see the protocol)."""
        now = self._clock()
        self._forget_expired(now)
        if key in self._expiry:
            return False
        self._expiry[key] = now + self._ttl
        if len(self._expiry) > self._max:
            self._expiry.popitem(last=False)
        return True

    async def discard(self, key: str) -> None:
        """Forget ``key``."""
        self._expiry.pop(key, None)
