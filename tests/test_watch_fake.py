"""gl.project_jobs.watch() and watch_many() over real HTTP against the fake GitLab.

Time never passes for real: the watcher's ``sleep`` is a script that changes the fake between
polls, and ends the watch (by raising) when the script runs out.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Callable
from typing import Any

import pytest

from gitlab_jobs_async import GitLab, JobStatus, NotFound, ResponseError, Unauthorized
from gitlab_jobs_async.testing import FakeGitLab
from gitlab_jobs_async.webhooks import JobEvent

from ._support import FAST, PROJECT, World


class Enough(Exception):
    """Raised by the script's sleep when it has no step left: ends the watch."""


class Script:
    """A stand-in for ``asyncio.sleep``: each call runs the next step, then returns."""

    def __init__(self, *steps: Callable[[], object]) -> None:
        self.steps = list(steps)
        self.slept: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.slept.append(seconds)
        if not self.steps:
            raise Enough
        self.steps.pop(0)()


async def collect(events: AsyncGenerator[JobEvent, None]) -> list[JobEvent]:
    found: list[JobEvent] = []
    with pytest.raises(Enough):
        async for event in events:
            found.append(event)
    return found


def job_lists(fake: FakeGitLab) -> list[Any]:
    return [r for r in fake.requests if r.path.endswith("/jobs")]


@pytest.fixture
async def gl(world: World) -> AsyncGenerator[GitLab, None]:
    async with GitLab(world.fake.url, private_token=world.token, retry=FAST) as client:
        yield client


async def test_new_jobs_and_status_changes_become_job_events(world: World, gl: GitLab):
    """A job that fails and a job that appears between polls come out as typed JobEvents."""
    fake, lint = world.fake, world.jobs["lint"]
    new: list[Any] = []
    script = Script(
        lambda: fake.set_status(lint, "failed", failure_reason="runner_system_failure"),
        lambda: new.append(fake.add_job(world.pipeline, name="rerun", status="pending")),
    )
    events = await collect(gl.project_jobs.watch(PROJECT, poll=5.0, sleep=script))
    assert [(e.job_id, e.status) for e in events] == [(lint.id, "failed"), (new[0].id, "pending")]
    failed = events[0]
    assert failed.hook == "Job Hook"
    assert failed.status is JobStatus.FAILED and failed.failure_reason == "runner_system_failure"
    assert (failed.name, failed.stage, failed.pipeline_id) == ("lint", "test", world.pipeline.id)
    assert failed.project_id == world.project.id and failed.runner is not None
    assert failed.delivery_id is None and failed.idempotency_key is None  # found by polling
    assert events[1].runner is None  # pending: no runner yet, as in a hook


async def test_the_baseline_reports_nothing_unless_asked(world: World, gl: GitLab):
    """By default the first poll only learns; existing="unfinished" reports what is not done."""
    quiet = await collect(gl.project_jobs.watch(PROJECT, sleep=Script()))
    assert quiet == []
    unfinished = await collect(
        gl.project_jobs.watch(PROJECT, existing="unfinished", sleep=Script())
    )
    expected = {j.id for j in world.jobs.values() if j.status not in ("success", "failed")}
    assert {e.job_id for e in unfinished} == expected
    everything = await collect(gl.project_jobs.watch(PROJECT, existing="all", sleep=Script()))
    assert {e.job_id for e in everything} == {j.id for j in world.jobs.values()}


async def test_status_filter_keeps_only_those_transitions(world: World, gl: GitLab):
    """status="failed" yields failures only, though every change is tracked."""
    fake, jobs = world.fake, world.jobs
    script = Script(
        lambda: fake.set_status(jobs["pending"], "running"),
        lambda: fake.set_status(jobs["pending"], "failed"),
        lambda: fake.set_status(jobs["lint"], "success"),
    )
    events = await collect(gl.project_jobs.watch(PROJECT, status="failed", sleep=script))
    assert [(e.job_id, e.status) for e in events] == [(jobs["pending"].id, "failed")]


async def test_a_quiet_project_costs_one_request_a_poll(world: World, gl: GitLab):
    """Polls of a project where nothing changes read page 1 only, and wait `poll` seconds."""
    script = Script(*[lambda: None] * 4)
    watch = gl.project_jobs.watch(PROJECT, poll=7.0, sleep=script, clock=lambda: 0.0)
    assert await collect(watch) == []
    assert len(world.fake.requests) == 5
    assert all(r.param("page") == "1" and r.param("per_page") == "100" for r in world.fake.requests)
    assert script.slept == [7.0] * 5


async def test_the_wait_subtracts_the_time_a_poll_took(world: World, gl: GitLab):
    """With the injected clock advancing 2 s during a poll, the watch waits poll - 2 s."""
    now = [100.0]

    def clock() -> float:
        now[0] += 1.0  # one second before and one after each poll
        return now[0]

    script = Script(lambda: None)
    await collect(gl.project_jobs.watch(PROJECT, poll=10.0, sleep=script, clock=clock))
    assert script.slept == [9.0, 9.0]


