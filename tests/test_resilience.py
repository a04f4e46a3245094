"""One rate budget per client, outcome-unknown actions, connections, limits and TLS settings."""

from __future__ import annotations

import asyncio
import logging
import time

import aiohttp
import pytest

from gitlab_jobs_async import (
    GitLab,
    OutcomeUnknown,
    RateLimited,
    RequestTimeout,
    ResponseError,
    RetryPolicy,
    ServerError,
)

from ._support import PROJECT, World


def gets(world: World) -> list[float]:
    return [r.at for r in world.fake.requests if r.method == "GET"]


class VirtualClock:
    """A monotonic clock for the client's pacer and back-offs: sleeping takes no real time.

    A sleep of ``s`` seconds started at virtual time ``t`` wakes at ``t + s``; the clock
    moves to the latest wake-up once the sleeper resumes.
    """

    def __init__(self) -> None:
        self.now = 1_000.0
        self.wakes: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        wake = self.now + seconds
        self.wakes.append(wake)
        await asyncio.sleep(0)
        self.now = max(self.now, wake)


def virtual_clock(gl: GitLab) -> VirtualClock:
    """Run ``gl``'s pacer and retry waits on a :class:`VirtualClock` (private, test-only)."""
    clock = VirtualClock()
    transport = gl._transport
    transport._sleep = transport.pacer._sleep = clock.sleep
    transport.pacer._clock = clock
    return clock


async def test_429_pauses_every_task_of_the_client(world):
    """After a 429 with Retry-After, no task of the client sends until the pause is over."""
    job = world.jobs["build"].id
    world.fake.add_fault(
        lambda r: r.path.endswith(f"/jobs/{job}"),
        status=429,
        body="Retry later",
        headers={"Retry-After": "0.3"},
    )
    async with GitLab(world.fake.url, private_token=world.token) as gl:
        pacer = gl._transport.pacer
        paused = asyncio.Event()
        pause = pacer.pause

        def pause_and_tell(seconds: float, why: str) -> None:
            pause(seconds, why)
            paused.set()

        pacer.pause = pause_and_tell  # type: ignore[method-assign]
        first = asyncio.ensure_future(gl.project_jobs.get(PROJECT, job))
        await paused.wait()  # the 429 has come back and the pause has begun
        others = [gl.project_jobs.get(PROJECT, world.jobs["lint"].id) for _ in range(3)]
        results = await asyncio.gather(first, *others)
    assert [j.name for j in results] == ["build", "lint", "lint", "lint"]
    throttled = world.fake.requests[0].at
    assert len(gets(world)) == 5 and all(at - throttled >= 0.29 for at in gets(world)[1:])


async def test_remaining_zero_slows_down_before_the_wall(world):
    """RateLimit-Remaining: 0 on any answer holds the next requests until the reset."""
    reset = int(time.time()) + 2
    async with GitLab(world.fake.url, private_token=world.token) as gl:
        clock = virtual_clock(gl)
        gl._transport.pacer.observe(
            {
                "RateLimit-Limit": "600",
                "RateLimit-Remaining": "0",
                "RateLimit-Reset": str(reset),
                "RateLimit-Name": "x",
            }
        )
        assert gl.rate_limit is not None and gl.rate_limit.remaining == 0
        assert gl.rate_limit.limit == 600 and gl.rate_limit.name == "x"
        before = clock.now
        await gl.project_jobs.get(PROJECT, world.jobs["build"].id)
    (wake,) = clock.wakes  # the request waited once, until GitLab's reset
    assert 0.9 <= wake - before <= 2.1


