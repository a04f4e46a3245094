"""examples/retry_bot.py end to end: the fake GitLab fires the hook, the bot retries once.

The bot runs as an aiohttp server on 127.0.0.1 with a client of the fake; the fake posts
signed Job Hooks to it; the bot calls the fake's retry API. A second handler registered after
the bot's tells the test when the bot has finished with an event.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from examples.retry_bot import BOT, RETRYABLE, RetryBot, make_app
from gitlab_jobs_async import GitLab
from gitlab_jobs_async.testing import FakeJob, WebhookDelivery
from gitlab_jobs_async.webhooks import JobEvent, Reconciler

from ._support import FAST, PROJECT, World

TOKEN = "s3cret"
SECRET = "whsec_" + base64.b64encode(b"retry-bot-signing-key-32-bytes!!").decode()
WAIT = 5.0


class Bot:
    """The running bot, and a count of the failure events it finished handling."""

    def __init__(self, url: str, bot: RetryBot) -> None:
        self.url = url
        self.bot = bot
        self.handled = 0
        self.changed = asyncio.Condition()
        bot.router.job(status="failed")(self._after)

    async def _after(self, event: JobEvent, gl: GitLab) -> None:
        async with self.changed:
            self.handled += 1
            self.changed.notify_all()

    async def finished(self, count: int) -> None:
        async with asyncio.timeout(WAIT), self.changed:
            await self.changed.wait_for(lambda: self.handled >= count)


@asynccontextmanager
async def running_bot(world: World, **options: Any) -> AsyncIterator[Bot]:
    async with GitLab(world.fake.url, private_token=world.token, retry=FAST) as gl:
        app = make_app(gl, secret_token=TOKEN, signing_secrets=[SECRET], **options)
        async with TestServer(app) as server:
            yield Bot(str(server.make_url("/")), app[BOT])


async def settle(world: World) -> list[WebhookDelivery]:
    async with asyncio.timeout(WAIT):
        return await world.fake.wait_for_deliveries()


def attempts(world: World, job: FakeJob) -> list[FakeJob]:
    """Every attempt of ``job`` in its pipeline, oldest first."""
    return [j for j in job.pipeline.jobs if j.name == job.name]


def answer(delivery: WebhookDelivery) -> str:
    """What the bot's receiver said of a delivery: accepted, duplicate, ignored, ..."""
    status = json.loads(delivery.response_body)["status"]
    assert isinstance(status, str)
    return status


@pytest.mark.parametrize("reason", sorted(RETRYABLE))
async def test_a_retryable_failure_is_retried_once(world: World, reason):
    """The hook of a job failed for an infrastructure reason makes the bot retry it: the
    fake then shows exactly one new job, pending, whose own hooks the bot ignores."""
    lint = world.jobs["lint"]
    async with running_bot(world) as bot:
        world.fake.add_webhook(world.project, bot.url, token=TOKEN, signing_secret=SECRET)
        world.fake.set_status(lint, "failed", failure_reason=reason)
        await bot.finished(1)
        deliveries = await settle(world)
    old, new = attempts(world, lint)
    assert old is lint and old.retried and new.status == "pending"
    assert world.fake.actions["retry"] == 1
    assert [(d.job_id, d.job_status, answer(d)) for d in deliveries] == [
        (lint.id, "failed", "accepted"),
        (new.id, "created", "ignored"),
        (new.id, "pending", "ignored"),
    ]


async def test_other_failures_are_left_alone(world: World):
    """A script failure is the job's own: no retry."""
    async with running_bot(world) as bot:
        world.fake.add_webhook(world.project, bot.url, token=TOKEN, signing_secret=SECRET)
        world.fake.set_status(world.jobs["lint"], "failed", failure_reason="script_failure")
        await bot.finished(1)  # handled (by the test's handler too), and not retried
        (delivery,) = await settle(world)
    assert answer(delivery) == "accepted" and world.fake.actions["retry"] == 0


