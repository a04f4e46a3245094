"""The poll loops of ``ProjectJobs.watch()`` and ``watch_many()``. Strictly private.

All the deciding is in :mod:`gitlab_jobs_async._watch`; this module sends the requests a
:class:`~gitlab_jobs_async._watch.Poll` asks for, turns the jobs that changed into
:class:`~gitlab_jobs_async.webhooks.JobEvent` values, and sleeps between polls.

Errors: a poll that fails on a passing fault (no answer, a timeout, a 5xx or a 429 after the
client's own retries) is logged and dropped whole; the next poll starts from the same
knowledge, so nothing is lost, only found later. Any other error (401, 403, 404 for the
project, an answer that is not GitLab's) ends the watch by raising it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, cast

import attrs

from .. import _checks as checks
from .. import _paths as paths
from .._errors import NotFound, RateLimited, ResponseError, ServerError, TransportError
from .._models import Job
from .._protocol import next_page
from .._transport import Response, Transport
from .._watch import (
    SCOPED,
    SCOPED_PER_PAGE,
    Existing,
    GetJob,
    JobBook,
    ListPage,
    Poll,
    Recheck,
    Seen,
)
from ._base import structure

if TYPE_CHECKING:
    from ..webhooks import JobEvent

__all__ = ["Clock", "Sleep", "WatchOptions", "watch_options", "watch_projects"]

log = logging.getLogger("gitlab_jobs_async")

Sleep = Callable[[float], Awaitable[object]]
"""``asyncio.sleep``, or a test's stand-in."""
Clock = Callable[[], float]
"""Monotonic seconds, as ``time.monotonic``."""

Raw = tuple[Response, dict[str, Any]]
_PASSING = (TransportError, ServerError, RateLimited)


@attrs.frozen(kw_only=True)
class WatchOptions:
    """How a watch polls (checked by the service). Strictly private."""

    poll: float
    statuses: frozenset[str] | None
    per_page: int
    existing: Existing
    retention: float
    max_tracked: int
    recheck: Recheck
    sleep: Sleep = asyncio.sleep
    clock: Clock = time.monotonic

    def book(self) -> JobBook:
        return JobBook(
            per_page=self.per_page,
            existing=self.existing,
            retention=self.retention,
            max_tracked=self.max_tracked,
            recheck=self.recheck,
        )


def watch_options(
    *,
    poll: object,
    status: object,
    per_page: object,
    existing: object,
    retention: object,
    max_tracked: object,
    recheck: object,
    sleep: Sleep | None,
    clock: Clock | None,
) -> WatchOptions:
    """Check a watch's arguments (before any request) and bundle them."""
    if sleep is not None and not callable(sleep):
        raise TypeError(f"sleep must be an async callable, not {type(sleep).__name__}")
    if clock is not None and not callable(clock):
        raise TypeError(f"clock must be a callable, not {type(clock).__name__}")
    statuses = checks.statuses(status)
    return WatchOptions(
        poll=checks.positive_seconds("poll", poll),
        statuses=frozenset(statuses) if statuses else None,
        per_page=checks.per_page(per_page),
        existing=cast(Existing, checks.choice("existing", existing, ("none", "unfinished", "all"))),
        retention=checks.positive_seconds("retention", retention),
        max_tracked=checks.positive_int("max_tracked", max_tracked),
        recheck=cast(Recheck, checks.choice("recheck", recheck, ("auto", "get", "pages", "scope"))),
        sleep=asyncio.sleep if sleep is None else sleep,
        clock=time.monotonic if clock is None else clock,
    )


def _shape(response: Response, message: str) -> ResponseError:
    return ResponseError(message, status=response.status, method=response.method, url=response.url)


def _seen(response: Response, item: object) -> Seen[Raw]:
    if not isinstance(item, dict):
        raise _shape(response, f"expected a job object, got {type(item).__name__}")
    job_id, status = item.get("id"), item.get("status")
    if isinstance(job_id, bool) or not isinstance(job_id, int) or not isinstance(status, str):
        raise _shape(response, "a job without an integer id and a status")
    return Seen(job_id, status, (response, item))


async def _list_page(
    transport: Transport, project: int | str, request: ListPage, per_page: int
) -> tuple[list[Seen[Raw]], bool]:
    size = SCOPED_PER_PAGE if request.scoped else per_page
    params = [("page", str(request.page)), ("per_page", str(size))]
    if request.scoped:
        params += [("scope[]", status) for status in SCOPED]
    response = await transport.request("GET", paths.project_jobs(project), params=params)
    data = response.json()
    if not isinstance(data, list):
        raise _shape(response, f"expected a JSON array, got {type(data).__name__}")
    try:
        more = next_page(response.headers) is not None
    except ValueError as exc:
        raise _shape(response, str(exc)) from exc
    return [_seen(response, item) for item in data], more


async def poll_once(
    transport: Transport, project: int | str, book: JobBook, now: float
) -> list[JobEvent]:
    """One poll of ``project``: the events of the jobs that are new or changed."""
    from ..webhooks import JobEvent

    poll: Poll[Raw] = Poll(book, now)
    while (request := poll.next_request()) is not None:
        if isinstance(request, ListPage):
            jobs, more = await _list_page(transport, project, request, book.per_page)
            poll.page(request, jobs, more)
        else:
            poll.job(request, await _get(transport, project, request))
    events = []
    for transition in poll.finish():
        response, item = transition.job
        job = structure(response, item, Job)
        try:
            events.append(JobEvent.from_job(job))
        except ValueError as exc:  # a job without a pipeline: not what GitLab sends
            raise _shape(response, str(exc)) from exc
    return events


async def _get(transport: Transport, project: int | str, request: GetJob) -> Seen[Raw] | None:
    try:
        response = await transport.request("GET", paths.job(project, request.job_id))
    except NotFound:
        return None  # deleted (with its pipeline) since it was seen
    return _seen(response, response.json())


async def watch_projects(
    transport: Transport, projects: Sequence[int | str], options: WatchOptions
) -> AsyncGenerator[JobEvent, None]:
    """Poll every project each ``options.poll`` seconds, forever; yield what changed.

    Projects are polled concurrently within the client's request budget; each poll's events
    come out project by project, oldest job first.
    """
    books = [options.book() for _ in projects]
    while True:
        started = options.clock()
        polls = zip(projects, books, strict=True)
        results = await asyncio.gather(
            *(poll_once(transport, key, book, started) for key, book in polls),
            return_exceptions=True,
        )
        for key, result in zip(projects, results, strict=True):
            if isinstance(result, _PASSING):
                log.warning("watching %s: poll failed, trying again next time: %s", key, result)
                continue
            if isinstance(result, BaseException):
                raise result
            for event in result:
                if options.statuses is None or str(event.status) in options.statuses:
                    yield event
        elapsed = options.clock() - started
        await options.sleep(max(0.0, options.poll - elapsed))
