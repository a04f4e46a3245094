"""GitLab webhooks: typed job and pipeline events, verified deliveries, a receiver for bots.

:func:`parse` verifies a delivery (``X-Gitlab-Token``, Standard Webhooks signatures) and
returns a :class:`JobEvent`, :class:`PipelineEvent` or, for any other hook, an :class:`Event`.
"""

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
from ._verify import DEFAULT_TOLERANCE, Verifier, verify

__all__ = [
    "CommitAuthor",
    "DEFAULT_TOLERANCE",
    "Event",
    "HookArtifactsFile",
    "HookCommit",
    "HookEnvironment",
    "HookProject",
    "HookRunner",
    "HookUser",
    "InvalidSignature",
    "InvalidToken",
    "JOB_HOOK",
    "JobEvent",
    "JobPipeline",
    "MAX_BODY_SIZE",
    "MalformedPayload",
    "MergeRequest",
    "MissingSignature",
    "MissingToken",
    "PIPELINE_HOOK",
    "PayloadTooLarge",
    "PipelineAttributes",
    "PipelineBuild",
    "PipelineEvent",
    "PipelineVariable",
    "SourcePipeline",
    "StaleSignature",
    "VerificationError",
    "Verifier",
    "WebhookError",
    "parse",
    "verify",
]
