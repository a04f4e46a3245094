"""Every Python example in README.md runs as written against the fake GitLab."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import Any

import pytest

from gitlab_jobs_async.testing import FakeGitLab

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()
BLOCKS = re.findall(r"```python\n(.*?)```", README, flags=re.DOTALL)


def test_readme_has_examples():
    """README shows a quickstart, the CI-token example and the fake GitLab example."""
    assert len(BLOCKS) == 3


async def run_block(source: str, namespace: dict[str, Any]) -> None:
    """Run a block that may use top-level `async with`/`await`, as a coroutine."""
    body = textwrap.indent(source, "    ")
    exec(compile(f"async def __block():\n{body}", "README.md", "exec"), namespace)
    await namespace["__block"]()


async def test_quickstart(fake: FakeGitLab, capsys: pytest.CaptureFixture[str]):
    """The quickstart lists failed jobs, reads the log and retries, against the fake GitLab."""
    user = fake.add_user("ada")
    token = fake.add_personal_token(user)
    project = fake.add_project("group/app")
    fake.add_member(project, user, "developer")
    pipeline = fake.add_pipeline(project)
    failed = fake.add_job(
        pipeline,
        name="rspec",
        status="failed",
        failure_reason="script_failure",
        log=b"expected 1, got 2\n",
    )
    fake.add_job(pipeline, name="lint", status="success")
    source = BLOCKS[0].replace('asyncio.run(main("https://gitlab.example.com", "glpat-..."))', "")
    namespace: dict[str, Any] = {}
    exec(compile(source, "README.md", "exec"), namespace)
    await namespace["main"](fake.url, token)
    out = capsys.readouterr().out
    assert f"{failed.id} rspec failed script_failure" in out
    assert "expected 1, got 2" in out
    assert "retried as" in out and "pending" in out


async def test_ci_token_example(fake: FakeGitLab, monkeypatch: pytest.MonkeyPatch):
    """GitLab.from_env() inside a CI job reads its own job and agents."""
    project = fake.add_project("group/app")
    job = fake.add_job(fake.add_pipeline(project), name="deploy", status="running")
    for name in ("GITLAB_URL", "GITLAB_TOKEN", "CI_API_V4_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CI_SERVER_URL", fake.url)
    monkeypatch.setenv("CI_JOB_TOKEN", fake.job_token(job))
    namespace: dict[str, Any] = {}
    exec("from gitlab_jobs_async import GitLab", namespace)
    await run_block(BLOCKS[1], namespace)
    assert fake.requests[-2].path == "/api/v4/job"
    assert fake.requests[-1].path == "/api/v4/job/allowed_agents"


async def test_fake_gitlab_example():
    """The fake GitLab example in README runs (its own assertion checks the result)."""
    await run_block(BLOCKS[2], {})
