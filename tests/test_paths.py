"""Every endpoint's exact URL: the path builders as a table, and each call as the server sees it."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import attrs
import pytest

from gitlab_jobs_async import GitLab
from gitlab_jobs_async import _paths as paths
from gitlab_jobs_async.testing import FakeGitLab

from ._support import PROJECT, World

API = "/api/v4"
P = f"{API}/projects/group%2Fsub%2Fapp"
FIRST_PAGE = (("page", "1"), ("per_page", "100"))
"""What an offset walk adds to a list's own parameters on its first page."""


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (paths.project_jobs(42), "projects/42/jobs"),
        (paths.project_jobs("42"), "projects/42/jobs"),
        (paths.project_jobs("group/app"), "projects/group%2Fapp/jobs"),
        (paths.project_jobs("group/sub/app"), "projects/group%2Fsub%2Fapp/jobs"),
        (paths.project_jobs("my.group/app-1_x"), "projects/my.group%2Fapp-1_x/jobs"),
        (paths.project_jobs("g/a b"), "projects/g%2Fa%20b/jobs"),
        (paths.project_jobs("g/ü"), "projects/g%2F%C3%BC/jobs"),
        (paths.project_jobs("g/a?b#c"), "projects/g%2Fa%3Fb%23c/jobs"),
        (paths.job("g/a", 7), "projects/g%2Fa/jobs/7"),
        (paths.job_trace("g/a", 7), "projects/g%2Fa/jobs/7/trace"),
        (paths.job_action("g/a", 7, "play"), "projects/g%2Fa/jobs/7/play"),
        (paths.job_artifacts("g/a", 7), "projects/g%2Fa/jobs/7/artifacts"),
        (paths.job_artifacts_keep("g/a", 7), "projects/g%2Fa/jobs/7/artifacts/keep"),
        (
            paths.job_artifact_file("g/a", 7, "/out/a b.txt"),
            "projects/g%2Fa/jobs/7/artifacts/out/a%20b.txt",
        ),
        (
            paths.ref_artifacts("g/a", "feature/x#1"),
            "projects/g%2Fa/jobs/artifacts/feature%2Fx%231/download",
        ),
        (
            paths.ref_artifact_file("g/a", "v1.0", "dist/app?.tgz"),
            "projects/g%2Fa/jobs/artifacts/v1.0/raw/dist/app%3F.tgz",
        ),
        (paths.pipeline_jobs(3, 9), "projects/3/pipelines/9/jobs"),
        (paths.pipeline_bridges(3, 9), "projects/3/pipelines/9/bridges"),
        (paths.group_projects("acme/web"), "groups/acme%2Fweb/projects"),
        (paths.group_projects(12), "groups/12/projects"),
        (paths.TOKEN_JOB, "job"),
        (paths.TOKEN_JOB_AGENTS, "job/allowed_agents"),
    ],
)
def test_path_builders(path, expected):
    """Ids stay digits; full paths, refs and reserved characters are one encoded segment."""
    assert path == expected


def test_a_missing_job_id_never_shortens_a_path():
    """job_id=None is a TypeError, not the jobs list's path."""
    with pytest.raises(TypeError, match="job_id"):
        paths.job_action("g/a", None, "cancel")


@attrs.frozen
class Ctx:
    """What a case needs: a maintainer's client, a job-token client and the seeded jobs."""

    gl: GitLab
    job_client: GitLab
    world: World
    package: Any

    def id(self, name: str) -> int:
        return int(self.world.jobs[name].id)


Row = tuple[str, str, tuple[tuple[str, str], ...]]
Case = tuple[Callable[[Ctx], Any], Callable[[Ctx], list[Row]]]

