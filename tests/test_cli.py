"""The gitlab-jobs command line, run as a subprocess against the fake GitLab."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import signal
import sys
from collections import Counter
from typing import Any

import gitlab
import pytest

from gitlab_jobs_async import GitLab
from gitlab_jobs_async._cli._demo import seed_demo
from gitlab_jobs_async._cli._settings import ConfigError, settings
from gitlab_jobs_async.testing import FakeGitLab

ENV = {k: v for k, v in os.environ.items() if not k.startswith(("GITLAB_", "CI_"))} | {
    "COLUMNS": "200"
}


async def cli(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gitlab_jobs_async",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env or ENV,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def auth(fake: FakeGitLab, token: str) -> list[str]:
    return ["--url", fake.url, "--token", token]


async def test_demo_runs_to_completion():
    """`demo` audits the embedded fake GitLab and follows the running job to its end."""
    code, out, err = await cli("demo")
    assert code == 0, err
    assert "jobs in 3 projects" in out and "flaky" in out and "failure reasons" in out
    assert "e2e spec 10/10 passed" in out and "finished: success" in out
    assert "step_script" in out and "\x1b[" not in out  # piped: no colour codes


async def test_audit_json_matches_the_seed(fake: FakeGitLab):
    """The audit's JSON numbers equal those computed here from the seeded records."""
    demo = seed_demo(fake, pipelines=12)
    code, out, err = await cli("audit", *demo.projects, "--format", "json", *auth(fake, demo.token))
    assert code == 0, err
    report = json.loads(out)
    jobs = [j for j in fake.jobs.values() if j.is_build]
    assert report["total"] == len(jobs)
    assert report["by_status"] == dict(Counter(j.status for j in jobs))
    reasons = Counter(j.failure_reason for j in jobs if j.status == "failed")
    assert {r["reason"]: r["count"] for r in report["failure_reasons"]} == dict(reasons)
    flaky = set()
    for job in jobs:
        runs = sorted(
            (j for j in jobs if j.pipeline is job.pipeline and j.name == job.name),
            key=lambda j: j.id,
        )
        statuses = [j.status for j in runs]
        if "failed" in statuses and "success" in statuses[statuses.index("failed") :]:
            flaky.add((job.project.path_with_namespace, job.pipeline.id, job.name))
    assert {(f["project"], f["pipeline"], f["name"]) for f in report["flaky"]} == flaky
    assert {s["stage"] for s in report["stages"]} == {"build", "test"}


async def test_list_formats(fake: FakeGitLab):
    """list prints a table, CSV or JSON of the same jobs."""
    demo = seed_demo(fake, pipelines=3)
    project = demo.projects[1]
    code, out, _ = await cli("list", project, "--format", "json", *auth(fake, demo.token))
    ids = [j["id"] for j in json.loads(out)]
    expected = sorted(
        (
            j.id
            for j in fake.jobs.values()
            if j.is_build and j.project.path_with_namespace == project
        ),
        reverse=True,
    )
    assert code == 0 and ids == expected
    code, out, _ = await cli(
        "list", project, "--format", "csv", "--scope", "manual", *auth(fake, demo.token)
    )
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0][:4] == ["id", "status", "stage", "name"] and len(rows) == 4
    assert all(r[1] == "manual" for r in rows[1:])
    code, out, _ = await cli("list", project, "--limit", "2", *auth(fake, demo.token))
    assert code == 0 and "2 jobs of acme/web/backend" in out


async def test_show_and_trace(fake: FakeGitLab):
    """show prints a job; trace strips colours when piped, keeps them with --raw, and times sections."""
    demo = seed_demo(fake, pipelines=2)
    job = next(j for j in fake.jobs.values() if j.status == "success" and j.log)
    project = job.project.path_with_namespace
    code, out, _ = await cli(
        "show", project, str(job.id), "--format", "json", *auth(fake, demo.token)
    )
    assert code == 0 and json.loads(out)["id"] == job.id
    code, out, _ = await cli("trace", project, str(job.id), "--sections", *auth(fake, demo.token))
    assert code == 0 and "Job succeeded" in out and "\x1b[" not in out
    assert "step_script" in out and "60s" in out
    code, out, _ = await cli("trace", project, str(job.id), "--raw", *auth(fake, demo.token))
    assert out.encode() == bytes(job.log)


