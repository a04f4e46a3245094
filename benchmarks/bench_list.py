"""Listing 10,000 jobs: this SDK side by side with python-gitlab, gidgetlab and plain aiohttp.

Run from the repository root (after ``pip install -e '.[dev,bench]'``)::

    python -m benchmarks.bench_list            # 5 runs per client and latency
    python -m benchmarks.bench_list --runs 3 --latencies 0 50

The fake GitLab runs in its own process (``benchmarks/_server.py``, with its per-job JSON
rendered once, so the server is not the bottleneck) with 10,000 jobs in one pipeline, so the
project jobs list (no totals, GitLab's real behaviour) and the pipeline jobs list (with
totals) cover the same jobs. Every client reads all 10,000 jobs, 100 per page, and
throws them away. Clients run interleaved, so machine noise hits them alike; the table gives
the median and the spread (min-max) of wall time and client CPU time, the requests the
server saw, and (in a separate tracemalloc run at 0 ms) peak traced memory.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import gidgetlab.aiohttp
import gitlab

from gitlab_jobs_async import GitLab

CONCURRENCY = 8


class Target:
    def __init__(self, url: str, token: str, project: int, pipeline: int, stats: str) -> None:
        self.url, self.token, self.project, self.pipeline, self.stats = (
            url,
            token,
            project,
            pipeline,
            stats,
        )


async def sdk_project_jobs(t: Target) -> int:
    async with GitLab(t.url, private_token=t.token, max_concurrency=CONCURRENCY) as gl:
        return sum([1 async for _ in gl.project_jobs.list(t.project)])


async def sdk_pipeline_jobs(t: Target) -> int:
    async with GitLab(t.url, private_token=t.token, max_concurrency=CONCURRENCY) as gl:
        return sum([1 async for _ in gl.pipeline_jobs.list(t.project, t.pipeline)])


async def python_gitlab(t: Target) -> int:
    gl = gitlab.Gitlab(t.url, private_token=t.token)
    project = gl.projects.get(t.project, lazy=True)
    # Synchronous by design: run it on the loop's thread, as a caller without threads would.
    return sum(1 for _ in project.jobs.list(iterator=True, per_page=100))


async def gidgetlab_getiter(t: Target) -> int:
    async with aiohttp.ClientSession() as session:
        gl = gidgetlab.aiohttp.GitLabAPI(session, "bench", access_token=t.token, url=t.url)
        return sum(
            [1 async for _ in gl.getiter(f"/projects/{t.project}/jobs", {"per_page": "100"})]
        )


async def plain_aiohttp_floor(t: Target) -> int:
    """Knows X-Total-Pages (pipeline list), fetches pages with the same concurrency, no models."""
    url = f"{t.url}/api/v4/projects/{t.project}/pipelines/{t.pipeline}/jobs"
    headers = {"PRIVATE-TOKEN": t.token}
    limit = asyncio.Semaphore(CONCURRENCY)
    async with aiohttp.ClientSession(headers=headers) as session:

        async def page(number: int) -> list[Any]:
            async with limit, session.get(url, params={"page": number, "per_page": 100}) as r:
                data: list[Any] = json.loads(await r.read())
                return data

        async with session.get(url, params={"page": 1, "per_page": 100}) as first:
            total = int(first.headers["X-Total-Pages"])
            count = len(json.loads(await first.read()))
        tasks = [asyncio.ensure_future(page(n)) for n in range(2, total + 1)]
        for task in tasks:
            count += len(await task)
        return count


CLIENTS: dict[str, Callable[[Target], Awaitable[int]]] = {
    "gitlab-jobs-async, project jobs (no totals)": sdk_project_jobs,
    "gitlab-jobs-async, pipeline jobs (totals)": sdk_pipeline_jobs,
    "plain aiohttp floor (totals, same concurrency)": plain_aiohttp_floor,
    "python-gitlab jobs.list(iterator=True)": python_gitlab,
    "gidgetlab getiter": gidgetlab_getiter,
}


async def stat(session: aiohttp.ClientSession, t: Target, **query: str) -> int:
    async with session.get(t.stats, params=query) as r:
        return int((await r.json())["requests"])


async def measure(
    t: Target, client: Callable[[Target], Awaitable[int]], session: aiohttp.ClientSession
) -> tuple[float, float, int]:
    await stat(session, t, reset="1")
    wall, cpu = time.perf_counter(), time.process_time()
    count = await client(t)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    assert count == 10_000, count
    return wall, cpu, await stat(session, t)


async def peak_memory(t: Target, client: Callable[[Target], Awaitable[int]]) -> float:
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    await client(t)
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return peak / 2**20


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} ({min(values):.3f}-{max(values):.3f})"


async def main(runs: int, latencies: list[int]) -> None:
    server = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "benchmarks._server",
        "--jobs",
        "10000",
        "--cache-render",
        stdout=asyncio.subprocess.PIPE,
    )
    assert server.stdout is not None
    url, token, project, pipeline, _, stats, _ = (await server.stdout.readline()).decode().split()
    t = Target(url, token, int(project), int(pipeline), stats)
    try:
        async with aiohttp.ClientSession() as session:
            print(
                f"python {sys.version.split()[0]}, {runs} runs per cell, 10,000 jobs, "
                f"per_page 100, concurrency {CONCURRENCY}\n"
            )
            for latency in latencies:
                await stat(session, t, latency=str(latency / 1000))
                rows: dict[str, list[tuple[float, float, int]]] = {name: [] for name in CLIENTS}
                for client in CLIENTS.values():  # warm-up
                    await client(t)
                for _ in range(runs):
                    for name, client in CLIENTS.items():
                        rows[name].append(await measure(t, client, session))
                floor = statistics.median(
                    w for w, _, _ in rows["plain aiohttp floor (totals, same concurrency)"]
                )
                print(f"### {latency} ms per request\n")
                print("| client | wall s, median (min-max) | x floor | client CPU s | requests |")
                print("|---|---|---|---|---|")
                for name, results in rows.items():
                    walls = [w for w, _, _ in results]
                    cpus = [c for _, c, _ in results]
                    requests = sorted({r for _, _, r in results})
                    print(
                        f"| {name} | {spread(walls)} | {statistics.median(walls) / floor:.2f} "
                        f"| {spread(cpus)} | {', '.join(map(str, requests))} |"
                    )
                print()
            await stat(session, t, latency="0")
            print("### Peak traced memory while reading 10,000 jobs and discarding them (0 ms)\n")
            print("| client | peak MiB |")
            print("|---|---|")
            for name, client in CLIENTS.items():
                print(f"| {name} | {await peak_memory(t, client):.1f} |")
    finally:
        server.terminate()
        await server.wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--latencies", type=int, nargs="+", default=[0, 20, 50])
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY)
    args = parser.parse_args()
    CONCURRENCY = args.concurrency
    asyncio.run(main(args.runs, args.latencies))
