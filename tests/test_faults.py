"""Fault injection: every fault × every endpoint, each ending in exact data or a typed error.

Faults are scripted on the fake GitLab for the first matching request only. POST side
effects are counted on the server: an action is never carried out twice.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from gitlab_jobs_async import (
    APIError,
    GitLab,
    NotFound,
    OutcomeUnknown,
    ResponseError,
    ServerError,
    TransportError,
)
from gitlab_jobs_async.testing import FakeGitLab, RecordedRequest

from ._support import FAST, LOG, PROJECT, World, seed

FAULTS: dict[str, dict[str, Any]] = {
    "429 json": {
        "status": 429,
        "headers": {"Retry-After": "0"},
        "body": {
            "message": {
                "error": "This endpoint has been requested too many times. Try again later."
            }
        },
    },
    "429 text": {
        "status": 429,
        "body": "Retry later",
        "headers": {
            "Retry-After": "0",
            "RateLimit-Name": "throttle_authenticated_api",
            "RateLimit-Limit": "2000",
            "RateLimit-Observed": "2001",
            "RateLimit-Remaining": "0",
        },
    },
    "500": {"status": 500, "body": {"message": "500 Internal Server Error"}},
    "502": {"status": 502, "body": "<html>Bad Gateway</html>"},
    "503": {"status": 503, "body": {"message": "503 Service Unavailable"}},
    "reset": {"behaviour": "reset"},
    "reset mid-body": {"behaviour": "reset_mid_body"},
    "truncated JSON": {"behaviour": "truncate"},
    "slow drip": {"behaviour": "drip"},
    "redirect elsewhere": {"behaviour": "redirect"},
}

Op = Callable[[GitLab, World], Awaitable[Any]]


async def list_project_jobs(gl: GitLab, w: World) -> Any:
    return [j.id async for j in gl.project_jobs.list(PROJECT, per_page=2)]


async def list_pipeline_jobs(gl: GitLab, w: World) -> Any:
    return [j.id async for j in gl.pipeline_jobs.list(PROJECT, w.pipeline.id, per_page=2)]


async def list_bridges(gl: GitLab, w: World) -> Any:
    return [b.id async for b in gl.bridges.list(PROJECT, w.pipeline.id)]


async def get_job(gl: GitLab, w: World) -> Any:
    return (await gl.project_jobs.get(PROJECT, w.jobs["build"].id)).name


async def trace(gl: GitLab, w: World) -> Any:
    return b"".join([c async for c in gl.project_jobs.trace(PROJECT, w.jobs["build"].id)])


async def cancel(gl: GitLab, w: World) -> Any:
    return str((await gl.project_jobs.cancel(PROJECT, w.jobs["lint"].id)).status)


async def retry(gl: GitLab, w: World) -> Any:
    return (await gl.project_jobs.retry(PROJECT, w.jobs["rspec"].id)).name


async def erase(gl: GitLab, w: World) -> Any:
    return (await gl.project_jobs.erase(PROJECT, w.jobs["build"].id)).erased_at is not None


async def play(gl: GitLab, w: World) -> Any:
    return str((await gl.project_jobs.play(PROJECT, w.jobs["deploy"].id)).status)


async def token_job(gl: GitLab, w: World) -> Any:
    async with GitLab(w.fake.url, job_token=w.fake.job_token(w.jobs["lint"]), retry=FAST) as jt:
        return (await jt.token_job.get()).name


# endpoint: (operation, path suffix it hits, action counted on the server or None)
ENDPOINTS: dict[str, tuple[Op, str, str | None]] = {
    "list project jobs": (list_project_jobs, "/jobs", None),
    "list pipeline jobs": (list_pipeline_jobs, "/jobs", None),
    "bridges": (list_bridges, "/bridges", None),
    "get": (get_job, "", None),
    "trace": (trace, "/trace", None),
    "cancel": (cancel, "/cancel", "cancel"),
    "retry": (retry, "/retry", "retry"),
    "erase": (erase, "/erase", "erase"),
    "play": (play, "/play", "play"),
    "token job": (token_job, "/api/v4/job", None),
}
REPEATABLE = {"cancel"}  # harmless to send twice; the other actions start or destroy work


class Prefix(Exception):
    """Marker: the answer is a prefix of the clean one (a log cut short by the server)."""


def expected(endpoint: str, fault: str) -> type[Exception] | None:
    """None: recovered with exact data; otherwise the typed error to expect."""
    action = ENDPOINTS[endpoint][2]
    if fault == "redirect elsewhere":
        return NotFound if endpoint == "trace" else APIError  # followed only without a token
    if fault == "truncated JSON":
        # A complete HTTP answer with a shorter text body is, for any client, a shorter log.
        return Prefix if endpoint == "trace" else ResponseError
    if endpoint == "trace" and fault == "reset mid-body":
        return TransportError  # half the log was delivered: not re-read, nothing repeated
    if action is None or action in REPEATABLE or fault.startswith("429") or fault == "slow drip":
        return None
    if fault in ("500", "502", "503"):
        return ServerError
    return OutcomeUnknown  # reset before or during the answer: it may have acted


MATRIX = [(e, f) for e in ENDPOINTS for f in FAULTS]


ACTIONS = {name: spec for name, spec in ENDPOINTS.items() if spec[2] is not None}


@pytest.mark.parametrize("endpoint", ACTIONS)
async def test_actions_are_counted(fake: FakeGitLab, endpoint: str):
    """One clean call of each action counts exactly once, so "never twice" can fail."""
    world = seed(fake)
    op, _, action = ACTIONS[endpoint]
    assert action is not None and fake.actions[action] == 0
    async with GitLab(fake.url, private_token=world.token, retry=FAST) as gl:
        await op(gl, world)
    assert fake.actions[action] == 1


@pytest.mark.parametrize(("endpoint", "fault"), MATRIX)
async def test_fault(fake: FakeGitLab, endpoint: str, fault: str):
    """Each fault on each endpoint ends in the exact data or the expected typed error."""
    world = seed(fake)
    op, suffix, action = ENDPOINTS[endpoint]
    # The clean answer, from an identical world on a second fake, is the reference.
    async with FakeGitLab() as clean_fake:
        clean_world = seed(clean_fake)
        async with GitLab(clean_fake.url, private_token=clean_world.token, retry=FAST) as gl:
            reference = await op(gl, clean_world)

    def hits(request: RecordedRequest) -> bool:
        path = request.path
        if suffix == "":
            return path.endswith(f"/jobs/{world.jobs['build'].id}")
        if suffix == "/jobs" and endpoint == "list project jobs":
            return "/pipelines/" not in path and path.endswith("/jobs")
        if suffix == "/jobs":
            return "/pipelines/" in path and path.endswith("/jobs")
        return path.endswith(suffix)

    fake.add_fault(hits, **FAULTS[fault])
    error = expected(endpoint, fault)
    async with GitLab(fake.url, private_token=world.token, retry=FAST) as gl:
        if error is None:
            assert await op(gl, world) == reference
        elif error is Prefix:
            got = await op(gl, world)
            assert reference.startswith(got) and len(got) < len(reference)
        else:
            with pytest.raises(error) as info:
                await op(gl, world)
            assert world.token not in str(info.value)
    if action is not None:
        assert fake.actions[action] <= 1  # never carried out twice
        if error is None:
            assert fake.actions[action] == 1
    for request in fake.storage_requests:  # the other origin never saw a credential
        assert not {"PRIVATE-TOKEN", "JOB-TOKEN", "Authorization"} & set(request.headers)


async def test_trace_reference_is_the_log(fake: FakeGitLab):
    """The trace endpoint's clean answer is the seeded log (so the matrix compares real data)."""
    world = seed(fake)
    async with GitLab(fake.url, private_token=world.token) as gl:
        assert await trace(gl, world) == LOG
