"""``webhook_app()``: an aiohttp application that receives GitLab's hooks for a :class:`Router`.

GitLab gives a delivery 10 seconds, counts any answer but 2xx/3xx as a failure, disables a hook
for a while after 4 failures in a row (for good after 40), and never redelivers by itself
(``app/models/concerns/web_hooks/auto_disabling.rb``, webhook docs "Troubleshooting"). So the
receiver answers at once and works afterwards:

* ``401`` for a bad or missing token or signature, ``400`` for a body that is not what GitLab
  sends, ``413`` for one over ``max_body_size``: these are the sender's fault, and GitLab shows
  them in the hook's "Recent events";
* ``202 {"status": "accepted"}``: verified, new, and queued for its handlers;
* ``200 {"status": "duplicate"}``: its idempotency key was accepted before;
* ``200 {"status": "ignored"}``: no handler wants it (any hook GitLab may add);
* ``200 {"status": "dropped", "reason": "queue full"}``: **the queue is full**. The event is not
  handled, a warning is logged, and its key is not recorded, so resending it from GitLab later
  is handled. It is answered with a 2xx on purpose: an error would not make GitLab retry (it
  never does), but four of them in a burst would get the hook disabled, losing every event
  after. What was dropped is found again by reconciling against the REST API.

With ``reconcile=``, a :class:`Reconciler` polls the REST API beside the receiver and queues
the job events no hook delivered; a job event delivered after polling found it (same job,
same status) is answered ``200 {"status": "duplicate"}`` too, and one dropped for a full
queue is left for polling to find.

It never answers 500 with a traceback: an unexpected failure is logged and answered
``500 {"error": "internal error"}``; a failing idempotency store is logged and the event
handled anyway (handled twice rather than lost).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable
from typing import TYPE_CHECKING

from aiohttp import web

from ._dedupe import IdempotencyStore, MemoryIdempotencyStore
from ._errors import PayloadTooLarge, WebhookError
from ._models import Event, JobEvent
from ._parse import MAX_BODY_SIZE, check_size, parse_verified
from ._reconcile import Reconciler
from ._router import Handler, Router
from ._verify import DEFAULT_TOLERANCE, Verifier

if TYPE_CHECKING:
    from .._client import GitLab

__all__ = ["webhook_app"]

log = logging.getLogger("gitlab_jobs_async.webhooks")


def _answer(code: int, **body: str) -> web.Response:
    return web.json_response(body, status=code)


class _Receiver:
    """The queue, the workers and the request handler of one application. Strictly private."""

    def __init__(
        self,
        router: Router,
        client: GitLab,
        verifier: Verifier,
        *,
        store: IdempotencyStore,
        max_body_size: int,
        max_concurrency: int,
        max_queue: int,
        drain_timeout: float,
        reconciler: Reconciler | None = None,
    ) -> None:
        self.reconciler = reconciler
        self.router = router
        self.client = client
        self.verifier = verifier
        self.store = store
        self.max_body_size = max_body_size
        self.max_concurrency = max_concurrency
        self.max_queue = max_queue
        self.drain_timeout = drain_timeout
        self.queue: asyncio.Queue[tuple[Event, tuple[Handler, ...]]] | None = None
        self.busy = 0

    async def handle(self, request: web.Request) -> web.Response:
        try:
            return await self._handle(request)
        except Exception:  # a bug, or a store that broke: logged, and no traceback to GitLab
            log.exception("webhook receiver failed on a %s delivery", request.method)
            return _answer(500, error="internal error")

    async def _handle(self, request: web.Request) -> web.Response:
        queue = self.queue
        if queue is None:  # before startup or after shutdown: nothing would handle it
            return _answer(503, error="the receiver is not running")
        try:
            size = request.content_length or 0
            if size > self.max_body_size:  # refused before reading a byte of it
                raise PayloadTooLarge(
                    f"the body is {size} bytes; at most {self.max_body_size} are accepted"
                )
            try:
                body = await request.read()
            except web.HTTPRequestEntityTooLarge:
                raise PayloadTooLarge(f"the body is over {self.max_body_size} bytes") from None
            check_size(body, self.max_body_size)
            self.verifier.verify(request.headers, body)
            event = parse_verified(request.headers, body)
        except WebhookError as exc:
            log.warning("webhook delivery refused with %d: %s", exc.status, exc)
            return _answer(exc.status, error=str(exc))
        handlers = self.router.handlers_for(event)
        if not handlers:
            return _answer(200, status="ignored")
        key = event.idempotency_key
        if key is not None and not await self._is_new(key):
            log.info("duplicate %s delivery %s: already accepted", event.hook, key)
            return _answer(200, status="duplicate")
        if await self._reconciled(event):
            return _answer(200, status="duplicate")
        try:
            queue.put_nowait((event, handlers))
        except asyncio.QueueFull:
            if key is not None:
                await self._forget(key)
            if self.reconciler is not None and isinstance(event, JobEvent):
                await self.reconciler.release(event)
            log.warning(
                "webhook queue full (%d waiting, %d running): dropped %s delivery %s",
                queue.qsize(),
                self.busy,
                event.hook,
                key or event.delivery_id,
            )
            return _answer(200, status="dropped", reason="queue full")
        return _answer(202, status="accepted")

    async def _reconciled(self, event: Event) -> bool:
        """A job event that polling found first, or that came before under another key."""
        if self.reconciler is None or not isinstance(event, JobEvent):
            return False
        if await self.reconciler.claim(event):
            return False
        log.info("job %s %s: already delivered or found by polling", event.job_id, event.status)
        return True

    async def _is_new(self, key: str) -> bool:
        try:
            return await self.store.add(key)
        except Exception:
            log.exception("idempotency store failed on %s: handling the event anyway", key)
            return True

    async def _forget(self, key: str) -> None:
        try:
            await self.store.discard(key)
        except Exception:
            log.exception("idempotency store failed to forget %s", key)

    async def _work(self, queue: asyncio.Queue[tuple[Event, tuple[Handler, ...]]]) -> None:
        while True:
            event, handlers = await queue.get()
            self.busy += 1
            try:
                await self.router.dispatch(event, self.client, handlers)
            finally:
                self.busy -= 1
                queue.task_done()

    async def _reconcile(self, queue: asyncio.Queue[tuple[Event, tuple[Handler, ...]]]) -> None:
        """Queue what polling finds that no hook delivered, for as long as the app runs."""
        assert self.reconciler is not None
        reconciler = self.reconciler
        try:
            async for event in reconciler.missed(self.client, want=self._wanted):
                try:
                    # Waits while the queue is full: polling slows down, nothing is dropped.
                    await queue.put((event, self.router.handlers_for(event)))
                except asyncio.CancelledError:
                    await reconciler.release(event)  # a shared store can still find it
                    raise
        except Exception:
            log.exception("reconciliation stopped; webhooks are still received")

    def _wanted(self, event: Event) -> bool:
        return bool(self.router.handlers_for(event))

    async def lifecycle(self, app: web.Application) -> AsyncIterator[None]:
        queue: asyncio.Queue[tuple[Event, tuple[Handler, ...]]] = asyncio.Queue(self.max_queue)
        workers = [
            asyncio.create_task(self._work(queue), name=f"webhook-worker-{n}")
            for n in range(self.max_concurrency)
        ]
        self.queue = queue
        polling = None
        if self.reconciler is not None:
            polling = asyncio.create_task(self._reconcile(queue), name="webhook-reconciler")
        try:
            yield
        finally:
            # aiohttp has closed the listening sockets and waited for requests in flight: no
            # event arrives any more, so what is queued and running is all there is to finish.
            self.queue = None
            if polling is not None:
                polling.cancel()
                await asyncio.gather(polling, return_exceptions=True)
            left = queue.qsize() + self.busy
            if left:
                log.info("draining %d webhook event(s), for up to %g s", left, self.drain_timeout)
            try:
                async with asyncio.timeout(self.drain_timeout):
                    await queue.join()
            except TimeoutError:
                log.warning(
                    "shutdown: %d webhook event(s) not handled within %g s were cancelled",
                    queue.qsize() + self.busy,
                    self.drain_timeout,
                )
            for worker in workers:
                worker.cancel()
            await asyncio.gather(*workers, return_exceptions=True)


def _check_count(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")


def webhook_app(
    router: Router,
    *,
    client: GitLab,
    secret_token: str | None = None,
    signing_secrets: str | Iterable[str] = (),
    path: str = "/",
    max_body_size: int = MAX_BODY_SIZE,
    max_concurrency: int = 8,
    max_queue: int = 1000,
    store: IdempotencyStore | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
    drain_timeout: float = 30.0,
    clock: Callable[[], float] = time.time,
    reconcile: Reconciler | Iterable[int | str] | None = None,
) -> web.Application:
    """An ``aiohttp.web.Application`` that verifies GitLab's deliveries on ``POST path`` and runs
    the router's handlers in the background.

    Each accepted event is queued and answered at once; ``max_concurrency`` workers take events
    from the queue and run their handlers, ``handler(event, client)``, one after another. A
    handler's API calls through ``client`` carry the event's ``X-Gitlab-Event-UUID``. On
    shutdown, queued and running events are finished for up to ``drain_timeout`` seconds, then
    cancelled. The module docstring lists every answer, and why a full queue answers 2xx.

    The application does not open or close ``client``: open it around the application
    (``async with GitLab(...) as gl:``, or in a ``cleanup_ctx`` placed before this one).

    Args:
        router: the handlers.
        client: the client handlers get as their second argument.
        secret_token: the hook's secret token (``X-Gitlab-Token``).
        signing_secrets: its signing tokens, ``whsec_<base64>``; several while rotating. At least
            one of the two is required, and every one configured must check
            (see :class:`Verifier`).
        path: where GitLab posts (default ``/``).
        max_body_size: the largest body accepted, in bytes (default 25 MiB, GitLab's limit).
        max_concurrency: events handled at once (default 8).
        max_queue: events waiting beyond those (default 1,000).
        store: where idempotency keys are kept (default a :class:`MemoryIdempotencyStore`).
        tolerance: seconds a signature's timestamp may be from now (default 300).
        drain_timeout: seconds to finish queued events on shutdown (default 30).
        clock: the current Unix time, for signatures' timestamps (default :func:`time.time`).
        reconcile: a :class:`Reconciler`, or projects to reconcile with one polling every 60
            s: job events no hook delivered are found through the REST API and handled
            too, none twice (see :class:`Reconciler`).

    Raises:
        ValueError: when nothing to verify with is given, a secret is malformed, or a size or
            count is not positive.
    """
    for name, value in (
        ("max_body_size", max_body_size),
        ("max_concurrency", max_concurrency),
        ("max_queue", max_queue),
    ):
        _check_count(name, value)
    if not drain_timeout >= 0:
        raise ValueError(f"drain_timeout must be a number of seconds, got {drain_timeout!r}")
    if not isinstance(router, Router):
        raise TypeError(f"router must be a Router, not {type(router).__name__}")
    if reconcile is not None and not isinstance(reconcile, Reconciler):
        reconcile = Reconciler(reconcile)
    verifier = Verifier(
        secret_token=secret_token, signing_secrets=signing_secrets, tolerance=tolerance, clock=clock
    )
    receiver = _Receiver(
        router,
        client,
        verifier,
        store=store if store is not None else MemoryIdempotencyStore(),
        max_body_size=max_body_size,
        max_concurrency=max_concurrency,
        max_queue=max_queue,
        drain_timeout=drain_timeout,
        reconciler=reconcile,
    )
    # aiohttp refuses a larger body itself while reading (413); the receiver words the answer.
    app = web.Application(client_max_size=max_body_size)
    app.router.add_post(path, receiver.handle)
    app.cleanup_ctx.append(receiver.lifecycle)
    return app
