"""webhook_app() over real HTTP on 127.0.0.1: its answers, queue, de-duplication and shutdown."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from gitlab_jobs_async import GitLab
from gitlab_jobs_async.webhooks import (
    Event,
    JobEvent,
    MemoryIdempotencyStore,
    PipelineEvent,
    Router,
    webhook_app,
)

from ._support import FAST, PROJECT

FIXTURES = Path(__file__).parent / "fixtures" / "webhooks"
JOB_BODY = (FIXTURES / "job_failed_legacy.json").read_bytes()
PIPELINE_BODY = (FIXTURES / "pipeline_push.json").read_bytes()
TOKEN = "s3cret-token-value"
NEW = "whsec_" + base64.b64encode(b"n" * 32).decode()
OLD = "whsec_" + base64.b64encode(b"o" * 32).decode()
NOW = 1_750_000_000
WAIT = 5.0  # seconds any awaited event may take before the test fails
GL = GitLab("http://127.0.0.1:9")  # handed to handlers; these tests' handlers never call it


def job_body(job_id: int = 1977, **changes: Any) -> bytes:
    return json.dumps(json.loads(JOB_BODY) | {"build_id": job_id} | changes).encode()


def sign(secret: str, msg_id: str, ts: int, body: bytes) -> dict[str, str]:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": "v1," + base64.b64encode(mac).decode(),
    }


class Recorder:
    """A router whose job handler records events and can be held at a gate."""

    def __init__(self, *, gated: bool = False) -> None:
        self.router = Router()
        self.events: list[Event] = []
        self.started = asyncio.Event()
        self.gate = asyncio.Event()
        self.changed = asyncio.Condition()
        self.running = 0
        self.most = 0
        if not gated:
            self.gate.set()
        self.router.job()(self.handle)
        self.router.pipeline()(self.handle)

    async def handle(self, event: Any, gl: GitLab) -> None:
        self.running += 1
        self.most = max(self.most, self.running)
        self.started.set()
        try:
            await self.gate.wait()
        finally:
            self.running -= 1
        async with self.changed:
            self.events.append(event)
            self.changed.notify_all()

    async def handled(self, count: int) -> list[Event]:
        """Wait until ``count`` events were handled."""
        async with asyncio.timeout(WAIT), self.changed:
            await self.changed.wait_for(lambda: len(self.events) >= count)
        return self.events

    def ids(self) -> list[int]:
        return [event.job_id for event in self.events if isinstance(event, JobEvent)]


@asynccontextmanager
async def serve(router: Router, **options: Any) -> AsyncIterator[TestClient[Any, Any]]:
    options.setdefault("secret_token", TOKEN)
    async with TestClient(TestServer(webhook_app(router, client=GL, **options))) as client:
        yield client


async def deliver(
    client: TestClient[Any, Any],
    body: Any = JOB_BODY,
    *,
    hook: str = "Job Hook",
    key: str | None = "key-1",
    token: str | None = TOKEN,
    **headers: str,
) -> tuple[int, dict[str, Any]]:
    sent = {"X-Gitlab-Event": hook, "Content-Type": "application/json"} | headers
    if key is not None:
        sent["Idempotency-Key"] = key
    if token is not None:
        sent["X-Gitlab-Token"] = token
    async with client.post("/", data=body, headers=sent) as response:
        return response.status, await response.json()


async def test_accepts_and_hands_the_typed_event_and_client_to_the_handler():
    """A verified job delivery is answered 202 and its JobEvent reaches the handler with gl."""
    recorder = Recorder()
    seen_clients = []

    @recorder.router.job(status="failed")
    async def keep_client(event: JobEvent, gl: GitLab) -> None:
        seen_clients.append(gl)

    async with serve(recorder.router) as client:
        answer = await deliver(
            client, **{"X-Gitlab-Event-UUID": "u-1", "X-Gitlab-Webhook-UUID": "d-1"}
        )
        assert answer == (202, {"status": "accepted"})
        (event,) = await recorder.handled(1)
    assert isinstance(event, JobEvent)
    assert (event.job_id, event.status, event.failure_reason) == (1977, "failed", "script_failure")
    assert (event.idempotency_key, event.event_uuid, event.delivery_id) == ("key-1", "u-1", "d-1")
    assert seen_clients == [GL]


async def test_answers_before_the_handler_finishes():
    """The 202 comes while the handler is still running: GitLab never waits for the work."""
    recorder = Recorder(gated=True)
    async with serve(recorder.router) as client:
        assert (await deliver(client))[0] == 202
        async with asyncio.timeout(WAIT):
            await recorder.started.wait()
        assert recorder.running == 1 and recorder.events == []
        recorder.gate.set()
        await recorder.handled(1)


REFUSALS = [
    ("no token", {"token": None}, 401, "X-Gitlab-Token is missing"),
    ("wrong token", {"token": "guess"}, 401, "X-Gitlab-Token is not the configured"),
    ("not JSON", {"body": b"{nope"}, 400, "not JSON"),
    ("a JSON array", {"body": b"[]"}, 400, "JSON list"),
    ("no X-Gitlab-Event", {"hook": ""}, 400, "X-Gitlab-Event is missing"),
    ("wrong shape", {"body": b'{"build_id": "x"}'}, 400, "$.build_id"),
    ("too large", {"body": b" " * 4097}, 413, "4097 bytes; at most 4096"),
    ("too large, unauthenticated", {"body": b" " * 4097, "token": None}, 413, "at most 4096"),
]


@pytest.mark.parametrize(
    ("options", "status", "message"), [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS]
)
async def test_refusals(options, status, message, caplog):
    """Bad token 401, malformed 400, too large 413: a JSON error naming the fault, no handler run."""
    recorder = Recorder()
    async with serve(recorder.router, max_body_size=4096) as client:
        with caplog.at_level(logging.DEBUG):
            answer_status, answer = await deliver(client, **options)
        assert answer_status == status
        assert message in answer["error"]
        assert TOKEN not in json.dumps(answer)
        assert message in caplog.text and TOKEN not in caplog.text
        assert await deliver(client, key="later") == (202, {"status": "accepted"})
        await recorder.handled(1)
    assert recorder.ids() == [1977]


async def test_too_large_streamed_body_without_content_length():
    """A chunked body over the limit is cut off while reading and answered 413."""

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b" " * 1024

    async with serve(Recorder().router, max_body_size=4096) as client:
        status, answer = await deliver(client, body=chunks())
    assert status == 413 and "over 4096 bytes" in answer["error"]


async def test_signed_deliveries_with_rotation_and_stale_timestamps():
    """Signatures by either rotating secret are accepted; a stale or forged one is 401."""
    recorder = Recorder()
    clock = iter([NOW, NOW, NOW + 301, NOW]).__next__
    async with serve(
        recorder.router, secret_token=None, signing_secrets=[NEW, OLD], clock=clock
    ) as client:
        for n, secret in enumerate((NEW, OLD)):
            headers = sign(secret, f"evt-{n}", NOW, JOB_BODY)
            assert await deliver(client, key=None, token=None, **headers) == (
                202,
                {"status": "accepted"},
            )
        stale = sign(NEW, "evt-stale", NOW, JOB_BODY)
        status, answer = await deliver(client, key=None, token=None, **stale)
        assert status == 401 and "webhook-timestamp is 301 s old" in answer["error"]
        forged = sign("whsec_" + base64.b64encode(b"x" * 32).decode(), "evt-x", NOW, JOB_BODY)
        status, answer = await deliver(client, key=None, token=None, **forged)
        assert status == 401 and "no v1 entry" in answer["error"]
        events = await recorder.handled(2)
    assert [event.idempotency_key for event in events] == ["evt-0", "evt-1"]  # webhook-id


async def test_token_and_signature_both_required_when_both_configured():
    """With both configured, a request carrying only the token is refused (no downgrade)."""
    async with serve(Recorder().router, signing_secrets=[NEW]) as client:
        status, answer = await deliver(client)
        assert status == 401 and "webhook-id is missing" in answer["error"]
        headers = sign(NEW, "evt-1", int(time.time()), JOB_BODY)
        assert (await deliver(client, **headers))[0] == 202


@pytest.mark.parametrize(
    ("hook", "body"),
    [
        ("Push Hook", (FIXTURES / "push_hook.json").read_bytes()),
        ("Some Future Hook", b"{}"),
        ("Pipeline Hook", PIPELINE_BODY),
    ],
)
async def test_unwanted_events_are_acknowledged_and_ignored(hook, body):
    """A hook no handler wants, known or not, is answered 200 "ignored" (never an error)."""
    router = Router()
    router.job()(lambda e, gl: asyncio.sleep(0))
    async with serve(router) as client:
        assert await deliver(client, body, hook=hook) == (200, {"status": "ignored"})


async def test_duplicates_are_handled_once():
    """A resend with the same Idempotency-Key (new X-Gitlab-Webhook-UUID) is answered 200, not run."""
    recorder = Recorder()
    async with serve(recorder.router, max_concurrency=1) as client:
        assert (await deliver(client, job_body(1), key="k1", **{"X-Gitlab-Webhook-UUID": "a"}))[
            0
        ] == 202
        again = await deliver(client, job_body(1), key="k1", **{"X-Gitlab-Webhook-UUID": "b"})
        assert again == (200, {"status": "duplicate"})
        assert (await deliver(client, job_body(2), key="k2"))[0] == 202
        await recorder.handled(2)  # one worker: k1's duplicate would have run before k2
    assert recorder.ids() == [1, 2]


async def test_without_an_idempotency_key_every_delivery_is_handled():
    """Older GitLab sends no Idempotency-Key: nothing to de-duplicate by, each is handled."""
    recorder = Recorder()
    async with serve(recorder.router, max_concurrency=1) as client:
        for _ in range(2):
            assert (await deliver(client, key=None))[0] == 202
        await recorder.handled(2)
    assert recorder.ids() == [1977, 1977]


async def test_duplicate_window_is_time_limited():
    """A key is a duplicate within the store's ttl and new after it."""
    now = [0.0]
    store = MemoryIdempotencyStore(ttl=60, clock=lambda: now[0])
    recorder = Recorder()
    async with serve(recorder.router, store=store, max_concurrency=1) as client:
        assert (await deliver(client))[0] == 202
        now[0] = 59
        assert (await deliver(client))[0] == 200
        now[0] = 60
        assert (await deliver(client))[0] == 202
        await recorder.handled(2)


