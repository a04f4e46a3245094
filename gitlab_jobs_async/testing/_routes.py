"""The fake GitLab's Jobs API routes (SERVER-BEHAVIOUR.md §2). Strictly private."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web

from . import _entities as entities
from ._access import Caller, identify
from ._artifacts import add_artifact_routes
from ._errors import error
from ._paging import keyset_page, offset_page, page_params
from ._records import COMPLETED, ROLES, STATUSES, FakeJob, FakeProject

if TYPE_CHECKING:
    from ._server import FakeGitLab

__all__ = ["Routes", "add_routes", "json_response"]

_CANCELABLE = frozenset(STATUSES) - COMPLETED - {"canceling"}


def add_routes(app: web.Application, fake: FakeGitLab) -> None:
    """Register every route on ``app``."""
    r = Routes(fake)
    add = app.router.add_route
    base = "/api/v4/projects/{id}"
    add_artifact_routes(app, fake)
    app.router.add_get(base, r.project)
    app.router.add_get(f"{base}/jobs", r.list_jobs)
    app.router.add_get(f"{base}/jobs/{{job_id}}", r.get_job)
    app.router.add_get(f"{base}/jobs/{{job_id}}/trace", r.trace)
    add("POST", f"{base}/jobs/{{job_id}}/cancel", r.cancel)
    add("POST", f"{base}/jobs/{{job_id}}/retry", r.retry)
    add("POST", f"{base}/jobs/{{job_id}}/erase", r.erase)
    add("POST", f"{base}/jobs/{{job_id}}/play", r.play)
    app.router.add_get(f"{base}/pipelines/{{pipeline_id}}/jobs", r.pipeline_jobs)
    app.router.add_get(f"{base}/pipelines/{{pipeline_id}}/bridges", r.bridges)
    app.router.add_get("/api/v4/groups/{id}/projects", r.group_projects)
    app.router.add_get("/api/v4/job", r.token_job)
    app.router.add_get("/api/v4/job/allowed_agents", r.allowed_agents)
    add("*", "/api/v4/{tail:.*}", r.not_found)
    add("*", "/{tail:.*}", r.not_found_web)


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        status=status, text=json.dumps(data), content_type="application/json", headers=headers
    )


def _int_path(request: web.Request, name: str) -> int:
    try:
        return int(request.match_info[name])
    except ValueError:
        raise error(400, error_=f"{name} is invalid") from None


async def _params(request: web.Request) -> dict[str, Any]:
    """Grape merges query, form and JSON body parameters."""
    params: dict[str, Any] = {k: v for k, v in request.query.items()}
    if request.body_exists:
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                raise error(
                    400, error_="The provided content-type 'application/json' is not valid JSON"
                ) from None
            if isinstance(body, dict):
                params.update(body)
        else:
            form = await request.post()
            params.update({k: v for k, v in form.items() if isinstance(v, str)})
            variables: list[dict[str, str]] = []
            prefix = "job_variables_attributes[]["
            for key, value in form.items():
                if isinstance(value, str) and key.startswith(prefix) and key.endswith("]"):
                    field = key[len(prefix) : -1]
                    if not variables or field in variables[-1]:
                        variables.append({})
                    variables[-1][field] = value
            if variables:
                params["job_variables_attributes"] = variables
    return params


def _scopes(request: web.Request) -> set[str] | None:
    values = request.query.getall("scope[]", []) + request.query.getall("scope", [])
    if not values:
        return None
    if any(v not in STATUSES for v in values):
        raise error(400, error_="scope does not have a valid value")
    return set(values)


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() in ("true", "1", "yes")


class Routes:
    """Handlers; each reads and changes the fake's state. Strictly private."""

    def __init__(self, fake: FakeGitLab) -> None:
        self.fake = fake

    # -- shared steps -----------------------------------------------------------------------

    def _caller(
        self, request: web.Request, *, job_token: bool = False, required: bool = True
    ) -> Caller:
        return identify(request, self.fake.tokens, job_token_allowed=job_token, required=required)

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

    def _job(self, request: web.Request, project: FakeProject, *, bridges: bool = False) -> FakeJob:
        job = self.fake.jobs.get(_int_path(request, "job_id"))
        if job is None or job.project is not project or (not bridges and not job.is_build):
            raise error(404, "404 Not found")
        return job

    def _render(self, job: FakeJob) -> dict[str, Any]:
        base = self.fake.external_url
        return entities.job(job, base) if job.is_build else entities.bridge(job, base)

    def _query(self, request: web.Request, **path_params: str) -> list[tuple[str, str]]:
        pairs = [(k, v) for k, v in request.query.items()]
        pairs += list(path_params.items())
        if not any(k == "page" for k, _ in pairs):
            pairs.append(("page", "1"))
        if not any(k == "per_page" for k, _ in pairs):
            pairs.append(("per_page", "20"))
        return pairs

    # -- routes -------------------------------------------------------------------------------

    async def project(self, request: web.Request) -> web.Response:
        caller = self._caller(request, required=False)
        project = self._project(request, caller)
        return json_response(entities.project_json(project, self.fake.external_url))

    async def list_jobs(self, request: web.Request) -> web.Response:
        caller = self._caller(request, job_token=True)
        project = self._readable_project(request, caller)
        scopes = _scopes(request)
        builds = project.builds
        newest_first = [j for j in reversed(builds) if scopes is None or j.status in scopes]
        path = request.raw_path.split("?")[0]
        base = self.fake.external_url
        params = self._query(request, id=request.match_info["id"])
        if request.query.get("pagination") == "keyset":
            chunk, headers = keyset_page(
                newest_first,
                [j.id for j in newest_first],
                request,
                base=base,
                path=path,
                params=[(k, v) for k, v in params if k not in ("page",)],
            )
        else:
            window = page_params(request)
            offset = window.page * window.raw_per_page
            if self.fake.enforce_offset_limit and offset > self.fake.offset_limit:
                raise error(
                    405,
                    error_=(
                        "Offset pagination has a maximum allowed offset of "
                        f"{self.fake.offset_limit} for requests that return objects of type "
                        "Ci::Build. Remaining records can be retrieved using keyset pagination."
                    ),
                )
            chunk, headers = offset_page(
                newest_first, window, base=base, path=path, params=params, with_count=False
            )
        return json_response([entities.job(j, base) for j in chunk], headers=headers)

    async def _pipeline_list(self, request: web.Request, *, bridges: bool) -> web.Response:
        caller = self._caller(request, job_token=not bridges, required=False)
        project = self._project(request, caller)
        if not caller.can_read_builds(project):
            raise error(403, "403 Forbidden")
        pipeline = self.fake.pipelines.get(_int_path(request, "pipeline_id"))
        if pipeline is None or pipeline.project is not project:
            raise error(404, "404 Not found")
        scopes = _scopes(request)
        retried = not bridges and _truthy(request.query.get("include_retried", "false"))
        kind = "bridge" if bridges else "build"
        rows = [
            j
            for j in reversed(pipeline.jobs)
            if j.kind == kind
            and (retried or not j.retried)
            and (scopes is None or j.status in scopes)
        ]
        window = page_params(request)
        path = request.raw_path.split("?")[0]
        params = self._query(
            request, id=request.match_info["id"], pipeline_id=request.match_info["pipeline_id"]
        )
        chunk, headers = offset_page(
            rows,
            window,
            base=self.fake.external_url,
            path=path,
            params=params,
            with_count=len(rows) <= self.fake.max_count,
        )
        render = entities.bridge if bridges else entities.job
        return json_response([render(j, self.fake.external_url) for j in chunk], headers=headers)

    async def pipeline_jobs(self, request: web.Request) -> web.Response:
        return await self._pipeline_list(request, bridges=False)

    async def bridges(self, request: web.Request) -> web.Response:
        return await self._pipeline_list(request, bridges=True)

    async def get_job(self, request: web.Request) -> web.Response:
        caller = self._caller(request)
        project = self._readable_project(request, caller)
        job = self._job(request, project)
        if job.script:  # a scripted job moves one step per read of it
            data, status = job.script.pop(0)
            job.log += data
            if status is not None:
                job.set_status(status, datetime.now(UTC))
        return json_response(self._render(job))

    async def trace(self, request: web.Request) -> web.Response:
        caller = self._caller(request)
        project = self._readable_project(request, caller)
        job = self._job(request, project)
        if job.debug_trace and caller.role(project) < ROLES["developer"]:
            raise error(403, "403 Forbidden")
        # GitLab ignores Range and sends the whole current log (§7.1); `honour_range` lets
        # tests check a client's use of a 206 should a server ever send one.
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

    async def cancel(self, request: web.Request) -> web.Response:
        caller = self._caller(request)
        project = self._readable_project(request, caller)
        job = self._job(request, project)
        caller.require_role(project, "developer")
        params = await _params(request)
        now = datetime.now(UTC)
        if _truthy(params.get("force", False)):
            caller.require_role(project, "maintainer")
            if job.status == "canceling":
                job.set_status("canceled", now)
        elif job.status in _CANCELABLE:
            graceful = job.status == "running" and job.graceful_cancel
            self.fake.actions["cancel"] += 1
            job.set_status("canceling" if graceful else "canceled", now)
        return json_response(self._render(job), status=201)

    async def retry(self, request: web.Request) -> web.Response:
        caller = self._caller(request)
        project = self._readable_project(request, caller)
        job = self._job(request, project, bridges=True)
        caller.require_role(project, "developer")
        if not job.retryable():
            raise error(403, "403 Forbidden - Job is not retryable")
        self.fake.actions["retry"] += 1
        new = self.fake.clone_job(job, caller.user)
        # A retried bridge is rendered with the Job entity too (§3.2).
        return json_response(entities.job(new, self.fake.external_url), status=201)

    async def erase(self, request: web.Request) -> web.Response:
        caller = self._caller(request)
        project = self._readable_project(request, caller)
        job = self._job(request, project)
        caller.require_role(project, "developer")
        own = caller.user is not None and job.user is caller.user
        if not own:
            caller.require_role(project, "maintainer")
        if not job.erasable():
            raise error(403, "403 Forbidden - Job is not erasable!")
        self.fake.actions["erase"] += 1
        job.erased_at = datetime.now(UTC)
        job.artifacts = ()
        job.log.clear()
        return json_response(self._render(job), status=201)

    async def play(self, request: web.Request) -> web.Response:
        caller = self._caller(request)
        project = self._readable_project(request, caller)
        job = self._job(request, project, bridges=True)
        caller.require_role(project, "developer")
        params = await _params(request)
        variables = params.get("job_variables_attributes") or []
        if not isinstance(variables, list):
            raise error(400, error_="job_variables_attributes is invalid")
        for index, variable in enumerate(variables):
            for key in ("key", "value"):
                if not isinstance(variable, dict) or not isinstance(variable.get(key), str):
                    raise error(400, error_=f"job_variables_attributes[{index}][{key}] is missing")
        if not job.playable():
            raise error(400, "400 Bad request - Unplayable Job")
        self.fake.actions["play"] += 1
        job.variables = [{"key": v["key"], "value": v["value"]} for v in variables]
        job.user = caller.user
        job.set_status("pending", datetime.now(UTC))
        return json_response(self._render(job), status=200)

    async def group_projects(self, request: web.Request) -> web.Response:
        """``GET /groups/:id/projects``: groups are the namespaces of the projects' paths."""
        caller = self._caller(request, required=False)
        group = request.match_info["id"].strip("/").lower()
        nested = _truthy(request.query.get("include_subgroups", "false"))
        found = [
            p
            for p in sorted(self.fake.projects.values(), key=lambda p: -p.id)
            if caller.can_see(p)
            and p.path_with_namespace.lower().startswith(group + "/")
            and (nested or "/" not in p.path_with_namespace[len(group) + 1 :])
        ]
        known = any(
            p.path_with_namespace.lower().startswith(group + "/")
            for p in self.fake.projects.values()
        )
        if not known:
            raise error(404, "404 Group Not Found")
        window = page_params(request)
        path = request.raw_path.split("?")[0]
        params = self._query(request, id=request.match_info["id"])
        chunk, headers = offset_page(
            found, window, base=self.fake.external_url, path=path, params=params, with_count=True
        )
        base = self.fake.external_url
        return json_response([entities.project_json(p, base) for p in chunk], headers=headers)

    def _token_job(self, request: web.Request) -> FakeJob:
        caller = self._caller(request, job_token=True)
        if caller.job is None:
            raise error(404, "404 Job Not Found")
        return caller.job

    async def token_job(self, request: web.Request) -> web.Response:
        return json_response(entities.job(self._token_job(request), self.fake.external_url))

    async def allowed_agents(self, request: web.Request) -> web.Response:
        job = self._token_job(request)
        level = job.project.members.get(job.user.id, 0) if job.user else 0
        roles = [name for name, value in ROLES.items() if value == level]
        return json_response(entities.allowed_agents(job, self.fake.external_url, roles))

    async def not_found(self, request: web.Request) -> web.Response:
        return json_response({"error": "404 Not Found"}, status=404)

    async def not_found_web(self, request: web.Request) -> web.Response:
        return web.Response(status=404, text="Not Found")
