"""webhook_app()'s queue over real HTTP: bounded concurrency, a full queue, draining on shutdown."""

from __future__ import annotations

import asyncio
import logging

from aiohttp.test_utils import TestClient, TestServer

from gitlab_jobs_async import GitLab
from gitlab_jobs_async.webhooks import JobEvent, Router, webhook_app

from .test_webhooks_app import GL, TOKEN, WAIT, Recorder, deliver, job_body, serve


async def test_queue_full_answers_2xx_drops_and_lets_a_resend_through(caplog):
    """With the queue full, 200 "dropped" (never an error GitLab counts), logged, key not kept."""
    recorder = Recorder(gated=True)
    async with serve(recorder.router, max_concurrency=1, max_queue=1) as client:
        assert (await deliver(client, job_body(1), key="k1"))[0] == 202
        async with asyncio.timeout(WAIT):
            await recorder.started.wait()  # k1 is running; the queue is empty
        assert (await deliver(client, job_body(2), key="k2"))[0] == 202  # waits in the queue
        with caplog.at_level(logging.WARNING, "gitlab_jobs_async.webhooks"):
            answer = await deliver(client, job_body(3), key="k3")
        assert answer == (200, {"status": "dropped", "reason": "queue full"})
        assert (
            "webhook queue full (1 waiting, 1 running): dropped Job Hook delivery k3" in caplog.text
        )
        recorder.gate.set()
        await recorder.handled(2)
        assert await deliver(client, job_body(3), key="k3") == (202, {"status": "accepted"})
        await recorder.handled(3)
    assert recorder.ids() == [1, 2, 3]


async def test_concurrency_is_bounded():
    """At most max_concurrency handlers run at once; the rest wait in the queue."""
    recorder = Recorder(gated=True)
    async with serve(recorder.router, max_concurrency=2) as client:
        for n in range(5):
            assert (await deliver(client, job_body(n), key=f"k{n}"))[0] == 202
        recorder.gate.set()
        await recorder.handled(5)
    assert recorder.most == 2
    assert sorted(recorder.ids()) == [0, 1, 2, 3, 4]


async def test_shutdown_drains_queued_and_running_events():
    """On shutdown, the running event and those queued are finished before the app closes."""
    recorder = Recorder(gated=True)
    draining = asyncio.Event()

    class Signal(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.getMessage().startswith("draining 3 webhook event(s)"):
                draining.set()

    signal = Signal()
    logging.getLogger("gitlab_jobs_async.webhooks").addHandler(signal)
    logging.getLogger("gitlab_jobs_async.webhooks").setLevel(logging.INFO)
    try:
        client = TestClient(
            TestServer(
                webhook_app(recorder.router, client=GL, secret_token=TOKEN, max_concurrency=1)
            )
        )
        await client.start_server()
        for n in range(3):
            assert (await deliver(client, job_body(n), key=f"k{n}"))[0] == 202
        async with asyncio.timeout(WAIT):
            await recorder.started.wait()
        closing = asyncio.create_task(client.close())
        async with asyncio.timeout(WAIT):
            await draining.wait()
        assert not closing.done() and recorder.events == []
        recorder.gate.set()
        async with asyncio.timeout(WAIT):
            await closing
    finally:
        logging.getLogger("gitlab_jobs_async.webhooks").removeHandler(signal)
        logging.getLogger("gitlab_jobs_async.webhooks").setLevel(logging.NOTSET)
    assert recorder.ids() == [0, 1, 2]


async def test_shutdown_cancels_what_outlasts_the_drain_timeout(caplog):
    """Events still running after drain_timeout are cancelled, with a warning saying how many."""
    cancelled = asyncio.Event()
    started = asyncio.Event()
    router = Router()

    @router.job()
    async def forever(event: JobEvent, gl: GitLab) -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    with caplog.at_level(logging.WARNING, "gitlab_jobs_async.webhooks"):
        async with serve(router, drain_timeout=0.05, max_concurrency=1) as client:
            assert (await deliver(client, job_body(1), key="k1"))[0] == 202
            assert (await deliver(client, job_body(2), key="k2"))[0] == 202
            async with asyncio.timeout(WAIT):
                await started.wait()
    assert cancelled.is_set()
    assert "shutdown: 2 webhook event(s) not handled within 0.05 s were cancelled" in caplog.text
