"""The fake GitLab's routes: the table, and the handlers beyond the jobs themselves.

Every route is also registered with a trailing slash, which Grape ignores; a path that
another method would match answers Grape's 405 with ``Allow``; anything else under the
API gets the catch-all ``404 {"error":"404 Not Found"}``, and ``/api/v3`` a 410.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from . import _entities as entities
from . import _resources as resources
from ._access import identify
from ._artifacts import ArtifactRoutes
from ._call import Site, find_project, prologue
from ._errors import error, json_response
from ._jobs import JobRoutes, linker
from ._paging import Window, offset_page
from ._params import Checks, read_params
from ._records import FakeJob, FakePipeline

__all__ = ["add_routes"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def add_routes(app: web.Application, site: Site) -> None:
    """Register every route on ``app`` (GET routes answer HEAD too)."""
    jobs, more, files = JobRoutes(site), OtherRoutes(site), ArtifactRoutes(site)
    project = "/api/v4/projects/{id}"
    job = f"{project}/jobs/{{job_id}}"
    table: list[tuple[str, str, Handler]] = [
        # artifacts first: their paths could be mistaken for job routes
        ("GET", f"{project}/jobs/artifacts/{{ref:.+}}/download", files.archive),
        ("GET", f"{project}/jobs/artifacts/{{ref:.+}}/raw/{{path:.+}}", files.file),
        ("GET", f"{job}/artifacts", files.archive),
        ("POST", f"{job}/artifacts/keep", files.keep),
        ("DELETE", f"{job}/artifacts", files.delete),
        ("GET", f"{job}/artifacts/{{path:.+}}", files.file),
        ("DELETE", f"{project}/artifacts", files.delete_all),
        ("GET", project, more.project),
        ("GET", f"{project}/jobs", jobs.list_jobs),
        ("GET", job, jobs.get_job),
        ("GET", f"{job}/trace", jobs.trace),
        ("POST", f"{job}/cancel", jobs.cancel),
        ("POST", f"{job}/retry", jobs.retry),
        ("POST", f"{job}/erase", jobs.erase),
        ("POST", f"{job}/play", jobs.play),
        ("GET", f"{project}/pipelines/{{pipeline_id}}", more.pipeline),
        ("GET", f"{project}/pipelines/{{pipeline_id}}/jobs", more.pipeline_jobs),
        ("GET", f"{project}/pipelines/{{pipeline_id}}/bridges", more.bridges),
        ("GET", "/api/v4/groups/{id}/projects", more.group_projects),
        ("GET", "/api/v4/job", more.token_job),
        ("GET", "/api/v4/job/allowed_agents", more.allowed_agents),
        ("GET", "/api/v4/user", more.user),
        ("GET", "/api/v4/version", more.version),
    ]
    for method, path, handler in table:
        for variant in (path, f"{path}/"):
            if method == "GET":
                app.router.add_get(variant, handler)  # and HEAD
            else:
                app.router.add_route(method, variant, handler)
    app.router.add_route("*", "/api/v3/{tail:.*}", more.gone)
    app.router.add_route("*", "/api/v4/{tail:.*}", more.not_found)
    app.router.add_route("*", "/{tail:.*}", more.not_found_web)


def _pipeline_listing(checks: Checks) -> tuple[int | None, bool, list[str] | None, Window]:
    pipeline_id = checks.integer("pipeline_id", checks.params.get("pipeline_id"))
    return pipeline_id, checks.boolean("include_retried", default=False), *_rest(checks)


def _bridge_listing(checks: Checks) -> tuple[int | None, bool, list[str] | None, Window]:
    pipeline_id = checks.integer("pipeline_id", checks.params.get("pipeline_id"))
    return pipeline_id, False, *_rest(checks)


def _rest(checks: Checks) -> tuple[list[str] | None, Window]:
    return checks.scope(), checks.window()


def _pipeline_id(checks: Checks) -> int | None:
    return checks.integer("pipeline_id", checks.params.get("pipeline_id"))


def _group_listing(checks: Checks) -> tuple[bool, Window]:
    return checks.boolean("include_subgroups", default=False), checks.window()


class OtherRoutes:
    """Handlers of the routes around jobs."""

    def __init__(self, site: Site) -> None:
        self.site = site

    async def project(self, request: web.Request) -> web.Response:
        params = await read_params(request)
        caller = identify(request, params, self.site.store.tokens, job_token_allowed=False,
                          required=False)  # fmt: skip
        project = find_project(self.site, request, caller)
        return json_response(resources.project_json(project, self.site.external_url))

    def _pipeline(self, project_id: int, pipeline_id: int | None) -> FakePipeline:
        pipeline = self.site.store.pipelines.get(pipeline_id) if pipeline_id is not None else None
        if pipeline is None or pipeline.project.id != project_id:
            raise error(404, "404 Not found")
        return pipeline

    async def pipeline(self, request: web.Request) -> web.Response:
        """``GET /projects/:id/pipelines/:pipeline_id`` (``authenticate_non_get!``)."""
        call = await prologue(self.site, request, declare=_pipeline_id, anonymous=True)
        pipeline = self._pipeline(call.project.id, call.args)
        return json_response(resources.pipeline(pipeline, self.site.external_url))

    async def _pipeline_list(self, request: web.Request, *, bridges: bool) -> web.Response:
        # Pipelines are `authenticate_non_get!`: anonymous reads of public projects work.
        declare = _bridge_listing if bridges else _pipeline_listing
        call = await prologue(
            self.site, request, declare=declare, job_token=not bridges, anonymous=True
        )
        pipeline_id, retried, scope, window = call.args
        pipeline = self._pipeline(call.project.id, pipeline_id)
        kind = "bridge" if bridges else "build"
        rows = [
            j
            for j in reversed(pipeline.jobs)
            if j.kind == kind
            and (retried or not j.retried)
            and (scope is None or j.status in scope)
        ]
        echo = {**call.params, **call.declared, "pipeline_id": pipeline_id}
        chunk, headers = offset_page(
            rows,
            window,
            link=linker(self.site, request),
            params=echo,
            with_count=len(rows) <= self.site.knobs.max_count,
        )
        base = self.site.external_url
        render: Callable[[FakeJob, str], object] = entities.bridge if bridges else entities.job
        return json_response([render(j, base) for j in chunk], headers=headers)

    async def pipeline_jobs(self, request: web.Request) -> web.Response:
        return await self._pipeline_list(request, bridges=False)

    async def bridges(self, request: web.Request) -> web.Response:
        return await self._pipeline_list(request, bridges=True)

    async def group_projects(self, request: web.Request) -> web.Response:
        """``GET /groups/:id/projects``: groups are the namespaces of the projects' paths."""
        params = await read_params(request)
        caller = identify(request, params, self.site.store.tokens, job_token_allowed=False,
                          required=False)  # fmt: skip
        checks = Checks(params)
        nested, window = _group_listing(checks)
        checks.done()
        group = request.match_info["id"].strip("/").lower()
        inside = [
            p
            for p in sorted(self.site.store.projects.values(), key=lambda p: -p.id)
            if p.path_with_namespace.lower().startswith(group + "/")
        ]
        if not inside:
            raise error(404, "404 Group Not Found")
        found = [
            p
            for p in inside
            if caller.can_see(p) and (nested or "/" not in p.path_with_namespace[len(group) + 1 :])
        ]
        echo = {**params, **checks.declared}
        link = linker(self.site, request)
        chunk, headers = offset_page(found, window, link=link, params=echo, with_count=True)
        base = self.site.external_url
        return json_response([resources.project_json(p, base) for p in chunk], headers=headers)

    async def _token_job(self, request: web.Request) -> tuple[FakeJob, object]:
        params = await read_params(request)
        caller = identify(request, params, self.site.store.tokens, job_token_allowed=True,
                          required=True)  # fmt: skip
        if caller.job is None:
            raise error(404, "404 Job Not Found")
        return caller.job, caller.user

    async def token_job(self, request: web.Request) -> web.Response:
        job, _ = await self._token_job(request)
        return json_response(entities.job(job, self.site.external_url))

    async def allowed_agents(self, request: web.Request) -> web.Response:
        job, _ = await self._token_job(request)
        return json_response(resources.allowed_agents(job, self.site.external_url, job.user))

    async def user(self, request: web.Request) -> web.Response:
        """``GET /user``: who the token belongs to (401 without one)."""
        params = await read_params(request)
        caller = identify(request, params, self.site.store.tokens, job_token_allowed=False,
                          required=True)  # fmt: skip
        if caller.user is None:
            raise error(401, "401 Unauthorized")
        return json_response(resources.current_user(caller.user, self.site.external_url))

    async def version(self, request: web.Request) -> web.Response:
        params = await read_params(request)
        identify(request, params, self.site.store.tokens, job_token_allowed=False,
                 required=True)  # fmt: skip
        return json_response(resources.version())

    async def gone(self, request: web.Request) -> web.Response:
        return json_response(
            {"error": "API V3 is no longer supported. Use API V4 instead."}, status=410
        )

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
