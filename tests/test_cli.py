"""The gitlab-jobs command line, run in process through ``main([...])`` against the fake GitLab:
audits, lists, messages, settings."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections import Counter

import pytest

from gitlab_jobs_async._cli._demo import seed_demo
from tests.test_cli_world import HOSTILE, cli, env, small

__all__ = ["env", "small"]  # fixtures, imported so that pytest finds them here

# -- the demo and the audit -------------------------------------------------------------------


async def test_demo_runs_to_completion(capsys, env):
    """`demo` audits the embedded fake GitLab and follows the running job to its end."""
    code, out, err = await cli(capsys, "demo", env=env)
    assert code == 0, err
    assert "jobs in 3 projects" in out and "flaky" in out and "failure reasons" in out
    assert "e2e spec 10/10 passed" in out and ") success in " in out
    assert "step_script" in out and "\x1b[" not in out  # piped: no colour codes
    assert "\n\n\n" not in out.split("Following")[1]  # no blank lines from section markers


async def test_audit_json_matches_the_seed(capsys, fake, env):
    """The audit's JSON numbers equal those computed here from the seeded records."""
    demo = seed_demo(fake, pipelines=12)
    env = env | {"GITLAB_URL": fake.url, "GITLAB_TOKEN": demo.token}
    code, out, err = await cli(capsys, "audit", *demo.projects, "--format", "json", env=env)
    assert code == 0, err
    report = json.loads(out)
    jobs = [j for j in fake.jobs.values() if j.is_build]
    assert report["total"] == len(jobs) and report["skipped"] == []
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
    assert [s["stage"] for s in report["stages"]] == ["build", "test"]  # pipeline order


async def test_audit_skips_unreadable_projects_and_says_so(capsys, small):
    """A 403 or 404 project is skipped with a warning, reported, and the exit code is 7;
    --strict stops at it instead."""
    guest_only = small.fake.add_project("acme/secret", visibility="private")
    alice = small.fake.tokens[small.token].user
    small.fake.add_member(guest_only, alice, "guest")
    guest_only.public_builds = False  # a Guest cannot read jobs there: 403
    empty = small.fake.add_project("acme/empty", visibility="private")
    small.fake.add_member(empty, alice, "developer")
    args = ["audit", "acme/app", "acme/secret", "acme/typo", "acme/empty"]
    code, out, err = await cli(capsys, *args, env=small.env)
    assert code == 7, err
    assert "skipped acme/secret: 403" in err and "skipped acme/typo: 404" in err
    assert "partial audit: 2 of 4 projects skipped" in err
    assert "6 jobs in 2 projects (2 skipped)" in out  # acme/empty counts, with no jobs
    assert "skipped" in out.split("time by stage")[1]
    code, out, err = await cli(capsys, *args, "--format", "json", env=small.env)
    report = json.loads(out)
    assert code == 7 and report["projects"] == ["acme/app", "acme/empty"]
    assert {(s["project"], s["status"]) for s in report["skipped"]} == {
        ("acme/secret", 403),
        ("acme/typo", 404),
    }
    code, out, err = await cli(capsys, *args, "--strict", env=small.env)
    assert code in (3, 4) and "Traceback" not in err and out == ""


async def test_audit_csv_is_one_table(capsys, small):
    """audit --format csv writes the jobs (ISO times, numeric seconds) or the one --table."""
    code, out, _ = await cli(capsys, "audit", "acme/app", "--format", "csv", env=small.env)
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and len(rows) == 6 and rows[0]["project"] == "acme/app"
    done = next(r for r in rows if r["status"] == "success")
    assert float(done["duration"]) > 0 and done["created"].endswith("+00:00")
    code, out, _ = await cli(
        capsys, "audit", "acme/app", "--format", "csv", "--table", "stages", env=small.env
    )
    stages = list(csv.reader(io.StringIO(out)))
    assert stages[0] == ["stage", "jobs", "duration_p50", "p95", "queued_p50", "p95"]
    assert [r[0] for r in stages[1:]] == ["build", "test"]
    code, _, err = await cli(capsys, "audit", "acme/app", "--table", "stages", env=small.env)
    assert code == 2 and "--table" in err