async def test_a_failing_handler_is_logged_and_the_app_goes_on(caplog):
    """A handler's exception is logged with its traceback; later events are still handled."""
    recorder = Recorder()

    @recorder.router.job(job_id=1)
    async def broken(event: JobEvent, gl: GitLab) -> None:
        raise RuntimeError("handler bug")

    with caplog.at_level(logging.ERROR, "gitlab_jobs_async.webhooks"):
        async with serve(recorder.router, max_concurrency=1) as client:
            assert (await deliver(client, job_body(1), key="k1"))[0] == 202
            assert (await deliver(client, job_body(2), key="k2"))[0] == 202
            await recorder.handled(2)
    assert recorder.ids() == [1, 2]
    (record,) = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert record.name == "gitlab_jobs_async.webhooks"
    assert "broken failed on Job Hook (k1)" in record.getMessage()
    assert record.exc_info is not None and "handler bug" in str(record.exc_info[1])


class BrokenStore:
    async def add(self, key: str) -> bool:
        raise ConnectionError("store down")

    async def discard(self, key: str) -> None:
        raise ConnectionError("store down")


async def test_a_failing_store_still_handles_the_event(caplog):
    """When the idempotency store fails, the event is handled anyway and the failure logged."""
    recorder = Recorder()
    with caplog.at_level(logging.ERROR, "gitlab_jobs_async.webhooks"):
        async with serve(recorder.router, store=BrokenStore()) as client:
            assert (await deliver(client))[0] == 202
            await recorder.handled(1)
    assert "idempotency store failed on key-1" in caplog.text


