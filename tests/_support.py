"""A small seeded world on the fake GitLab, shared by the SDK's service tests."""

from __future__ import annotations

from typing import Any

import attrs

from gitlab_jobs_async import RetryPolicy
from gitlab_jobs_async.testing import FakeGitLab

FAST = RetryPolicy(attempts=3, backoff=0, max_backoff=0)
"""Retries as the default policy does, without waiting between attempts."""

PROJECT = "group/sub/app"
LOG = (
    b"\x1b[0KRunning with gitlab-runner 17.0.0\n"
    b"section_start:1732460000:build_script\r\x1b[0K\x1b[0;32mStep 1\x1b[0m\n"
    b"caf\xc3\xa9 \xe2\x9c\x93 progress 10%\rprogress 100%\r\n"
    b"section_end:1732460042:build_script\r\x1b[0K\n"
)


@attrs.define
class World:
    """What :func:`seed` created: tokens and the jobs by name."""

    fake: FakeGitLab
    token: str  # alice, developer
    maintainer_token: str  # bob, maintainer
    reporter_token: str  # carol, reporter
    project: Any
    pipeline: Any
    jobs: dict[str, Any]
    bridge: Any
    downstream: Any


def seed(fake: FakeGitLab) -> World:
    """Seed one project, one pipeline with jobs in typical states, and a bridge."""
    alice = fake.add_user("alice", name="Alice Liddell")
    bob = fake.add_user("bob", name="Bob")
    carol = fake.add_user("carol", name="Carol")
    project = fake.add_project(PROJECT, visibility="private")
    fake.add_member(project, alice, "developer")
    fake.add_member(project, bob, "maintainer")
    fake.add_member(project, carol, "reporter")
    other = fake.add_project("group/downstream", visibility="private")
    fake.add_member(other, alice, "developer")
    pipeline = fake.add_pipeline(project, ref="main", source="push", status="running", user=alice)
    downstream = fake.add_pipeline(
        other, ref="main", source="pipeline", status="success", user=alice
    )
    jobs = {
        "build": fake.add_job(
            pipeline,
            name="build",
            stage="build",
            status="success",
            log=LOG,
            user=alice,
            artifacts=("archive", "metadata", "trace"),
            tag_list=("linux", "docker"),
        ),
        "rspec": fake.add_job(
            pipeline,
            name="rspec",
            stage="test",
            status="failed",
            failure_reason="script_failure",
            log=b"boom\n",
            user=alice,
        ),
        "lint": fake.add_job(
            pipeline, name="lint", stage="test", status="running", user=alice, log=b"linting...\n"
        ),
        "graceful": fake.add_job(
            pipeline,
            name="graceful",
            stage="test",
            status="running",
            user=alice,
            graceful_cancel=True,
        ),
        "deploy": fake.add_job(
            pipeline, name="deploy", stage="deploy", status="manual", when="manual", user=alice
        ),
        "pending": fake.add_job(
            pipeline, name="pending", stage="deploy", status="pending", user=alice
        ),
    }
    bridge = fake.add_bridge(
        pipeline, name="trigger", stage="deploy", status="success", downstream=downstream
    )
    return World(
        fake=fake,
        token=fake.add_personal_token(alice),
        maintainer_token=fake.add_personal_token(bob),
        reporter_token=fake.add_personal_token(carol),
        project=project,
        pipeline=pipeline,
        jobs=jobs,
        bridge=bridge,
        downstream=downstream,
    )
