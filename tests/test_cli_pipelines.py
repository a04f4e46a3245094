"""The gitlab-jobs command line in process: logs, pipelines, job actions and artifacts."""

from __future__ import annotations

import zipfile
from collections import Counter

import pytest

from tests.test_cli_world import cli, env, small

__all__ = ["env", "small"]  # fixtures, imported so that pytest finds them here

# -- logs ---------------------------------------------------------------------------------------


async def test_trace_by_id_and_by_name(capsys, small):
    """trace strips colours when piped, hides markers, keeps bytes with --raw, finds names."""
    lint = small.jobs["lint"]
    code, out, _ = await cli(capsys, "trace", "acme/app", str(lint.id), env=small.env)
    assert code == 0 and out == "E501 line too long\n"
    code, out, _ = await cli(capsys, "trace", "acme/app", str(lint.id), "--raw", env=small.env)
    assert out.encode() == bytes(lint.log)
    code, out, _ = await cli(capsys, "trace", "lint", "-b", "main", "-R", "acme/app",
                             env=small.env)  # fmt: skip
    assert code == 0 and out == "E501 line too long\n"  # the latest pipeline's, not the old one
    code, out, _ = await cli(capsys, "trace", "-R", "acme/app", "lint", "-b", "feature",
                             env=small.env)  # fmt: skip
    assert code == 0 and out == ""
    code, _, err = await cli(capsys, "trace", "acme/app", "nope", "-b", "main", env=small.env)
    assert code == 4 and "no job named 'nope'" in err
    code, _, err = await cli(capsys, "trace", "acme/app", "lint", "-b", "gone", env=small.env)
    assert code == 4 and "no pipeline of 'gone'" in err


async def test_trace_follow_reports_the_end_and_exit_status(capsys, small):
    """-f says what a pending job waits for, ends with a status line, --exit-status gives 8."""
    job = small.fake.add_job(small.latest, name="slow", stage="test", status="pending")
    small.fake.script_log(
        job, [(b"", None), (b"", "running"), (b"step 1\n", None), (b"boom\n", "failed")]
    )
    code, out, err = await cli(capsys, "trace", "acme/app", str(job.id), "-f", "--poll", "0.01",
                               "--exit-status", env=small.env)  # fmt: skip
    assert code == 8 and out == "step 1\nboom\n"
    assert "waiting for a runner" in err
    assert f"job {job.id} (slow) failed (script_failure)" in err.splitlines()[-1]


async def test_logs_of_failed_jobs(capsys, small):
    """logs prints each failed job's log under a heading; --tail keeps the last lines."""
    code, out, _ = await cli(capsys, "logs", "-R", "acme/app", "-b", "main", env=small.env)
    assert code == 0
    assert f"job {small.jobs['lint'].id} lint (failed: script_failure)" in out
    assert "E501" in out and "ok" not in out.split("\n")
    code, out, _ = await cli(capsys, "logs", "-R", "acme/app", str(small.latest.id), "--all",
                             "--tail", "1", env=small.env)  # fmt: skip
    assert code == 0 and out.count("── job") == 4 and "ok\n" in out


# -- pipelines ------------------------------------------------------------------------------------


async def test_pipeline_view_by_stage(capsys, small):
    """pipeline shows jobs stage by stage in pipeline order; --exit-status follows the result."""
    code, out, _ = await cli(capsys, "pipeline", "-R", "acme/app", "-b", "main", env=small.env)
    assert code == 0 and f"pipeline {small.latest.id} of acme/app on main: failed" in out
    stages = [line.split()[0] for line in out.splitlines()[2:] if not line.startswith(" ")]
    assert stages == ["build", "test", "deploy"]
    code, _, _err = await cli(capsys, "pipeline", "-R", "acme/app", str(small.latest.id),
                             "--exit-status", env=small.env)  # fmt: skip
    assert code == 8
    code, _, _ = await cli(capsys, "pipeline", "-R", "acme/app", str(small.old.id),
                           "--exit-status", env=small.env)  # fmt: skip
    assert code == 0


async def test_pipeline_watch_until_it_ends(capsys, small):
    """--watch reads until the pipeline ends, prints each change when piped, exits by result."""
    pipeline = small.fake.add_pipeline(small.latest.project, ref="main", status="running")
    job = small.fake.add_job(pipeline, name="e2e", status="running")
    reads = {"n": 0}

    def advance() -> None:
        reads["n"] += 1
        if reads["n"] == 2:
            small.fake.set_status(job, "success")
            pipeline.status = "success"

    small.fake.add_fault(lambda r: r.path.endswith(f"/pipelines/{pipeline.id}/jobs"),
                         times=None, after=advance)  # fmt: skip
    code, out, err = await cli(capsys, "pipeline", "-R", "acme/app", str(pipeline.id), "--watch",
                               "--interval", "0.01", env=small.env)  # fmt: skip
    assert code == 0, err
    assert f"e2e (job {job.id}): success" in out and f"pipeline {pipeline.id} success" in err


