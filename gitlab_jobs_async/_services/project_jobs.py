"""``ProjectJobs``: a project's jobs, their logs and the job actions."""

from __future__ import annotations

import os
from collections.abc import AsyncGenerator, Iterable, Mapping
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from aiohttp import ClientResponse

from .. import _checks as checks
from .. import _paths as paths
from .._files import SavedFile, save_chunks
from .._follow import follow_log
from .._merge import merge
from .._models import Bridge, Job
from .._pagination import Pagination
from .._watch import Existing, Recheck
from ._artifacts import DEFAULT_CHUNK_SIZE, ArtifactMethods
from ._base import Scope, scope_query, structure
from ._watching import Clock, Sleep, watch_options, watch_projects

if TYPE_CHECKING:
    from ..webhooks import JobEvent

__all__ = ["ProjectJobs"]


class ProjectJobs(ArtifactMethods):
    """The jobs of one project: ``/projects/:id/jobs`` (reached as ``gl.project_jobs``).

    ``project`` is everywhere a numeric id or a full path such as ``"group/sub/app"``.
    """

    def list(
        self,
        project: int | str,
        *,
        scope: Scope = None,
        per_page: int | None = None,
        concurrency: int | None = None,
        pagination: Pagination = "offset",
        max_items: int | None = None,
        created_after: datetime | None = None,
    ) -> AsyncGenerator[Job, None]:
        """Every job of the project, newest first, each exactly once.

        Retried attempts are included (GitLab lists every attempt here). Pages are fetched
        ahead of the consumer, concurrently; leaving the loop early cancels them.

        Args:
            project: numeric id or full path.
            scope: a status or statuses to keep (``"failed"``, ``[JobStatus.RUNNING, ...]``).
            per_page: page size, 1–100 (default: the client's ``per_page``, 100).
            concurrency: pages in flight at once for this list (default: the client's
                ``max_concurrency``, 8); all requests also share the client's budget.
            pagination: ``"offset"`` (default, concurrent) or ``"keyset"`` (cursor-based,
                sequential with read-ahead). An offset walk that meets GitLab's 50,000-offset
                cap continues in keyset mode by itself.
            max_items: stop after this many jobs.
            created_after: stop at the first job created before this aware datetime.

        Raises:
            ValueError, TypeError: for bad arguments, before any request.
        """
        options = self._options(
            per_page=per_page,
            concurrency=concurrency,
            pagination=pagination,
            keyset_capable=True,
            max_items=max_items,
            created_after=created_after,
        )
        return self._iter(paths.project_jobs(project), Job, options, scope=scope)

    def list_many(
        self,
        projects: Iterable[int | str],
        *,
        scope: Scope = None,
        per_page: int | None = None,
        concurrency: int | None = None,
        max_items: int | None = None,
        created_after: datetime | None = None,
    ) -> AsyncGenerator[tuple[int | str, Job], None]:
        """The jobs of many projects as one stream of ``(project, job)``, as they arrive.

        Every project's list runs at once, all within the client's request budget, so a
        group-wide audit is bounded by the network, not by one list after another. Each
        project's jobs come newest first; projects interleave. ``max_items`` and
        ``created_after`` apply per project. The first list to fail stops the stream with
        its error.
        """
        keys = checks.projects(projects)
        options = self._options(
            per_page=per_page,
            concurrency=concurrency,
            keyset_capable=True,
            max_items=max_items,
            created_after=created_after,
        )
        scopes = scope_query(scope)  # checked once, now
        sources = [
            (key, partial(self._iter, paths.project_jobs(key), Job, options, params=scopes))
            for key in keys
        ]
        return merge(sources)

    async def get(self, project: int | str, job_id: int) -> Job:
        """One job. A bridge's id gives :class:`~gitlab_jobs_async.NotFound`, as in GitLab."""
        return await self._get(paths.job(project, job_id), Job)

    def trace(
        self, project: int | str, job_id: int, *, chunk_size: int = DEFAULT_CHUNK_SIZE
    ) -> AsyncGenerator[bytes, None]:
        """The job's log as raw ``bytes`` chunks, as they arrive; never the whole log at once.

        GitLab sends the whole current log every time (a running job's partial log; an empty
        body when there is none). Leave the loop early and the connection is released.
        """
        path = paths.job_trace(project, job_id)
        return self._chunks(path, checks.positive_int("chunk_size", chunk_size))

    def follow(
        self,
        project: int | str,
        job_id: int,
        *,
        poll: float = 3.0,
        max_poll: float = 30.0,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
    ) -> AsyncGenerator[bytes, None]:
        """Follow a job's log: yield only new bytes as it runs, until it has finished.

        Waits (backing off up to ``max_poll`` seconds) while the job is pending, created,
        manual, scheduled or preparing; reads every ``poll`` seconds while it runs, backing
        off while nothing changes; stops after a final read once it is success, failed,
        canceled or skipped. Raises :class:`~gitlab_jobs_async.LogRewritten` if the log
        shrinks or changes behind the point already read (an erased job).
        """
        path = paths.job_trace(project, job_id)
        job_path = paths.job(project, job_id)
        checks.positive_int("chunk_size", chunk_size)
        if checks.positive_seconds("max_poll", max_poll) < checks.positive_seconds("poll", poll):
            raise ValueError("max_poll must be at least poll")

        def open_log(headers: dict[str, str]) -> AbstractAsyncContextManager[ClientResponse]:
            return self._transport.stream("GET", path, headers=headers)

        return follow_log(
            lambda: self._get(job_path, Job),
            open_log,
            poll=poll,
            max_poll=max_poll,
            chunk_size=chunk_size,
        )

    async def save_trace(
        self, project: int | str, job_id: int, path: str | os.PathLike[str]
    ) -> SavedFile:
        """Stream the job's log to ``path`` atomically; return its size and SHA-256."""
        return await save_chunks(self.trace(project, job_id), path)

    async def cancel(self, project: int | str, job_id: int, *, force: bool = False) -> Job:
        """Cancel a job and return it.

        GitLab never refuses on state: a finished job comes back unchanged, and a running job
        may come back as ``canceling``. ``force=True`` (maintainers) completes a ``canceling`` job.
        """
        body = {"force": True} if checks.boolean("force", force) else None
        # Cancelling twice is harmless (GitLab answers 201 with the job either way), so a
        # cancel is retried like a GET.
        return await self._post(
            paths.job_action(project, job_id, "cancel"), Job, body, idempotent=True
        )

    async def retry(self, project: int | str, job_id: int) -> Job:
        """Retry a finished job and return the **new** job, which has a new id."""
        return await self._post(paths.job_action(project, job_id, "retry"), Job)

    async def erase(self, project: int | str, job_id: int) -> Job:
        """Erase a finished job's log and artifacts and return the job."""
        return await self._post(paths.job_action(project, job_id, "erase"), Job)

    async def play(
        self,
        project: int | str,
        job_id: int,
        *,
        variables: Mapping[str, str] | None = None,
    ) -> Job | Bridge:
        """Start a manual or delayed job, optionally with job variables.

        Returns a :class:`Job`, or a :class:`Bridge` when the job is a trigger job.
        """
        path = paths.job_action(project, job_id, "play")
        body: dict[str, Any] | None = None
        if variables is not None:
            body = {"job_variables_attributes": _variables(variables)}
        response = await self._transport.request("POST", path, json_body=body)
        data = response.json()
        cls: type[Job | Bridge] = (
            Bridge if isinstance(data, dict) and "downstream_pipeline" in data else Job
        )
        return structure(response, data, cls)

    async def _post(
        self, path: str, cls: type[Job], body: Any = None, *, idempotent: bool = False
    ) -> Job:
        response = await self._transport.request(
            "POST", path, json_body=body, idempotent=idempotent
        )
        return structure(response, response.json(), cls)

    def watch(
        self,
        project: int | str,
        *,
        poll: float = 10.0,
        status: Scope = None,
        existing: Existing = "none",
        per_page: int | None = None,
        retention: float = 3600.0,
        max_tracked: int = 10_000,
        recheck: Recheck = "auto",
        sleep: Sleep | None = None,
        clock: Clock | None = None,
    ) -> AsyncGenerator[JobEvent, None]:
        """Watch a project's jobs: yield a :class:`~gitlab_jobs_async.webhooks.JobEvent` for
        each new job and each status change, found by polling, until the loop is left.

        The events are those webhooks deliver (built by ``JobEvent.from_job``, without
        delivery headers), so one handler serves both. Every ``poll`` seconds it reads the
        newest page of the list, and rechecks unfinished jobs further down in whichever way
        costs fewer requests (one by one, deeper pages, or the list of unfinished jobs only):
        a quiet project costs one request a poll. The first poll is a baseline and reports
        nothing unless ``existing`` says so. A status that came and went between two polls
        is not seen (a job pending, then running, then done shows as done). A poll that
        fails on a passing fault is logged and tried again at the next one, losing nothing.

        Args:
            project: numeric id or full path.
            poll: seconds between polls (default 10).
            status: only yield events whose status is this one or one of these.
            existing: what the first poll reports: ``"none"`` (default), ``"unfinished"``
                (jobs not finished yet) or ``"all"`` (also the finished jobs of page 1).
            per_page: page size of the list reads (default: the client's, 100).
            retention: seconds a finished job is remembered (default 3600).
            max_tracked: unfinished jobs tracked at most; the oldest are dropped beyond.
            recheck: ``"auto"`` (default, the cheapest), or always ``"get"``, ``"pages"``
                or ``"scope"`` (for measuring).
            sleep: the coroutine that waits between polls (default ``asyncio.sleep``).
            clock: monotonic seconds (default ``time.monotonic``).

        Raises:
            ValueError, TypeError: for bad arguments, before any request.
            APIError: 401, 403 or 404 (or another error that is not a passing fault).
        """
        return self.watch_many(
            [checks.project(project)],
            poll=poll,
            status=status,
            existing=existing,
            per_page=per_page,
            retention=retention,
            max_tracked=max_tracked,
            recheck=recheck,
            sleep=sleep,
            clock=clock,
        )

    def watch_many(
        self,
        projects: Iterable[int | str],
        *,
        poll: float = 10.0,
        status: Scope = None,
        existing: Existing = "none",
        per_page: int | None = None,
        retention: float = 3600.0,
        max_tracked: int = 10_000,
        recheck: Recheck = "auto",
        sleep: Sleep | None = None,
        clock: Clock | None = None,
    ) -> AsyncGenerator[JobEvent, None]:
        """Watch many projects' jobs as one stream of events (see :meth:`watch`).

        Each poll reads every project at once, within the client's request budget; events
        carry their ``project_id``. A project's error that is not a passing fault ends the
        stream.
        """
        options = watch_options(
            poll=poll,
            status=status,
            per_page=self._per_page if per_page is None else per_page,
            existing=existing,
            retention=retention,
            max_tracked=max_tracked,
            recheck=recheck,
            sleep=sleep,
            clock=clock,
        )
        return watch_projects(self._transport, checks.projects(projects), options)


def _variables(variables: object) -> list[dict[str, str]]:
    """Job variables (checked) in GitLab's ``job_variables_attributes`` shape."""
    return [{"key": key, "value": value} for key, value in checks.variables(variables).items()]