async def test_trace_follow(fake: FakeGitLab):
    """trace --follow prints a running job's log until it ends."""
    demo = seed_demo(fake, pipelines=2)
    code, out, _ = await cli(
        "trace",
        demo.running_project,
        str(demo.running.id),
        "--follow",
        "--poll",
        "0.01",
        *auth(fake, demo.token),
    )
    assert code == 0 and out.count("passed") == 10 and "Job succeeded" in out
    assert fake.jobs[demo.running.id].status == "success"


async def test_actions(fake: FakeGitLab):
    """retry prints the new job's id and URL; play sends variables; cancel and erase report."""
    demo = seed_demo(fake, pipelines=2)
    failed = next(j for j in fake.jobs.values() if j.status == "failed" and not j.retried)
    project = failed.project.path_with_namespace
    code, out, _ = await cli("retry", project, str(failed.id), *auth(fake, demo.token))
    newest = max(fake.jobs)
    assert code == 0 and f"as job {newest} (pending)" in out and f"/-/jobs/{newest}" in out
    manual = next(j for j in fake.jobs.values() if j.status == "manual")
    code, out, _ = await cli(
        "play",
        manual.project.path_with_namespace,
        str(manual.id),
        "--var",
        "TARGET=prod",
        *auth(fake, demo.token),
    )
    assert code == 0 and manual.variables == [{"key": "TARGET", "value": "prod"}]
    code, out, _ = await cli(
        "cancel", demo.running_project, str(demo.running.id), *auth(fake, demo.token)
    )
    assert code == 0 and "is canceled" in out
    done = next(j for j in fake.jobs.values() if j.status == "success" and j.log)
    code, out, _ = await cli(
        "erase", done.project.path_with_namespace, str(done.id), *auth(fake, demo.token)
    )
    assert code == 0 and done.erased_at is not None


async def test_expected_failures_are_one_line_with_exit_codes(fake: FakeGitLab):
    """401/404/network/config failures print one line on stderr and documented exit codes."""
    demo = seed_demo(fake, pipelines=1)
    code, _, err = await cli("show", demo.projects[0], "999999", *auth(fake, demo.token))
    assert code == 4 and err.count("\n") == 1 and "404 Not found" in err
    assert "Traceback" not in err
    code, _, err = await cli("list", demo.projects[0], *auth(fake, "glpat-wrong"))
    assert code == 3 and "401 Unauthorized" in err and "glpat-wrong" not in err
    code, _, err = await cli("list", "x", "--url", "http://127.0.0.1:9")
    assert code == 5 and err.startswith("gitlab-jobs: request failed")
    code, _, err = await cli("list", "x")
    assert code == 2 and "GITLAB_URL" in err
    code, _, err = await cli("list", "x", "--since", "soon", *auth(fake, demo.token))
    assert code == 2 and "--since" in err
    code, _, err = await cli("show", demo.projects[0], "999999", "--debug", *auth(fake, demo.token))
    assert code == 4 and "Traceback" in err


async def test_environment_settings(fake: FakeGitLab):
    """Without flags, GITLAB_URL and GITLAB_TOKEN are used."""
    demo = seed_demo(fake, pipelines=1)
    env = ENV | {"GITLAB_URL": fake.url, "GITLAB_TOKEN": demo.token}
    code, out, err = await cli(
        "list", demo.projects[0], "--limit", "1", "--format", "json", env=env
    )
    assert code == 0, err
    assert len(json.loads(out)) == 1


