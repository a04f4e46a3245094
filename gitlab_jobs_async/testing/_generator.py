"""Realistic, deterministic data for a fake GitLab: many pipelines of 8-20 jobs.

Each pipeline has its own commit, is started by one of a pool of users, and its jobs run
on a pool of runners. Jobs fail in realistic proportions (mostly script failures, then
runner and timeout failures), some failures are retried (flaky when the retry passes),
deploys wait as manual jobs, later stages are skipped after a failure, and the newest
pipeline of each project is still running. Artifacts follow the status (archives and
reports for successes, logs for all) with sizes that differ. The same ``seed`` gives the
same data.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import attrs

from ._records import FakeJob, FakePipeline, FakeProject, FakeUser, JobStatus, Role
from ._state import Store

__all__ = ["FAILURE_REASONS", "Generated", "generate"]

FAILURE_REASONS: tuple[tuple[str, int], ...] = (
    ("script_failure", 78), ("runner_system_failure", 6), ("stuck_or_timeout_failure", 4),
    ("job_execution_timeout", 4), ("api_failure", 2), ("unknown_failure", 2),
    ("missing_dependency_failure", 2), ("scheduler_failure", 1), ("runner_unsupported", 1),
)  # fmt: skip
"""Failure reasons and their weights (out of 100)."""
_STAGES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("build", ("compile", "docker-image", "assets", "lint", "typecheck")),
    ("test", ("rspec", "jest", "e2e", "integration", "unit", "pytest", "coverage", "audit",
              "contract", "smoke", "fuzz", "sast", "license-scan", "dependency-scan", "mutation",
              "perf", "a11y", "visual")),
)  # fmt: skip
_REFS = ("main",) * 6 + ("develop", "feature/login", "fix/cache", "release/2.4")
_SOURCES = ("push",) * 6 + ("merge_request_event", "merge_request_event", "schedule", "web")
_NAMES = ("ada", "grace", "linus", "margaret", "ken", "barbara", "dennis", "frances",
          "edsger", "radia", "guido", "katherine")  # fmt: skip


@attrs.frozen
class Generated:
    """What :func:`generate` made."""

    users: list[FakeUser]
    token: str
    """A personal token of the first user, a member of every project with ``role``."""
    projects: list[FakeProject]
    pipelines: list[FakePipeline]
    jobs: list[FakeJob]
    """Every build and bridge made, in id order (retries included)."""

    @property
    def paths(self) -> list[str]:
        """The projects' full paths."""
        return [p.path_with_namespace for p in self.projects]


def _username(index: int) -> str:
    name = _NAMES[index % len(_NAMES)]
    return name if index < len(_NAMES) else f"{name}{index // len(_NAMES)}"


def log_text(name: str, ok: bool) -> bytes:
    """A runner's log for job ``name``: sections, colours, a 60-second script step."""
    lines = [
        "\x1b[0KRunning with gitlab-runner 17.5.0 (8ec04662)",
        "section_start:1764000000:prepare_executor\r\x1b[0K\x1b[36;1mPreparing\x1b[0;m",
        "Using Docker executor with image ruby:3.3",
        "section_end:1764000004:prepare_executor\r\x1b[0K",
        f"section_start:1764000004:step_script\r\x1b[0K\x1b[36;1mRunning {name}\x1b[0;m",
        f"$ ./ci/{name}.sh",
        "\x1b[32;1mJob succeeded\x1b[0;m" if ok else "\x1b[31;1mERROR: exit code 1\x1b[0;m",
        "section_end:1764000064:step_script\r\x1b[0K",
    ]
    return ("\n".join(lines) + "\n").encode()


