"""python-gitlab, unmodified, drives the fake for every operation it offers on jobs,
pipelines' jobs and bridges, and artifacts (issue 13's "done when")."""

from __future__ import annotations

import asyncio
import io
import zipfile
from typing import Any

import gitlab

from gitlab_jobs_async.testing import FakeGitLab

from ._support import LOG, PROJECT, World


def client(fake: FakeGitLab, token: str) -> gitlab.Gitlab:
    return gitlab.Gitlab(fake.url, private_token=token, retry_transient_errors=False)


def every_operation(world: World, archive_job: int) -> dict[str, Any]:
    """Each python-gitlab operation on jobs, pipelines, bridges and artifacts, in turn."""
    gl = client(world.fake, world.maintainer_token)
    gl.auth()  # GET /user
    out: dict[str, Any] = {"user": gl.user.username if gl.user else None, "version": gl.version()}
    project = gl.projects.get(PROJECT)
    out["offset"] = [j.id for j in project.jobs.list(iterator=True, per_page=2)]
    out["keyset"] = [
        j.id
        for j in project.jobs.list(
            iterator=True, per_page=2, pagination="keyset", order_by="id", sort="desc"
        )
    ]
    out["failed"] = [j.name for j in project.jobs.list(scope="failed", get_all=True)]
    pipeline = project.pipelines.get(world.pipeline.id)  # not lazy: GET /pipelines/:id
    out["pipeline"] = (pipeline.id, pipeline.status)
    out["pipeline_jobs"] = [j.name for j in pipeline.jobs.list(get_all=True, include_retried=True)]
    out["bridges"] = [b.name for b in pipeline.bridges.list(get_all=True)]
    job = project.jobs.get(archive_job)
    out["archive"] = job.artifacts()
    out["file"] = job.artifact("report.txt")
    out["by_ref"] = project.artifacts.download(ref_name="main", job="package")
    out["raw_by_ref"] = project.artifacts.raw("main", "report.txt", "package")
    job.keep_artifacts()
    job.delete_artifacts()
    out["after_delete"] = getattr(project.jobs.get(archive_job), "artifacts_file", None)
    project.artifacts.delete()
    build = project.jobs.get(world.jobs["build"].id)
    out["trace"] = build.trace()
    lint = project.jobs.get(world.jobs["lint"].id)
    lint.cancel()
    out["cancel"] = project.jobs.get(lint.id).status
    out["retry"] = project.jobs.get(world.jobs["rspec"].id).retry()["status"]
    build.erase()
    out["erased"] = project.jobs.get(build.id).erased_at is not None
    deploy = project.jobs.get(world.jobs["deploy"].id)
    deploy.play()
    out["play"] = project.jobs.get(deploy.id).status
    return out


async def test_python_gitlab_does_everything_it_offers(world):
    """Lists, gets, logs, actions, pipelines (non-lazy), bridges and every artifact call work unmodified."""
    fake = world.fake
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as archive:
        archive.writestr("report.txt", "all good\n")
    package = fake.add_job(
        world.pipeline,
        name="package",
        status="success",
        archive=data.getvalue(),
        files={"report.txt": b"all good\n"},
    )
    out = await asyncio.to_thread(every_operation, world, package.id)
    assert out["user"] == "bob" and out["version"][0].count(".") == 2
    expected = sorted(
        (j.id for j in fake.jobs.values() if j.is_build and j.id <= package.id), reverse=True
    )
    assert out["offset"] == expected and out["keyset"] == expected
    assert out["failed"] == ["rspec"]
    assert out["pipeline"] == (world.pipeline.id, "running")
    assert "package" in out["pipeline_jobs"] and out["bridges"] == ["trigger"]
    assert out["archive"] == data.getvalue() and out["by_ref"] == data.getvalue()
    assert out["file"] == b"all good\n" and out["raw_by_ref"] == b"all good\n"
    assert package.archive is None and out["after_delete"] is None
    assert out["trace"] == LOG and out["cancel"] == "canceled" and out["retry"] == "pending"
    assert out["erased"] and out["play"] == "pending"
    methods = {(r.method, r.path.rsplit("/", 1)[-1]) for r in fake.requests}
    assert ("DELETE", "artifacts") in methods and all(
        r.status is not None and r.status < 500 for r in fake.requests
    )


def walk(fake: FakeGitLab, token: str, path: str) -> list[int]:
    project = client(fake, token).projects.get(path, lazy=True)
    return [j.id for j in project.jobs.list(iterator=True, per_page=1)]


async def test_python_gitlab_walks_500_pages_of_one(fake):
    """A per_page=1 walk over 500 jobs follows 500 Links (no growing URL, no 400) and yields each job once."""
    user = fake.add_user("walker")
    project = fake.add_project("walk/app")
    fake.add_member(project, user, "reporter")
    pipeline = fake.add_pipeline(project, user=user)
    jobs = [fake.add_job(pipeline, name=f"j{i}") for i in range(500)]
    token = fake.add_personal_token(user)
    ids = await asyncio.to_thread(walk, fake, token, "walk/app")
    assert ids == sorted((j.id for j in jobs), reverse=True)
    lists = [r for r in fake.requests if r.path.endswith("/jobs")]
    assert (
        len(lists) == 500
        and max(len(r.path) + sum(len(k) + len(v) for k, v in r.query) for r in lists) < 200
    )