async def read_line(stream: asyncio.StreamReader) -> str:
    return (await asyncio.wait_for(stream.readline(), timeout=30)).decode()


async def test_serve_answers_python_gitlab_and_stops_on_ctrl_c():
    """serve prints URL and token; python-gitlab can list jobs; Ctrl-C exits with 130."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gitlab_jobs_async",
        "serve",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=ENV,
    )
    assert proc.stdout is not None
    try:
        url = (await read_line(proc.stdout)).split()[-1]
        token = (await read_line(proc.stdout)).split()[-1]

        def names() -> list[Any]:
            gl = gitlab.Gitlab(url, private_token=token)
            jobs = gl.projects.get("acme/web/frontend").jobs.list(per_page=5, get_all=False)
            return [job.name for job in jobs]

        assert len(await asyncio.to_thread(names)) == 5
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = await asyncio.wait_for(proc.communicate(), timeout=30)
    assert proc.returncode == 130 and b"interrupted" in err


async def test_ctrl_c_while_following(fake: FakeGitLab):
    """Ctrl-C during trace --follow stops cleanly with exit code 130."""
    demo = seed_demo(fake, pipelines=1)
    fake.jobs[demo.running.id].script.clear()  # keeps running for ever
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gitlab_jobs_async",
        "trace",
        demo.running_project,
        str(demo.running.id),
        "--follow",
        "--poll",
        "0.01",
        *auth(fake, demo.token),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=ENV,
    )
    assert proc.stdout is not None
    first = await read_line(proc.stdout)
    assert "gitlab-runner" in first
    proc.send_signal(signal.SIGINT)
    _, err = await asyncio.wait_for(proc.communicate(), timeout=30)
    assert proc.returncode == 130 and b"Traceback" not in err


async def test_output_into_a_closed_pipe_is_quiet():
    """`gitlab-jobs demo | head -1` ends without a traceback."""
    proc = await asyncio.create_subprocess_shell(
        f"{sys.executable} -m gitlab_jobs_async demo | head -1",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=ENV,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert out.startswith(b"A fake GitLab is running") and b"Traceback" not in err


async def test_audit_of_a_group(fake: FakeGitLab):
    """audit --group covers every project of the group and its subgroups."""
    demo = seed_demo(fake, pipelines=2)
    code, out, err = await cli(
        "audit", "--group", "acme", "--format", "json", *auth(fake, demo.token)
    )
    assert code == 0, err
    assert json.loads(out)["projects"] == sorted(demo.projects)
    code, _, err = await cli("audit", *auth(fake, demo.token))
    assert code == 2 and "--group" in err


async def test_rich_output_on_a_terminal(fake: FakeGitLab):
    """On a terminal the audit shows rich tables (and its progress display) without error."""
    from gitlab_jobs_async import GitLab
    from gitlab_jobs_async._cli._commands import print_audit, run_audit
    from gitlab_jobs_async._cli._output import Output

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    demo = seed_demo(fake, pipelines=2)
    screen = Terminal()
    out = Output("table", screen)
    assert out.rich
    async with GitLab(fake.url, private_token=demo.token) as gl:
        report = await run_audit(gl, demo.projects, out, scope=None, since=None)
    print_audit(report, out)
    text = screen.getvalue()
    assert ("jobs that fail most" in text and "━" in text) or "─" in text
    assert report.total == len([j for j in fake.jobs.values() if j.is_build])


# -- token routing: an explicit flag wins; an environment's token goes only to its own URL --

A = "https://a.example"
B = "https://b.example"
GITLAB_ENV = {"GITLAB_URL": A, "GITLAB_TOKEN": "env-secret"}
CI_ENV = {"CI_SERVER_URL": A, "CI_JOB_TOKEN": "job-secret"}

ROUTES = {
    "--url and --token": (B, "flag", GITLAB_ENV, B, {"private_token": "flag"}, False),
    "--token with GITLAB_URL": (None, "flag", GITLAB_ENV, A, {"private_token": "flag"}, False),
    "--token in a CI job": (None, "flag", CI_ENV, A, {"private_token": "flag"}, False),
    "--url elsewhere, GITLAB_TOKEN kept back": (B, None, GITLAB_ENV, B, {}, True),
    "--url elsewhere, CI_JOB_TOKEN kept back": (B, None, CI_ENV, B, {}, True),
    "--url naming GITLAB_URL": (
        f"{A}/api/v4/",
        None,
        GITLAB_ENV,
        f"{A}/api/v4/",
        {"private_token": "env-secret"},
        False,
    ),
    "--url naming the CI server": (
        f"{A}:443",
        None,
        CI_ENV,
        f"{A}:443",
        {"job_token": "job-secret"},
        False,
    ),
    "--url, other scheme": ("http://a.example", None, GITLAB_ENV, "http://a.example", {}, True),
    "--url, no environment": (B, None, {}, B, {}, False),
    "--url, environment without token": (B, None, {"GITLAB_URL": A}, B, {}, False),
    "environment only": (None, None, GITLAB_ENV, A, {"private_token": "env-secret"}, False),
    "CI job only": (None, None, CI_ENV, A, {"job_token": "job-secret"}, False),
}


@pytest.mark.parametrize(
    ("url", "token", "env", "sent_url", "tokens", "noted"), ROUTES.values(), ids=ROUTES
)
def test_token_routing(url, token, env, sent_url, tokens, noted):
    """Flags win; a token from the environment only ever goes to that environment's URL."""
    got_url, got_tokens, note = settings(url, token, env)
    assert (got_url, got_tokens) == (sent_url, tokens)
    assert (note is not None) == noted
    if note is not None:
        assert "--token" in note and "secret" not in note and "b.example" not in note


