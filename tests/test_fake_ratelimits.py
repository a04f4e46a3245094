"""The fake's GitLab rate limits (issue 11): Rack::Attack throttles and application limits
such as ``jobs_index``, on a manual clock so no test sleeps."""

from __future__ import annotations

import aiohttp
import pytest

from gitlab_jobs_async.testing import EndpointLimit, FakeGitLab, ManualClock, Throttle
from gitlab_jobs_async.testing._ratelimits import Counters, preset, throttle_headers

from ._support import World, seed
from .test_fake_gitlab import JOBS, Reply, call


@pytest.fixture
async def clocked():
    """A fake on a manual clock (at the start of a minute), seeded with the small world."""
    clock = ManualClock()
    async with FakeGitLab(clock=clock) as fake:
        yield seed(fake), clock


async def jobs(world: World, token: str | None = None) -> Reply:
    return await call(world.fake, "GET", f"{JOBS}?per_page=1", token=token or world.token)


async def test_throttle_headers_on_every_answer_then_429(clocked):
    """A Rack::Attack throttle sends RateLimit-* on every answer, then 429 text/plain "Retry later" with Retry-After."""
    world, clock = clocked
    world.fake.set_rate_limits([Throttle(limit=3, period=2)])
    answers = [await jobs(world) for _ in range(4)]
    assert [a.status for a in answers] == [200, 200, 200, 429]
    first, last = answers[0].headers, answers[3]
    assert first["RateLimit-Name"] == "throttle_authenticated_api"
    assert first["RateLimit-Limit"] == "90"  # 3 per 2 s, scaled to 60 s
    assert (first["RateLimit-Observed"], first["RateLimit-Remaining"]) == ("1", "2")
    assert first["RateLimit-Reset"] == str(int(clock.now) + 2) and "Retry-After" not in first
    assert last.raw == b"Retry later\n" and last.headers["Content-Type"] == "text/plain"
    assert last.headers["Retry-After"] == "2" and last.headers["RateLimit-Remaining"] == "0"
    assert last.headers["RateLimit-Observed"] == "4" and "RateLimit-ResetTime" in last.headers
    recorded = world.fake.requests[-1]
    assert recorded.status == 429 and recorded.limited_by == "throttle_authenticated_api"
    assert world.fake.observed.rate_limited["throttle_authenticated_api"] == 1


async def test_throttled_requests_count_and_windows_are_fixed(clocked):
    """Throttled requests count too (Observed keeps rising); the next fixed window starts afresh."""
    world, clock = clocked
    world.fake.set_rate_limits([Throttle(limit=1, period=10)])
    clock.advance(7)
    statuses = [(await jobs(world)).status for _ in range(3)]
    assert statuses == [200, 429, 429]
    again = await jobs(world)
    assert again.headers["RateLimit-Observed"] == "4" and again.headers["Retry-After"] == "3"
    clock.advance(3)  # the window aligned on Unix time ends
    assert (await jobs(world)).status == 200


@pytest.mark.parametrize(
    ("mode", "on_200", "on_429"), [("on_429", False, True), ("never", False, False)]
)
async def test_throttle_header_modes(clocked, mode, on_200, on_429):
    """Older GitLab sends RateLimit-* only on the 429; a stripping proxy nowhere (Retry-After stays)."""
    world, _ = clocked
    world.fake.set_rate_limits([Throttle(limit=1, period=2, headers=mode)])
    ok, limited = await jobs(world), await jobs(world)
    assert ("RateLimit-Name" in ok.headers) is on_200
    assert ("RateLimit-Name" in limited.headers) is on_429
    assert limited.status == 429 and limited.headers["Retry-After"] == "2"


async def test_throttle_is_per_user_and_by_path_and_method(clocked):
    """Each user has a budget; only matching paths and methods count."""
    world, _ = clocked
    world.fake.set_rate_limits([Throttle(limit=1, period=60, path=r"/jobs$", methods=["get"])])
    assert [(await jobs(world)).status for _ in range(2)] == [200, 429]
    assert (await jobs(world, world.maintainer_token)).status == 200  # bob's own budget
    job = await call(world.fake, "GET", f"{JOBS}/{world.jobs['build'].id}", token=world.token)
    assert job.status == 200 and "RateLimit-Name" not in job.headers


async def test_unauthenticated_throttle_counts_anonymous_requests_per_ip(fake):
    """throttle_unauthenticated_api counts requests without a known token, and only those."""
    world = seed(fake)
    fake.set_rate_limits(
        [Throttle(name="throttle_unauthenticated_api", limit=1, who="unauthenticated")]
    )
    anonymous = [(await call(fake, "GET", "/version")).status for _ in range(2)]
    assert anonymous == [401, 429]
    assert (await jobs(world)).status == 200