ENDPOINTS: dict[str, Case] = {
    "project jobs": (
        lambda c: c.gl.project_jobs.list(PROJECT),
        lambda c: [("GET", f"{P}/jobs", FIRST_PAGE)],
    ),
    "project jobs, scope and per_page": (
        lambda c: c.gl.project_jobs.list(PROJECT, scope=["failed", "manual"], per_page=50),
        lambda c: [
            (
                "GET",
                f"{P}/jobs",
                (("scope[]", "failed"), ("scope[]", "manual"), ("page", "1"), ("per_page", "50")),
            )
        ],
    ),
    "project jobs, keyset": (
        lambda c: c.gl.project_jobs.list(PROJECT, pagination="keyset"),
        lambda c: [
            (
                "GET",
                f"{P}/jobs",
                (
                    ("pagination", "keyset"),
                    ("order_by", "id"),
                    ("sort", "desc"),
                    ("per_page", "100"),
                ),
            )
        ],
    ),
    "project jobs by id": (
        lambda c: c.gl.project_jobs.list(c.world.project.id),
        lambda c: [("GET", f"{API}/projects/{c.world.project.id}/jobs", FIRST_PAGE)],
    ),
    "list_many": (
        lambda c: c.gl.project_jobs.list_many([PROJECT]),
        lambda c: [("GET", f"{P}/jobs", FIRST_PAGE)],
    ),
    "get": (
        lambda c: c.gl.project_jobs.get(PROJECT, c.id("build")),
        lambda c: [("GET", f"{P}/jobs/{c.id('build')}", ())],
    ),
    "trace": (
        lambda c: c.gl.project_jobs.trace(PROJECT, c.id("build")),
        lambda c: [("GET", f"{P}/jobs/{c.id('build')}/trace", ())],
    ),
    "follow a finished job": (
        lambda c: c.gl.project_jobs.follow(PROJECT, c.id("build")),
        lambda c: [
            ("GET", f"{P}/jobs/{c.id('build')}", ()),
            ("GET", f"{P}/jobs/{c.id('build')}/trace", ()),
        ],
    ),
    "cancel": (
        lambda c: c.gl.project_jobs.cancel(PROJECT, c.id("lint")),
        lambda c: [("POST", f"{P}/jobs/{c.id('lint')}/cancel", ())],
    ),
    "retry": (
        lambda c: c.gl.project_jobs.retry(PROJECT, c.id("rspec")),
        lambda c: [("POST", f"{P}/jobs/{c.id('rspec')}/retry", ())],
    ),
    "erase": (
        lambda c: c.gl.project_jobs.erase(PROJECT, c.id("build")),
        lambda c: [("POST", f"{P}/jobs/{c.id('build')}/erase", ())],
    ),
    "play": (
        lambda c: c.gl.project_jobs.play(PROJECT, c.id("deploy"), variables={"A": "1"}),
        lambda c: [("POST", f"{P}/jobs/{c.id('deploy')}/play", ())],
    ),
    "artifacts": (
        lambda c: c.gl.project_jobs.artifacts(PROJECT, c.package.id),
        lambda c: [("GET", f"{P}/jobs/{c.package.id}/artifacts", ())],
    ),
    "artifact_file": (
        lambda c: c.gl.project_jobs.artifact_file(PROJECT, c.package.id, "reports/my file.txt"),
        lambda c: [("GET", f"{P}/jobs/{c.package.id}/artifacts/reports/my%20file.txt", ())],
    ),
    "artifacts_by_ref": (
        lambda c: c.gl.project_jobs.artifacts_by_ref(PROJECT, "release/1.0", "package"),
        lambda c: [("GET", f"{P}/jobs/artifacts/release%2F1.0/download", (("job", "package"),))],
    ),
    "artifact_file_by_ref": (
        lambda c: c.gl.project_jobs.artifact_file_by_ref(
            PROJECT, "release/1.0", "package", "reports/my file.txt"
        ),
        lambda c: [
            (
                "GET",
                f"{P}/jobs/artifacts/release%2F1.0/raw/reports/my%20file.txt",
                (("job", "package"),),
            )
        ],
    ),
    "keep_artifacts": (
        lambda c: c.gl.project_jobs.keep_artifacts(PROJECT, c.package.id),
        lambda c: [("POST", f"{P}/jobs/{c.package.id}/artifacts/keep", ())],
    ),
    "delete_artifacts": (
        lambda c: c.gl.project_jobs.delete_artifacts(PROJECT, c.package.id),
        lambda c: [("DELETE", f"{P}/jobs/{c.package.id}/artifacts", ())],
    ),
    "pipeline jobs": (
        lambda c: c.gl.pipeline_jobs.list(
            PROJECT, c.world.pipeline.id, include_retried=True, scope="failed"
        ),
        lambda c: [
            (
                "GET",
                f"{P}/pipelines/{c.world.pipeline.id}/jobs",
                (("include_retried", "true"), ("scope[]", "failed"), *FIRST_PAGE),
            )
        ],
    ),
    "pipeline jobs, list_many": (
        lambda c: c.gl.pipeline_jobs.list_many([(PROJECT, c.world.pipeline.id)]),
        lambda c: [("GET", f"{P}/pipelines/{c.world.pipeline.id}/jobs", FIRST_PAGE)],
    ),
    "bridges": (
        lambda c: c.gl.bridges.list(PROJECT, c.world.pipeline.id),
        lambda c: [("GET", f"{P}/pipelines/{c.world.pipeline.id}/bridges", FIRST_PAGE)],
    ),
    "group projects": (
        lambda c: c.gl.groups.projects("group/sub"),
        lambda c: [
            (
                "GET",
                f"{API}/groups/group%2Fsub/projects",
                (
                    ("include_subgroups", "true"),
                    ("order_by", "id"),
                    ("sort", "desc"),
                    ("simple", "true"),
                    *FIRST_PAGE,
                ),
            )
        ],
    ),
    "token job": (
        lambda c: c.job_client.token_job.get(),
        lambda c: [("GET", f"{API}/job", ())],
    ),
    "token job's allowed agents": (
        lambda c: c.job_client.token_job.allowed_agents(),
        lambda c: [("GET", f"{API}/job/allowed_agents", ())],
    ),
}


async def _run(result: Any) -> None:
    if inspect.isawaitable(result):
        await result
    else:
        async for _ in result:
            pass


@pytest.mark.parametrize(("call", "expected"), ENDPOINTS.values(), ids=ENDPOINTS)
async def test_endpoint_urls(world: World, call, expected):
    """Each call sends exactly these requests: method, raw path and query, as the fake saw them."""
    fake: FakeGitLab = world.fake
    release = fake.add_pipeline(world.project, ref="release/1.0", status="success")
    package = fake.add_job(release, name="package", files={"reports/my file.txt": b"x"})
    job_token = fake.job_token(world.jobs["lint"])
    async with (
        GitLab(fake.url, private_token=world.maintainer_token) as gl,
        GitLab(fake.url, job_token=job_token) as job_client,
    ):
        ctx = Ctx(gl, job_client, world, package)
        fake.requests.clear()
        await _run(call(ctx))
    sent = [(r.method, r.path, r.query) for r in fake.requests]
    assert sent == expected(ctx)
    assert all(r.status is not None and r.status < 300 for r in fake.requests)
