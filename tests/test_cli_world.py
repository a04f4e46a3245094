"""What the in-process command-line tests share: a clean environment, a small project, and
``cli()``, which runs ``main([...])`` and returns its exit code and output."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import attrs
import pytest

from gitlab_jobs_async._cli import main
from gitlab_jobs_async.testing import FakeGitLab

HOSTILE = {
    "osc": "build \x1b]0;owned\x07\x1b[2J",
    "markup": "lint [/bold]",
    "matrix": "deploy: [aws, monitoring]",
    "formula": '=HYPERLINK("http://evil.example","click")',
}


@attrs.define
class Small:
    """A small project: two pipelines on main (the newer one failed), one on a branch."""

    fake: FakeGitLab
    token: str
    env: dict[str, str]
    old: Any
    latest: Any
    feature: Any
    jobs: dict[str, Any]


@pytest.fixture
def env(tmp_path, monkeypatch) -> dict[str, str]:
    """No GitLab settings, no configuration file, and a directory that is not a git checkout."""
    monkeypatch.chdir(tmp_path)
    return {"HOME": str(tmp_path), "PATH": os.environ.get("PATH", ""), "COLUMNS": "200"}


@pytest.fixture
def small(fake: FakeGitLab, env) -> Small:
    user = fake.add_user("alice")
    token = fake.add_personal_token(user)
    project = fake.add_project("acme/app", visibility="private")
    fake.add_member(project, user, "maintainer")
    old = fake.add_pipeline(project, ref="main", status="success", user=user)
    fake.add_job(old, name="lint", stage="test", status="success", log=b"old lint\n")
    latest = fake.add_pipeline(project, ref="main", status="failed", user=user)
    jobs = {
        "build": fake.add_job(latest, name="build", stage="build", status="success",
                              files={"dist/app.txt": b"the app\n"}),
        "lint": fake.add_job(latest, name="lint", stage="test", status="failed",
                             log=b"\x1b[31mE501 line too long\x1b[0m\nsection_end:1:x\r\x1b[0K\n"),
        "unit": fake.add_job(latest, name="unit", stage="test", status="success", log=b"ok\n"),
        "deploy": fake.add_job(latest, name="deploy", stage="deploy", status="manual",
                               when="manual", runner=False),
    }  # fmt: skip
    feature = fake.add_pipeline(project, ref="feature", status="success", user=user)
    fake.add_job(feature, name="lint", stage="test", status="success")
    env = env | {"GITLAB_URL": fake.url, "GITLAB_TOKEN": token}
    return Small(fake, token, env, old, latest, feature, jobs)


async def cli(capsys, *args: str, env: dict[str, str]) -> tuple[int, str, str]:
    """Run ``main`` in a worker thread (it runs its own event loop); return code and output."""
    code = await asyncio.to_thread(main, list(args), environ=env)
    out, err = capsys.readouterr()
    return code, out, err