@pytest.mark.parametrize("token", [None, "flag"])
def test_token_routing_without_any_url(token):
    """With no --url and no URL in the environment, the error says what to set."""
    with pytest.raises(ConfigError, match="GITLAB_URL"):
        settings(None, token, {"GITLAB_TOKEN": "env-secret"})


def test_from_env_explicit_token_wins():
    """GitLab.from_env(private_token=...) uses that token with the environment's URL."""
    gl = GitLab.from_env(GITLAB_ENV, private_token="flag")
    assert gl.url == f"{A}/api/v4/" and "auth=private_token" in repr(gl)
    assert (
        GitLab.from_env(CI_ENV, oauth_token="o").__repr__().endswith("auth=oauth_token unopened>")
    )
    assert "auth=job_token" in repr(GitLab.from_env(CI_ENV, private_token=None))


async def test_cli_token_flag_beats_the_environment(fake: FakeGitLab):
    """--token X with GITLAB_URL and another GITLAB_TOKEN set authenticates with X."""
    demo = seed_demo(fake, pipelines=1)
    env = ENV | {"GITLAB_URL": fake.url, "GITLAB_TOKEN": "glpat-wrong"}
    code, _, err = await cli(
        "list", demo.projects[0], "--limit", "1", "--format", "json", "--token", demo.token, env=env
    )
    assert code == 0, err
    assert {r.headers.get("PRIVATE-TOKEN") for r in fake.requests} == {demo.token}


async def test_cli_environment_token_stays_with_its_url(fake: FakeGitLab):
    """--url another-host does not receive the GITLAB_TOKEN meant for GITLAB_URL."""
    demo = seed_demo(fake, pipelines=1)
    env = ENV | {"GITLAB_URL": "https://gitlab.example.com", "GITLAB_TOKEN": demo.token}
    code, _, err = await cli("list", demo.projects[0], "--url", fake.url, env=env)
    assert fake.requests, err
    assert all("PRIVATE-TOKEN" not in r.headers for r in fake.requests)
    assert "GITLAB_TOKEN is not sent" in err and "--token" in err and demo.token not in err
    assert code != 0  # anonymous callers cannot read the demo's private projects