def generate(
    store: Store,
    *,
    projects: Sequence[str] = ("acme/app",),
    pipelines: int = 50,
    users: int = 8,
    runners: int = 6,
    failure_rate: float = 0.08,
    retry_rate: float = 0.6,
    role: Role = "maintainer",
    seed: int = 0,
) -> Generated:
    """Seed ``pipelines`` pipelines of 8-20 jobs in each of ``projects``.

    Args:
        store: the fake GitLab (or its store) to seed.
        projects: full paths of the projects to make.
        pipelines: pipelines per project; the newest is still running.
        users: the pool of users who start pipelines (all members with ``role``).
        runners: the pool of runners jobs run on.
        failure_rate: the chance that a job fails (its later stages are then skipped).
        retry_rate: the chance that a failed job is retried (a retry passes 3 times in 4).
        role: the users' role in every project.
        seed: the same seed gives the same data.

    Raises:
        ValueError: a count below 1.
    """
    if pipelines < 1 or users < 1 or runners < 1:
        raise ValueError("pipelines, users and runners must each be at least 1")
    rng = random.Random(seed)
    base = len(store.users)
    suffix = f"-{base}" if base else ""  # other users exist: keep names unique
    pool = [store.add_user(_username(i) + suffix) for i in range(users)]
    token = store.add_personal_token(pool[0])
    reasons = [r for r, _ in FAILURE_REASONS]
    weights = [w for _, w in FAILURE_REASONS]
    made: list[FakeProject] = []
    all_pipelines: list[FakePipeline] = []
    jobs: list[FakeJob] = []
    ok_log = {n: log_text(n, True) for _, names in _STAGES for n in names}
    bad_log = {n: log_text(n, False) for _, names in _STAGES for n in names}
    for path in projects:
        project = store.add_project(path)
        made.append(project)
        for user in pool:
            store.add_member(project, user, role)
        for number in range(pipelines):
            newest = number == pipelines - 1
            user = rng.choice(pool)
            pipeline = store.add_pipeline(
                project, ref=rng.choice(_REFS), source=rng.choice(_SOURCES), user=user,
                status="success",
            )  # fmt: skip
            all_pipelines.append(pipeline)
            size = rng.randint(8, 20)
            builds = rng.randint(2, min(5, size - 3))
            plan = [("build", n) for n in rng.sample(_STAGES[0][1], builds)]
            plan += [("test", n) for n in rng.sample(_STAGES[1][1], size - builds - 1)]
            failed_stage: str | None = None
            running_left = rng.randint(1, 3) if newest else 0
            status_of_pipeline: JobStatus = "success"
            for stage, name in plan:
                runner = rng.randint(1, runners)
                status: JobStatus
                if failed_stage is not None and stage != failed_stage:
                    status = "skipped"
                elif newest and stage == "test":  # the newest pipeline is mid-way
                    status = "running" if running_left > 0 else "pending"
                    status = "created" if running_left < -1 else status
                    running_left -= 1
                    status_of_pipeline = "running"
                elif newest:
                    status = "success"
                else:
                    status = "failed" if rng.random() < failure_rate else "success"
                job = _add(store, pipeline, stage, name, status, rng, runner, reasons, weights,
                           ok_log, bad_log)  # fmt: skip
                jobs.append(job)
                if status != "failed":
                    continue
                if rng.random() < retry_rate:
                    job.retried = True
                    passed = rng.random() < 0.75
                    again: JobStatus = "success" if passed else "failed"
                    jobs.append(_add(store, pipeline, stage, name, again, rng, runner,
                                     reasons, weights, ok_log, bad_log))  # fmt: skip
                    if passed:
                        continue
                if failed_stage is None and status_of_pipeline != "running":
                    failed_stage = stage
                    status_of_pipeline = "failed"
            deploy = store.add_job(
                pipeline, name="deploy-production", stage="deploy", status="manual",
                when="manual", runner=False,
            )  # fmt: skip
            jobs.append(deploy)
            pipeline.status = status_of_pipeline
    return Generated(pool, token, made, all_pipelines, jobs)


def _add(
    store: Store,
    pipeline: FakePipeline,
    stage: str,
    name: str,
    status: JobStatus,
    rng: random.Random,
    runner: int,
    reasons: list[str],
    weights: list[int],
    ok_log: dict[str, bytes],
    bad_log: dict[str, bytes],
) -> FakeJob:
    finished = status in ("success", "failed")
    artifacts: tuple[str, ...] = ()
    sizes: dict[str, int] = {}
    if status == "success":
        artifacts = ("archive", "metadata") if stage == "build" else ("junit",)
        sizes = {
            "archive": int(rng.lognormvariate(13, 1.2)),
            "metadata": rng.randint(120, 900),
            "junit": rng.randint(300, 60_000),
        }
    log = ok_log[name] if status == "success" else bad_log[name] if finished else b""
    if status == "running":
        log = ok_log[name][: len(ok_log[name]) // 2]
    return store.add_job(
        pipeline,
        name=name,
        stage=stage,
        status=status,
        failure_reason=rng.choices(reasons, weights)[0] if status == "failed" else None,
        log=log,
        runner=runner,
        tag_list=("docker", "linux") if runner % 2 else ("linux",),
        artifacts=artifacts,
        artifact_sizes=sizes,
        coverage=round(rng.uniform(60, 99), 2) if status == "success" and stage == "test" else None,
    )