async def test_retry_failed_retries_each_once_and_reports_lost_answers(capsys, small):
    """retry-failed retries each failed job once; a retry whose answer was lost is reported
    (exit 7), never sent again."""
    extra = small.fake.add_job(small.latest, name="types", stage="test", status="failed")
    small.fake.add_fault(lambda r: r.method == "POST" and r.path.endswith(f"/{extra.id}/retry"),
                         behaviour="reset_mid_body")  # fmt: skip
    code, out, err = await cli(capsys, "retry-failed", "-R", "acme/app", "-b", "main",
                               env=small.env)  # fmt: skip
    assert code == 7
    posts = Counter(r.path for r in small.fake.requests if r.method == "POST")
    assert posts == {
        f"/api/v4/projects/acme%2Fapp/jobs/{small.jobs['lint'].id}/retry": 1,
        f"/api/v4/projects/acme%2Fapp/jobs/{extra.id}/retry": 1,
    }
    assert f"job {extra.id} may or may not have reached GitLab" in err
    assert "pipeline" in out and "unknown: check" in out


# -- actions and artifacts ----------------------------------------------------------------------


async def test_actions(capsys, small):
    """retry prints the new job; play sends variables; cancel reports; erase asks or --yes."""
    lint = small.jobs["lint"]
    code, out, _ = await cli(capsys, "retry", "acme/app", str(lint.id), env=small.env)
    newest = max(small.fake.jobs)
    assert code == 0 and f"as job {newest} (pending)" in out and f"/-/jobs/{newest}" in out
    deploy = small.jobs["deploy"]
    code, out, _ = await cli(capsys, "play", "deploy", "-b", "main", "-R", "acme/app", "--var",
                             "TARGET=prod", env=small.env)  # fmt: skip
    assert code == 0 and deploy.variables == [{"key": "TARGET", "value": "prod"}]
    code, out, _ = await cli(capsys, "cancel", "acme/app", str(newest), env=small.env)
    assert code == 0 and "is canceled" in out
    unit = small.jobs["unit"]
    code, _, err = await cli(capsys, "erase", "acme/app", str(unit.id), env=small.env)
    assert code == 2 and "pass --yes" in err and unit.erased_at is None
    code, out, _ = await cli(capsys, "erase", "acme/app", str(unit.id), "--yes", env=small.env)
    assert code == 0 and unit.erased_at is not None


async def test_artifacts(capsys, small, tmp_path):
    """artifacts saves the archive or one file atomically, by id or by name and branch."""
    build = small.jobs["build"]
    code, out, err = await cli(capsys, "artifacts", "acme/app", str(build.id), env=small.env)
    assert code == 0, err
    with zipfile.ZipFile(tmp_path / "artifacts.zip") as archive:
        assert archive.read("dist/app.txt") == b"the app\n"
    assert "saved artifacts.zip" in out and "sha256" in out
    code, _, err = await cli(capsys, "artifacts", "acme/app", str(build.id), env=small.env)
    assert code == 2 and "--force" in err
    code, out, _ = await cli(capsys, "artifacts", "acme/app", "build", "-b", "main", "--path",
                             "dist/app.txt", env=small.env)  # fmt: skip
    assert code == 0 and (tmp_path / "app.txt").read_bytes() == b"the app\n"
    assert not list(tmp_path.glob(".*.part"))
    code, out, _ = await cli(capsys, "artifacts", "acme/app", str(build.id), "--path",
                             "dist/app.txt", "-o", "-", env=small.env)  # fmt: skip
    assert code == 0 and out == "the app\n"


@pytest.mark.parametrize(
    "args",
    [["trace", "acme/app", "1", "--poll", "1"], ["pipeline", "-R", "acme/app", "--interval", "1"]],
    ids=["--poll without -f", "--interval without --watch"],
)
async def test_flags_that_would_do_nothing_are_refused(capsys, small, args):
    """A flag that only matters with another one is refused without it (exit 2)."""
    code, _, err = await cli(capsys, *args, env=small.env)
    assert code == 2 and args[-2] in err and small.fake.requests == []


async def test_sections_of_a_hostile_log_are_no_traceback(capsys, small):
    """trace --sections on markers with absurd timestamps prints the log, never a traceback."""
    job = small.fake.add_job(
        small.latest,
        name="odd",
        status="success",
        log=(
            b"section_start:" + b"9" * 4400 + b":x\r\x1b[0Khi\n"
            b"section_start:99999999999999:y\r\x1b[0Kthere\nsection_end:1:y\r\x1b[0K\n"
        ),
    )
    code, out, err = await cli(capsys, "trace", "acme/app", str(job.id), "--sections",
                               env=small.env)  # fmt: skip
    assert code == 0 and "Traceback" not in err and "hi" in out
