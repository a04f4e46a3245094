"""The pagination engine against the fake GitLab: concurrent, exact, cancellable."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import aclosing
from datetime import timedelta
from typing import Any

import pytest

from gitlab_jobs_async import GitLab, Job, ServerError
from gitlab_jobs_async.testing import FakeGitLab, FakeProject, RecordedRequest

BASE = "group/app"


def seed(
    fake: FakeGitLab, n: int, *, pipelines: int = 1
) -> tuple[str, FakeProject, Any, list[int]]:
    """A project with ``n`` jobs spread over ``pipelines`` pipelines; returns ids newest first."""
    user = fake.add_user("auditor")
    token = fake.add_personal_token(user)
    project = fake.add_project(BASE)
    fake.add_member(project, user, "reporter")
    pipes = [fake.add_pipeline(project) for _ in range(pipelines)]
    for i in range(n):
        fake.add_job(pipes[i % pipelines], name=f"job{i}", status="success")
    return token, project, pipes[0], sorted((j.id for j in project.builds), reverse=True)


def page_of(request: RecordedRequest) -> int:
    return int(request.param("page") or 0)


def is_list(request: RecordedRequest) -> bool:
    return request.path.endswith("/jobs")


async def eventually(check: Callable[[], bool], seconds: float = 5.0) -> None:
    """Wait until ``check()`` holds (the server sees a client's cancellation a moment later)."""
    for _ in range(int(seconds / 0.01)):
        if check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"still not true after {seconds} s")


def hold_pages_after_the_first(fake: FakeGitLab, *, delay: float) -> asyncio.Event:
    """Delay every list page but the first; the event is set when one of them arrives."""
    arrived = asyncio.Event()

    def hold(request: RecordedRequest) -> bool:
        if is_list(request) and page_of(request) > 1:
            arrived.set()
            return True
        return False

    fake.add_fault(hold, delay=delay, times=None)
    return arrived


