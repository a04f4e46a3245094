"""A bot that retries a job once when it failed for a reason that is not the job's fault.

GitLab posts a Job Hook when a job fails; if its failure reason says the runner, the
scheduler or a timeout let the job down (``runner_system_failure``,
``stuck_or_timeout_failure``, ``scheduler_failure``), the bot retries it through the API,
once: never twice for the same job of a pipeline, even when GitLab delivers the hook twice
(a resend keeps its ``Idempotency-Key``; two hooks pointing here send two keys), nor when the
retried job fails again (then a person should look). Hooks GitLab dropped are made up for by
polling the projects' jobs (reconciliation).

Run it with::

    GITLAB_URL=https://gitlab.example.com GITLAB_TOKEN=glpat-... \\
    WEBHOOK_SECRET=s3cret RECONCILE_PROJECTS=group/app,group/lib \\
    python examples/retry_bot.py              # listens on :8080, POST /

and point the projects' webhooks (job events) at it with the same secret token.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Iterable

from aiohttp import web

from gitlab_jobs_async import APIError, GitLab
from gitlab_jobs_async.webhooks import (
    JobEvent,
    MemoryIdempotencyStore,
    Reconciler,
    Router,
    webhook_app,
)

log = logging.getLogger("retry_bot")

BOT = web.AppKey("bot", "RetryBot")
"""Where :func:`make_app` keeps the bot (``app[BOT]``)."""

RETRYABLE = frozenset({"runner_system_failure", "stuck_or_timeout_failure", "scheduler_failure"})
"""Failure reasons that are the infrastructure's fault, not the job's."""


class RetryBot:
    """The bot's handler and its memory of the jobs it retried.

    The memory is keyed by pipeline and job name, so a retried job that fails again is left
    alone; it is bounded (100,000 jobs, a week). Several bot processes would share it
    through an :class:`~gitlab_jobs_async.webhooks.IdempotencyStore` such as Redis.
    """

    def __init__(self) -> None:
        self.retried = MemoryIdempotencyStore(ttl=7 * 24 * 3600.0)
        self.router = Router()
        self.router.job(status="failed", when=lambda e: e.failure_reason in RETRYABLE)(
            self.on_failure
        )

    async def on_failure(self, event: JobEvent, gl: GitLab) -> None:
        """Retry a job that failed for a retryable reason, unless it was retried already."""
        if event.retries_count:  # a retry already (by someone, or by us before a restart)
            return
        if not await self.retried.add(f"{event.project_id}:{event.pipeline_id}:{event.name}"):
            log.info("job %s (%s) was retried once already", event.job_id, event.name)
            return
        try:
            new = await gl.project_jobs.retry(event.project_id, event.job_id)
        except APIError as exc:  # 403 "not retryable": someone retried it meanwhile
            log.warning("could not retry job %s: %s", event.job_id, exc)
            return
        log.info(
            "job %s (%s) failed with %s: retried as job %s",
            event.job_id,
            event.name,
            event.failure_reason,
            new.id,
        )


def make_app(
    gl: GitLab,
    *,
    secret_token: str | None = None,
    signing_secrets: Iterable[str] = (),
    reconcile: Reconciler | Iterable[int | str] | None = None,
) -> web.Application:
    """The bot as an aiohttp application (``POST /``), using the client ``gl``."""
    bot = RetryBot()
    app = webhook_app(
        bot.router,
        client=gl,
        secret_token=secret_token,
        signing_secrets=signing_secrets,
        reconcile=reconcile,
    )
    app[BOT] = bot
    return app


async def _app_from_environment() -> web.Application:
    gl = GitLab.from_env()
    projects = [p for p in os.environ.get("RECONCILE_PROJECTS", "").split(",") if p]
    app = make_app(
        gl,
        secret_token=os.environ.get("WEBHOOK_SECRET") or None,
        signing_secrets=[s for s in os.environ.get("WEBHOOK_SIGNING_SECRETS", "").split() if s],
        reconcile=projects or None,
    )

    async def client(app: web.Application) -> AsyncIterator[None]:
        async with gl:
            yield

    app.cleanup_ctx.insert(0, client)  # open before the receiver starts, close after it
    return app


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    web.run_app(_app_from_environment(), port=int(os.environ.get("PORT", "8080")))