async def test_rate_limit_view_from_429_headers(world):
    """The client exposes GitLab's RateLimit-* view as last seen."""
    world.fake.add_fault(
        lambda r: True,
        status=429,
        body="Retry later",
        headers={
            "Retry-After": "0",
            "RateLimit-Limit": "2000",
            "RateLimit-Remaining": "5",
            "RateLimit-Reset": str(int(time.time()) + 60),
            "RateLimit-Name": "throttle_authenticated_api",
        },
    )
    async with GitLab(world.fake.url, private_token=world.token) as gl:
        before = gl.rate_limit
        await gl.project_jobs.get(PROJECT, world.jobs["build"].id)
        view = gl.rate_limit
    assert before is None and view is not None and (view.limit, view.remaining) == (2000, 5)
    assert view.name == "throttle_authenticated_api" and view.reset is not None


async def test_requests_per_minute_paces_the_client(world):
    """requests_per_minute spaces requests evenly across all tasks."""
    async with GitLab(world.fake.url, private_token=world.token, requests_per_minute=600) as gl:
        clock = virtual_clock(gl)
        start = clock.now
        await asyncio.gather(
            *[gl.project_jobs.get(PROJECT, world.jobs["build"].id) for _ in range(4)]
        )
    # The first goes at once; the others at 0.1 s intervals (600 a minute).
    assert sorted(wake - start for wake in clock.wakes) == pytest.approx([0.1, 0.2, 0.3])
    assert len(gets(world)) == 4


async def test_rate_limited_past_the_cap_raises_at_once(world):
    """A Retry-After beyond max_retry_after is not waited for, and nobody is paused."""
    world.fake.add_fault(
        lambda r: True, status=429, body="Retry later", headers={"Retry-After": "600"}
    )
    async with GitLab(world.fake.url, private_token=world.token) as gl:
        with pytest.raises(RateLimited) as info:
            await gl.project_jobs.get(PROJECT, world.jobs["build"].id)
        assert (await gl.project_jobs.get(PROJECT, world.jobs["build"].id)).name == "build"
    assert info.value.retry_after == 600


async def test_action_timing_out_is_outcome_unknown_and_not_resent(world):
    """A retry whose answer does not come in time is OutcomeUnknown and sent only once."""
    world.fake.add_fault(lambda r: r.path.endswith("/retry"), delay=5.0)  # cut short at exit
    timeout = aiohttp.ClientTimeout(total=5, sock_read=0.2)
    async with GitLab(world.fake.url, private_token=world.token, timeout=timeout) as gl:
        with pytest.raises(OutcomeUnknown) as info:
            await gl.project_jobs.retry(PROJECT, world.jobs["rspec"].id)
    err = info.value
    assert err.reason == "GitLab did not answer in time"
    assert str(err).startswith("GitLab did not answer in time; the request may have reached GitLab")
    assert isinstance(err.__cause__, RequestTimeout) and err.__cause__.reason == err.reason
    assert len([r for r in world.fake.requests if r.path.endswith("/retry")]) == 1


async def test_cancel_is_retried_as_harmless(world):
    """Cancel is sent again after a 502: cancelling twice changes nothing."""
    world.fake.add_fault(lambda r: r.path.endswith("/cancel"), status=502, body="Bad Gateway")
    async with GitLab(
        world.fake.url, private_token=world.token, retry=RetryPolicy(backoff=0, max_backoff=0)
    ) as gl:
        job = await gl.project_jobs.cancel(PROJECT, world.jobs["lint"].id)
    assert str(job.status) == "canceled" and world.fake.actions["cancel"] == 1


async def test_retry_time_budget(world):
    """A request gives up when the back-off would exceed the policy's time budget."""
    world.fake.add_fault(lambda r: True, status=503, body="down", times=None)
    policy = RetryPolicy(attempts=10, backoff=0.5, timeout=0.1)
    async with GitLab(world.fake.url, private_token=world.token, retry=policy) as gl:
        with pytest.raises(ServerError):
            await gl.project_jobs.get(PROJECT, world.jobs["build"].id)
    assert len(world.fake.requests) == 1