async def test_a_redelivery_with_the_same_key_does_not_retry_again(world: World):
    """GitLab's resend of the failure (same Idempotency-Key) is answered duplicate."""
    lint = world.jobs["lint"]
    async with running_bot(world) as bot:
        world.fake.add_webhook(world.project, bot.url, token=TOKEN, signing_secret=SECRET)
        world.fake.set_status(lint, "failed", failure_reason="runner_system_failure")
        await bot.finished(1)
        failure = (await settle(world))[0]
        again = world.fake.resend_delivery(failure)
        await settle(world)
    assert again.idempotency_key == failure.idempotency_key and answer(again) == "duplicate"
    assert world.fake.actions["retry"] == 1 and len(attempts(world, lint)) == 2


async def test_a_duplicate_with_a_fresh_key_does_not_retry_again(world: World):
    """Two hooks to the bot deliver the failure twice under two keys: still one retry."""
    lint = world.jobs["lint"]
    async with running_bot(world) as bot:
        for _ in range(2):
            world.fake.add_webhook(world.project, bot.url, token=TOKEN, signing_secret=SECRET)
        world.fake.set_status(lint, "failed", failure_reason="scheduler_failure")
        await bot.finished(2)
        deliveries = await settle(world)
    failures = [d for d in deliveries if d.job_id == lint.id]
    assert len({d.idempotency_key for d in failures}) == 2
    assert [answer(d) for d in failures] == ["accepted", "accepted"]
    assert world.fake.actions["retry"] == 1 and len(attempts(world, lint)) == 2


async def test_a_retried_job_that_fails_again_is_left_alone(world: World):
    """The retry failing again (retries_count 1) is not retried a second time."""
    lint = world.jobs["lint"]
    async with running_bot(world) as bot:
        world.fake.add_webhook(world.project, bot.url, token=TOKEN, signing_secret=SECRET)
        world.fake.set_status(lint, "failed", failure_reason="runner_system_failure")
        await bot.finished(1)
        await settle(world)
        _, new = attempts(world, lint)
        world.fake.set_status(new, "failed", failure_reason="runner_system_failure")
        await bot.finished(2)
        last = (await settle(world))[-1]
    assert (last.job_id, last.payload["retries_count"]) == (new.id, 1)
    assert world.fake.actions["retry"] == 1


class Ticker:
    """The reconciler's sleep: each poll after the first waits for the test's tick."""

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

    async def polled(self, count: int) -> None:
        async with asyncio.timeout(WAIT), self.changed:
            await self.changed.wait_for(lambda: self.polls >= count)


async def test_a_dropped_hook_is_made_up_for_by_polling(world: World):
    """The failure's hook is dropped (as GitLab.com's rate limit does): the bot's
    reconciler finds the failure by polling and retries once; a late resend is a duplicate."""
    lint, ticker = world.jobs["lint"], Ticker()
    reconciler = Reconciler([PROJECT], poll=60.0, sleep=ticker.sleep)
    async with running_bot(world, reconcile=reconciler) as bot:
        await ticker.polled(1)  # the baseline
        hook = world.fake.add_webhook(world.project, bot.url, token=TOKEN, signing_secret=SECRET)
        hook.drop(when=lambda d: d.job_status == "failed")
        world.fake.set_status(lint, "failed", failure_reason="stuck_or_timeout_failure")
        (dropped,) = await settle(world)
        assert dropped.outcome == "dropped" and world.fake.actions["retry"] == 0
        ticker.go.set()
        await bot.finished(1)
        await ticker.polled(2)
        late = world.fake.resend_delivery(dropped)
        await settle(world)
    assert answer(late) == "duplicate"
    assert reconciler.found == 1 and world.fake.actions["retry"] == 1
    assert len(attempts(world, lint)) == 2


async def test_the_retry_carries_the_event_uuid_into_the_new_jobs_hooks(world: World):
    """The bot's retry sends the failure's X-Gitlab-Event-UUID back, so the new job's hooks
    carry it too: the chain GitLab's recursion detection follows."""
    lint = world.jobs["lint"]
    async with running_bot(world) as bot:
        world.fake.add_webhook(world.project, bot.url, token=TOKEN, signing_secret=SECRET)
        world.fake.set_status(lint, "failed", failure_reason="runner_system_failure")
        await bot.finished(1)
        failure, created, pending = await settle(world)
    retry = next(r for r in world.fake.requests if r.path.endswith("/retry"))
    assert retry.headers.get("X-Gitlab-Event-UUID") == failure.event_uuid
    assert created.event_uuid == pending.event_uuid == failure.event_uuid