async def test_audit_of_a_group_and_empty_sections(capsys, small):
    """audit --group covers the group's projects; empty sections say so."""
    code, out, err = await cli(capsys, "audit", "--group", "acme", "--scope", "success",
                               env=small.env)  # fmt: skip
    assert code == 0, err
    assert "no failed jobs" in out and "no flaky jobs" in out


# -- list and show ------------------------------------------------------------------------------


async def test_list_formats(capsys, small):
    """list prints a table, streams JSON and JSON Lines, and writes raw CSV."""
    code, out, _ = await cli(capsys, "list", "acme/app", "--format", "json", env=small.env)
    ids = [j["id"] for j in json.loads(out)]
    assert code == 0 and ids == sorted((j.id for j in small.fake.jobs.values()), reverse=True)
    code, out, _ = await cli(capsys, "list", "-R", "acme/app", "--format", "jsonl", env=small.env)
    assert [json.loads(line)["id"] for line in out.splitlines()] == ids
    code, out, _ = await cli(capsys, "list", "acme/app", "--json", "id,pipeline.id,name",
                             env=small.env)  # fmt: skip
    first = json.loads(out)[0]
    assert first == {"id": ids[0], "pipeline": {"id": small.feature.id}, "name": "lint"}
    code, out, _ = await cli(capsys, "list", "acme/app", "--format", "csv", "--scope", "failed",
                             env=small.env)  # fmt: skip
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["name"] for r in rows] == ["lint"] and rows[0]["failure"] == "script_failure"
    assert float(rows[0]["duration"]) > 0 and "T" in rows[0]["finished"]
    code, out, _ = await cli(capsys, "list", "acme/app", "--limit", "2", env=small.env)
    assert code == 0 and out.startswith("2 jobs of acme/app")
    assert "failure" not in out.splitlines()[1]  # an always-empty column is left out


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--limit", "0"], "--limit"),
        (["--pipeline", "0"], "--pipeline"),
        (["--pipeline", "3", "--since", "2d"], "--since does not apply to --pipeline"),
        (["--since", "99999999999d"], "--since"),
        (["--fields", "id,naem"], "unknown field naem"),
        (["--scope", "faild"], "--scope"),
        (["--json", "id", "--format", "csv"], "--json"),
    ],
)
async def test_list_refuses_what_it_cannot_do(capsys, small, args, words):
    """Bad flags are refused before any request, with exit 2, naming the flag typed."""
    code, _, err = await cli(capsys, "list", "acme/app", *args, env=small.env)
    assert code == 2 and words in err and "Traceback" not in err
    assert "max_items" not in err
    assert small.fake.requests == []


async def test_hostile_job_names_stay_inert(capsys, small):
    """Escapes in names are shown as text, markup is not read, formulas are neutralised."""
    for name in HOSTILE.values():
        small.fake.add_job(small.feature, name=name, status="failed")
    code, out, err = await cli(capsys, "list", "acme/app", env=small.env)
    assert code == 0, err
    assert "\x1b" not in out and "\x07" not in out
    assert "build \\x1b]0;owned\\x07\\x1b[2J" in out
    assert "lint [/bold]" in out and "deploy: [aws, monitoring]" in out
    code, out, _ = await cli(capsys, "list", "acme/app", "--format", "csv", env=small.env)
    names = [r["name"] for r in csv.DictReader(io.StringIO(out))]
    assert "'" + HOSTILE["formula"] in names and HOSTILE["formula"] not in names
    code, out, _ = await cli(capsys, "audit", "acme/app", env=small.env)
    assert code == 0 and "\x1b" not in out and "lint [/bold]" in out


async def test_show(capsys, small):
    """show prints human durations and times, or the job's JSON; a name finds the job."""
    lint = small.jobs["lint"]
    code, out, _ = await cli(capsys, "show", "acme/app", str(lint.id), env=small.env)
    assert code == 0 and f"job {lint.id} (lint)" in out
    duration = next(line for line in out.splitlines() if line.startswith("duration"))
    assert duration.split()[-1].endswith("s") and "." not in duration
    assert "UTC (" in out  # absolute and relative times
    code, out, _ = await cli(capsys, "show", "lint", "-b", "main", "--json", "id,status",
                             "-R", "acme/app", env=small.env)  # fmt: skip
    assert code == 0 and json.loads(out) == {"id": lint.id, "status": "failed"}


# -- messages and exit codes ---------------------------------------------------------------------


