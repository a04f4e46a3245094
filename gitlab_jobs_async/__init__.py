"""An async-first SDK for GitLab's CI Jobs API.

Start with :class:`GitLab`; its services ``project_jobs``, ``pipeline_jobs``, ``bridges`` and
``token_job`` return typed models. A fake GitLab for tests lives in
:mod:`gitlab_jobs_async.testing`.
"""

import logging as _logging

from ._client import GITLAB_COM_REQUESTS_PER_MINUTE, GitLab
from ._config import DEFAULT_TIMEOUT, RetryPolicy
from ._errors import (
    APIError,
    BadRequest,
    Conflict,
    Forbidden,
    GitLabError,
    LogRewritten,
    MethodNotAllowed,
    NotFound,
    OutcomeUnknown,
    RateLimited,
    RequestTimeout,
    ResponseError,
    ServerError,
    TransportError,
    Unauthorized,
)
from ._files import SavedFile
from ._logtext import (
    LineDecoder,
    LogSection,
    SectionParser,
    iter_lines,
    parse_sections,
    strip_ansi,
)
from ._models import (
    AgentConfigProject,
    AllowedAgent,
    AllowedAgents,
    AllowedAgentsEnvironment,
    AllowedAgentsProject,
    AllowedAgentsUser,
    Artifact,
    ArtifactsFile,
    Bridge,
    Commit,
    Job,
    JobProject,
    JobStatus,
    Pipeline,
    Ref,
    Runner,
    RunnerManager,
    User,
)
from ._ratelimit import RateLimit
from ._services import Bridges, PipelineJobs, ProjectJobs, TokenJob
from ._version import __version__

# A library stays quiet unless the application configures logging (no "last resort" output).
_logging.getLogger("gitlab_jobs_async").addHandler(_logging.NullHandler())

__all__ = [
    "APIError",
    "AgentConfigProject",
    "AllowedAgent",
    "AllowedAgents",
    "AllowedAgentsEnvironment",
    "AllowedAgentsProject",
    "AllowedAgentsUser",
    "Artifact",
    "ArtifactsFile",
    "BadRequest",
    "Bridge",
    "Bridges",
    "Commit",
    "Conflict",
    "DEFAULT_TIMEOUT",
    "Forbidden",
    "GITLAB_COM_REQUESTS_PER_MINUTE",
    "GitLab",
    "GitLabError",
    "Job",
    "JobProject",
    "JobStatus",
    "LineDecoder",
    "LogRewritten",
    "LogSection",
    "MethodNotAllowed",
    "NotFound",
    "OutcomeUnknown",
    "Pipeline",
    "PipelineJobs",
    "ProjectJobs",
    "RateLimit",
    "RateLimited",
    "Ref",
    "RequestTimeout",
    "ResponseError",
    "RetryPolicy",
    "Runner",
    "RunnerManager",
    "SavedFile",
    "SectionParser",
    "ServerError",
    "TokenJob",
    "TransportError",
    "Unauthorized",
    "User",
    "__version__",
    "iter_lines",
    "parse_sections",
    "strip_ansi",
]