async def test_an_internal_failure_is_a_500_without_traceback(caplog):
    """A failure inside the receiver is logged and answered 500 with a one-line JSON error."""

    class Broken(Router):
        def handlers_for(self, event: Event) -> tuple[Any, ...]:
            raise RuntimeError("bug in the router")

    with caplog.at_level(logging.ERROR, "gitlab_jobs_async.webhooks"):
        async with serve(Broken()) as client:
            assert await deliver(client) == (500, {"error": "internal error"})
    assert "bug in the router" in caplog.text


async def test_only_post_on_the_path():
    """GET is 405 and another path 404; the path option moves the receiver."""
    async with serve(Router(), path="/hooks/gitlab") as client:
        async with client.get("/hooks/gitlab") as response:
            assert response.status == 405
        async with client.post("/") as response:
            assert response.status == 404


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"secret_token": None}, ValueError, "nothing to verify"),
        ({"signing_secrets": ["not a secret"]}, ValueError, "whsec_"),
        ({"max_queue": 0}, ValueError, "max_queue"),
        ({"max_concurrency": True}, ValueError, "max_concurrency"),
        ({"max_body_size": -1}, ValueError, "max_body_size"),
        ({"drain_timeout": -1}, ValueError, "drain_timeout"),
    ],
)
def test_bad_options_raise_before_serving(options, error, message):
    """An application that could not verify or hold anything is refused when built."""
    with pytest.raises(error, match=message):
        webhook_app(Router(), client=GL, **({"secret_token": TOKEN} | options))