async def test_connections_are_reused(world):
    """Many requests travel over a handful of kept-alive connections."""
    async with GitLab(world.fake.url, private_token=world.token) as gl:
        for _ in range(30):
            await gl.project_jobs.get(PROJECT, world.jobs["build"].id)
        ids = [j.id async for j in gl.project_jobs.list(PROJECT, per_page=1)]
    assert len(ids) == len(world.jobs)
    assert len({r.peer for r in world.fake.requests}) <= 8


async def test_oversized_bodies_are_refused(world):
    """A JSON answer over max_body_size is a ResponseError, not a memory spike."""
    async with GitLab(world.fake.url, private_token=world.token, max_body_size=2000) as gl:
        with pytest.raises(ResponseError, match="max_body_size"):
            await gl.project_jobs.get(PROJECT, world.jobs["build"].id)


@pytest.mark.parametrize(
    ("url", "warnings"),
    [
        ("http://127.0.0.1:8080", 0),
        ("http://localhost", 0),
        ("http://[::1]:8080", 0),
        ("https://gitlab.example", 0),
        ("http://gitlab.internal.example", 1),
    ],
)
def test_plain_http_to_a_remote_host_warns(caplog, url, warnings):
    """http:// to a non-loopback host logs one warning; loopback and https do not."""
    caplog.set_level(logging.WARNING, logger="gitlab_jobs_async")
    GitLab(url)
    assert len(caplog.records) == warnings
    assert all("plain http" in record.getMessage() for record in caplog.records)


async def test_debug_log_names_credentials_redacted(world, caplog):
    """DEBUG request lines show which credential header went, never its value."""
    caplog.set_level(logging.DEBUG, logger="gitlab_jobs_async")
    async with GitLab(world.fake.url, private_token=world.token) as gl:
        await gl.project_jobs.get(PROJECT, world.jobs["build"].id)
    messages = [r.getMessage() for r in caplog.records]
    assert any("PRIVATE-TOKEN=<redacted>" in m and " -> 200 " in m for m in messages)
    assert not any(world.token in m for m in messages)


async def test_retries_log_warnings(world, caplog):
    """Each retry is a WARNING naming the method, URL and cause."""
    caplog.set_level(logging.WARNING, logger="gitlab_jobs_async")
    world.fake.add_fault(lambda r: True, status=503, body="down")
    async with GitLab(
        world.fake.url, private_token=world.token, retry=RetryPolicy(backoff=0, max_backoff=0)
    ) as gl:
        await gl.project_jobs.get(PROJECT, world.jobs["build"].id)
    (record,) = caplog.records
    assert record.levelno == logging.WARNING and "retrying GET" in record.getMessage()


async def test_429_given_up_pauses_nobody(world):
    """A 429 whose wait exceeds the time budget raises at once and holds no other request."""
    world.fake.add_fault(
        lambda r: r.path.endswith(f"/jobs/{world.jobs['build'].id}"),
        status=429,
        body="Retry later",
        headers={"Retry-After": "30"},
    )
    policy = RetryPolicy(timeout=1.0)  # 30 s is within max_retry_after, beyond the budget
    async with GitLab(world.fake.url, private_token=world.token, retry=policy) as gl:
        with pytest.raises(RateLimited):
            await gl.project_jobs.get(PROJECT, world.jobs["build"].id)
        async with asyncio.timeout(5):  # a pause would hold this request for 30 s
            job = await gl.project_jobs.get(PROJECT, world.jobs["lint"].id)
    assert job.name == "lint"


async def test_retry_time_budget_counts_waiting_only(world):
    """Slow attempts do not use up the budget: only the waits between them count."""
    world.fake.add_fault(lambda r: True, status=503, body="down", delay=0.2, times=2)
    policy = RetryPolicy(attempts=3, backoff=0, max_backoff=0, timeout=0.1)
    async with GitLab(world.fake.url, private_token=world.token, retry=policy) as gl:
        job = await gl.project_jobs.get(PROJECT, world.jobs["build"].id)
    assert job.name == "build" and len(world.fake.requests) == 3
