"""Finding job transitions by polling: what a watcher knows, and which requests it needs next.

Strictly private, and free of I/O (gidgethub's sans-I/O style): :class:`JobBook` holds what a
watcher knows of one project's jobs; each poll is a :class:`Poll` that names the request it
needs next (:meth:`Poll.next_request`), is fed the answers, and ends in the transitions it
found (:meth:`Poll.finish`). The async loop around it (``_services/_watching.py``) only sends
the requests.

GitLab lists a project's jobs newest first (``id DESC``, ``lib/api/ci/jobs.rb``) and has no
"changed since" filter for them, so a poll works like this:

* **Head.** Page 1 of ``GET /projects/:id/jobs``. A new job always has a higher id than every
  job known, so new jobs sit above all known ones: the first page holding a known job ends the
  search for new ones (a page of nothing but new jobs asks for the next page).
* **Recheck.** Unfinished jobs known from before but not on the pages just read (pending,
  running, manual, ...) are rechecked in whichever way costs fewer requests: each one by
  ``GET /jobs/:id``; or by reading further pages of the list (how deep each job now sits is
  estimated from where it was seen, shifted by the new jobs seen since), the rest one by one;
  or by the list of unfinished jobs only (``scope[]=created&scope[]=pending&...``), after
  which a job missing from it has left those states and is read by itself.
* **Baseline.** The first poll reads page 1 and the whole list of unfinished jobs, so every
  unfinished job is known from the start. It reports nothing unless asked (``existing``).

A poll that fails half-way changes nothing: observations are applied by :meth:`Poll.finish`
only. Finished jobs (success, failed, canceled, skipped) are forgotten ``retention`` seconds
after they were first seen finished; one seen again later is recognised as old by its id (at
or below the highest id ever seen) and reported only if it comes back to life as unfinished
while still remembered.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Generic, Literal, TypeVar

import attrs

__all__ = [
    "SCOPED",
    "SCOPED_PER_PAGE",
    "TERMINAL",
    "Existing",
    "GetJob",
    "JobBook",
    "ListPage",
    "Poll",
    "Recheck",
    "Request",
    "Seen",
    "Transition",
    "plan_recheck",
]

T = TypeVar("T")

Existing = Literal["none", "unfinished", "all"]
"""What the first poll reports: nothing, the jobs not finished yet, or every job it read."""
Recheck = Literal["auto", "get", "pages", "scope"]
"""How unfinished jobs below the first page are rechecked (``auto``: the cheapest)."""

TERMINAL = frozenset({"success", "failed", "canceled", "skipped"})
"""Statuses a job is not rechecked in (a retry makes a new job)."""
SCOPED = ("created", "waiting_for_resource", "preparing", "pending", "running", "manual",
          "scheduled")  # fmt: skip
"""Unfinished statuses every supported GitLab accepts in ``scope[]``; ``canceling`` and
``waiting_for_callback`` are newer, so jobs in them are rechecked one by one."""
SCOPED_PER_PAGE = 100
"""The page size of the list of unfinished jobs, whatever the head's: it is read to cover
jobs anywhere in the project, so fewer, larger pages."""


@attrs.frozen
class Seen(Generic[T]):
    """A job as one answer showed it: its id, its status, and the job itself (opaque here)."""

    id: int
    status: str
    job: T


@attrs.frozen
class Transition(Generic[T]):
    """A job found new (``previous`` is ``None``) or in another status than before."""

    id: int
    previous: str | None
    status: str
    job: T


@attrs.frozen
class ListPage:
    """``GET /projects/:id/jobs?page=N``; ``scoped``: with ``scope[]`` = :data:`SCOPED`, and
    :data:`SCOPED_PER_PAGE` a page (else the book's ``per_page``)."""

    page: int
    scoped: bool = False


@attrs.frozen
class GetJob:
    """``GET /projects/:id/jobs/:job_id``."""

    job_id: int


Request = ListPage | GetJob


@attrs.define
class _Entry:
    status: str
    since: float  # when this status was first seen
    position: int | None  # its index in the unscoped list when last seen there
    added_at: int  # JobBook.added at that moment


@attrs.frozen
class Plan:
    """How to recheck: by GETs, by list pages up to ``depth`` (``None``: until every job is
    covered), or by the scoped list; what those did not show is read by GET after."""

    how: Literal["get", "pages", "scope"]
    cost: int
    depth: int | None = 0


def plan_recheck(
    stale: Sequence[tuple[int, str, int | None]],
    *,
    last_page: int,
    scoped_above: int,
    force: Recheck = "auto",
) -> Plan:
    """The cheapest way to recheck ``stale`` jobs, as ``(id, status, estimated page)``.

    ``last_page`` is the last page of the list already read; a job whose page is unknown
    (``None``: never seen in the list, only in the scoped one) counts as a GET in the pages
    plan. ``scoped_above`` is how many known jobs in :data:`SCOPED` statuses have an id at or
    above the oldest stale one (about how far the scoped list must be read); the scoped plan
    also counts a GET for each stale job it cannot show (a status it does not list) or will
    likely not show (a running job has probably finished). Ties go to GETs
    (they read exactly the jobs wanted), then pages. ``force`` picks a way regardless of cost
    (for measurements); forced pages read until every stale job is covered.
    """
    plans = [Plan("get", len(stale))]
    pages = sorted({p for _, _, p in stale if p is not None and p > last_page})
    best = None
    for depth in pages:
        beyond = sum(1 for _, _, p in stale if p is None or p > depth)
        cost = depth - last_page + beyond
        if best is None or cost < best.cost:
            best = Plan("pages", cost, depth)
    plans.append(best or Plan("pages", len(stale), last_page))
    # Jobs the scoped list cannot show are read by GET after it: those in statuses it does
    # not ask for, and (a guess) the running ones, which are likely to have finished.
    by_get = sum(1 for _, status, _ in stale if status not in SCOPED or status == "running")
    plans.append(Plan("scope", max(1, math.ceil(scoped_above / SCOPED_PER_PAGE)) + by_get))
    if force == "pages":
        return Plan("pages", plans[1].cost, None)
    if force != "auto":
        return next(plan for plan in plans if plan.how == force)
    return min(plans, key=lambda plan: plan.cost)  # min keeps the first of equal costs


class JobBook:
    """What a watcher knows of one project's jobs, between polls.

    Args:
        per_page: the page size of the list reads.
        existing: what the first poll reports (see :data:`Existing`).
        retention: seconds a finished job is remembered.
        max_tracked: the most unfinished jobs tracked; beyond it the oldest are dropped.
        recheck: how to recheck (see :data:`Recheck`).
    """

    def __init__(
        self,
        *,
        per_page: int = 100,
        existing: Existing = "none",
        retention: float = 3600.0,
        max_tracked: int = 10_000,
        recheck: Recheck = "auto",
    ) -> None:
        self.per_page = per_page
        self.existing = existing
        self.retention = retention
        self.max_tracked = max_tracked
        self.recheck = recheck
        self.entries: dict[int, _Entry] = {}
        self.baselined = False
        self.watermark = 0
        """The highest job id ever seen: anything above it is new."""
        self.added = 0
        """New jobs seen so far (they push older jobs down the list)."""
        self.dropped = 0
        """Unfinished jobs no longer tracked because of ``max_tracked``."""

    def __len__(self) -> int:
        return len(self.entries)

    def status(self, job_id: int) -> str | None:
        """The status last seen of a job still remembered."""
        entry = self.entries.get(job_id)
        return entry.status if entry is not None else None

    def estimated_page(self, job_id: int, *, new: int = 0) -> int | None:
        """Which page of the unscoped list the job is likely on now, if it was ever seen there
        (jobs the baseline found in the unfinished list only were not), with ``new`` more new
        jobs above it than the book counted."""
        entry = self.entries[job_id]
        if entry.position is None:
            return None
        return (entry.position + self.added + new - entry.added_at) // self.per_page + 1

    def _forget(self, now: float) -> None:
        old = [
            i
            for i, e in self.entries.items()
            if e.status in TERMINAL and now - e.since >= self.retention
        ]
        for job_id in old:
            del self.entries[job_id]
        unfinished = sorted(i for i, e in self.entries.items() if e.status not in TERMINAL)
        for job_id in unfinished[: max(0, len(unfinished) - self.max_tracked)]:
            del self.entries[job_id]
            self.dropped += 1


class Poll(Generic[T]):
    """One poll of one project: ask :meth:`next_request`, answer it, then :meth:`finish`."""

    def __init__(self, book: JobBook, now: float) -> None:
        self.book = book
        self.now = now
        self.baseline = not book.baselined
        self._seen: dict[int, tuple[Seen[T], int | None]] = {}
        self._gone: set[int] = set()
        self._queue: list[Request] = [ListPage(1)]
        self._phase: Literal["head", "scoped", "pages", "gets"] = "head"
        self._lowest: int | None = None  # lowest id read in the current list phase
        self._last_page = 0
        self._ended = False  # the unscoped list was read to its end
        self._targets: list[int] = []  # stale jobs the current phase must cover
        self._depth: int | None = 0
        self.requests = 0

    def next_request(self) -> Request | None:
        """The request to send next, or ``None`` when the poll is complete."""
        if not self._queue:
            return None
        self.requests += 1
        return self._queue.pop(0)

    def page(self, request: ListPage, jobs: Sequence[Seen[T]], more: bool) -> None:
        """Feed the jobs of a list page; ``more``: the server says a next page exists."""
        lowest = min((seen.id for seen in jobs), default=None)
        progressed = lowest is not None and (self._lowest is None or lowest < self._lowest)
        for index, seen in enumerate(jobs):
            position = None if request.scoped else (request.page - 1) * self.book.per_page + index
            self._seen[seen.id] = (seen, position)
        if progressed:
            self._lowest = lowest
        if not request.scoped:
            self._last_page = request.page
            self._ended = self._ended or not more
        # A page that brings nothing older than the last one (an empty page, or a list that
        # repeats itself) ends the phase: a poll never loops.
        more = more and progressed
        follow = ListPage(request.page + 1, request.scoped)
        if self._phase == "head":
            all_new = all(seen.id > self.book.watermark for seen in jobs)
            if more and not self.baseline and all_new and jobs:
                self._queue.append(follow)
            else:
                self._after_head()
        elif self._phase == "scoped":
            if more and (self.baseline or self._uncovered()):
                self._queue.append(follow)
            else:
                self._gets()
        elif self._phase == "pages":
            deeper = self._depth is None or request.page < self._depth
            if more and deeper and self._uncovered():
                self._queue.append(follow)
            else:
                self._gets()

    def job(self, request: GetJob, seen: Seen[T] | None) -> None:
        """Feed the answer to a GET: the job, or ``None`` when it is gone (404)."""
        if seen is None:
            self._gone.add(request.job_id)
        else:
            self._seen[seen.id] = (seen, None)

    def _uncovered(self) -> bool:
        # A target below the lowest id read is still ahead; one above it and unseen is not
        # in this list (it left those states, or was deleted) and is read by itself.
        return self._lowest is None or any(t < self._lowest for t in self._targets)

    def _after_head(self) -> None:
        if self.baseline:
            if not self._ended:  # a list read to its end already showed every job
                self._phase, self._lowest = "scoped", None
                self._queue.append(ListPage(1, scoped=True))
            return
        book = self.book
        floor = 0 if self._ended else (self._lowest or 0)
        new = sum(1 for job_id in self._seen if job_id > book.watermark)
        stale = [
            (job_id, entry.status, book.estimated_page(job_id, new=new))
            for job_id, entry in sorted(book.entries.items(), reverse=True)
            if entry.status not in TERMINAL and job_id < floor and job_id not in self._seen
        ]
        if not stale:
            return
        oldest = min(job_id for job_id, _, _ in stale)
        statuses = {i: e.status for i, e in book.entries.items() if i >= oldest}
        statuses.update((i, seen.status) for i, (seen, _) in self._seen.items())
        scoped_above = sum(1 for i, s in statuses.items() if s in SCOPED and i >= oldest)
        plan = plan_recheck(
            stale,
            last_page=self._last_page,
            scoped_above=scoped_above,
            force=book.recheck,
        )
        self._targets = [job_id for job_id, _, _ in stale]
        if plan.how == "pages" and (plan.depth is None or plan.depth > self._last_page):
            self._phase, self._depth = "pages", plan.depth
            self._queue.append(ListPage(self._last_page + 1))
        elif plan.how == "scope":
            self._phase, self._lowest = "scoped", None
            self._queue.append(ListPage(1, scoped=True))
        else:
            self._gets()

    def _gets(self) -> None:
        # Pages read to the end of the list showed every job there is: no GET can add to it.
        if not (self._phase == "pages" and self._ended):
            self._queue.extend(GetJob(t) for t in self._targets if t not in self._seen)
        self._phase, self._targets = "gets", []

    def finish(self) -> list[Transition[T]]:
        """Apply what this poll saw to the book; the transitions found, oldest job first.

        Raises:
            RuntimeError: when requests are still to be answered.
        """
        if self._queue:
            raise RuntimeError("the poll has requests left to answer")
        book = self.book
        found: list[Transition[T]] = []
        if not self.baseline:  # new jobs push the older ones down the list
            book.added += sum(1 for job_id in self._seen if job_id > book.watermark)
        for job_id in sorted(self._seen):
            seen, position = self._seen[job_id]
            entry = book.entries.get(job_id)
            if entry is None:
                if self.baseline:
                    if book.existing == "all" or (
                        book.existing == "unfinished" and seen.status not in TERMINAL
                    ):
                        found.append(Transition(job_id, None, seen.status, seen.job))
                elif job_id > book.watermark:
                    found.append(Transition(job_id, None, seen.status, seen.job))
                # else: an old job forgotten (or never known): tracked from now on, silently
                entry = _Entry(seen.status, self.now, position, book.added)
                book.entries[job_id] = entry
            elif entry.status != seen.status:
                found.append(Transition(job_id, entry.status, seen.status, seen.job))
                entry.status, entry.since = seen.status, self.now
            if position is not None:
                entry.position, entry.added_at = position, book.added
        gone: Iterable[int] = self._gone
        if self._ended:  # the whole list was read: what it lacks was deleted
            gone = {*gone, *(i for i in book.entries if i not in self._seen)}
        for job_id in gone:
            book.entries.pop(job_id, None)
        book.watermark = max([book.watermark, *self._seen])
        book.baselined = True
        book._forget(self.now)
        return found
