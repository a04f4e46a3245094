"""The gitlab-jobs command line as a process: signals, pipes, serve, and what it imports."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from typing import Any

import gitlab
import pytest

from gitlab_jobs_async._cli._demo import seed_demo
from gitlab_jobs_async.testing import FakeGitLab

ENV = {k: v for k, v in os.environ.items() if not k.startswith(("GITLAB_", "CI_"))} | {
    "COLUMNS": "200"
}


async def read_line(stream: asyncio.StreamReader) -> str:
    return (await asyncio.wait_for(stream.readline(), timeout=30)).decode()


async def start(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gitlab_jobs_async", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=ENV,
    )  # fmt: skip


async def test_serve_prints_exports_answers_python_gitlab_and_stops_on_ctrl_c():
    """serve prints URL, token and an export line (--token fixes the token); python-gitlab
    can list jobs; Ctrl-C exits with 130."""
    proc = await start("serve", "--token", "glpat-demo-token")
    assert proc.stdout is not None
    try:
        url = (await read_line(proc.stdout)).split()[-1]
        token = (await read_line(proc.stdout)).split()[-1]
        assert token == "glpat-demo-token"
        await read_line(proc.stdout)  # projects
        export = await read_line(proc.stdout)
        assert export == f"export GITLAB_URL={url} GITLAB_TOKEN=glpat-demo-token\n"

        def names() -> list[Any]:
            gl = gitlab.Gitlab(url, private_token=token)
            jobs = gl.projects.get("acme/web/frontend").jobs.list(per_page=5, get_all=False)
            return [job.name for job in jobs]

        assert len(await asyncio.to_thread(names)) == 5
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = await asyncio.wait_for(proc.communicate(), timeout=30)
    assert proc.returncode == 130 and b"interrupted" in err


async def test_serve_on_a_port_in_use_says_so():
    """serve --port on a busy port, or out of range, is a message, not a traceback."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = await start("serve", "--port", str(port))
        _, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode == 2 and b"in use" in err and b"Traceback" not in err
    proc = await start("serve", "--port", "99999")
    _, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode == 2 and b"not a port" in err and b"Traceback" not in err


async def test_ctrl_c_while_following(fake: FakeGitLab):
    """Ctrl-C during trace --follow stops cleanly with exit code 130."""
    demo = seed_demo(fake, pipelines=1)
    fake.jobs[demo.running.id].script.clear()  # keeps running for ever
    proc = await start("trace", demo.running_project, str(demo.running.id), "--follow",
                       "--poll", "0.01", "--url", fake.url, "--token", demo.token)  # fmt: skip
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


async def test_version_and_help_do_not_import_the_fake_or_rich():
    """--version (and --help) load neither the fake GitLab nor rich: only demo/serve need it."""
    code = (
        "import sys\n"
        "from gitlab_jobs_async._cli import main\n"
        "assert main(['--version']) == 0 and main(['list', '--help']) == 0\n"
        "print(sorted(m for m in sys.modules if m.startswith(('gitlab_jobs_async.testing', "
        "'rich'))))\n"
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", code, stdout=asyncio.subprocess.PIPE, env=ENV
    )
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode == 0 and out.decode().splitlines()[-1] == "[]"


async def test_shell_completion(tmp_path):
    """With argcomplete (the cli extra), the shell completes commands and option choices."""
    pytest.importorskip("argcomplete")
    answers = tmp_path / "completions"
    for line, expected in (("gitlab-jobs au", "audit"), ("gitlab-jobs list --scope fa", "failed")):
        env = ENV | {"_ARGCOMPLETE": "1", "COMP_LINE": line, "COMP_POINT": str(len(line)),
                     "_ARGCOMPLETE_STDOUT_FILENAME": str(answers)}  # fmt: skip
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "gitlab_jobs_async", env=env, cwd=tmp_path
        )
        assert await asyncio.wait_for(proc.wait(), timeout=60) == 0
        assert answers.read_text().split() == [expected]


async def test_json_lines_stream_as_jobs_arrive(fake: FakeGitLab):
    """list --format jsonl prints the first page's jobs while a later page is still coming."""
    demo = seed_demo(fake, pipelines=12)  # more than one page of 100 jobs
    fake.add_fault(lambda r: dict(r.query).get("page") == "2", delay=60)
    proc = await start("list", demo.projects[0], "--format", "jsonl", "--url", fake.url,
                       "--token", demo.token)  # fmt: skip
    assert proc.stdout is not None
    try:
        first = await read_line(proc.stdout)  # within 30 s, while page 2 is held for 60 s
        assert first.startswith('{"id": ')
        assert proc.returncode is None  # the list has not ended: its last page is held
    finally:
        proc.kill()
        await proc.wait()
