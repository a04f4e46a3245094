"""``FakeGitLab``: the server, its state, and the Python API that seeds it."""

from __future__ import annotations

import asyncio
import io
import secrets
import time
import uuid
import zipfile
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self

import attrs
from aiohttp import web
from multidict import CIMultiDict

from ._artifacts import storage_app
from ._errors import FakeError
from ._records import (
    ROLES,
    STATUSES,
    FakeJob,
    FakePipeline,
    FakeProject,
    FakeUser,
    Token,
    fake_sha,
    seeded_times,
)
from ._routes import add_routes

__all__ = ["Fault", "FakeGitLab", "RecordedRequest"]


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@attrs.define(eq=False)
class RecordedRequest:
    """One request the fake received, as it arrived.

    ``path`` is the raw, undecoded path (``%2F`` stays ``%2F``); ``query`` holds the decoded
    pairs in order. ``status`` is the answer's status, ``None`` while in progress, and
    ``cancelled`` is true when the client went away before the answer was sent.
    """

    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    headers: CIMultiDict[str]
    body: bytes = b""
    status: int | None = None
    cancelled: bool = False
    response_bytes: int = 0
    """Body bytes of the answer (for benchmarks of what a client downloads)."""
    at: float = 0.0
    """When it arrived (``time.monotonic()``)."""
    peer: int = 0
    """The client's source port: one per connection, so reuse shows as repeats."""

    def param(self, name: str) -> str | None:
        """The first value of query parameter ``name``."""
        return next((v for k, v in self.query if k == name), None)


@attrs.define(eq=False)
class Fault:
    """A scripted misbehaviour for requests that ``match``.

    Args:
        match: which requests (a predicate over :class:`RecordedRequest`).
        delay: seconds to wait before handling.
        status: answer with this status and ``body`` instead of handling the request.
        body: the JSON (dict/list) or text body of that answer.
        headers: extra headers of that answer.
        times: how many matching requests it applies to (``None``: all).
        after: a callable run after the request was handled (e.g. to add jobs).
        behaviour: a transport-level fault instead of a status:
            ``"reset"`` closes the connection before handling the request;
            ``"reset_mid_body"`` handles it, sends half the answer and closes;
            ``"truncate"`` handles it and sends a complete answer of half the body;
            ``"drip"`` handles it and sends the body in small, slow pieces;
            ``"redirect"`` answers 302 to :attr:`FakeGitLab.storage_url` (a second origin
            that records what it receives) without handling the request.
    """

    match: Callable[[RecordedRequest], bool]
    delay: float = 0.0
    status: int | None = None
    body: Any = None
    headers: dict[str, str] = attrs.Factory(dict)
    times: int | None = 1
    after: Callable[[], None] | None = None
    behaviour: str | None = None
    hits: int = 0


