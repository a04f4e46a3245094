"""The fake's webhooks: GitLab's auto-disabling, dropped deliveries, and redirects as success.

The rule (``app/models/concerns/web_hooks/auto_disabling.rb``) is a table over the hook
record; over HTTP, time is the fake's ManualClock, so a minute passes without waiting.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from gitlab_jobs_async.testing import FakeGitLab, FakeWebhook, ManualClock, WebhookDelivery

WAIT = 5.0


def hook() -> FakeWebhook:
    project = FakeGitLab().add_project("a/b")
    return FakeWebhook(1, project, "http://127.0.0.1:9/", None, None, frozenset({"job"}))


@pytest.mark.parametrize(
    ("failures", "disabled_for", "permanently"),
    [
        (1, None, False),
        (3, None, False),
        (4, 60.0, False),
        (5, 120.0, False),
        (6, 240.0, False),
        (14, 61440.0, False),
        (15, 86400.0, False),
        (39, 86400.0, False),
        (40, 86400.0, True),
    ],
)
def test_consecutive_failures_disable_a_hook(failures, disabled_for, permanently):
    """4 failures in a row disable for 1 minute, doubling to a day; the 40th for good."""
    target, now = hook(), 1000.0
    for _ in range(failures):
        now = (target.disabled_until or now) + 1  # each attempt made once it is allowed
        assert target.executable(now)
        target.failed(now)
    assert target.recent_failures == failures
    until = None if target.disabled_until is None else target.disabled_until - now
    assert until == disabled_for
    assert target.permanently_disabled is permanently
    assert target.executable(now + 86401) is not permanently


def test_a_success_or_enable_resets_the_count():
    """A 2xx (or the Enable button) forgets past failures."""
    target = hook()
    for n in range(4):
        target.failed(float(n))
    assert not target.executable(10.0)
    target.enable()
    assert target.executable(10.0) and target.recent_failures == 0


def test_failures_while_disabled_do_not_count():
    """While disabled nothing is attempted, so nothing more can fail."""
    target = hook()
    for n in range(4):
        target.failed(float(n))
    target.failed(5.0)
    assert target.recent_failures == 4


class Endpoint:
    def __init__(self) -> None:
        self.status = 500
        self.posts = 0
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.posts += 1
        headers = {"Location": "/elsewhere"} if 300 <= self.status < 400 else {}
        return web.Response(status=self.status, headers=headers)


@pytest.fixture
async def endpoint() -> AsyncIterator[Endpoint]:
    found = Endpoint()
    app = web.Application()
    app.router.add_post("/", found.handle)
    async with TestServer(app) as server:
        found.url = str(server.make_url("/"))
        yield found


async def settle(fake: FakeGitLab) -> list[WebhookDelivery]:
    async with asyncio.timeout(WAIT):
        return await fake.wait_for_deliveries()


async def test_a_failing_receiver_gets_the_hook_disabled_then_retried(endpoint: Endpoint):
    """Four 500s disable the hook: the next event is not sent; a minute later it is again,
    and a success re-enables it."""
    clock = ManualClock()
    async with FakeGitLab(clock=clock) as fake:
        project = fake.add_project("a/b")
        target = fake.add_webhook(project, endpoint.url)
        pipeline = fake.add_pipeline(project)
        for n in range(5):
            fake.add_job(pipeline, name=f"job {n}", status="pending")
            await settle(fake)
        assert [d.outcome for d in target.deliveries] == ["failed"] * 4 + ["disabled"]
        assert endpoint.posts == 4 and target.recent_failures == 4
        clock.advance(61)
        endpoint.status = 204
        fake.add_job(pipeline, name="later", status="pending")
        await settle(fake)
        assert target.deliveries[-1].outcome == "delivered" and endpoint.posts == 5
        assert target.recent_failures == 0 and target.executable(clock())


async def test_redirects_count_as_delivered(endpoint: Endpoint):
    """A 3xx answer is a success for GitLab (not followed)."""
    async with FakeGitLab() as fake:
        project = fake.add_project("a/b")
        target = fake.add_webhook(project, endpoint.url)
        endpoint.status = 302
        fake.add_job(fake.add_pipeline(project), status="running")
        (delivery,) = await settle(fake)
    assert (delivery.outcome, delivery.status, endpoint.posts) == ("delivered", 302, 1)
    assert target.recent_failures == 0


async def test_dropped_deliveries_send_nothing_and_are_no_failure(endpoint: Endpoint):
    """hook.drop(when=...) drops the matching deliveries silently, as GitLab.com's rate
    limit does; others are delivered; a resend of a dropped one is sent."""
    endpoint.status = 200
    async with FakeGitLab() as fake:
        project = fake.add_project("a/b")
        target = fake.add_webhook(project, endpoint.url)
        target.drop(when=lambda d: d.job_status == "failed")
        pipeline = fake.add_pipeline(project)
        job = fake.add_job(pipeline, status="running")
        fake.set_status(job, "failed")
        fake.set_status(fake.add_job(pipeline, name="other", status="running"), "failed")
        deliveries = await settle(fake)
        assert [(d.job_status, d.outcome) for d in deliveries] == [
            ("running", "delivered"),
            ("failed", "dropped"),
            ("running", "delivered"),
            ("failed", "delivered"),  # the drop applied once
        ]
        assert endpoint.posts == 3 and target.recent_failures == 0
        fake.resend_delivery(deliveries[1])
        assert (await settle(fake))[-1].outcome == "delivered"


def test_drop_counts_must_be_positive():
    """drop(0) is refused."""
    with pytest.raises(ValueError, match="at least 1"):
        hook().drop(0)