SIZES = [0, 1, 99, 100, 101, 2345, 10_001]


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("mode", ["offset", "keyset"])
async def test_project_jobs_every_id_once_in_order(fake, n, mode):
    """Project jobs (never any totals) come out complete, once each, newest first."""
    token, _, _, expected = seed(fake, n)
    async with GitLab(fake.url, private_token=token) as gl:
        ids = [j.id async for j in gl.project_jobs.list(BASE, pagination=mode)]
    assert ids == expected
    pages = [r for r in fake.requests if is_list(r)]
    needed = max(1, -(-n // 100))
    if mode == "offset":
        wasted = len(pages) - needed
        assert 0 <= wasted < 8  # speculation past the end is bounded by the window
        assert sorted(page_of(r) for r in pages)[:needed] == list(range(1, needed + 1))
    else:
        assert len(pages) == needed  # keyset knows the end: no Link on the last page


@pytest.mark.parametrize("n", SIZES)
async def test_pipeline_jobs_with_totals(fake, n):
    """Pipeline jobs (totals up to 10,000) come out complete; with totals nothing is fetched past the end."""
    token, _, pipeline, expected = seed(fake, n)
    async with GitLab(fake.url, private_token=token) as gl:
        ids = [j.id async for j in gl.pipeline_jobs.list(BASE, pipeline.id)]
    assert ids == expected
    pages = [page_of(r) for r in fake.requests if is_list(r)]
    needed = max(1, -(-n // 100))
    if n <= 10_000:
        assert sorted(pages) == list(range(1, needed + 1))
    else:
        assert set(range(1, needed + 1)) <= set(pages)


async def test_pages_are_fetched_concurrently_within_budget(fake):
    """With latency, several pages are in flight at once, never more than the budget."""
    token, _, _, expected = seed(fake, 2000)
    fake.latency = 0.02
    async with GitLab(fake.url, private_token=token, max_concurrency=4) as gl:
        ids = [j.id async for j in gl.project_jobs.list(BASE)]
    assert ids == expected
    assert 2 <= fake.peak_in_flight <= 4


async def test_jobs_inserted_while_listing_are_neither_lost_nor_doubled(fake):
    """Pages served out of order around new jobs still give every original job once."""
    token, _, pipeline, expected = seed(fake, 500)

    def insert() -> None:
        for i in range(7):
            fake.add_job(pipeline, name=f"late{i}", status="pending")

    # Page 3 is answered at once and then 7 jobs arrive; page 2 is answered after that, so
    # it is shifted by 7 relative to page 3: a naive concurrent walk would lose 7 jobs.
    fake.add_fault(lambda r: is_list(r) and r.param("page") == "2", delay=0.2)
    fake.add_fault(lambda r: is_list(r) and r.param("page") == "3", after=insert)
    async with GitLab(fake.url, private_token=token) as gl:
        ids = [j.id async for j in gl.project_jobs.list(BASE)]
    assert ids == expected
    third = [r for r in fake.requests if is_list(r) and page_of(r) == 3 and not r.cancelled]
    assert len(third) == 2  # fetched again after the shift was seen


async def test_page_failing_once_is_retried(fake):
    """A page answering 500 once is retried and the list is complete."""
    token, _, _, expected = seed(fake, 450)
    fake.add_fault(
        lambda r: is_list(r) and r.param("page") == "3",
        status=500,
        body={"message": "500 Internal Server Error"},
    )
    async with GitLab(fake.url, private_token=token) as gl:
        ids = [j.id async for j in gl.project_jobs.list(BASE)]
    assert ids == expected
    assert [page_of(r) for r in fake.requests if is_list(r)].count(3) == 2


async def test_page_failing_for_good_raises_after_what_came_before(fake):
    """A page that keeps failing raises a typed error; the pages before it were yielded."""
    token, _, _, expected = seed(fake, 450)
    fake.add_fault(
        lambda r: is_list(r) and r.param("page") == "3",
        status=503,
        body={"message": "503 Service Unavailable"},
        times=None,
    )
    seen: list[int] = []
    async with GitLab(fake.url, private_token=token) as gl:
        with pytest.raises(ServerError) as info:
            async for job in gl.project_jobs.list(BASE):
                seen.append(job.id)
    assert seen == expected[:200]
    assert info.value.status == 503


async def test_early_break_cancels_requests_in_flight(fake):
    """Leaving the loop cancels the pages in flight, and no page is requested afterwards."""
    token, _, _, _ = seed(fake, 1000)
    arrived = hold_pages_after_the_first(fake, delay=0.5)
    async with GitLab(fake.url, private_token=token) as gl:
        async with aclosing(gl.project_jobs.list(BASE)) as jobs:
            async for _ in jobs:
                await arrived.wait()  # the pages ahead are on the wire
                await asyncio.sleep(0.02)
                break
        sent = len(fake.requests)
        ahead = [r for r in fake.requests[:sent] if is_list(r) and page_of(r) > 1]
        await eventually(lambda: all(r.cancelled for r in ahead))
        await asyncio.sleep(0.2)  # time enough for a stray request to show up
        assert (await gl.project_jobs.get(BASE, 1)).id == 1  # the pool still serves
    assert ahead and all(r.cancelled for r in ahead)
    assert len([r for r in fake.requests if is_list(r)]) == 1 + len(ahead)


async def test_cancelling_the_consumer_task_cancels_pages(fake):
    """Cancelling the task that iterates cancels its page requests too."""
    token, _, _, _ = seed(fake, 1000)
    arrived = hold_pages_after_the_first(fake, delay=5)

    async with GitLab(fake.url, private_token=token) as gl:

        async def consume() -> None:
            async for _ in gl.project_jobs.list(BASE):
                pass

        task = asyncio.create_task(consume())
        await arrived.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        ahead = [r for r in fake.requests if is_list(r) and page_of(r) > 1]
        await eventually(lambda: all(r.cancelled for r in ahead))
    assert ahead and all(r.cancelled for r in ahead)


@pytest.mark.parametrize("mode", ["offset", "keyset"])
async def test_link_to_another_host_is_not_followed(fake, mode):
    """Links naming GitLab's external host are read for their page/cursor only."""
    token, _, _, expected = seed(fake, 350)
    fake.external_url = "https://gitlab.internal.example:8443"
    async with GitLab(fake.url, private_token=token) as gl:
        ids = [j.id async for j in gl.project_jobs.list(BASE, pagination=mode)]
    assert ids == expected


@pytest.mark.parametrize("mode", ["offset", "keyset"])
async def test_max_items(fake, mode):
    """max_items stops the list early and asks for no more than it needs."""
    token, _, _, expected = seed(fake, 1000)
    async with GitLab(fake.url, private_token=token) as gl:
        ids = [j.id async for j in gl.project_jobs.list(BASE, pagination=mode, max_items=30)]
    assert ids == expected[:30]
    assert all(r.param("per_page") == "30" for r in fake.requests if is_list(r))
    assert len([r for r in fake.requests if is_list(r)]) <= 3


async def test_created_after_stops_at_older_jobs(fake):
    """created_after stops at the first older job; later pages are not walked."""
    token, project, _, expected = seed(fake, 1000)
    jobs = sorted(project.builds, key=lambda j: j.id, reverse=True)
    cutoff = jobs[249].created_at - timedelta(seconds=1)
    async with GitLab(fake.url, private_token=token) as gl:
        got: list[Job] = [j async for j in gl.project_jobs.list(BASE, created_after=cutoff)]
    assert [j.id for j in got] == expected[:250]
    assert max(page_of(r) for r in fake.requests if is_list(r)) <= 3 + 8


async def test_offset_cap_continues_in_keyset(fake):
    """GitLab's 405 offset cap is crossed by continuing in keyset mode, nothing lost or doubled."""
    token, _, _, expected = seed(fake, 750)
    fake.enforce_offset_limit = True
    fake.offset_limit = 300
    async with GitLab(fake.url, private_token=token) as gl:
        ids = [j.id async for j in gl.project_jobs.list(BASE)]
    assert ids == expected
    statuses = {r.status for r in fake.requests if is_list(r) and not r.cancelled}
    assert 405 in statuses
    assert any(r.param("pagination") == "keyset" for r in fake.requests)


async def test_list_many_merges_projects_within_one_budget(fake):
    """Many projects' lists run together, all jobs once, within the client-wide budget."""
    user = fake.add_user("auditor")
    token = fake.add_personal_token(user)
    expected: dict[str, set[int]] = {}
    for p in range(6):
        project = fake.add_project(f"group/p{p}")
        fake.add_member(project, user, "reporter")
        pipeline = fake.add_pipeline(project)
        expected[project.path_with_namespace] = {
            fake.add_job(pipeline, name=f"j{i}").id for i in range(130 + p * 40)
        }
    fake.latency = 0.01
    got: dict[str | int, list[int]] = {}
    async with GitLab(fake.url, private_token=token, max_concurrency=3) as gl:
        async for project_key, job in gl.project_jobs.list_many(list(expected)):
            got.setdefault(project_key, []).append(job.id)
    assert {k: set(v) for k, v in got.items()} == expected
    assert all(v == sorted(v, reverse=True) for v in got.values())
    assert fake.peak_in_flight <= 3


async def test_list_many_surfaces_the_first_failure(fake):
    """One project's failure ends the merged stream with its error."""
    token, _, _, _ = seed(fake, 10)
    async with GitLab(fake.url, private_token=token) as gl:
        with pytest.raises(Exception) as info:
            [x async for x in gl.project_jobs.list_many([BASE, "group/missing"])]
    assert getattr(info.value, "status", None) == 404


async def test_pipeline_jobs_list_many(fake):
    """Jobs of several pipelines merge into one stream keyed by (project, pipeline)."""
    token, _, _, _ = seed(fake, 300, pipelines=3)
    pipelines = [(BASE, p) for p in (1, 2, 3)]
    async with GitLab(fake.url, private_token=token) as gl:
        got = [(key, job.id) async for key, job in gl.pipeline_jobs.list_many(pipelines)]
    assert len(got) == 300 and len({job for _, job in got}) == 300
    assert {key for key, _ in got} == set(pipelines)
