"""Logs and artifacts end to end: following, saving, downloading, against the fake GitLab."""

from __future__ import annotations

import asyncio
import hashlib
import io
import zipfile
from contextlib import aclosing
from pathlib import Path

import pytest

from gitlab_jobs_async import (
    APIError,
    GitLab,
    LogRewritten,
    NotFound,
    iter_lines,
    parse_sections,
)
from gitlab_jobs_async.testing import FakeGitLab, FakeJob

PROJECT = "group/app"


@pytest.fixture
async def setup(fake: FakeGitLab):
    user = fake.add_user("dev")
    token = fake.add_personal_token(user)
    project = fake.add_project(PROJECT)
    fake.add_member(project, user, "maintainer")
    pipeline = fake.add_pipeline(project, ref="main", user=user)
    async with GitLab(fake.url, private_token=token) as gl:
        yield fake, gl, pipeline, token


async def follow(gl: GitLab, job: FakeJob) -> bytes:
    chunks = [c async for c in gl.project_jobs.follow(PROJECT, job.id, poll=0.001, max_poll=0.004)]
    return b"".join(chunks)


async def test_follow_pending_running_success(setup):
    """Following through pending → running → success gives exactly the whole log, once."""
    fake, gl, pipeline, _ = setup
    job = fake.add_job(pipeline, name="build", status="pending")
    steps = [
        (b"", None),
        (b"", "running"),
        (b"step 1\n", None),
        (b"", None),
        (b"", None),
        (b"step \xc3", None),
        (b"\xa9 2\r\n", None),
        (b"done\n", "success"),
    ]
    fake.script_log(job, steps)
    got = await follow(gl, job)
    assert got == b"step 1\nstep \xc3\xa9 2\r\ndone\n"
    trace_reads = [r for r in fake.requests if r.path.endswith("/trace")]
    job_reads = [r for r in fake.requests if r.path.endswith(f"/jobs/{job.id}")]
    assert len(job_reads) == len(steps)
    # The first read still sees "pending": no log read then; one per poll afterwards.
    assert len(trace_reads) == len(steps) - 1


async def test_follow_zero_byte_then_growing(setup):
    """A running job with an empty log, then output, is followed without a repeat."""
    fake, gl, pipeline, _ = setup
    job = fake.add_job(pipeline, name="build", status="running")
    fake.script_log(job, [(b"", None), (b"", None), (b"a" * 70_000, None), (b"b" * 10, "failed")])
    got = await follow(gl, job)
    assert got == b"a" * 70_000 + b"b" * 10


@pytest.mark.parametrize("final", ["canceled", "skipped"])
async def test_follow_stops_on_cancel_and_skip(setup, final):
    """Canceled and skipped jobs end the follow after a final read."""
    fake, gl, pipeline, _ = setup
    job = fake.add_job(pipeline, name="build", status="running")
    fake.script_log(job, [(b"x\n", None), (b"y\n", "canceling"), (b"z\n", final)])
    assert await follow(gl, job) == b"x\ny\nz\n"


async def test_follow_erased_midway_is_an_error(setup):
    """A log that disappears while followed raises LogRewritten instead of printing garbage."""
    fake, gl, pipeline, _ = setup
    job = fake.add_job(pipeline, name="build", status="running")
    fake.script_log(job, [(b"hello\n", None), (b"", None)])
    seen = b""
    with pytest.raises(LogRewritten) as info:
        async for chunk in gl.project_jobs.follow(PROJECT, job.id, poll=0.001, max_poll=0.004):
            seen += chunk
            job.log.clear()  # erased behind our back
    assert seen == b"hello\n" and info.value.offset == 6 and info.value.size == 0


async def test_follow_rewritten_prefix_is_an_error(setup):
    """A log whose earlier bytes changed raises LogRewritten."""
    fake, gl, pipeline, _ = setup
    job = fake.add_job(pipeline, name="build", status="running")
    fake.script_log(job, [(b"hello\n", None), (b"more\n", None)])
    with pytest.raises(LogRewritten, match="changed"):
        async for _ in gl.project_jobs.follow(PROJECT, job.id, poll=0.001, max_poll=0.004):
            job.log[0:5] = b"HELLO"


