"""The fake GitLab delivers webhooks: project hooks, fired by job and pipeline changes.

:class:`Webhooks` is a base of :class:`~gitlab_jobs_async.testing.FakeGitLab`. Whenever a job
of a project with hooks is created or moves to pending, running, success, failed or canceled
(through the API or the seeding API; a bridge never sends job hooks), and whenever
:meth:`Webhooks.set_pipeline_status` changes a pipeline, the payload is built at once and
queued; one task per hook posts its queue in order over real HTTP, in the background, so an
API answer never waits for a delivery. Each attempt is recorded with its answer
(:attr:`FakeWebhook.deliveries`); :meth:`Webhooks.wait_for_deliveries` waits until none is
left. A delivery caused by an API request carries that request's ``X-Gitlab-Event-UUID`` (the
one it sent, else a new one per request), as GitLab's recursion detection does.
"""

from __future__ import annotations

import asyncio
import contextvars
import re
import uuid
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web

from ._hookdata import job_hook, pipeline_hook
from ._hookrules import (
    EVENT_NAMES,
    HOOK_STATUSES,
    FakeWebhook,
    HookKind,
    WebhookDelivery,
    delivery_headers,
)
from ._records import FakeJob, FakePipeline, FakeProject, JobStatus
from ._state import Store

if TYPE_CHECKING:
    from ._knobs import Knobs

__all__ = ["Webhooks", "event_uuid_middleware"]

WEBHOOK_TIMEOUT = 10.0
"""GitLab's ``webhook_timeout`` default, in seconds."""
RESPONSE_BODY_LIMIT = 8192

_request_uuid: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "fake_gitlab_event_uuid", default=None
)
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def event_uuid_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """``RecursionDetection.set_from_headers``: the request's event UUID, or a new one."""
    sent = request.headers.get("X-Gitlab-Event-UUID", "")
    token = _request_uuid.set(sent if _UUID.fullmatch(sent) else str(uuid.uuid4()))
    try:
        return await handler(request)
    finally:
        _request_uuid.reset(token)


