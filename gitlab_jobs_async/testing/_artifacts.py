"""The fake GitLab's artifact routes and its object storage (§2.11)."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from aiohttp import web

from ._errors import error, json_response
from ._params import Checks
from ._recording import RecordedRequest
from ._records import FakeJob

if TYPE_CHECKING:
    from ._server import FakeGitLab

__all__ = ["add_artifact_routes", "storage_app"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def add_artifact_routes(app: web.Application, fake: FakeGitLab) -> None:
    """Register the artifact routes (before the job routes they could be mistaken for)."""
    from ._routes import Routes

    class ArtifactRoutes(Routes):
        async def _reader(self, request: web.Request) -> tuple[FakeJob | None, str]:
            caller, params = await self._auth(request, job_token=True, required=False)
            if "job_id" in request.match_info:
                job_id = self._job_id(request, Checks(params))
                return self._job(self._readable_project(request, caller), job_id), ""
            name = params.get("job")
            if not isinstance(name, str) or not name:
                raise error(400, error_="job is missing")
            project = self._readable_project(request, caller)
            ref = request.match_info["ref"]
            found = next(
                (
                    j
                    for j in reversed(project.builds)
                    if j.name == name and j.pipeline.ref == ref and j.status == "success"
                ),
                None,
            )
            return found, ref

        async def archive(self, request: web.Request) -> web.StreamResponse:
            job, _ = await self._reader(request)
            if job is None or job.archive is None or job.erased_at is not None:
                raise error(404, "404 Not found")
            if fake.object_storage:
                signature = secrets.token_hex(8)
                location = (
                    f"{fake.storage_url}/artifacts/{job.id}/artifacts.zip"
                    f"?X-Amz-Expires=600&X-Amz-Signature={signature}"
                )
                return web.Response(status=302, headers={"Location": location})
            return web.Response(
                body=job.archive,
                content_type="application/zip",
                headers={"Content-Disposition": 'attachment; filename="artifacts.zip"'},
            )

        async def file(self, request: web.Request) -> web.Response:
            job, _ = await self._reader(request)
            path = request.match_info["path"]
            if ".." in path.split("/"):
                raise error(400, error_="artifact_path is invalid")
            if job is None or job.erased_at is not None or path not in job.files:
                raise error(404, "404 Not found")
            return web.Response(body=job.files[path], content_type="application/octet-stream")

        async def keep(self, request: web.Request) -> web.Response:
            caller, params = await self._auth(request)
            job_id = self._job_id(request, Checks(params))
            project = self._readable_project(request, caller)
            job = self._job(project, job_id)
            caller.require_role(project, "developer")
            if job.archive is None:
                raise error(404, "404 Not found")
            return json_response(self._render(job), status=200)

        async def delete(self, request: web.Request) -> web.Response:
            caller, params = await self._auth(request)
            job_id = self._job_id(request, Checks(params))
            project = self._readable_project(request, caller)
            job = self._job(project, job_id)
            caller.require_role(project, "maintainer")
            job.archive = None
            job.files = {}
            job.artifacts = tuple(k for k in job.artifacts if k == "trace")
            return web.Response(status=204)

    r = ArtifactRoutes(fake)
    base = "/api/v4/projects/{id}/jobs"
    app.router.add_get(f"{base}/artifacts/{{ref:.+}}/download", r.archive)
    app.router.add_get(f"{base}/artifacts/{{ref:.+}}/raw/{{path:.+}}", r.file)
    app.router.add_get(f"{base}/{{job_id}}/artifacts", r.archive)
    app.router.add_route("POST", f"{base}/{{job_id}}/artifacts/keep", r.keep)
    app.router.add_route("DELETE", f"{base}/{{job_id}}/artifacts", r.delete)
    app.router.add_get(f"{base}/{{job_id}}/artifacts/{{path:.+}}", r.file)


def storage_app(fake: FakeGitLab) -> web.Application:
    """A second origin standing in for object storage; it records what it receives."""

    @web.middleware
    async def record(request: web.Request, handler: Handler) -> web.StreamResponse:
        fake.storage_requests.append(
            RecordedRequest(
                request.method,
                request.raw_path.split("?", 1)[0],
                tuple(request.query.items()),
                request.headers,
            )
        )
        return await handler(request)

    async def serve(request: web.Request) -> web.Response:
        job = fake.jobs.get(int(request.match_info["job_id"]))
        if job is None or job.archive is None or "X-Amz-Signature" not in request.query:
            return web.Response(status=403, text="AccessDenied")
        return web.Response(body=job.archive, content_type="application/zip")

    async def elsewhere(request: web.Request) -> web.Response:
        return web.Response(status=404, text="NoSuchKey")

    app = web.Application(middlewares=[record])
    app.router.add_get("/artifacts/{job_id}/artifacts.zip", serve)
    app.router.add_route("*", "/{tail:.*}", elsewhere)
    return app
