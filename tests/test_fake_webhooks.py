"""The fake GitLab delivers webhooks: which changes fire, their payloads, headers and records.

Deliveries go over real HTTP to a small receiver on 127.0.0.1 that records them; the SDK's
own ``parse()`` checks them as a bot would.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from gitlab_jobs_async import GitLab
from gitlab_jobs_async.testing import FakeGitLab, WebhookDelivery
from gitlab_jobs_async.webhooks import JobEvent, PipelineEvent, parse

from ._support import FAST, PROJECT, World

TOKEN = "s3cret"
SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()
FIXTURE = json.loads(
    (Path(__file__).parent / "fixtures/webhooks/job_pending_null_runner.json").read_text()
)
WAIT = 5.0


class Receiver:
    """Records every POST; answers each with the next of ``answers`` (default 200)."""

    def __init__(self) -> None:
        self.posts: list[tuple[Any, bytes]] = []
        self.answers: list[int] = []
        self.hold: asyncio.Event | None = None
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.posts.append((request.headers, await request.read()))
        if self.hold is not None:
            await self.hold.wait()
        status = self.answers.pop(0) if self.answers else 200
        return web.Response(status=status, text=f"answered {status}")


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    found = Receiver()
    app = web.Application()
    app.router.add_post("/hook", found.handle)
    async with TestServer(app) as server:
        found.url = str(server.make_url("/hook"))
        yield found


async def settle(fake: FakeGitLab) -> list[WebhookDelivery]:
    async with asyncio.timeout(WAIT):
        return await fake.wait_for_deliveries()


def announced(deliveries: list[WebhookDelivery]) -> list[tuple[int | None, str | None]]:
    return [(d.job_id, d.job_status) for d in deliveries]


async def test_a_job_change_posts_a_signed_job_hook_that_parse_accepts(
    world: World, receiver: Receiver
):
    """set_status fires a Job Hook with GitLab's headers; parse() verifies and types it."""
    fake, lint = world.fake, world.jobs["lint"]
    fake.add_webhook(world.project, receiver.url, token=TOKEN, signing_secret=SECRET)
    fake.set_status(lint, "failed", failure_reason="stuck_or_timeout_failure")
    (delivery,) = await settle(fake)
    headers, body = receiver.posts[0]
    event = parse(headers, body, secret_token=TOKEN, signing_secrets=[SECRET])
    assert isinstance(event, JobEvent)
    assert (event.job_id, event.status, event.failure_reason) == (
        lint.id,
        "failed",
        "stuck_or_timeout_failure",
    )
    assert (event.project_id, event.pipeline_id, event.name) == (
        world.project.id,
        world.pipeline.id,
        "lint",
    )
    assert event.runner is not None and event.user is not None
    assert event.user.email == "[REDACTED]"
    assert headers["X-Gitlab-Event"] == "Job Hook"
    assert headers["User-Agent"].startswith("GitLab/")
    assert headers["X-Gitlab-Instance"] == fake.url
    assert headers["Idempotency-Key"] == headers["webhook-id"] == delivery.idempotency_key
    assert headers["X-Gitlab-Webhook-UUID"] == delivery.webhook_uuid
    assert event.event_uuid == delivery.event_uuid
    assert (delivery.outcome, delivery.status, delivery.response_body) == (
        "delivered",
        200,
        "answered 200",
    )


async def test_the_job_payload_has_gitlab_keys(world: World, receiver: Receiver):
    """A Job Hook has every key of GitLab's own (build.rb); runner is null until it runs,
    and source_pipeline is absent unless a bridge triggered the pipeline."""
    fake = world.fake
    fake.add_webhook(world.project, receiver.url, token=TOKEN)
    fake.add_webhook(world.downstream.project, receiver.url, token=TOKEN)
    fake.add_job(world.pipeline, name="queued", status="pending")
    fake.add_job(world.downstream, name="child", status="running")
    upstream, downstream = await settle(fake)
    assert set(upstream.payload) == set(FIXTURE)
    assert upstream.payload["runner"] is None
    assert upstream.payload["build_failure_reason"] == "unknown_failure"
    assert downstream.payload["source_pipeline"] == {
        "project": {
            "id": world.project.id,
            "web_url": f"{fake.url}/{PROJECT}",
            "path_with_namespace": PROJECT,
        },
        "job_id": world.bridge.id,
        "pipeline_id": world.pipeline.id,
    }