class FakeGitLab:
    """A fake GitLab serving the Jobs API over real HTTP on 127.0.0.1.

    Seed it with :meth:`add_user`, :meth:`add_project`, :meth:`add_pipeline`,
    :meth:`add_job` and friends, then point any client at :attr:`url`. It answers with
    GitLab's status codes, headers, error bodies and pagination rules
    (see ``SERVER-BEHAVIOUR.md``), and records every request in :attr:`requests`.

    Args:
        external_url: the URL GitLab believes it has; used in ``web_url`` fields and in
            ``Link`` headers. Defaults to :attr:`url`. Set it to another host to check that
            a client never follows ``Link`` hosts.
        port: the port to listen on (default: any free one).
    """

    def __init__(self, *, external_url: str | None = None, port: int = 0) -> None:
        self._external_url = external_url.rstrip("/") if external_url else None
        self._port = port
        self._runner: web.AppRunner | None = None
        self.url = ""
        """``http://127.0.0.1:<port>``, set by :meth:`start`."""
        self.requests: list[RecordedRequest] = []
        self.faults: list[Fault] = []
        self.latency = 0.0
        """Seconds added before every answer (benchmarks)."""
        self.enforce_offset_limit = False
        """GitLab's flag-gated 50,000-offset cap on the project jobs list (§5.2)."""
        self.offset_limit = 50_000
        self.honour_range = False
        """Answer ``Range: bytes=N-`` on logs with a 206 (GitLab itself ignores Range)."""
        self.object_storage = False
        """Send artifact archive downloads to :attr:`storage_url` with a 302, as GitLab does
        with object storage; that second origin records what it gets in
        :attr:`storage_requests`."""
        self.storage_url = ""
        self.storage_requests: list[RecordedRequest] = []
        self._storage: web.AppRunner | None = None
        self.max_count = 10_000
        """Lists with more rows than this send no totals (§5.1)."""
        self.actions: Counter[str] = Counter()
        """How many times each job action (cancel, retry, erase, play) changed state."""
        self.in_flight = 0
        """Requests being answered right now."""
        self.peak_in_flight = 0
        """The most requests answered at once since start (or since reset to 0)."""
        self.users: dict[int, FakeUser] = {}
        self.tokens: dict[str, Token] = {}
        self.projects: dict[int, FakeProject] = {}
        self._paths: dict[str, FakeProject] = {}
        self.pipelines: dict[int, FakePipeline] = {}
        self.jobs: dict[int, FakeJob] = {}
        self._next_job_id = 1

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Start serving on 127.0.0.1."""
        app = web.Application(middlewares=[self._middleware])
        add_routes(app, self)
        self._runner = web.AppRunner(app, handler_cancellation=True, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self._port)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        self._storage = web.AppRunner(storage_app(self), access_log=None)
        await self._storage.setup()
        await web.TCPSite(self._storage, "127.0.0.1", 0).start()
        self.storage_url = f"http://127.0.0.1:{self._storage.addresses[0][1]}"

    async def close(self) -> None:
        """Stop serving."""
        for runner in (self._runner, self._storage):
            if runner is not None:
                await runner.cleanup()
        self._runner = self._storage = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def api_url(self) -> str:
        """``url`` + ``/api/v4``."""
        return f"{self.url}/api/v4"

    @property
    def external_url(self) -> str:
        return self._external_url or self.url

    @external_url.setter
    def external_url(self, value: str | None) -> None:
        self._external_url = value.rstrip("/") if value else None

    # -- seeding --------------------------------------------------------------------------

    def add_user(self, username: str, *, name: str | None = None, admin: bool = False) -> FakeUser:
        """Add a user."""
        user = FakeUser(len(self.users) + 1, username, name or username.title(), admin)
        self.users[user.id] = user
        return user

    def _token(self, kind: str, user: FakeUser | None, **fields: Any) -> str:
        prefix = {"personal": "glpat-", "oauth": "gloas-", "job": "glcbt-"}[kind]
        value = prefix + secrets.token_urlsafe(15)
        self.tokens[value] = Token(value, kind, user, **fields)
        return value

    def add_personal_token(
        self, user: FakeUser, *, scopes: Iterable[str] = ("api",), state: str = "active"
    ) -> str:
        """A personal access token (``PRIVATE-TOKEN``); state active, expired or revoked."""
        if state not in ("active", "expired", "revoked"):
            raise ValueError(f"unknown token state {state!r}")
        return self._token("personal", user, scopes=tuple(scopes), state=state)

    def add_oauth_token(self, user: FakeUser, *, scopes: Iterable[str] = ("api",)) -> str:
        """An OAuth access token (``Authorization: Bearer``)."""
        return self._token("oauth", user, scopes=tuple(scopes))

    def job_token(self, job: FakeJob) -> str:
        """A CI job token for ``job``: it acts as the job's user while the job runs."""
        return self._token("job", job.user, job=job)

    def add_project(
        self, path: str, *, visibility: str = "private", public_builds: bool = True
    ) -> FakeProject:
        """Add a project with a full path such as ``group/sub/app``."""
        if visibility not in ("private", "internal", "public"):
            raise ValueError(f"unknown visibility {visibility!r}")
        project = FakeProject(len(self.projects) + 1, path, visibility, public_builds)
        self.projects[project.id] = project
        self._paths[path.lower()] = project
        return project

    def add_member(self, project: FakeProject, user: FakeUser, role: str) -> None:
        """Give ``user`` a role in ``project``: guest, reporter, developer, maintainer, owner."""
        project.members[user.id] = ROLES[role]

    def find_project(self, key: str) -> FakeProject | None:
        """Look a project up as GitLab does: digits by id, a path with ``/`` by path."""
        if key.isascii() and key.isdigit():
            return self.projects.get(int(key))
        if "/" in key:
            return self._paths.get(key.lower())
        return None

    def add_pipeline(
        self,
        project: FakeProject,
        *,
        ref: str = "main",
        sha: str | None = None,
        source: str = "push",
        status: str = "running",
        user: FakeUser | None = None,
    ) -> FakePipeline:
        """Add a pipeline to ``project``."""
        pipeline_id = len(self.pipelines) + 1
        iid = 1 + sum(1 for p in self.pipelines.values() if p.project is project)
        pipeline = FakePipeline(
            pipeline_id,
            iid,
            project,
            ref,
            sha or fake_sha(f"{project.id}:{pipeline_id}"),
            source,
            status,
            user,
            seeded_times(pipeline_id, "created")["created_at"],
        )
        self.pipelines[pipeline_id] = pipeline
        return pipeline

    def add_job(
        self,
        pipeline: FakePipeline,
        *,
        name: str = "test",
        stage: str = "test",
        status: str = "success",
        log: bytes = b"",
        **fields: Any,
    ) -> FakeJob:
        """Add a build. Keyword fields are :class:`FakeJob` attributes (``when``,
        ``failure_reason``, ``user``, ``artifacts``, ``tag_list``, ``graceful_cancel``,
        ``archive``, ``files``, ...). ``files`` alone makes a zip archive of them.
        """
        files = fields.get("files")
        if files and fields.get("archive") is None:
            fields["archive"] = _zip(files)
        if fields.get("archive") is not None:
            kinds = tuple(fields.get("artifacts", ()))
            fields["artifacts"] = kinds if "archive" in kinds else ("archive", *kinds)
        return self._add(pipeline, "build", name, stage, status, log=bytearray(log), **fields)

    def add_bridge(
        self,
        pipeline: FakePipeline,
        *,
        name: str = "trigger",
        stage: str = "deploy",
        status: str = "success",
        downstream: FakePipeline | None = None,
        **fields: Any,
    ) -> FakeJob:
        """Add a trigger job (bridge), optionally with its downstream pipeline."""
        return self._add(
            pipeline, "bridge", name, stage, status, downstream=downstream, runner=False, **fields
        )

    def _add(
        self,
        pipeline: FakePipeline,
        kind: str,
        name: str,
        stage: str,
        status: str,
        **fields: Any,
    ) -> FakeJob:
        if status not in STATUSES:
            raise ValueError(f"unknown job status {status!r}")
        job_id = self._next_job_id
        self._next_job_id += 1
        fields.setdefault("user", pipeline.user)
        if status == "failed":
            fields.setdefault("failure_reason", "script_failure")
        fields = {**seeded_times(job_id, status), **fields}
        job = FakeJob(job_id, kind, pipeline, name, stage, status, **fields)
        self.jobs[job_id] = job
        pipeline.jobs.append(job)
        if kind == "build":
            pipeline.project.builds.append(job)
        return job

    def clone_job(self, job: FakeJob, user: FakeUser | None) -> FakeJob:
        """Retry ``job``: a new job, pending, run by ``user``; the old one is retried."""
        job.retried = True
        new = self._add(
            job.pipeline,
            job.kind,
            job.name,
            job.stage,
            "created",
            when=job.when,
            user=user,
            runner=job.runner,
            tag_list=job.tag_list,
            allow_failure=job.allow_failure,
            graceful_cancel=job.graceful_cancel,
            environment=job.environment,
            downstream=None,
        )
        now = datetime.now(UTC)
        new.created_at = now
        new.set_status("pending", now)
        return new

    def set_status(self, job: FakeJob, status: str) -> None:
        """Move ``job`` to ``status`` with GitLab's timestamps."""
        job.set_status(status, datetime.now(UTC))

    def script_log(self, job: FakeJob, steps: Iterable[tuple[bytes, str | None]]) -> None:
        """Script a running job: each ``GET`` of the job applies the next step, appending
        its bytes to the log and then moving to its status (``None``: unchanged). Tests
        drive a growing log with it deterministically, whatever the timing."""
        job.script.extend(steps)

    def append_log(self, job: FakeJob, data: bytes) -> None:
        """Grow the job's log, as a runner does while the job runs."""
        job.log += data

    def add_allowed_agent(
        self, project: FakeProject, *, agent_id: int, name: str, config_project: FakeProject
    ) -> None:
        """A Kubernetes agent that jobs of ``project`` may use (``GET /job/allowed_agents``)."""
        project.agents.append(
            {
                "id": agent_id,
                "config_project": {
                    "id": config_project.id,
                    "description": None,
                    "name": config_project.name,
                    "name_with_namespace": config_project.path_with_namespace.replace("/", " / "),
                    "path": config_project.name,
                    "path_with_namespace": config_project.path_with_namespace,
                    "created_at": "2026-11-01T09:00:00.000Z",
                },
                "configuration": {"default_namespace": name},
            }
        )

    def add_fault(self, match: Callable[[RecordedRequest], bool], **fields: Any) -> Fault:
        """Script a :class:`Fault` for the requests that ``match``."""
        fault = Fault(match, **fields)
        self.faults.append(fault)
        return fault

    # -- serving --------------------------------------------------------------------------

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        body = await request.read() if request.can_read_body else b""
        record = RecordedRequest(
            request.method,
            request.raw_path.split("?", 1)[0],
            tuple(request.query.items()),
            CIMultiDict(request.headers),
            body,
            at=time.monotonic(),
            peer=int((request.transport.get_extra_info("peername") or ("", 0))[1])
            if request.transport is not None
            else 0,
        )
        self.requests.append(record)
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            response = await self._answer(request, handler, record)
        except asyncio.CancelledError:
            record.cancelled = True
            raise
        finally:
            self.in_flight -= 1
        record.status = response.status
        if isinstance(response, web.Response) and response.body is not None:
            record.response_bytes = len(response.body)  # type: ignore[arg-type]
        response.headers["X-Request-Id"] = uuid.uuid4().hex[:26].upper()
        response.headers["X-Runtime"] = f"{time.perf_counter() - started:.6f}"
        response.headers.setdefault("Cache-Control", "max-age=0, private, must-revalidate")
        return response

    async def _answer(
        self, request: web.Request, handler: Handler, record: RecordedRequest
    ) -> web.StreamResponse:
        fault = next(
            (f for f in self.faults if (f.times is None or f.hits < f.times) and f.match(record)),
            None,
        )
        if fault is not None:
            fault.hits += 1
        delay = self.latency + (fault.delay if fault else 0.0)
        if delay:
            await asyncio.sleep(delay)
        behaviour = fault.behaviour if fault is not None else None
        if behaviour == "reset":
            assert request.transport is not None
            request.transport.abort()
            raise asyncio.CancelledError  # the connection is gone; nothing is handled
        if behaviour == "redirect":
            return web.Response(status=302, headers={"Location": f"{self.storage_url}/elsewhere"})
        if fault is not None and fault.status is not None:
            if isinstance(fault.body, dict | list):
                return web.json_response(fault.body, status=fault.status, headers=fault.headers)
            return web.Response(
                status=fault.status, text=str(fault.body or ""), headers=fault.headers
            )
        try:
            response = await handler(request)
        except FakeError as exc:
            response = exc.response()
        if fault is not None and fault.after is not None:
            fault.after()
        if behaviour in ("reset_mid_body", "truncate", "drip") and isinstance(
            response, web.Response
        ):
            return await _misbehave(request, response, behaviour)
        return response


async def _misbehave(request: web.Request, response: web.Response, how: str) -> web.Response:
    body = bytes(response.body) if isinstance(response.body, bytes | bytearray) else b""
    if how == "truncate":
        return web.Response(
            status=response.status, body=body[: len(body) // 2], content_type=response.content_type
        )
    stream = web.StreamResponse(status=response.status)
    stream.content_type = response.content_type
    stream.content_length = len(body)
    await stream.prepare(request)
    if how == "reset_mid_body":
        await stream.write(body[: len(body) // 2])
        assert request.transport is not None
        request.transport.abort()
        raise asyncio.CancelledError
    for start in range(0, len(body), 512):  # drip
        await stream.write(body[start : start + 512])
        await asyncio.sleep(0.002)
    await stream.write_eof()
    return stream  # type: ignore[return-value]
