"""A fake GitLab in its own process for benchmarks, so server work never counts as client CPU.

Run by ``bench_list.py``; prints ``<url> <token> <stats url>`` on one line, then serves until
killed. The stats app (a second port) reports and resets the request count and sets latency.
"""

from __future__ import annotations

import asyncio
import sys

from aiohttp import web

from gitlab_jobs_async.testing import FakeGitLab


async def main(jobs: int) -> None:
    async with FakeGitLab() as fake:
        user = fake.add_user("bench")
        token = fake.add_personal_token(user)
        project = fake.add_project("bench/big")
        fake.add_member(project, user, "developer")
        pipeline = fake.add_pipeline(project, user=user)
        for i in range(jobs):
            fake.add_job(pipeline, name=f"job-{i % 40}", stage="test",
                         status="failed" if i % 9 == 0 else "success", user=user,
                         tag_list=("docker", "linux"), artifacts=("archive", "trace"), log=b"x")

        async def stats(request: web.Request) -> web.Response:
            if "latency" in request.query:
                fake.latency = float(request.query["latency"])
            count = len(fake.requests)
            if "reset" in request.query:
                fake.requests.clear()
            return web.json_response({"requests": count})

        app = web.Application()
        app.router.add_get("/stats", stats)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        stats_url = f"http://127.0.0.1:{runner.addresses[0][1]}/stats"
        print(fake.url, token, project.id, pipeline.id, stats_url, flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000))