@pytest.mark.parametrize(
    ("start", "moves", "statuses"),
    [
        (
            "created",
            ["pending", "running", "success"],
            ["created", "pending", "running", "success"],
        ),
        ("running", ["failed"], ["running", "failed"]),
        ("pending", ["canceled"], ["pending", "canceled"]),
        ("created", ["manual", "pending"], ["created", "pending"]),
        ("created", ["skipped"], ["created"]),
        ("running", ["canceling", "canceled"], ["running", "canceled"]),
        ("created", ["scheduled", "preparing", "pending"], ["created", "pending"]),
    ],
)
async def test_which_transitions_fire(world: World, receiver: Receiver, start, moves, statuses):
    """Creation and moves to pending, running, success, failed, canceled fire, as GitLab's
    Ci::Build does; manual, skipped, scheduled, preparing, canceling do not."""
    fake = world.fake
    fake.add_webhook(world.project, receiver.url, token=TOKEN, events=["job"])
    job = fake.add_job(world.pipeline, name="moving", status=start)
    for status in moves:
        fake.set_status(job, status)
    assert [d.job_status for d in await settle(fake)] == statuses
    parsed = [parse(headers, body, secret_token=TOKEN) for headers, body in receiver.posts]
    assert [(e.job_id, e.status) for e in parsed if isinstance(e, JobEvent)] == [
        (job.id, status) for status in statuses
    ]


async def test_api_actions_fire_and_carry_the_request_event_uuid(world: World, receiver: Receiver):
    """retry (new job: created, then pending), play and cancel fire; erase does not; all
    deliveries of one request share its X-Gitlab-Event-UUID, the one it sent if any."""
    fake, jobs = world.fake, world.jobs
    fake.add_webhook(world.project, receiver.url)
    uuid = "5d8b1f2e-0c57-4d6e-9a43-6a1e0b7f2c10"
    async with GitLab(fake.url, private_token=world.maintainer_token, retry=FAST) as gl:
        new = await gl.project_jobs.retry(PROJECT, jobs["rspec"].id)
        play = f"{jobs['deploy'].id}/play"
        assert await post_action(fake, world.token, play, {"X-Gitlab-Event-UUID": uuid}) == 200
        await gl.project_jobs.cancel(PROJECT, jobs["lint"].id)
        await gl.project_jobs.erase(PROJECT, jobs["build"].id)
    deliveries = await settle(fake)
    assert announced(deliveries) == [
        (new.id, "created"),
        (new.id, "pending"),
        (jobs["deploy"].id, "pending"),
        (jobs["lint"].id, "canceled"),
    ]
    retried, played, canceled = deliveries[0].event_uuid, deliveries[2], deliveries[3]
    assert deliveries[1].event_uuid == retried and retried not in (uuid, canceled.event_uuid)
    assert played.event_uuid == uuid and played.headers["X-Gitlab-Event-UUID"] == uuid
    assert len({d.idempotency_key for d in deliveries}) == 4


async def post_action(fake: FakeGitLab, token: str, path: str, headers: dict[str, str]) -> int:
    """POST a job action with raw aiohttp and extra ``headers`` (the SDK adds
    X-Gitlab-Event-UUID only inside a webhook handler)."""
    url = f"{fake.api_url}/projects/{PROJECT.replace('/', '%2F')}/jobs/{path}"
    async with aiohttp.ClientSession() as session:
        async with session.post(url, headers={"PRIVATE-TOKEN": token, **headers}) as answer:
            return answer.status


async def test_pipeline_hooks_carry_every_latest_build(world: World, receiver: Receiver):
    """set_pipeline_status fires a Pipeline Hook (builds: latest attempts, no bridges) for
    hooks that want pipeline events only."""
    fake = world.fake
    fake.add_webhook(world.project, receiver.url, token=TOKEN, events=("pipeline",))
    fake.set_status(world.jobs["lint"], "success")  # a job event: not wanted
    fake.set_pipeline_status(world.pipeline, "failed")
    fake.set_pipeline_status(world.pipeline, "failed")  # no change: nothing
    (delivery,) = await settle(fake)
    headers, body = receiver.posts[0]
    event = parse(headers, body, secret_token=TOKEN)
    assert isinstance(event, PipelineEvent)
    assert (event.pipeline_id, event.status, headers["X-Gitlab-Event"]) == (
        world.pipeline.id,
        "failed",
        "Pipeline Hook",
    )
    assert {b.id for b in event.builds} == {j.id for j in world.jobs.values()}
    assert event.commit is not None and event.commit.id == world.pipeline.sha
    assert "source_pipeline" not in delivery.payload


