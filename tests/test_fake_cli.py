"""``gitlab-jobs serve`` with GitLab.com's rate limits, and the demo's data set."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

import aiohttp


async def read_line(stream: asyncio.StreamReader) -> str:
    return (await asyncio.wait_for(stream.readline(), timeout=30)).decode()


async def test_serve_with_gitlab_com_rate_limits():
    """serve --rate-limits gitlab.com says so, and its answers carry GitLab.com's RateLimit-* headers."""
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "120"}
    for name in ("GITLAB_URL", "GITLAB_TOKEN", "CI_JOB_TOKEN", "CI_SERVER_URL"):
        env.pop(name, None)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gitlab_jobs_async", "serve", "--rate-limits", "gitlab.com",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env,
    )  # fmt: skip
    assert proc.stdout is not None
    try:
        url = (await read_line(proc.stdout)).split()[-1]
        token = (await read_line(proc.stdout)).split()[-1]
        projects = await read_line(proc.stdout)
        limits = await read_line(proc.stdout)
        assert "acme/" in projects and "jobs_index 600/60s" in limits
        async with aiohttp.ClientSession(headers={"PRIVATE-TOKEN": token}) as session:
            async with session.get(f"{url}/api/v4/projects/acme%2Fweb%2Ffrontend/jobs") as resp:
                assert resp.status == 200
                assert resp.headers["RateLimit-Limit"] == "2000"
                assert resp.headers["RateLimit-Name"] == "throttle_authenticated_api"
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = await asyncio.wait_for(proc.communicate(), timeout=30)
    assert proc.returncode == 130 and b"interrupted" in err
