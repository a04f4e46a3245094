"""The fake GitLab's artifact routes (``lib/api/ci/job_artifacts.rb``, §2.11) and the object
storage their downloads may redirect to (a second origin that records what it receives)."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable

from aiohttp import web

from . import _actions as actions
from ._call import Site, prologue
from ._errors import error, json_response
from ._jobs import render
from ._params import Checks
from ._recording import Observations, RecordedRequest
from ._records import FakeJob
from ._state import Store

__all__ = ["ArtifactRoutes", "storage_app"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _job_name(checks: Checks) -> str | None:
    name = checks.params.get("job")
    if not isinstance(name, str) or not name:
        checks.errors.append("job is missing")
        return None
    return name


class ArtifactRoutes:
    """Handlers of the artifact routes."""

    def __init__(self, site: Site) -> None:
        self.site = site

    async def _reader(self, request: web.Request) -> FakeJob | None:
        """The job whose artifacts are read: by id, or the latest successful build of a
        name on a ref (``RecordNotFound`` when there is none)."""
        if "job_id" in request.match_info:
            call = await prologue(self.site, request, job="build", job_token=True, anonymous=True)
            return call.the_job
        by_name = await prologue(
            self.site, request, declare=_job_name, job_token=True, anonymous=True
        )
        ref = request.match_info["ref"]
        found = next(
            (
                j
                for j in reversed(by_name.project.builds)
                if j.name == by_name.args and j.pipeline.ref == ref and j.status == "success"
            ),
            None,
        )
        if found is None:
            raise error(404, "404 Not found")
        return found

    async def archive(self, request: web.Request) -> web.StreamResponse:
        job = await self._reader(request)
        if job is None or job.archive is None or job.erased_at is not None:
            raise error(404, "404 Not Found")  # present_artifacts_file!: not_found!
        if self.site.knobs.object_storage:
            signature = secrets.token_hex(8)
            location = (
                f"{self.site.storage_url}/artifacts/{job.id}/artifacts.zip"
                f"?X-Amz-Expires=600&X-Amz-Signature={signature}"
            )
            return web.Response(status=302, headers={"Location": location})
        return web.Response(
            body=job.archive,
            content_type="application/zip",
            headers={"Content-Disposition": 'attachment; filename="artifacts.zip"'},
        )

    async def file(self, request: web.Request) -> web.Response:
        job = await self._reader(request)
        path = request.match_info["path"]
        if job is None or job.erased_at is not None or job.archive is None:
            raise error(404, "404 Not Found")  # not_found! unless available_artifacts?
        if ".." in path.split("/") or path.startswith("/"):
            raise error(400, "400 Bad request")  # bad_request! unless path.valid?
        if path not in job.files:
            raise error(404, "404 Not Found")
        return web.Response(body=job.files[path], content_type="application/octet-stream")

    async def keep(self, request: web.Request) -> web.Response:
        call = await prologue(self.site, request, job="build", role="developer")
        if call.the_job.archive is None:
            raise error(404, "404 Not Found")
        return json_response(render(self.site, call.the_job), status=200)

    async def delete(self, request: web.Request) -> web.Response:
        call = await prologue(self.site, request, job="build", role="maintainer")
        actions.delete_artifacts(call.the_job)
        return web.Response(status=204)

    async def delete_all(self, request: web.Request) -> web.Response:
        """``DELETE /projects/:id/artifacts``: expire them all, asynchronously (202)."""
        call = await prologue(self.site, request, role="maintainer", role_first=True)
        actions.delete_project_artifacts(call.project)
        return json_response({"message": "202 Accepted"}, status=202)


def storage_app(store: Store, observed: Observations) -> web.Application:
    """A second origin standing in for object storage; it records what it receives."""

    @web.middleware
    async def record(request: web.Request, handler: Handler) -> web.StreamResponse:
        observed.storage_requests.append(
            RecordedRequest(
                request.method,
                request.raw_path.split("?", 1)[0],
                tuple(request.query.items()),
                request.headers,
            )
        )
        return await handler(request)

    async def serve(request: web.Request) -> web.Response:
        key = request.match_info["job_id"]
        job = store.jobs.get(int(key)) if key.isascii() and key.isdigit() else None
        if job is None or job.archive is None:
            return web.Response(status=404, text="NoSuchKey")
        if "X-Amz-Signature" not in request.query:
            return web.Response(status=403, text="AccessDenied")
        return web.Response(body=job.archive, content_type="application/zip")

    async def elsewhere(request: web.Request) -> web.Response:
        return web.Response(status=404, text="NoSuchKey")

    app = web.Application(middlewares=[record])
    app.router.add_get("/artifacts/{job_id}/artifacts.zip", serve)
    app.router.add_route("*", "/{tail:.*}", elsewhere)
    return app