async def test_jobs_index_is_json_and_invisible(clocked):
    """jobs_index answers JSON {"message":{"error":...}} with Retry-After = the period, and never shows in RateLimit-*."""
    world, _ = clocked
    world.fake.set_rate_limits([EndpointLimit(limit=2, period=60)])
    answers = [await jobs(world) for _ in range(3)]
    assert [a.status for a in answers] == [200, 200, 429]
    assert not any("RateLimit-Name" in a.headers for a in answers)
    assert answers[2].body == {
        "message": {"error": "This endpoint has been requested too many times. Try again later."}
    }
    assert answers[2].headers["Retry-After"] == "60"
    assert world.fake.requests[-1].limited_by == "jobs_index"
    one = await call(world.fake, "GET", f"{JOBS}/{world.jobs['build'].id}", token=world.token)
    assert one.status == 200  # only the list counts


async def test_older_jobs_index_sends_no_retry_after(clocked):
    """With retry_after=False (older GitLab) the JSON 429 has no Retry-After."""
    world, _ = clocked
    world.fake.set_rate_limits([EndpointLimit(limit=0, retry_after=False)])
    reply = await jobs(world)
    assert reply.status == 429 and "Retry-After" not in reply.headers


async def test_jobs_index_comes_after_authentication_and_params(clocked):
    """Application limits are checked after authentication (401) and Grape's params (400)."""
    world, _ = clocked
    world.fake.set_rate_limits([EndpointLimit(limit=0)])
    assert (await call(world.fake, "GET", JOBS)).status == 401
    assert (await call(world.fake, "GET", f"{JOBS}?per_page=0", token=world.token)).status == 400
    assert world.fake.observed.rate_limited["jobs_index"] == 0


async def test_both_kinds_at_once_on_the_jobs_list(clocked):
    """The jobs list counts against jobs_index and the throttle; RateLimit-* shows only the throttle."""
    world, clock = clocked
    world.fake.set_rate_limits([Throttle(limit=5, period=2), EndpointLimit(limit=2, period=2)])
    answers = [await jobs(world) for _ in range(4)]
    assert [a.status for a in answers] == [200, 200, 429, 429]
    assert answers[2].headers["Content-Type"] == "application/json"  # jobs_index's
    assert answers[3].headers["RateLimit-Name"] == "throttle_authenticated_api"
    assert answers[3].headers["RateLimit-Observed"] == "4"
    limited = world.fake.observed.rate_limited
    assert (limited["jobs_index"], limited["throttle_authenticated_api"]) == (2, 0)
    clock.advance(2)
    assert (await jobs(world)).status == 200


async def test_presets_and_runtime_changes(fake):
    """gitlab.com puts 2,000/min API + jobs_index 600/min in force; off removes them at runtime."""
    world = seed(fake)
    fake.set_rate_limits("gitlab.com")
    names = [limit.name for limit in fake.knobs.rate_limits]
    assert names == ["throttle_authenticated_api", "throttle_unauthenticated_api", "jobs_index"]
    reply = await jobs(world)
    assert (
        reply.headers["RateLimit-Limit"] == "2000"
        and reply.headers["RateLimit-Remaining"] == "1999"
    )
    fake.set_rate_limits("off")
    assert "RateLimit-Name" not in (await jobs(world)).headers
    async with FakeGitLab(rate_limits="gitlab.com") as other:
        assert len(other.knobs.rate_limits) == 3
    with pytest.raises(ValueError, match="preset"):
        preset("github")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("limit", "period", "times", "at", "expected"),
    [
        (
            20,
            2,
            1,
            0.0,
            {"RateLimit-Limit": "600", "RateLimit-Remaining": "19", "RateLimit-Reset": "2"},
        ),
        (
            20,
            2,
            21,
            1.5,
            {"RateLimit-Observed": "21", "RateLimit-Remaining": "0", "Retry-After": "1"},
        ),
        (2000, 60, 3, 59.9, {"RateLimit-Observed": "3", "RateLimit-Reset": "60"}),
        (7, 60, 1, 0.0, {"RateLimit-Limit": "7"}),
        (1, 7, 1, 0.0, {"RateLimit-Limit": "9"}),  # 60/7 rounded up
    ],
)
def test_counter_and_headers_table(limit, period, times, at, expected):
    """Counts in fixed windows aligned on Unix time, and Rack::Attack's header arithmetic."""
    counters = Counters()
    throttle = Throttle(limit=limit, period=period)
    for _ in range(times):
        hit = counters.hit(throttle, "user:1", at)
    headers = throttle_headers(throttle.name, hit, throttled=hit.throttled)
    assert hit.throttled is (times > limit)
    for name, value in expected.items():
        assert headers[name] == value


def test_limits_validate_their_settings():
    """A negative limit or a period under a second is refused at once."""
    with pytest.raises(ValueError):
        Throttle(limit=-1)
    with pytest.raises(ValueError):
        EndpointLimit(period=0)


async def test_rate_limit_headers_reach_aiohttp_clients(clocked):
    """RateLimit-Reset is a Unix second and RateLimit-ResetTime an HTTP date on the 429."""
    world, clock = clocked
    world.fake.set_rate_limits([Throttle(limit=0, period=60)])
    async with aiohttp.ClientSession() as session:
        async with session.get(
            f"{world.fake.api_url}{JOBS}", headers={"PRIVATE-TOKEN": world.token}
        ) as resp:
            assert resp.status == 429
            assert int(resp.headers["RateLimit-Reset"]) == int(clock.now) + 60
            assert resp.headers["RateLimit-ResetTime"].endswith(" GMT")
