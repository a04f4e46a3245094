"""Every endpoint path of the API, built from checked arguments. Strictly private.

Paths are relative to the API base URL (``.../api/v4/``) and already percent-encoded; the
transport joins them on as they are. Each builder checks its arguments (see ``_checks``), so
no path can be made from an unchecked value and a missing id is a ``TypeError``, never a
shorter path to another endpoint. A project's or group's full path is one segment with ``/``
sent as ``%2F``: GitLab's ``:id`` matches one segment (``NAMESPACE_OR_PROJECT_REQUIREMENTS``
in ``lib/api/api.rb``; "Namespaced paths" in the REST API documentation). A ref is encoded
the same way, which GitLab's ``:ref_name`` (``/.+/`` in ``lib/api/ci/job_artifacts.rb``)
decodes to the same branch or tag.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import quote

from . import _checks as checks

__all__ = [
    "TOKEN_JOB",
    "TOKEN_JOB_AGENTS",
    "group_projects",
    "job",
    "job_action",
    "job_artifact_file",
    "job_artifacts",
    "job_artifacts_keep",
    "job_trace",
    "pipeline_bridges",
    "pipeline_jobs",
    "project_jobs",
    "ref_artifact_file",
    "ref_artifacts",
]

TOKEN_JOB = "job"
"""``GET /job``: the CI job token's own job."""
TOKEN_JOB_AGENTS = "job/allowed_agents"
"""``GET /job/allowed_agents``."""

JobAction = Literal["cancel", "retry", "erase", "play"]


def _segment(value: int | str) -> str:
    """One path segment: an id as digits, a full path with every reserved character encoded."""
    return str(value) if isinstance(value, int) else quote(value, safe="")


def _project(project: object) -> str:
    return f"projects/{_segment(checks.project(project))}"


def project_jobs(project: object) -> str:
    """``projects/:id/jobs``: the project's jobs list."""
    return f"{_project(project)}/jobs"


def job(project: object, job_id: object) -> str:
    """``projects/:id/jobs/:job_id``."""
    return f"{_project(project)}/jobs/{checks.job_id(job_id)}"


def job_trace(project: object, job_id: object) -> str:
    """``projects/:id/jobs/:job_id/trace``: the job's log."""
    return f"{job(project, job_id)}/trace"


def job_action(project: object, job_id: object, action: JobAction) -> str:
    """``projects/:id/jobs/:job_id/{cancel,retry,erase,play}`` (all ``POST``)."""
    return f"{job(project, job_id)}/{action}"


def job_artifacts(project: object, job_id: object) -> str:
    """``projects/:id/jobs/:job_id/artifacts``: download (``GET``) or delete (``DELETE``)."""
    return f"{job(project, job_id)}/artifacts"


def job_artifacts_keep(project: object, job_id: object) -> str:
    """``projects/:id/jobs/:job_id/artifacts/keep`` (``POST``)."""
    return f"{job_artifacts(project, job_id)}/keep"


def _file(artifact_path: object) -> str:
    # The file path keeps its "/": GitLab's route takes the rest of the path (`*artifact_path`).
    return quote(checks.artifact_path(artifact_path), safe="/")


def job_artifact_file(project: object, job_id: object, artifact_path: object) -> str:
    """``projects/:id/jobs/:job_id/artifacts/*artifact_path``: one file of the archive."""
    return f"{job_artifacts(project, job_id)}/{_file(artifact_path)}"


def _ref(project: object, ref: object) -> str:
    return f"{_project(project)}/jobs/artifacts/{_segment(checks.ref(ref))}"


def ref_artifacts(project: object, ref: object) -> str:
    """``projects/:id/jobs/artifacts/:ref_name/download`` (with ``job=<name>``)."""
    return f"{_ref(project, ref)}/download"


def ref_artifact_file(project: object, ref: object, artifact_path: object) -> str:
    """``projects/:id/jobs/artifacts/:ref_name/raw/*artifact_path`` (with ``job=<name>``)."""
    return f"{_ref(project, ref)}/raw/{_file(artifact_path)}"


def pipeline_jobs(project: object, pipeline_id: object) -> str:
    """``projects/:id/pipelines/:pipeline_id/jobs``."""
    return f"{_project(project)}/pipelines/{checks.pipeline_id(pipeline_id)}/jobs"


def pipeline_bridges(project: object, pipeline_id: object) -> str:
    """``projects/:id/pipelines/:pipeline_id/bridges``."""
    return f"{_project(project)}/pipelines/{checks.pipeline_id(pipeline_id)}/bridges"


def group_projects(group: object) -> str:
    """``groups/:id/projects``."""
    return f"groups/{_segment(checks.group(group))}/projects"
