"""Reconciliation: the job events webhooks missed, found by polling, none handled twice.

GitLab never redelivers a hook by itself, disables a hook that fails four times in a row, and
on GitLab.com drops hooks over a namespace's rate limit without a trace; a receiver whose
queue is full drops events too. A :class:`Reconciler` watches the same projects through the
REST API (:meth:`~gitlab_jobs_async.ProjectJobs.watch_many`) and hands on only what the hooks
did not deliver.

Both sources meet in one store of ``(job id, status)`` keys: a delivered job event claims its
key (:meth:`Reconciler.claim`), and an event found by polling is handed on only if its key was
not claimed yet. So whichever comes first is handled and the other is a duplicate, whatever
the order: a hook late behind the poll is refused as well. The same key also catches one
event sent twice under two idempotency keys.

What polling cannot give back: a status a job passed through between two polls (pending,
then running, then failed, shows as failed), the delivery headers (``delivery_id``,
``idempotency_key`` and ``event_uuid`` are ``None`` on events found by polling), and the
fields the REST API lacks (``retries_count``, ``environment``, ...). Pipeline events are not
reconciled. The first poll is a baseline: what happened before the reconciler started is
not reported.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Callable, Iterable
from contextlib import aclosing
from typing import TYPE_CHECKING

from .. import _checks as checks
from .._services._watching import Clock, Sleep, watch_options
from .._watch import Recheck
from ._dedupe import IdempotencyStore, MemoryIdempotencyStore
from ._models import JobEvent

if TYPE_CHECKING:
    from .._client import GitLab

__all__ = ["Reconciler"]

log = logging.getLogger("gitlab_jobs_async.webhooks")


def _key(event: JobEvent) -> str:
    return f"job:{event.job_id}:{event.status}"


class Reconciler:
    """Polls projects for the job events their webhooks missed.

    Give it to :func:`webhook_app` (``reconcile=Reconciler([...])``), or use it with any web
    framework: call :meth:`claim` for each job event a hook delivers (and handle the event
    only if it returns ``True``), and run :meth:`missed` in a task.

    Args:
        projects: the projects whose hooks are reconciled (ids or full paths).
        poll: seconds between polls (default 60: a missed event is found within a minute or
            so; each poll of a quiet project is one request).
        store: where claimed keys are kept (default a :class:`MemoryIdempotencyStore` of 24
            hours); a shared store de-duplicates across several receivers.
        per_page: the page size of the list reads (default: the client's).
        recheck: how unfinished jobs are rechecked (see ``ProjectJobs.watch``).
        retention: seconds a finished job is remembered by the watcher (default 3600).
        sleep: the coroutine that waits between polls (default ``asyncio.sleep``).
        clock: monotonic seconds (default ``time.monotonic``).

    Raises:
        ValueError, TypeError: for bad arguments.
    """

    def __init__(
        self,
        projects: Iterable[int | str],
        *,
        poll: float = 60.0,
        store: IdempotencyStore | None = None,
        per_page: int | None = None,
        recheck: Recheck = "auto",
        retention: float = 3600.0,
        sleep: Sleep | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.projects = checks.projects(projects)
        if not self.projects:
            raise ValueError("a Reconciler needs at least one project")
        if store is not None and not isinstance(store, IdempotencyStore):
            raise TypeError(f"store must be an IdempotencyStore, not {type(store).__name__}")
        # Checked now, as watch_many() will check them (the page size: the client's default).
        watch_options(poll=poll, status=None, per_page=100 if per_page is None else per_page,
                      existing="none", retention=retention, max_tracked=10_000,
                      recheck=recheck, sleep=sleep, clock=clock)  # fmt: skip
        self.poll = float(poll)
        self._per_page, self._recheck, self._retention = per_page, recheck, retention
        self._sleep, self._clock = sleep, clock
        self.store: IdempotencyStore = store if store is not None else MemoryIdempotencyStore()
        self.delivered = 0
        """Job events claimed by hook deliveries."""
        self.found = 0
        """Job events the hooks missed, found by polling."""
        self.duplicates = 0
        """Events refused because the other source (or the same one) had them already."""

    def __repr__(self) -> str:
        return (
            f"Reconciler({len(self.projects)} project(s), poll={self.poll:g} s, "
            f"{self.delivered} delivered, {self.found} found by polling)"
        )

    async def _claim(self, event: JobEvent) -> bool:
        try:
            return await self.store.add(_key(event))
        except Exception:  # handled twice rather than lost, as the receiver does
            log.exception("reconciliation store failed on %s: handling it anyway", _key(event))
            return True

    async def claim(self, event: JobEvent) -> bool:
        """Record a delivered job event; ``True`` if it is new (handle it), ``False`` if its
        job and status were already delivered or found by polling."""
        new = await self._claim(event)
        if new:
            self.delivered += 1
        else:
            self.duplicates += 1
        return new

    async def release(self, event: JobEvent) -> None:
        """Forget a claimed event that was not handled after all (a full queue), so that
        polling can still find it."""
        try:
            await self.store.discard(_key(event))
        except Exception:
            log.exception("reconciliation store failed to forget %s", _key(event))

    async def missed(
        self, client: GitLab, *, want: Callable[[JobEvent], bool] | None = None
    ) -> AsyncGenerator[JobEvent, None]:
        """Poll forever; yield each job event no hook delivered (claiming it first).

        Args:
            client: the client to poll with.
            want: only events for which this is true are claimed and yielded (default all).

        Raises:
            APIError: what ends the watch (401, 403, a project not found).
        """
        events = client.project_jobs.watch_many(
            self.projects,
            poll=self.poll,
            per_page=self._per_page,
            recheck=self._recheck,
            retention=self._retention,
            sleep=self._sleep,
            clock=self._clock,
        )
        async with aclosing(events):
            async for event in events:
                if want is not None and not want(event):
                    continue
                if await self._claim(event):
                    self.found += 1
                    log.info("job %s %s: no hook delivered it; found by polling",
                             event.job_id, event.status)  # fmt: skip
                    yield event
                else:
                    self.duplicates += 1
