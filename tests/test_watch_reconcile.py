"""Reconciliation: webhook_app(reconcile=...) handles what hooks missed, none twice.

The receiver runs over real HTTP; deliveries are posted by the test (the fake's own hooks
are tested in test_fake_webhooks*.py), and the reconciler polls the fake GitLab. Polls
happen when the test says: the reconciler's sleep waits for the test's tick.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from gitlab_jobs_async import GitLab
from gitlab_jobs_async.webhooks import (
    JobEvent,
    MemoryIdempotencyStore,
    Reconciler,
    Router,
    webhook_app,
)

from ._support import FAST, PROJECT, World

BODY = json.loads((Path(__file__).parent / "fixtures/webhooks/job_failed_legacy.json").read_text())
TOKEN = "s3cret"
WAIT = 5.0


class Ticker:
    """The reconciler's sleep: counts polls done, and lets the next one start on tick()."""

    def __init__(self) -> None:
        self.polls = 0
        self.changed = asyncio.Condition()
        self.go = asyncio.Event()

    async def sleep(self, seconds: float) -> None:
        async with self.changed:
            self.polls += 1
            self.changed.notify_all()
        await self.go.wait()
        self.go.clear()

    async def poll(self) -> None:
        """Run one more poll and wait until it is done."""
        done = self.polls
        self.go.set()
        await self.polled(done + 1)

    async def polled(self, count: int) -> None:
        async with asyncio.timeout(WAIT), self.changed:
            await self.changed.wait_for(lambda: self.polls >= count)


class Handled:
    """Failed-job events handed to the router's handler, in order."""

    def __init__(self) -> None:
        self.router = Router()
        self.events: list[JobEvent] = []
        self.changed = asyncio.Condition()
        self.router.job(status="failed")(self.handle)

    async def handle(self, event: JobEvent, gl: GitLab) -> None:
        async with self.changed:
            self.events.append(event)
            self.changed.notify_all()

    async def wait(self, count: int) -> list[tuple[int, bool]]:
        """``(job id, delivered by a hook)`` of the first ``count`` events handled."""
        async with asyncio.timeout(WAIT), self.changed:
            await self.changed.wait_for(lambda: len(self.events) >= count)
        return [(e.job_id, e.delivery_id is not None) for e in self.events]


@asynccontextmanager
async def receiver(
    world: World, handled: Handled, **options: Any
) -> AsyncIterator[tuple[TestClient[Any, Any], Ticker, Reconciler]]:
    ticker = Ticker()
    reconciler = Reconciler([PROJECT], poll=30.0, sleep=ticker.sleep)
    async with GitLab(world.fake.url, private_token=world.token, retry=FAST) as gl:
        app = webhook_app(
            handled.router, client=gl, secret_token=TOKEN, reconcile=reconciler, **options
        )
        async with TestClient(TestServer(app)) as client:
            await ticker.polled(1)  # the baseline
            yield client, ticker, reconciler


async def deliver(
    client: TestClient[Any, Any], job: Any, *, key: str, status: str = "failed"
) -> tuple[int, dict[str, Any]]:
    """Post a Job Hook for the fake's ``job`` as GitLab would."""
    body = {**BODY, "build_id": job.id, "build_name": job.name, "build_status": status,
            "project_id": job.project.id}  # fmt: skip
    headers = {"X-Gitlab-Event": "Job Hook", "X-Gitlab-Token": TOKEN, "Idempotency-Key": key,
               "X-Gitlab-Webhook-UUID": f"attempt-{key}"}  # fmt: skip
    async with client.post("/", json=body, headers=headers) as response:
        return response.status, await response.json()


async def test_dropped_deliveries_are_found_by_polling_and_none_handled_twice(world: World):
    """Of two failures, the one whose hook was dropped is handled from polling; the one
    delivered is not handled again when polling sees it."""
    handled = Handled()
    lint, pending = world.jobs["lint"], world.jobs["pending"]
    async with receiver(world, handled) as (client, ticker, reconciler):
        world.fake.set_status(lint, "failed")
        assert await deliver(client, lint, key="k-lint") == (202, {"status": "accepted"})
        world.fake.set_status(pending, "failed")  # its hook is dropped: never posted
        await ticker.poll()
        assert await handled.wait(2) == [(lint.id, True), (pending.id, False)]
        await ticker.poll()
    assert len(handled.events) == 2
    assert (reconciler.delivered, reconciler.found, reconciler.duplicates) == (1, 1, 1)


async def test_a_hook_arriving_after_polling_found_the_event_is_a_duplicate(world: World):
    """A late delivery of what polling already handled is answered duplicate, not handled."""
    handled = Handled()
    lint = world.jobs["lint"]
    async with receiver(world, handled) as (client, ticker, _):
        world.fake.set_status(lint, "failed")
        await ticker.poll()
        assert await handled.wait(1) == [(lint.id, False)]
        assert await deliver(client, lint, key="late") == (200, {"status": "duplicate"})
    assert len(handled.events) == 1