async def test_deliveries_never_hold_up_the_api_answer(world: World, receiver: Receiver):
    """With the receiver stalled, the API answers at once; the delivery completes later."""
    fake = world.fake
    fake.add_webhook(world.project, receiver.url)
    receiver.hold = asyncio.Event()
    async with GitLab(fake.url, private_token=world.token, retry=FAST) as gl:
        canceled = await gl.project_jobs.cancel(PROJECT, world.jobs["pending"].id)
    assert canceled.status == "canceled"
    (pending,) = fake.webhook_deliveries
    assert pending.outcome == "pending"
    receiver.hold.set()
    assert [d.outcome for d in await settle(fake)] == ["delivered"]


async def test_each_payload_is_the_state_at_its_change(world: World, receiver: Receiver):
    """Two changes in a row post two payloads, each with the status of its own moment."""
    fake, job = world.fake, world.jobs["pending"]
    fake.add_webhook(world.project, receiver.url)
    fake.set_status(job, "running")
    fake.set_status(job, "success")
    deliveries = await settle(fake)
    assert [json.loads(body)["build_status"] for _, body in receiver.posts] == [
        "running",
        "success",
    ]
    assert deliveries[0].payload["build_finished_at"] is None
    assert deliveries[1].payload["build_finished_at"] is not None


async def test_resend_keeps_the_idempotency_key(world: World, receiver: Receiver):
    """A resent delivery has the event's idempotency key and a new delivery UUID."""
    fake = world.fake
    fake.add_webhook(world.project, receiver.url, signing_secret=SECRET)
    fake.set_status(world.jobs["lint"], "failed")
    (first,) = await settle(fake)
    again = fake.resend_delivery(first)
    await settle(fake)
    assert again.resend_of is first and again.outcome == "delivered"
    assert again.idempotency_key == first.idempotency_key == again.headers["webhook-id"]
    assert again.webhook_uuid != first.webhook_uuid
    assert receiver.posts[0][1] == receiver.posts[1][1]  # the same body


async def test_failures_are_recorded(world: World, receiver: Receiver):
    """A 500, a refused connection and a timeout are recorded as failed, with why."""
    fake = world.fake
    answering = fake.add_webhook(world.project, receiver.url)
    refused = fake.add_webhook(world.project, "http://127.0.0.1:9/hook")
    receiver.answers = [500]
    fake.set_status(world.jobs["lint"], "failed")
    await settle(fake)
    receiver.hold = asyncio.Event()  # stalls past the timeout
    fake.webhook_timeout = 0.2
    fake.set_status(world.jobs["pending"], "running")
    await settle(fake)
    receiver.hold.set()
    first, second = answering.deliveries
    assert (first.outcome, first.status, first.response_body) == ("failed", 500, "answered 500")
    assert (second.outcome, second.status, second.error) == (
        "failed",
        None,
        "timed out after 0.2 s",
    )
    assert [d.outcome for d in refused.deliveries] == ["failed", "failed"]
    assert "ClientConnectorError" in (refused.deliveries[0].error or "")
    assert answering.recent_failures == refused.recent_failures == 2


def test_changes_outside_an_event_loop_are_refused():
    """With hooks registered, a change outside the event loop raises a clear error."""
    fake = FakeGitLab()
    project = fake.add_project("a/b")
    fake.add_webhook(project, "http://127.0.0.1:9/")
    with pytest.raises(RuntimeError, match="inside the event loop"):
        fake.add_job(fake.add_pipeline(project), status="running")


@pytest.mark.parametrize(
    ("arguments", "words"),
    [({"events": ["push"]}, "events"), ({"signing_secret": "abc"}, "whsec_")],
)
def test_bad_webhook_arguments_are_refused(arguments, words):
    """add_webhook refuses unknown events and malformed signing secrets."""
    fake = FakeGitLab()
    with pytest.raises(ValueError, match=words):
        fake.add_webhook(fake.add_project("a/b"), "http://127.0.0.1:9/", **arguments)
