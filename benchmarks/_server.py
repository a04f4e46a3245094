"""A fake GitLab in its own process for benchmarks, so server work never counts as client CPU.

Started by the benchmark scripts; prints ``<url> <token> <project> <pipeline> <log job>
<control url>`` on one line, then serves until killed. The control app (a second port)
reports and resets the request count and bytes served, sets latency, and scripts a growing
log for the follow benchmark.

The fake renders each job's JSON from its records on every request, which costs more CPU
than answering the client needs: with ``--cache-render`` each (static, finished) job is
rendered once, so the server is not the bottleneck of the listing benchmark.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
from typing import Any

from aiohttp import web

from gitlab_jobs_async.testing import FakeGitLab, FakeJob
from gitlab_jobs_async.testing import _entities as entities


async def main(jobs: int, log_mib: int, cache_render: bool) -> None:
    if cache_render:
        render = entities.job

        @functools.cache
        def cached(job: FakeJob, base: str) -> dict[str, Any]:
            return render(job, base)

        entities.job = lambda job, base, now=None: cached(job, base)  # type: ignore[assignment]
    async with FakeGitLab() as fake:
        user = fake.add_user("bench")
        token = fake.add_personal_token(user)
        project = fake.add_project("bench/big")
        fake.add_member(project, user, "developer")
        pipeline = fake.add_pipeline(project, user=user)
        for i in range(jobs):
            fake.add_job(
                pipeline,
                name=f"job-{i % 40}",
                stage="test",
                status="failed" if i % 9 == 0 else "success",
                user=user,
                tag_list=("docker", "linux"),
                artifacts=("archive", "trace"),
                log=b"x",
            )
        line = b"\x1b[32m[ok]\x1b[0m step output with some text, 64 bytes long.......\n"
        logs = fake.add_project("bench/logs")  # keeps the listed project at 10,000 jobs
        fake.add_member(logs, user, "developer")
        other = fake.add_pipeline(logs, user=user)
        big = fake.add_job(
            other, name="big-log", status="success", log=line * (log_mib * 2**20 // len(line))
        )

        async def control(request: web.Request) -> web.Response:
            query = request.query
            if "latency" in query:
                fake.latency = float(query["latency"])
            if "range" in query:
                fake.honour_range = query["range"] == "1"
            answer: dict[str, Any] = {
                "requests": len(fake.requests),
                "bytes": sum(r.response_bytes for r in fake.requests),
            }
            if "reset" in query:
                fake.requests.clear()
            if "follow" in query:  # a running job whose log grows per poll of its status
                polls, size = int(query["follow"]), int(query["step"])
                job = fake.add_job(other, name="growing", status="running")
                piece = (line * (size // len(line) + 1))[:size]
                fake.script_log(job, [(piece, None)] * (polls - 1) + [(piece, "success")])
                answer["job"] = job.id
            return web.json_response(answer)

        app = web.Application()
        app.router.add_get("/control", control)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        control_url = f"http://127.0.0.1:{runner.addresses[0][1]}/control"
        print(fake.url, token, project.id, pipeline.id, big.id, control_url, logs.id, flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--log-mib", type=int, default=0)
    parser.add_argument("--cache-render", action="store_true")
    args = parser.parse_args()
    asyncio.run(main(args.jobs, args.log_mib, args.cache_render))