async def test_expected_failures_are_one_line_with_exit_codes(capsys, small):
    """404/401/network/config failures print one line on stderr and documented exit codes."""
    env = small.env
    code, _, err = await cli(capsys, "show", "acme/app", "999999", env=env)
    assert code == 4 and err.count("\n") == 1 and "404 Not found:" in err and "404 404" not in err
    code, _, err = await cli(capsys, "list", "acme/app", env=env | {"GITLAB_TOKEN": "glpat-no"})
    assert code == 3 and "401 Unauthorized" in err and "glpat-no" not in err
    assert "from GITLAB_TOKEN" in err
    code, _, err = await cli(capsys, "list", "x", "--url", "http://127.0.0.1:9", env=env)
    assert code == 5 and "gitlab-jobs: cannot reach 127.0.0.1:9: connection refused" in err
    code, _, err = await cli(capsys, "list", "x", env={"HOME": env["HOME"]})
    assert code == 2 and "GITLAB_URL" in err
    code, _, err = await cli(capsys, "list", "x", env=env | {"GITLAB_URL": "ht!tp://[::1"})
    assert code == 2 and "$GITLAB_URL is malformed" in err
    code, _, err = await cli(capsys, "show", "acme/app", "999999", "--debug", env=env)
    assert code == 4 and "Traceback" in err


async def test_a_job_token_gets_told_why_it_cannot_read_jobs(capsys, small):
    """Inside CI, a 401 with CI_JOB_TOKEN explains that job tokens cannot read jobs or logs."""
    env = {"HOME": small.env["HOME"], "CI_SERVER_URL": small.fake.url, "CI_JOB_TOKEN": "glcbt-x"}
    code, _, err = await cli(capsys, "show", "acme/app", str(small.jobs["lint"].id), env=env)
    assert code == 3 and "CI job token" in err and "read_api" in err


@pytest.mark.parametrize(
    ("fault", "code", "words"),
    [
        ({"status": 429, "headers": {"Retry-After": "3600"}, "body": {"message": "Retry later"}},
         6, "retry in 3600s"),
        ({"status": 200, "body": [1, 2, 3]}, 1, "not what GitLab sends"),
        ({"status": 301, "headers": {"Location": "https://gitlab.example.com/api/v4/x?sig=1"},
          "body": ""}, 1, "pointing to https://gitlab.example.com/api/v4/x"),
    ],
    ids=["429", "broken data", "http to https"],
)  # fmt: skip
async def test_server_trouble_is_explained(capsys, small, fault, code, words):
    """A 429 says when to retry; broken data is exit 1, not 2; a redirect says where it points."""
    small.fake.add_fault(lambda r: "/jobs/" in r.path, times=None, **fault)
    got, _, err = await cli(capsys, "show", "acme/app", str(small.jobs["lint"].id), env=small.env)
    assert got == code and words in err and "Traceback" not in err
    assert "sig=1" not in err


# -- settings -------------------------------------------------------------------------------------


async def test_settings_from_glab_and_python_gitlab_variables(capsys, small):
    """GITLAB_HOST (glab) and GITLAB_PRIVATE_TOKEN (python-gitlab) work like GITLAB_URL/TOKEN."""
    env = {"HOME": small.env["HOME"], "GITLAB_HOST": small.fake.url,
           "GITLAB_PRIVATE_TOKEN": small.token}  # fmt: skip
    code, out, err = await cli(capsys, "list", "acme/app", "--limit", "1", "--format", "json",
                               env=env)  # fmt: skip
    assert code == 0 and len(json.loads(out)) == 1, err


async def test_settings_from_python_gitlab_config(capsys, small, tmp_path):
    """python-gitlab's configuration file: the default section, -g NAME, helper tokens."""
    helper = tmp_path / "helper.sh"
    helper.write_text(f"#!/bin/sh\necho {small.token}\n")
    helper.chmod(0o755)
    (tmp_path / ".python-gitlab.cfg").write_text(
        f"[global]\ndefault = fake\n\n[fake]\nurl = {small.fake.url}\nprivate_token = "
        f"{small.token}\n\n[other]\nurl = {small.fake.url}\nprivate_token = helper: {helper}\n"
    )
    env = {"HOME": str(tmp_path)}
    code, _, err = await cli(capsys, "list", "acme/app", "--limit", "1", env=env)
    assert code == 0, err
    code, _, err = await cli(capsys, "-g", "other", "list", "acme/app", "--limit", "1", env=env)
    assert code == 0, err
    code, _, err = await cli(capsys, "list", "acme/app", "-g", "nope", env=env)
    assert code == 2 and "no [nope] section" in err and "fake, other" in err