async def test_deep_unfinished_jobs_are_rechecked(fake: FakeGitLab):
    """A running job far below page 1 is still watched: rechecked, and its end reported."""
    user = fake.add_user("ann")
    project = fake.add_project("deep/app")
    fake.add_member(project, user, "developer")
    pipeline = fake.add_pipeline(project, user=user)
    old = fake.add_job(pipeline, name="long", status="running")
    for n in range(30):
        fake.add_job(pipeline, name=f"done {n}")
    async with GitLab(fake.url, private_token=fake.add_personal_token(user), retry=FAST) as gl:
        script = Script(lambda: None, lambda: fake.set_status(old, "success"), lambda: None)
        events = await collect(gl.project_jobs.watch("deep/app", per_page=10, sleep=script))
    assert [(e.job_id, e.status) for e in events] == [(old.id, "success")]
    paths = [
        (r.path.rsplit("/", 1)[-1], r.param("page"), r.param("scope[]")) for r in fake.requests
    ]
    assert paths[:2] == [("jobs", "1", None), ("jobs", "1", "created")]  # the baseline
    assert paths[2:] == [("jobs", "1", None), (str(old.id), None, None)] * 2 + [("jobs", "1", None)]


async def test_watch_many_streams_every_project(world: World, gl: GitLab):
    """watch_many polls each project every cycle; events carry their project's id."""
    fake = world.fake
    other = fake.find_project("group/downstream")
    assert other is not None
    script = Script(
        lambda: fake.add_job(world.downstream, name="down", status="running"),
        lambda: fake.set_status(world.jobs["pending"], "running"),
    )
    events = await collect(gl.project_jobs.watch_many([PROJECT, "group/downstream"], sleep=script))
    assert [(e.project_id, e.name, e.status) for e in events] == [
        (other.id, "down", "running"),
        (world.project.id, "pending", "running"),
    ]
    assert len(job_lists(fake)) == 2 * 3


async def test_a_passing_fault_loses_nothing(world: World, gl: GitLab, caplog):
    """A poll failing with 503 (after the client's own retries) is logged and tried again
    next time; the change is still found."""
    fake, lint = world.fake, world.jobs["lint"]

    def fail_next_poll() -> None:
        fake.set_status(lint, "failed")
        fake.add_fault(
            lambda r: r.path.endswith("/jobs"), status=503, body={"message": "down"}, times=3
        )

    caplog.set_level(logging.WARNING, "gitlab_jobs_async")
    events = await collect(
        gl.project_jobs.watch(PROJECT, sleep=Script(fail_next_poll, lambda: None))
    )
    assert [(e.job_id, e.status) for e in events] == [(lint.id, "failed")]
    assert "poll failed, trying again" in caplog.text


@pytest.mark.parametrize(
    ("token", "project", "error"),
    [("bad", PROJECT, Unauthorized), (None, "no/such", NotFound)],
)
async def test_errors_that_will_not_pass_end_the_watch(world: World, token, project, error):
    """A 401 or a 404 for the project ends the watch by raising it."""
    async with GitLab(world.fake.url, private_token=token or world.token, retry=FAST) as gl:
        with pytest.raises(error):
            await collect(gl.project_jobs.watch(project, sleep=Script()))


async def test_an_answer_that_is_not_a_job_list_is_a_response_error(world: World, gl: GitLab):
    """A list answer that is not an array of jobs raises ResponseError naming the problem."""
    world.fake.add_fault(lambda r: r.path.endswith("/jobs"), status=200, body={"oops": 1})
    with pytest.raises(ResponseError, match="expected a JSON array"):
        await collect(gl.project_jobs.watch(PROJECT, sleep=Script()))


@pytest.mark.parametrize(
    ("arguments", "error", "words"),
    [
        ({"poll": 0}, ValueError, "poll"),
        ({"poll": "10"}, TypeError, "poll"),
        ({"status": "bogus"}, ValueError, "not a job status"),
        ({"existing": "some"}, ValueError, "existing"),
        ({"recheck": "magic"}, ValueError, "recheck"),
        ({"per_page": 500}, ValueError, "per_page"),
        ({"max_tracked": 0}, ValueError, "max_tracked"),
        ({"retention": -1}, ValueError, "retention"),
        ({"sleep": 3}, TypeError, "sleep"),
    ],
)
async def test_bad_arguments_are_refused_before_any_request(world: World, gl: GitLab, arguments,
                                                            error, words):  # fmt: skip
    """watch() checks its arguments when called, before any request."""
    with pytest.raises(error, match=words):
        gl.project_jobs.watch(PROJECT, **arguments)
    with pytest.raises(TypeError, match="iterable"):
        gl.project_jobs.watch_many(PROJECT)
    assert world.fake.requests == []
