"""GitLab webhooks: typed job and pipeline events, verified deliveries, a receiver for bots.

:func:`parse` verifies a delivery (``X-Gitlab-Token``, Standard Webhooks signatures) and
returns a :class:`JobEvent`, :class:`PipelineEvent` or, for any other hook, an :class:`Event`.
A :class:`Router` picks handlers by hook and attributes; :func:`webhook_app` serves it as an
aiohttp application that answers GitLab at once and handles events in the background::

    router = Router()

    @router.job(status="failed")
    async def on_failed(event: JobEvent, gl: GitLab) -> None:
        ...

    app = webhook_app(router, client=gl, secret_token="...", signing_secrets=["whsec_..."],
                      reconcile=Reconciler(["group/app"], poll=60))

With ``reconcile``, job events that no hook delivered (GitLab drops and disables hooks) are
found by polling the REST API and handled too, each ``(job, status)`` once.
"""

from ._app import webhook_app
from ._dedupe import IdempotencyStore, MemoryIdempotencyStore
from ._errors import (
    InvalidSignature,
    InvalidToken,
    MalformedPayload,
    MissingSignature,
    MissingToken,
    PayloadTooLarge,
    StaleSignature,
    VerificationError,
    WebhookError,
)
from ._models import (
    JOB_HOOK,
    PIPELINE_HOOK,
    CommitAuthor,
    Event,
    HookArtifactsFile,
    HookCommit,
    HookEnvironment,
    HookProject,
    HookRunner,
    HookUser,
    JobEvent,
    JobPipeline,
    MergeRequest,
    PipelineAttributes,
    PipelineBuild,
    PipelineEvent,
    PipelineVariable,
    SourcePipeline,
)
from ._parse import MAX_BODY_SIZE, parse
from ._reconcile import Reconciler
from ._router import Handler, Router
from ._verify import DEFAULT_TOLERANCE, Verifier, verify

__all__ = [
    "CommitAuthor",
    "DEFAULT_TOLERANCE",
    "Event",
    "Handler",
    "HookArtifactsFile",
    "HookCommit",
    "HookEnvironment",
    "HookProject",
    "HookRunner",
    "HookUser",
    "IdempotencyStore",
    "InvalidSignature",
    "InvalidToken",
    "JOB_HOOK",
    "JobEvent",
    "JobPipeline",
    "MAX_BODY_SIZE",
    "MalformedPayload",
    "MemoryIdempotencyStore",
    "MergeRequest",
    "MissingSignature",
    "MissingToken",
    "PIPELINE_HOOK",
    "PayloadTooLarge",
    "PipelineAttributes",
    "PipelineBuild",
    "PipelineEvent",
    "PipelineVariable",
    "Reconciler",
    "Router",
    "SourcePipeline",
    "StaleSignature",
    "VerificationError",
    "Verifier",
    "WebhookError",
    "parse",
    "verify",
    "webhook_app",
]
