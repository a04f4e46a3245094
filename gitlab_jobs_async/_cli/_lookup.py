"""Finding what a command's arguments name: the project, the pipeline, a job by id or name.
Strictly private.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from contextlib import aclosing

from .._client import GitLab
from .._models import Job
from ._problems import ConfigError, NotFoundHere
from ._project import current_branch, project_key, which_project

__all__ = [
    "LATEST_SCAN",
    "NotFoundHere",
    "find_job",
    "find_pipeline",
    "job_target",
    "latest_pipeline",
    "pipeline_target",
]

LATEST_SCAN = 5000
"""How many of a project's newest jobs are read to find a branch's latest pipeline."""


def job_target(args: argparse.Namespace, environ: Mapping[str, str]) -> tuple[int | str, str]:
    """``(project, job)`` from ``[PROJECT] JOB``.

    Raises:
        ConfigError: no job, or more than two arguments.
    """
    target: list[str] = args.target
    if not target or len(target) > 2:
        raise ConfigError(f"{args.command} needs [PROJECT] JOB (a job id or name)")
    given = target[0] if len(target) == 2 else None
    return which_project(given, args.repo, environ), target[-1]


def pipeline_target(
    args: argparse.Namespace, environ: Mapping[str, str]
) -> tuple[int | str, int | None]:
    """``(project, pipeline id or None)`` from ``[PROJECT] [PIPELINE]`` (a lone number is a
    pipeline; a numeric project goes with ``-R``).

    Raises:
        ConfigError: more than two arguments, or a pipeline that is not a positive number.
    """
    target: list[str] = list(args.target)
    if len(target) > 2:
        raise ConfigError(f"{args.command} takes [PROJECT] [PIPELINE]")
    pipeline: int | None = None
    if target and target[-1].isascii() and target[-1].isdigit():
        pipeline = int(target.pop())
        if pipeline < 1:
            raise ConfigError(f"pipeline {pipeline}: a pipeline id is a positive number")
    elif len(target) == 2:
        raise ConfigError(f"pipeline {target[1]!r}: a pipeline id is a number")
    return which_project(target[0] if target else None, args.repo, environ), pipeline


async def latest_pipeline(gl: GitLab, project: int | str, ref: str) -> int:
    """The newest pipeline of ``ref``, read from the project's jobs (newest first).

    The first job on ``ref`` names a candidate; reading goes on until the jobs are older
    than that pipeline's creation, since a newer pipeline's jobs are all created after it
    (an older pipeline's retried job may be newer than every job of the latest one).

    Raises:
        NotFoundHere: no job of the newest :data:`LATEST_SCAN` ran on ``ref``.
    """
    best: Job | None = None
    read = 0
    jobs = gl.project_jobs.list(project, max_items=LATEST_SCAN)
    async with aclosing(jobs):
        async for job in jobs:
            read += 1
            if best is not None and best.pipeline is not None:
                started = best.pipeline.created_at
                if started is None or (job.created_at is not None and job.created_at < started):
                    break
            if job.ref != ref or job.pipeline is None:
                continue
            if best is None or best.pipeline is None or job.pipeline.id > best.pipeline.id:
                best = job
    if best is None or best.pipeline is None:
        raise NotFoundHere(
            f"no pipeline of {ref!r} in the {read:,} newest jobs of {project}: pass --pipeline ID"
        )
    return best.pipeline.id


async def find_pipeline(
    gl: GitLab,
    project: int | str,
    *,
    pipeline: int | None,
    branch: str | None,
    environ: Mapping[str, str],
) -> int:
    """The pipeline meant: given, else ``-b``'s latest, else ``CI_PIPELINE_ID`` (in the CI
    job's own project), else the current branch's latest.

    Raises:
        ConfigError: nothing says which.
        NotFoundHere: the branch has no pipeline.
    """
    if pipeline is not None:
        return pipeline
    if branch:
        return await latest_pipeline(gl, project, branch)
    ci_project = environ.get("CI_PROJECT_ID"), environ.get("CI_PROJECT_PATH")
    if environ.get("CI_PIPELINE_ID", "").isdigit() and str(project) in ci_project:
        return int(environ["CI_PIPELINE_ID"])
    here = current_branch(environ)
    if here:
        return await latest_pipeline(gl, project, here)
    raise ConfigError("which pipeline? Pass its id, or -b BRANCH for that branch's latest")


async def find_job(
    gl: GitLab,
    project: int | str,
    text: str,
    *,
    pipeline: int | None,
    branch: str | None,
    environ: Mapping[str, str],
) -> int:
    """A job id from an id, or from a name in the pipeline meant (its newest attempt).

    Raises:
        NotFoundHere: no job of that name in the pipeline.
    """
    key = project_key(text)
    if isinstance(key, int):
        if pipeline is not None or branch:
            raise ConfigError("-b and --pipeline pick a job by name; a job id needs neither")
        return key
    chosen = await find_pipeline(gl, project, pipeline=pipeline, branch=branch, environ=environ)
    named = [j async for j in gl.pipeline_jobs.list(project, chosen) if j.name == text]
    if not named:
        raise NotFoundHere(f"no job named {text!r} in pipeline {chosen} of {project}")
    return max(j.id for j in named)