async def test_project_from_ci_and_from_the_git_remote(capsys, small, tmp_path):
    """Without PROJECT: CI_PROJECT_PATH inside CI, else the git remote of the directory."""
    env = small.env | {"CI_PROJECT_PATH": "acme/app"}
    code, out, _ = await cli(capsys, "list", "--limit", "1", env=env)
    assert code == 0 and out.startswith("1 job of acme/app")
    code, _, err = await cli(capsys, "list", env=small.env)
    assert code == 2 and "which project?" in err
    proc = await asyncio.create_subprocess_shell(
        "git init -q && git remote add origin git@gitlab.example.com:acme/app.git", cwd=tmp_path
    )
    assert await proc.wait() == 0
    code, out, _ = await cli(capsys, "list", "--limit", "1", env=small.env)
    assert code == 0 and out.startswith("1 job of acme/app")


async def test_retries_and_pauses_are_told_on_stderr(capsys, small):
    """Without a terminal, the SDK's retry and rate-limit warnings are plain stderr lines."""
    small.fake.add_fault(lambda r: r.path.endswith("/jobs"), status=429,
                         headers={"Retry-After": "1"}, body={"message": "Retry later"})  # fmt: skip
    code, out, err = await cli(capsys, "list", "acme/app", env=small.env)
    assert code == 0 and out.startswith("6 jobs of acme/app")
    assert "gitlab-jobs: warning: pausing all requests for 1.0s: 429 from GitLab" in err
    assert "gitlab-jobs: warning: retrying GET" in err


# -- help and grammar -------------------------------------------------------------------------


async def test_bare_command_prints_help_with_exit_codes(capsys, env):
    """`gitlab-jobs` alone prints the help (commands, settings, exit codes, examples)."""
    code, out, _ = await cli(capsys, env=env)
    assert code == 0 and out.startswith("usage: gitlab-jobs")
    for words in ("audit", "retry-failed", "artifacts", "exit codes:", "  7    partial",
                  "examples:", "GITLAB_HOST", "NO_COLOR"):  # fmt: skip
        assert words in out


@pytest.mark.parametrize(
    "name",
    ["audit", "list", "show", "trace", "pipeline", "logs", "retry-failed", "cancel", "retry",
     "erase", "play", "artifacts", "serve"],
)  # fmt: skip
async def test_every_command_has_help_and_examples(capsys, env, name):
    """Each command's help has its description, positionals' help and examples."""
    code, out, _ = await cli(capsys, name, "--help", env=env)
    assert code == 0 and "examples:" in out
    description = out.split("\n\n")[1]
    assert len(description) > 10 and not description.startswith(("positional", "options"))
    if name in ("list", "show", "trace", "pipeline", "audit"):
        assert "positional arguments:" in out and "default" in out.split("options:")[0]


async def test_global_options_before_the_command(capsys, small):
    """--url/--token/-R work before the command as after it; flags a command lacks are refused."""
    env = {"HOME": small.env["HOME"]}
    code, out, err = await cli(capsys, "--url", small.fake.url, "--token", small.token, "-R",
                               "acme/app", "list", "--limit", "1", env=env)  # fmt: skip
    assert code == 0 and out.startswith("1 job of acme/app"), err
    code, _, err = await cli(capsys, "trace", "acme/app", "1", "--format", "json", env=env)
    assert code == 2 and "unrecognized arguments: --format" in err
    code, out, _ = await cli(capsys, "list", "-R", "acme/app", "--limit", "1", env=small.env)
    code, out2, _ = await cli(capsys, "list", "--limit", "1", "-R", "acme/app", env=small.env)
    assert out == out2


async def test_show_web_opens_the_browser(capsys, small, monkeypatch):
    """--web opens the job's page in the browser."""
    opened: list[str] = []
    monkeypatch.setattr("webbrowser.open", opened.append)
    lint = small.jobs["lint"]
    code, _, _ = await cli(capsys, "show", "acme/app", str(lint.id), "--web", env=small.env)
    assert code == 0 and opened == [f"{small.fake.url}/acme/app/-/jobs/{lint.id}"]
