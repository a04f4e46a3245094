"""The fake GitLab's Jobs API routes (SERVER-BEHAVIOUR.md §2).

Each handler follows GitLab's order of checks: authentication (401), Grape's parameter
validation (400), the project (404), the role (403), the job (404), then the job's state.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from aiohttp import web
from yarl import URL

from . import _entities as entities
from ._access import Caller, identify
from ._errors import error, json_response
from ._paging import Linker, keyset_page, offset_page
from ._params import Checks, read_params, to_query
from ._records import ROLES, FakeJob, FakePipeline, FakeProject

if TYPE_CHECKING:
    from ._server import FakeGitLab

__all__ = ["Routes", "add_routes"]

_OFFSET_CAP = (
    "Offset pagination has a maximum allowed offset of {limit} for requests that return "
    "objects of type Ci::Build. Remaining records can be retrieved using keyset pagination."
)


def add_routes(app: web.Application, fake: FakeGitLab) -> None:
    """Register every route on ``app`` (GET routes answer HEAD too)."""
    from ._artifacts import add_artifact_routes

    r = Routes(fake)
    post = app.router.add_post
    base = "/api/v4/projects/{id}"
    add_artifact_routes(app, fake)
    app.router.add_get(base, r.project)
    app.router.add_get(f"{base}/jobs", r.list_jobs)
    app.router.add_get(f"{base}/jobs/{{job_id}}", r.get_job)
    app.router.add_get(f"{base}/jobs/{{job_id}}/trace", r.trace)
    post(f"{base}/jobs/{{job_id}}/cancel", r.cancel)
    post(f"{base}/jobs/{{job_id}}/retry", r.retry)
    post(f"{base}/jobs/{{job_id}}/erase", r.erase)
    post(f"{base}/jobs/{{job_id}}/play", r.play)
    app.router.add_get(f"{base}/pipelines/{{pipeline_id}}/jobs", r.pipeline_jobs)
    app.router.add_get(f"{base}/pipelines/{{pipeline_id}}/bridges", r.bridges)
    app.router.add_get("/api/v4/groups/{id}/projects", r.group_projects)
    app.router.add_get("/api/v4/job", r.token_job)
    app.router.add_get("/api/v4/job/allowed_agents", r.allowed_agents)
    app.router.add_route("*", "/api/v3/{tail:.*}", r.gone)
    app.router.add_route("*", "/api/v4/{tail:.*}", r.not_found)
    app.router.add_route("*", "/{tail:.*}", r.not_found_web)


class Routes:
    """Handlers; each reads and changes the fake's state."""

    def __init__(self, fake: FakeGitLab) -> None:
        self.fake = fake

    # -- shared steps -----------------------------------------------------------------------

    async def _auth(
        self, request: web.Request, *, job_token: bool = False, required: bool = True
    ) -> tuple[Caller, Mapping[str, Any]]:
        params = await read_params(request)
        caller = identify(
            request, params, self.fake.tokens, job_token_allowed=job_token, required=required
        )
        return caller, params

    def _project(self, request: web.Request, caller: Caller) -> FakeProject:
        project = self.fake.find_project(request.match_info["id"])
        if project is None or not caller.can_see(project):
            raise error(404, "404 Project Not Found")
        return project

    def _readable_project(self, request: web.Request, caller: Caller) -> FakeProject:
        project = self._project(request, caller)
        if not caller.can_read_builds(project):
            raise error(403, "403 Forbidden")
        return project

    def _job(self, project: FakeProject, job_id: int | None, *, bridges: bool = False) -> FakeJob:
        job = self.fake.jobs.get(job_id) if job_id is not None else None
        if job is None or job.project is not project or (not bridges and not job.is_build):
            raise error(404, "404 Not found")
        return job

    def _job_id(self, request: web.Request, checks: Checks) -> int | None:
        job_id = checks.integer("job_id", request.match_info["job_id"])
        checks.done()
        return job_id

    def _render(self, job: FakeJob) -> dict[str, Any]:
        base = self.fake.external_url
        return entities.job(job, base) if job.is_build else entities.bridge(job, base)

    def _linker(self, request: web.Request) -> Linker:
        """Links name the external URL's scheme, host and port, the request's raw path, and
        every param, sorted (§5.1)."""
        origin = str(URL(self.fake.external_url).origin())
        path = request.raw_path.split("?", 1)[0]
        return lambda params: f"{origin}{path}?{to_query(params)}"

    # -- projects and lists -----------------------------------------------------------------

    async def project(self, request: web.Request) -> web.Response:
        caller, _ = await self._auth(request, required=False)
        project = self._project(request, caller)
        return json_response(entities.project_json(project, self.fake.external_url))

    async def list_jobs(self, request: web.Request) -> web.Response:
        """``GET /projects/:id/jobs``: builds, id DESC, retried included, never totals."""
        caller, params = await self._auth(request, job_token=True)
        checks = Checks(params)
        scope = checks.scope()
        window = checks.window()
        checks.done()
        project = self._readable_project(request, caller)
        rows = [j for j in reversed(project.builds) if scope is None or j.status in scope]
        echo = {**params, "id": request.match_info["id"], **checks.declared}
        link = self._linker(request)
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
            limit = self.fake.offset_limit
            if (
                self.fake.enforce_offset_limit
                and limit
                and window.page * window.raw_per_page > limit
            ):
                raise error(405, error_=_OFFSET_CAP.format(limit=limit))
            chunk, headers = offset_page(rows, window, link=link, params=echo, with_count=False)
        base = self.fake.external_url
        return json_response([entities.job(j, base) for j in chunk], headers=headers)

    async def _pipeline_list(self, request: web.Request, *, bridges: bool) -> web.Response:
        # Pipelines are `authenticate_non_get!`: anonymous reads of public projects work.
        caller, params = await self._auth(request, job_token=not bridges, required=False)
        checks = Checks(params)
        pipeline_id = checks.integer("pipeline_id", request.match_info["pipeline_id"])
        retried = False if bridges else checks.boolean("include_retried", default=False)
        scope = checks.scope()
        window = checks.window()
        checks.done()
        project = self._readable_project(request, caller)
        pipeline = self.fake.pipelines.get(pipeline_id) if pipeline_id is not None else None
        if pipeline is None or pipeline.project is not project:
            raise error(404, "404 Not found")
        rows = _pipeline_rows(pipeline, bridges=bridges, retried=retried, scope=scope)
        echo = {
            **params,
            "id": request.match_info["id"],
            "pipeline_id": pipeline_id,
            **checks.declared,
        }
        chunk, headers = offset_page(
            rows,
            window,
            link=self._linker(request),
            params=echo,
            with_count=len(rows) <= self.fake.max_count,
        )
        base = self.fake.external_url
        render = entities.bridge if bridges else entities.job
        return json_response([render(j, base) for j in chunk], headers=headers)

    async def pipeline_jobs(self, request: web.Request) -> web.Response:
        return await self._pipeline_list(request, bridges=False)

    async def bridges(self, request: web.Request) -> web.Response:
        return await self._pipeline_list(request, bridges=True)

    # -- one job ----------------------------------------------------------------------------

    async def get_job(self, request: web.Request) -> web.Response:
        caller, params = await self._auth(request)
        job_id = self._job_id(request, Checks(params))
        project = self._readable_project(request, caller)
        job = self._job(project, job_id)
        if job.script:  # a scripted job moves one step per read of it
            data, status = job.script.pop(0)
            self.fake.append_log(job, data)
            if status is not None:
                self.fake.set_status(job, status)
        return json_response(self._render(job))

    async def trace(self, request: web.Request) -> web.Response:
        """The whole log as ``text/plain``, every time; ``Range`` is ignored (§7.1)."""
        caller, params = await self._auth(request)
        job_id = self._job_id(request, Checks(params))
        project = self._readable_project(request, caller)
        job = self._job(project, job_id)
        if job.debug_trace and caller.role(project) < ROLES["developer"]:
            raise error(403, "403 Forbidden")
        # `honour_range` lets tests check a client's use of a 206, should a server send one.
        wanted = request.headers.get("Range", "")
        if self.fake.honour_range and wanted.startswith("bytes=") and wanted.endswith("-"):
            start = int(wanted[6:-1])
            size = len(job.log)
            if start >= size and size:
                return web.Response(status=416, headers={"Content-Range": f"bytes */{size}"})
            return web.Response(
                status=206,
                body=bytes(job.log[start:]),
                content_type="text/plain",
                headers={"Content-Range": f"bytes {start}-{max(size - 1, start)}/{size}"},
            )
        return web.Response(
            body=bytes(job.log),
            content_type="text/plain",
            headers={"Content-Disposition": f'infile; filename="{job.id}.log"'},
        )

    # -- job actions ------------------------------------------------------------------------

    async def cancel(self, request: web.Request) -> web.Response:
        """201 always; a job that cannot be canceled is returned unchanged (§2.4)."""
        caller, params = await self._auth(request)
        checks = Checks(params)
        job_id = checks.integer("job_id", request.match_info["job_id"])
        force = checks.boolean("force", default=False)
        checks.done()
        project = self._project(request, caller)
        caller.require_role(project, "developer")
        job = self._job(project, job_id)
        if force:
            caller.require_role(project, "maintainer")
        self.fake.cancel(job, force=force)
        return json_response(self._render(job), status=201)

    async def retry(self, request: web.Request) -> web.Response:
        """201 with the new job, rendered as a Job even for a bridge (§2.5, §3.2)."""
        caller, params = await self._auth(request)
        job_id = self._job_id(request, Checks(params))
        project = self._readable_project(request, caller)
        job = self._job(project, job_id, bridges=True)
        caller.require_role(project, "developer")
        if not job.retryable():
            raise error(403, "403 Forbidden - Job is not retryable")
        new = self.fake.retry(job, caller.user)
        return json_response(entities.job(new, self.fake.external_url), status=201)

    async def erase(self, request: web.Request) -> web.Response:
        caller, params = await self._auth(request)
        job_id = self._job_id(request, Checks(params))
        project = self._project(request, caller)
        caller.require_role(project, "developer")
        job = self._job(project, job_id)
        if caller.user is None or job.user is not caller.user:
            caller.require_role(project, "maintainer")  # someone else's job
        if not job.erasable():
            raise error(403, "403 Forbidden - Job is not erasable!")
        self.fake.erase(job)
        return json_response(self._render(job), status=201)

    async def play(self, request: web.Request) -> web.Response:
        """200 (not 201); a build as Job, a bridge as Bridge (§2.7)."""
        caller, params = await self._auth(request)
        checks = Checks(params)
        job_id = checks.integer("job_id", request.match_info["job_id"])
        variables = checks.variables("job_variables_attributes")
        checks.done()
        project = self._readable_project(request, caller)
        job = self._job(project, job_id, bridges=True)
        caller.require_role(project, "developer")
        if not self.fake.playable(job):
            raise error(400, "400 Bad request - Unplayable Job")
        played = self.fake.play(job, caller.user, variables)
        return json_response(self._render(played), status=200)

    # -- job-token introspection ------------------------------------------------------------

    async def _token_job(self, request: web.Request) -> FakeJob:
        caller, _ = await self._auth(request, job_token=True)
        if caller.job is None:
            raise error(404, "404 Job Not Found")
        return caller.job

    async def token_job(self, request: web.Request) -> web.Response:
        job = await self._token_job(request)
        return json_response(entities.job(job, self.fake.external_url))

    async def allowed_agents(self, request: web.Request) -> web.Response:
        job = await self._token_job(request)
        level = job.project.members.get(job.user.id, 0) if job.user else 0
        roles = [name for name, value in ROLES.items() if value == level]
        return json_response(entities.allowed_agents(job, self.fake.external_url, roles))

    # -- beyond the Jobs API ----------------------------------------------------------------

    async def group_projects(self, request: web.Request) -> web.Response:
        """``GET /groups/:id/projects``: groups are the namespaces of the projects' paths."""
        caller, params = await self._auth(request, required=False)
        checks = Checks(params)
        nested = checks.boolean("include_subgroups", default=False)
        window = checks.window()
        checks.done()
        group = request.match_info["id"].strip("/").lower()
        inside = [
            p
            for p in sorted(self.fake.projects.values(), key=lambda p: -p.id)
            if p.path_with_namespace.lower().startswith(group + "/")
        ]
        if not inside:
            raise error(404, "404 Group Not Found")
        found = [
            p
            for p in inside
            if caller.can_see(p) and (nested or "/" not in p.path_with_namespace[len(group) + 1 :])
        ]
        echo = {**params, "id": request.match_info["id"], **checks.declared}
        chunk, headers = offset_page(
            found, window, link=self._linker(request), params=echo, with_count=True
        )
        base = self.fake.external_url
        return json_response([entities.project_json(p, base) for p in chunk], headers=headers)

    async def gone(self, request: web.Request) -> web.Response:
        return web.Response(status=410, text="API V3 is no longer supported. Use API V4 instead.")

    async def not_found(self, request: web.Request) -> web.Response:
        """The catch-all: Grape's 405 when another method would match, else 404."""
        allowed: set[str] = set()
        for resource in request.app.router.resources():
            if "{tail" in resource.canonical:
                continue  # the catch-alls themselves
            _, methods = await resource.resolve(request)
            allowed |= methods
        if allowed:
            headers = {"Allow": ", ".join(sorted(allowed))}
            return json_response({"error": "405 Not Allowed"}, status=405, headers=headers)
        return json_response({"error": "404 Not Found"}, status=404)

    async def not_found_web(self, request: web.Request) -> web.Response:
        return web.Response(status=404, text="Not Found")


def _pipeline_rows(
    pipeline: FakePipeline, *, bridges: bool, retried: bool, scope: list[str] | None
) -> list[FakeJob]:
    """A pipeline's builds (or bridges), id DESC, latest attempts unless ``retried``."""
    kind = "bridge" if bridges else "build"
    return [
        j
        for j in reversed(pipeline.jobs)
        if j.kind == kind and (retried or not j.retried) and (scope is None or j.status in scope)
    ]
