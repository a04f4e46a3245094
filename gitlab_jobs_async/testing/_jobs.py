"""The fake GitLab's job routes (``lib/api/ci/jobs.rb``, §2.1-2.7): lists, one job, its log
and the job actions. Each handler states its checks in one :func:`~._call.prologue`."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from yarl import URL

from . import _actions as actions
from . import _entities as entities
from ._call import Site, prologue
from ._errors import error, json_response
from ._logs import serve_log
from ._paging import Linker, Window, keyset_page, offset_page
from ._params import Checks, to_query
from ._records import COMPLETED, ROLES, FakeJob

__all__ = ["JobRoutes", "linker", "render"]

_OFFSET_CAP = (
    "Offset pagination has a maximum allowed offset of {limit} for requests that return "
    "objects of type Ci::Build. Remaining records can be retrieved using keyset pagination."
)


def linker(site: Site, request: web.Request) -> Linker:
    """Links name the external URL's scheme, host and port, the request's raw path, and
    every param, sorted (§5.1)."""
    origin = str(URL(site.external_url).origin())
    path = request.raw_path.split("?", 1)[0]
    return lambda params: f"{origin}{path}?{to_query(params)}"


def render(site: Site, job: FakeJob) -> dict[str, Any]:
    """A build as ``Entities::Ci::Job``, a bridge as ``Entities::Ci::Bridge``."""
    base = site.external_url
    return entities.job(job, base) if job.is_build else entities.bridge(job, base)


def _listing(checks: Checks) -> tuple[list[str] | None, Window]:
    return checks.scope(), checks.window()


def _force(checks: Checks) -> bool:
    return checks.boolean("force", default=False)


def _play_args(checks: Checks) -> tuple[list[dict[str, str]], dict[str, Any] | None]:
    return checks.variables("job_variables_attributes"), checks.hash("job_inputs")


def _inputs(checks: Checks) -> dict[str, Any] | None:
    return checks.hash("job_inputs")


class JobRoutes:
    """Handlers of the job routes."""

    def __init__(self, site: Site) -> None:
        self.site = site

    async def list_jobs(self, request: web.Request) -> web.Response:
        """``GET /projects/:id/jobs``: builds, id DESC, retried included, never totals."""
        call = await prologue(self.site, request, declare=_listing, job_token=True)
        scope, window = call.args
        params = call.params
        rows = [j for j in reversed(call.project.builds) if scope is None or j.status in scope]
        echo = {**params, **call.declared}
        link = linker(self.site, request)
        knobs = self.site.knobs
        if params.get("pagination") == "keyset":
            if params.get("order_by", "id") != "id" or params.get("sort", "desc") != "desc":
                raise error(
                    405, error_="Keyset pagination is not yet available for this type of request"
                )
            cursor = params.get("cursor")
            chunk, headers = keyset_page(
                rows,
                [j.id for j in rows],
                per_page=window.per_page,
                cursor=cursor if isinstance(cursor, str) and cursor else None,
                link=link,
                params=echo,
            )
        else:
            limit = knobs.offset_limit
            if knobs.enforce_offset_limit and limit and window.page * window.raw_per_page > limit:
                raise error(405, error_=_OFFSET_CAP.format(limit=limit))
            chunk, headers = offset_page(rows, window, link=link, params=echo, with_count=False)
        base = self.site.external_url
        return json_response([entities.job(j, base) for j in chunk], headers=headers)

    async def get_job(self, request: web.Request) -> web.Response:
        call = await prologue(self.site, request, job="build")
        job = call.the_job
        if job.script:  # a scripted job moves one step per read of it
            data, status = job.script.pop(0)
            self.site.store.append_log(job, data)
            if status is not None:
                self.site.store.set_status(job, status)
        return json_response(render(self.site, job))

    async def trace(self, request: web.Request) -> web.Response:
        """``text/plain``; an archived log by byte range, a live log whole (§7.1)."""
        call = await prologue(self.site, request, job="build")
        job = call.the_job
        if job.debug_trace and call.caller.role(call.project) < ROLES["developer"]:
            raise error(403, "403 Forbidden")
        mode = self.site.knobs.log_ranges
        ranged = mode == "always" or (mode == "archived" and job.status in COMPLETED)
        log = bytes(job.log)
        headers = request.headers
        answer = serve_log(
            log,
            ranged=ranged,
            range_header=headers.get("Range"),
            if_range=headers.get("If-Range"),
            if_none_match=headers.get("If-None-Match"),
        )
        sent = {"Content-Disposition": f'infile; filename="{job.id}.log"', **answer.headers}
        body = log[answer.start : answer.end] if answer.text is None else answer.text
        if answer.status == 304:
            return web.Response(status=304, headers=sent)
        return web.Response(
            status=answer.status, body=body, content_type="text/plain", headers=sent
        )

    async def cancel(self, request: web.Request) -> web.Response:
        """201 always; a job that cannot be canceled is returned unchanged (§2.4)."""
        call = await prologue(
            self.site,
            request,
            declare=_force,
            job="build",
            read=False,
            role="developer",
            role_first=True,
        )
        if call.args:
            call.caller.require_role(call.project, "maintainer")
        actions.cancel(self.site.store, call.the_job, force=call.args)
        return json_response(render(self.site, call.the_job), status=201)

    async def retry(self, request: web.Request) -> web.Response:
        """201 with the new job, rendered as a Job even for a bridge (§2.5, §3.2)."""
        call = await prologue(self.site, request, declare=_inputs, job="any", role="developer")
        job = call.the_job
        if not job.retryable():
            raise error(403, "403 Forbidden - Job is not retryable")
        _check_inputs(job, call.args)
        new = actions.retry(self.site.store, job, call.caller.user, call.args)
        return json_response(entities.job(new, self.site.external_url), status=201)

    async def erase(self, request: web.Request) -> web.Response:
        call = await prologue(
            self.site, request, job="build", read=False, role="developer", role_first=True
        )
        job = call.the_job
        if call.caller.user is None or job.user is not call.caller.user:
            call.caller.require_role(call.project, "maintainer")  # someone else's job
        if not job.erasable():
            raise error(403, "403 Forbidden - Job is not erasable!")
        actions.erase(self.site.store, job)
        return json_response(render(self.site, job), status=201)

    async def play(self, request: web.Request) -> web.Response:
        """200 (not 201); a build as Job, a bridge as Bridge (§2.7)."""
        call = await prologue(self.site, request, declare=_play_args, job="any", role="developer")
        job = call.the_job
        if not actions.playable(job):
            raise error(400, "400 Bad request - Unplayable Job")
        variables, inputs = call.args
        _check_inputs(job, inputs)
        played = actions.play(self.site.store, job, call.caller.user, variables, inputs)
        return json_response(render(self.site, played), status=200)


def _check_inputs(job: FakeJob, inputs: dict[str, Any] | None) -> None:
    unknown = actions.unknown_inputs(job, inputs or {})
    if unknown:
        raise error(400, f"400 Bad request - Unknown input: {', '.join(unknown)}")