def test_router_must_be_a_router():
    """Passing something else as the router is a TypeError."""
    with pytest.raises(TypeError, match="Router"):
        webhook_app(object(), client=GL, secret_token=TOKEN)  # type: ignore[arg-type]


async def test_handler_api_calls_carry_the_event_uuid(world):
    """A handler's API call through the app's client sends X-Gitlab-Event-UUID back to GitLab."""
    job = world.jobs["rspec"]
    done = asyncio.Event()
    router = Router()

    async with GitLab(world.fake.url, private_token=world.token, retry=FAST) as gl:

        @router.job()
        async def look(event: JobEvent, client: GitLab) -> None:
            await client.project_jobs.get(PROJECT, event.job_id)
            done.set()

        app = webhook_app(router, client=gl, secret_token=TOKEN)
        async with TestClient(TestServer(app)) as client:
            uuid = "9cebe914-4827-408f-b014-cfa23a47a35f"
            body = job_body(job.id)
            assert (await deliver(client, body, **{"X-Gitlab-Event-UUID": uuid}))[0] == 202
            async with asyncio.timeout(WAIT):
                await done.wait()
        await gl.project_jobs.get(PROJECT, job.id)  # outside a handler: no event UUID
    in_handler, outside = world.fake.requests[-2:]
    assert in_handler.path.endswith(f"/jobs/{job.id}")
    assert outside.headers.get("X-Gitlab-Event-UUID") is None
    assert in_handler.headers.get("X-Gitlab-Event-UUID") == uuid


async def test_pipeline_deliveries_reach_pipeline_handlers():
    """A Pipeline Hook delivery is a PipelineEvent with its builds, for pipeline handlers."""
    recorder = Recorder()
    async with serve(recorder.router) as client:
        assert (await deliver(client, PIPELINE_BODY, hook="Pipeline Hook"))[0] == 202
        (event,) = await recorder.handled(1)
    assert isinstance(event, PipelineEvent)
    assert event.pipeline_id == 2366 and len(event.builds) == 2