class Webhooks(Store):
    """Project hooks and their deliveries (the fake's webhook API)."""

    if TYPE_CHECKING:
        knobs: Knobs

        @property
        def external_url(self) -> str: ...

    def __init__(self) -> None:
        super().__init__()
        self.webhooks: list[FakeWebhook] = []
        """Every hook added, in order."""
        self.webhook_timeout = WEBHOOK_TIMEOUT
        """Seconds a delivery may take before it counts as failed (GitLab: 10)."""
        self._deliveries: list[WebhookDelivery] = []
        self._pending = 0  # queued and not attempted yet
        self._idle = asyncio.Event()
        self._idle.set()
        self._queues: dict[int, asyncio.Queue[WebhookDelivery]] = {}
        self._senders: list[asyncio.Task[None]] = []
        self._session: aiohttp.ClientSession | None = None

    def add_webhook(
        self,
        project: FakeProject,
        url: str,
        *,
        token: str | None = None,
        signing_secret: str | None = None,
        events: Iterable[HookKind] = ("job", "pipeline"),
    ) -> FakeWebhook:
        """Add a project hook posting to ``url``.

        ``token`` is sent as ``X-Gitlab-Token``; with ``signing_secret`` (``whsec_<base64>``)
        each delivery is also signed (``webhook-id``, ``webhook-timestamp``,
        ``webhook-signature``). ``events``: ``"job"``, ``"pipeline"`` or both.
        """
        kinds = frozenset(events)
        if not kinds or not kinds <= set(EVENT_NAMES):
            raise ValueError(f"events must be 'job' and/or 'pipeline', not {sorted(kinds)}")
        if signing_secret is not None and not signing_secret.startswith("whsec_"):
            raise ValueError("signing_secret must be of the form whsec_<base64>")
        hook = FakeWebhook(len(self.webhooks) + 1, project, url, token, signing_secret, kinds)
        self.webhooks.append(hook)
        return hook

    @property
    def webhook_deliveries(self) -> list[WebhookDelivery]:
        """Every delivery of every hook (resends included), in the order they were queued."""
        return list(self._deliveries)

    def set_pipeline_status(self, pipeline: FakePipeline, status: JobStatus) -> None:
        """Move ``pipeline`` to ``status``; a change fires its project's pipeline hooks."""
        if pipeline.status != status:
            pipeline.status = status
            self._fire(pipeline.project, "pipeline", lambda: self._pipeline_payload(pipeline))

    def resend_delivery(self, delivery: WebhookDelivery) -> WebhookDelivery:
        """Send ``delivery``'s event again, with its idempotency key (the "Resend request"
        of the hook's Recent events); returns the new delivery, queued."""
        again = WebhookDelivery(
            delivery.hook,
            delivery.event,
            delivery.payload,
            delivery.idempotency_key,
            _event_uuid(),
            resend_of=delivery,
        )
        self._queue(again)
        return again

    async def wait_for_deliveries(self) -> list[WebhookDelivery]:
        """Wait until every queued delivery was attempted (those queued meanwhile too);
        return them all. Each attempt takes at most :attr:`webhook_timeout`; bound the wait
        with ``asyncio.timeout`` where a receiver could keep causing new deliveries."""
        await self._idle.wait()
        return self.webhook_deliveries

    # -- what the store's state changes call ------------------------------------------------

    def _job_created(self, job: FakeJob) -> None:
        if job.is_build:
            self._fire(job.project, "job", lambda: self._job_payload(job))

    def _job_changed(self, job: FakeJob, previous: JobStatus) -> None:
        if job.is_build and job.status != previous and job.status in HOOK_STATUSES:
            self._fire(job.project, "job", lambda: self._job_payload(job))

    def _job_payload(self, job: FakeJob) -> dict[str, Any]:
        return job_hook(self, job, self.external_url, datetime.now(UTC))

    def _pipeline_payload(self, pipeline: FakePipeline) -> dict[str, Any]:
        return pipeline_hook(self, pipeline, self.external_url, datetime.now(UTC))

    def _fire(
        self, project: FakeProject, kind: HookKind, build: Callable[[], dict[str, Any]]
    ) -> None:
        hooks = [h for h in self.webhooks if h.project is project and kind in h.events]
        if not hooks:
            return
        payload = build()  # now: the state at the change, whenever it is sent
        cause = _event_uuid()
        for hook in hooks:  # GitLab makes one idempotency key per hook and event
            key = str(uuid.uuid4())
            self._queue(WebhookDelivery(hook, EVENT_NAMES[kind], payload, key, cause))

    def _queue(self, delivery: WebhookDelivery) -> None:
        hook = delivery.hook
        queue = self._queues.get(hook.id)
        if queue is None:
            try:
                asyncio.get_running_loop()
            except RuntimeError:
                raise RuntimeError(
                    "webhooks are delivered by a running fake: change jobs inside the event loop"
                ) from None
            queue = self._queues[hook.id] = asyncio.Queue()
            sender = asyncio.create_task(self._send_all(queue), name=f"fake-webhook-{hook.id}")
            self._senders.append(sender)
        hook.deliveries.append(delivery)
        self._deliveries.append(delivery)
        self._pending += 1
        self._idle.clear()
        queue.put_nowait(delivery)

    async def _send_all(self, queue: asyncio.Queue[WebhookDelivery]) -> None:
        while True:
            delivery = await queue.get()
            try:
                await self._send(delivery)
            except Exception as exc:  # recorded, and the next deliveries still go out
                delivery.outcome, delivery.error = "failed", f"{type(exc).__name__}: {exc}"
            finally:
                self._pending -= 1
                if not self._pending:
                    self._idle.set()

    async def _send(self, delivery: WebhookDelivery) -> None:
        hook, now = delivery.hook, self.knobs.clock()
        if delivery.resend_of is None and hook.takes_drop(delivery):
            delivery.outcome = "dropped"
            return
        if not hook.executable(now):
            delivery.outcome = "disabled"
            return
        delivery.webhook_uuid = str(uuid.uuid4())
        headers, body = delivery_headers(
            delivery, instance=self.external_url, attempt_uuid=delivery.webhook_uuid, now=now
        )
        delivery.headers, delivery.body = headers, body
        if self._session is None:
            self._session = aiohttp.ClientSession()
        timeout = aiohttp.ClientTimeout(total=self.webhook_timeout)
        try:
            async with self._session.post(
                hook.url, data=body, headers=headers, timeout=timeout, allow_redirects=False
            ) as response:
                delivery.status = response.status
                text = await response.content.read(RESPONSE_BODY_LIMIT)
                delivery.response_body = text.decode("utf-8", "replace")
        except TimeoutError:
            delivery.error = f"timed out after {self.webhook_timeout:g} s"
        except aiohttp.ClientError as exc:
            delivery.error = f"{type(exc).__name__}: {exc}"
        ok = delivery.status is not None and 200 <= delivery.status < 400
        delivery.outcome = "delivered" if ok else "failed"
        if ok:
            hook.succeeded()
        else:
            hook.failed(self.knobs.clock())

    async def _stop_webhooks(self) -> None:
        """Stop sending (what is still queued is not sent) and close the session."""
        for task in self._senders:
            task.cancel()
        await asyncio.gather(*self._senders, return_exceptions=True)
        self._senders.clear()
        self._queues.clear()
        self._pending = 0
        self._idle.set()
        if self._session is not None:
            await self._session.close()
            self._session = None


def _event_uuid() -> str:
    return _request_uuid.get() or str(uuid.uuid4())