async def test_follow_uses_206_when_offered(setup):
    """With a server that honours Range, only the new part (plus the check overlap) travels."""
    fake, gl, pipeline, _ = setup
    fake.honour_range = True
    job = fake.add_job(pipeline, name="build", status="running")
    first = b"0123456789" * 1000
    fake.script_log(job, [(first, None), (b"tail", "success")])
    assert await follow(gl, job) == first + b"tail"
    ranged = [r for r in fake.requests if r.path.endswith("/trace")][1]
    assert ranged.headers["Range"] == f"bytes={len(first) - 4096}-"


async def test_follow_waits_without_busy_polling(setup):
    """While a job is manual nothing but its status is read, with growing pauses."""
    fake, gl, pipeline, _ = setup
    job = fake.add_job(pipeline, name="deploy", status="manual", when="manual")
    stream = gl.project_jobs.follow(PROJECT, job.id, poll=0.01, max_poll=0.04)
    task = asyncio.ensure_future(stream.__anext__())
    await asyncio.sleep(0.3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await stream.aclose()
    reads = [r for r in fake.requests if r.path.endswith(f"/jobs/{job.id}")]
    assert 3 <= len(reads) <= 12  # pauses 0.01, 0.02, 0.04, 0.04 ...: no busy loop
    assert not any(r.path.endswith("/trace") for r in fake.requests)


async def test_lines_and_sections_of_a_streamed_log(setup):
    """The chunk stream composes with iter_lines and parse_sections."""
    fake, gl, pipeline, _ = setup
    log = (
        b"section_start:100:build[collapsed=true]\r\x1b[0K\x1b[32mBuilding\x1b[0m\n"
        b"compiling \xe2\x9c\x93\nsection_end:160:build\r\x1b[0K\n"
    )
    job = fake.add_job(pipeline, name="build", status="success", log=log)
    lines = [
        line
        async for line in iter_lines(
            gl.project_jobs.trace(PROJECT, job.id, chunk_size=7), strip_ansi=True
        )
    ]
    assert lines[1] == "compiling ✓"
    data = b"".join([c async for c in gl.project_jobs.trace(PROJECT, job.id)])
    (section,) = parse_sections(data)
    assert section.name == "build" and section.collapsed and section.duration is not None
    assert section.duration.total_seconds() == 60 and section.header == "Building"


async def test_save_trace_atomically(setup, tmp_path: Path):
    """A log saved to disk reports size and SHA-256 and leaves no temporary file."""
    fake, gl, pipeline, _ = setup
    log = bytes(range(256)) * 5000
    job = fake.add_job(pipeline, name="build", status="success", log=log)
    saved = await gl.project_jobs.save_trace(PROJECT, job.id, tmp_path / "build.log")
    assert saved.size == len(log) and saved.sha256 == hashlib.sha256(log).hexdigest()
    assert (tmp_path / "build.log").read_bytes() == log
    assert [p.name for p in tmp_path.iterdir()] == ["build.log"]


async def test_save_is_atomic_on_failure_and_cancellation(setup, tmp_path: Path):
    """A failed or cancelled save leaves the old file as it was and no temporary file."""
    fake, gl, pipeline, _ = setup
    target = tmp_path / "build.log"
    target.write_bytes(b"old")
    with pytest.raises(NotFound):
        await gl.project_jobs.save_trace(PROJECT, 999_999, target)
    job = fake.add_job(pipeline, name="slow", status="success", log=b"x" * 3_000_000)
    fake.add_fault(lambda r: r.path.endswith(f"/{job.id}/trace"), delay=0.5)
    task = asyncio.ensure_future(gl.project_jobs.save_trace(PROJECT, job.id, target))
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["build.log"]


async def test_early_break_on_trace_releases_connection(setup):
    """Leaving a big log's stream early frees the connection for the next request."""
    fake, gl, pipeline, _ = setup
    job = fake.add_job(pipeline, name="big", status="success", log=b"z" * 5_000_000)
    async with aclosing(gl.project_jobs.trace(PROJECT, job.id)) as chunks:
        async for _ in chunks:
            break
    assert (await gl.project_jobs.get(PROJECT, job.id)).name == "big"


async def test_artifacts_archive_and_files(setup, tmp_path: Path):
    """The archive and single files download by job id and by ref + job name."""
    fake, gl, pipeline, _ = setup
    files = {"report/junit.xml": b"<testsuite/>", "coverage.txt": b"98%"}
    job = fake.add_job(pipeline, name="test", status="success", files=files)
    archive = b"".join([c async for c in gl.project_jobs.artifacts(PROJECT, job.id)])
    assert zipfile.ZipFile(io.BytesIO(archive)).read("coverage.txt") == b"98%"
    one = b"".join(
        [c async for c in gl.project_jobs.artifact_file(PROJECT, job.id, "report/junit.xml")]
    )
    assert one == b"<testsuite/>"
    by_ref = b"".join([c async for c in gl.project_jobs.artifacts_by_ref(PROJECT, "main", "test")])
    assert by_ref == archive
    raw = b"".join(
        [
            c
            async for c in gl.project_jobs.artifact_file_by_ref(
                PROJECT, "main", "test", "coverage.txt"
            )
        ]
    )
    assert raw == b"98%"
    saved = await gl.project_jobs.save_artifacts(PROJECT, job.id, tmp_path / "a.zip")
    assert saved.size == len(archive)
    with pytest.raises(ValueError, match="artifact_path"):
        gl.project_jobs.artifact_file(PROJECT, job.id, "../etc/passwd")


async def test_artifact_redirect_does_not_carry_the_token(setup):
    """The 302 to object storage is followed without PRIVATE-TOKEN; storage gets no secret."""
    fake, gl, pipeline, token = setup
    fake.object_storage = True
    job = fake.add_job(pipeline, name="test", status="success", files={"a.txt": b"A"})
    archive = b"".join([c async for c in gl.project_jobs.artifacts(PROJECT, job.id)])
    assert zipfile.ZipFile(io.BytesIO(archive)).read("a.txt") == b"A"
    (request,) = fake.storage_requests
    assert "PRIVATE-TOKEN" not in request.headers and "Authorization" not in request.headers
    assert token not in str(dict(request.headers))
    assert fake.requests[-1].headers["PRIVATE-TOKEN"] == token  # GitLab itself got it


async def test_keep_and_delete_artifacts(setup):
    """Keep answers the job (200); delete answers 204 and the archive is gone."""
    fake, gl, pipeline, _ = setup
    job = fake.add_job(pipeline, name="test", status="success", files={"a.txt": b"A"})
    kept = await gl.project_jobs.keep_artifacts(PROJECT, job.id)
    assert kept.id == job.id and fake.requests[-1].status == 200
    assert await gl.project_jobs.delete_artifacts(PROJECT, job.id) is None
    assert fake.requests[-1].status == 204
    with pytest.raises(NotFound):
        [c async for c in gl.project_jobs.artifacts(PROJECT, job.id)]
    with pytest.raises(NotFound):
        await gl.project_jobs.keep_artifacts(PROJECT, job.id)


async def test_artifacts_by_ref_needs_job_name(setup):
    """An empty job name fails before any request; GitLab's own 400 is mapped too."""
    _, gl, _, _ = setup
    with pytest.raises(ValueError, match="job_name"):
        gl.project_jobs.artifacts_by_ref(PROJECT, "main", "")
    with pytest.raises(APIError) as info:
        [
            c
            async for c in gl.project_jobs._chunks(
                "projects/group%2Fapp/jobs/artifacts/main/download", 100
            )
        ]
    assert info.value.status == 400 and info.value.message == "job is missing"
