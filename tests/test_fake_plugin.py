"""The pytest plugin the package ships (its fixtures, through the pytest11 entry point),
and the realistic data generator."""

from __future__ import annotations

from collections import Counter
from importlib.metadata import entry_points

import pytest

from gitlab_jobs_async import GitLab
from gitlab_jobs_async.testing import FakeGitLab, generate


def test_plugin_is_registered_as_pytest11():
    """The package declares gitlab_jobs_async.testing.pytest_plugin as a pytest11 entry point."""
    found = {ep.name: ep.value for ep in entry_points(group="pytest11")}
    assert found.get("gitlab_jobs_async") == "gitlab_jobs_async.testing.pytest_plugin"


async def test_plugin_fixtures_list_the_generated_jobs(
    fake_gitlab, fake_gitlab_data, fake_gitlab_client
):
    """fake_gitlab_client lists every build of the generated project, newest first."""
    assert isinstance(fake_gitlab, FakeGitLab) and isinstance(fake_gitlab_client, GitLab)
    listed = [j.id async for j in fake_gitlab_client.project_jobs.list("acme/app")]
    builds = sorted((j.id for j in fake_gitlab_data.jobs if j.is_build), reverse=True)
    assert listed == builds and len(listed) >= 5 * 9


def test_generator_shapes(fake: FakeGitLab):
    """Pipelines of 8-20 jobs with their own commits; users and runners from pools; realistic statuses."""
    made = generate(fake, projects=("a/one", "a/two"), pipelines=60, users=5, runners=4, seed=3)
    assert made.paths == ["a/one", "a/two"]
    assert len(made.pipelines) == 120 and len({p.sha for p in made.pipelines}) == 120
    for pipeline in made.pipelines:
        latest = [j for j in pipeline.jobs if not j.retried]
        assert 8 <= len(latest) <= 20
    assert {p.user for p in made.pipelines} <= set(made.users) and len(made.users) == 5
    runners = {j.runner_id for j in made.jobs if j.runner_id is not None}
    assert runners <= {1, 2, 3, 4} and len(runners) > 1
    statuses = Counter(j.status for j in made.jobs)
    assert {"success", "failed", "skipped", "manual", "running"} <= set(statuses)
    assert statuses["success"] > statuses["failed"] > 0
    reasons = Counter(j.failure_reason for j in made.jobs if j.status == "failed")
    assert reasons.most_common(1)[0][0] == "script_failure" and len(reasons) > 1
    assert any(j.retried for j in made.jobs)
    newest = [p for p in made.pipelines if p.status == "running"]
    assert len(newest) == 2  # the newest of each project


def test_generator_artifacts_follow_status(fake: FakeGitLab):
    """Successes carry archives or reports of differing sizes; failures and skips carry none."""
    made = generate(fake, pipelines=30, seed=1)
    ok = [j for j in made.jobs if j.status == "success"]
    assert all(j.artifacts for j in ok)
    assert not any(j.artifacts for j in made.jobs if j.status in ("failed", "skipped", "manual"))
    sizes = {j.artifact_sizes["archive"] for j in ok if "archive" in j.artifacts}
    assert len(sizes) > 5


def test_generator_is_deterministic():
    """The same seed gives the same jobs; another seed other jobs."""

    def shape(seed: int) -> list[tuple[str, str, str | None]]:
        made = generate(FakeGitLab(), pipelines=20, seed=seed)
        return [(j.name, j.status, j.failure_reason) for j in made.jobs]

    assert shape(7) == shape(7) and shape(7) != shape(8)


def test_generator_seeds_ten_thousand_jobs():
    """720 pipelines give more than 10,000 jobs, each in a pipeline of 8 to 20 (speed: benchmarks)."""
    fake = FakeGitLab()
    made = generate(fake, projects=("big/one",), pipelines=720)
    assert len(made.jobs) >= 10_000


def test_generator_beside_other_users(fake: FakeGitLab):
    """Generating twice on one fake keeps usernames unique; bad counts are refused."""
    generate(fake, projects=("x/a",), pipelines=1)
    generate(fake, projects=("x/b",), pipelines=1)
    names = [u.username for u in fake.users.values()]
    assert len(names) == len(set(names))
    with pytest.raises(ValueError):
        generate(fake, projects=("x/c",), pipelines=0)