async def test_one_event_under_two_idempotency_keys_is_handled_once(world: World):
    """Two deliveries of one (job, status) with different keys: the second is a duplicate."""
    handled = Handled()
    lint = world.jobs["lint"]
    async with receiver(world, handled) as (client, _, _):
        world.fake.set_status(lint, "failed")
        assert (await deliver(client, lint, key="a"))[0] == 202
        assert await deliver(client, lint, key="b") == (200, {"status": "duplicate"})
        assert await handled.wait(1) == [(lint.id, True)]


async def test_an_event_dropped_for_a_full_queue_is_left_to_polling(world: World):
    """A delivery answered "dropped" (queue full) is not claimed, so polling handles it."""
    handled = Handled()
    started, gate = asyncio.Event(), asyncio.Event()

    @handled.router.job(status="running")
    async def slow(event: JobEvent, gl: GitLab) -> None:
        started.set()
        await gate.wait()

    lint, rspec = world.jobs["lint"], world.jobs["rspec"]
    async with receiver(world, handled, max_concurrency=1, max_queue=1) as (client, ticker, _):
        assert (await deliver(client, lint, key="r1", status="running"))[0] == 202  # running
        async with asyncio.timeout(WAIT):
            await started.wait()
        assert (await deliver(client, lint, key="r2", status="running"))[0] == 200  # dup
        world.fake.set_status(world.jobs["pending"], "running")
        pending = world.jobs["pending"]
        assert (await deliver(client, pending, key="r3", status="running"))[0] == 202  # queued
        world.fake.set_status(lint, "failed")
        answer = await deliver(client, lint, key="f1")
        assert answer == (200, {"status": "dropped", "reason": "queue full"})
        gate.set()
        await ticker.poll()
        assert await handled.wait(1) == [(lint.id, False)]
    assert rspec.status == "failed" and all(e.job_id != rspec.id for e in handled.events)


async def test_events_nobody_handles_are_not_claimed(world: World):
    """Polling claims only events some handler wants, so the store stays small."""
    handled = Handled()
    store = MemoryIdempotencyStore()
    ticker = Ticker()
    reconciler = Reconciler([PROJECT], sleep=ticker.sleep, store=store)
    async with GitLab(world.fake.url, private_token=world.token, retry=FAST) as gl:
        app = webhook_app(handled.router, client=gl, secret_token=TOKEN, reconcile=reconciler)
        async with TestClient(TestServer(app)):
            await ticker.polled(1)
            world.fake.set_status(world.jobs["pending"], "running")  # no handler for running
            await ticker.poll()
    assert len(store) == 0 and reconciler.found == 0


class Stopped(logging.Handler):
    """Sets an event when reconciliation logs that it stopped."""

    def __init__(self) -> None:
        super().__init__()
        self.event = asyncio.Event()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if "reconciliation stopped" in record.getMessage():
            self.records.append(record)
            self.event.set()


async def test_a_reconciler_that_cannot_poll_logs_and_the_receiver_goes_on(world: World):
    """A 401 ends reconciliation with a logged error; deliveries are still received."""
    handled, stopped = Handled(), Stopped()
    logger = logging.getLogger("gitlab_jobs_async.webhooks")
    logger.addHandler(stopped)
    reconciler = Reconciler([PROJECT], sleep=Ticker().sleep)
    try:
        async with GitLab(world.fake.url, private_token="wrong", retry=FAST) as gl:
            app = webhook_app(handled.router, client=gl, secret_token=TOKEN, reconcile=reconciler)
            async with TestClient(TestServer(app)) as client:
                async with asyncio.timeout(WAIT):
                    await stopped.event.wait()
                assert (await deliver(client, world.jobs["rspec"], key="x"))[0] == 202
                assert await handled.wait(1) == [(world.jobs["rspec"].id, True)]
    finally:
        logger.removeHandler(stopped)
    assert stopped.records[0].exc_info is not None  # the Unauthorized, with its traceback


async def test_projects_as_reconcile_make_a_reconciler(world: World):
    """reconcile=[projects] is short for a Reconciler of those projects polling every 60 s."""
    async with GitLab(world.fake.url, private_token=world.token) as gl:
        app = webhook_app(Router(), client=gl, secret_token=TOKEN, reconcile=[PROJECT])
    assert app is not None
    assert "1 project(s), poll=60 s" in repr(Reconciler([PROJECT]))


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ({"projects": []}, ValueError),
        ({"projects": PROJECT}, TypeError),
        ({"projects": [PROJECT], "poll": 0}, ValueError),
        ({"projects": [PROJECT], "store": {}}, TypeError),
        ({"projects": [PROJECT], "recheck": "never"}, ValueError),
    ],
)
def test_bad_reconciler_arguments_are_refused(arguments, error):
    """A Reconciler checks its arguments when it is made."""
    with pytest.raises(error):
        Reconciler(**arguments)
