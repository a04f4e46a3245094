"""Streaming a 256 MiB job log, and following a log that grows to 50 MiB over 200 polls.

Run from the repository root (after ``pip install -e '.[dev,bench]'``)::

    python -m benchmarks.bench_log            # 5 runs per client

Part 1: each client reads the whole log of one job, in its own fresh process (so peak RSS
growth is its own), interleaved with the others: this SDK's ``trace()`` chunk stream,
python-gitlab's ``trace(streamed=True, action=..., chunk_size=65536)`` and a plain aiohttp
``iter_chunked(65536)`` loop. Reported: throughput (median and spread) and peak RSS growth
over the process's size just before the read.

Part 2: ``follow()`` on a running job whose log grows by 256 KiB at each poll, 200 times.
GitLab ignores ``Range`` and resends the whole log at every read (SERVER-BEHAVIOUR.md §7),
so the bytes downloaded grow with the square of the polls; reported with a server that
honours ``Range`` for comparison (what the SDK would fetch if GitLab offered it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import sys
import time

import aiohttp
import gitlab

from gitlab_jobs_async import GitLab

CHUNK = 65536


def rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 2**20


async def read_sdk(url: str, token: str, project: int, job: int) -> int:
    async with GitLab(url, private_token=token) as gl:
        total = 0
        async for chunk in gl.project_jobs.trace(project, job, chunk_size=CHUNK):
            total += len(chunk)
        return total


async def read_python_gitlab(url: str, token: str, project: int, job: int) -> int:
    gl = gitlab.Gitlab(url, private_token=token)
    remote = gl.projects.get(project, lazy=True).jobs.get(job, lazy=True)
    total = 0

    def count(chunk: bytes) -> None:
        nonlocal total
        total += len(chunk)

    remote.trace(streamed=True, action=count, chunk_size=CHUNK)
    return total


async def read_aiohttp(url: str, token: str, project: int, job: int) -> int:
    trace = f"{url}/api/v4/projects/{project}/jobs/{job}/trace"
    async with (
        aiohttp.ClientSession(headers={"PRIVATE-TOKEN": token}) as session,
        session.get(trace) as r,
    ):
        total = 0
        async for chunk in r.content.iter_chunked(CHUNK):
            total += len(chunk)
        return total


READERS = {
    "gitlab-jobs-async trace()": read_sdk,
    "python-gitlab trace(streamed=True)": read_python_gitlab,
    "plain aiohttp iter_chunked": read_aiohttp,
}


def child(name: str, url: str, token: str, project: int, job: int) -> None:
    """One measured read, in this fresh process; prints a JSON line."""
    before = rss_mib()
    wall = time.perf_counter()
    size = asyncio.run(READERS[name](url, token, project, job))
    wall = time.perf_counter() - wall
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"bytes": size, "seconds": wall, "growth": peak - before}))


async def run_child(name: str, *args: object) -> dict[str, float]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "benchmarks.bench_log",
        "--child",
        name,
        *map(str, args),
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await proc.communicate()
    result: dict[str, float] = json.loads(out)
    return result


async def control(session: aiohttp.ClientSession, url: str, **query: str) -> dict[str, int]:
    async with session.get(url, params=query) as r:
        data: dict[str, int] = await r.json()
        return data


async def main(runs: int) -> None:
    server = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "benchmarks._server",
        "--jobs",
        "0",
        "--log-mib",
        "256",
        stdout=asyncio.subprocess.PIPE,
    )
    assert server.stdout is not None
    url, token, _, _, job, ctl, project = (await server.stdout.readline()).decode().split()
    try:
        results: dict[str, list[dict[str, float]]] = {name: [] for name in READERS}
        for _ in range(runs):
            for name in READERS:
                results[name].append(await run_child(name, url, token, project, job))
        print(
            f"python {sys.version.split()[0]}; 256 MiB log, 0 ms latency, {runs} runs, "
            "each in a fresh process\n"
        )
        print("| client | MiB/s, median (min-max) | peak RSS growth MiB, median (max) |")
        print("|---|---|---|")
        for name, rows in results.items():
            assert all(r["bytes"] == rows[0]["bytes"] for r in rows)
            rates = [r["bytes"] / 2**20 / r["seconds"] for r in rows]
            growth = [r["growth"] for r in rows]
            print(
                f"| {name} | {statistics.median(rates):.0f} ({min(rates):.0f}-{max(rates):.0f})"
                f" | {statistics.median(growth):.1f} ({max(growth):.1f}) |"
            )

        print("\nFollowing a log growing by 256 KiB per poll, 200 polls (50 MiB):\n")
        print("| server | bytes yielded | bytes downloaded | client CPU s | wall s |")
        print("|---|---|---|---|---|")
        async with aiohttp.ClientSession() as session:
            for label, ranged in (("GitLab (Range ignored)", "0"), ("honouring Range", "1")):
                made = await control(
                    session, ctl, reset="1", range=ranged, follow="200", step=str(256 * 1024)
                )
                cpu, wall = time.process_time(), time.perf_counter()
                async with GitLab(url, private_token=token) as gl:
                    got = 0
                    async for chunk in gl.project_jobs.follow(
                        int(project), made["job"], poll=0.001, max_poll=0.002
                    ):
                        got += len(chunk)
                cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
                served = (await control(session, ctl))["bytes"]
                print(f"| {label} | {got:,} | {served:,} | {cpu:.2f} | {wall:.2f} |")
    finally:
        server.terminate()
        await server.wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--child", nargs=5, metavar=("NAME", "URL", "TOKEN", "PROJECT", "JOB"))
    args = parser.parse_args()
    if args.child:
        name, url, token, project, job = args.child
        child(name, url, token, int(project), int(job))
    else:
        asyncio.run(main(args.runs))
