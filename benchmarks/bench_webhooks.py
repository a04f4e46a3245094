"""The webhook receiver: deliveries per second, and acknowledgement latency under a steady load.

Run from the repository root (after ``pip install -e '.[dev,bench]'``)::

    python -m benchmarks.bench_webhooks                 # about a minute
    python -m benchmarks.bench_webhooks --count 40000 --seconds 60

The receiver (:func:`gitlab_jobs_async.webhooks.webhook_app`, signing secret configured, so
each delivery's Standard Webhooks signature is checked over its raw body) runs in its own
process on 127.0.0.1; this process sends GitLab-shaped Job Hook deliveries (a 3 KB payload,
``tests/fixtures/webhooks/job_success_child.json``, each with its own ``webhook-id``, signed
before the clock starts) over keep-alive connections.

Part 1, throughput: ``--count`` deliveries, ``--concurrency`` in flight, a handler that does
nothing; reported: deliveries acknowledged per second (median of ``--runs``), the receiver's
CPU time per 1,000 deliveries (verify, parse, de-duplicate, queue, answer, run the handler).

Part 2, latency: deliveries sent at a steady ``--rate`` per second for ``--seconds`` (each on
its own schedule, not waiting for the previous answer), to a handler that takes 50 ms; the
receiver runs 32 handlers at once (8 would serve only 160 events/s of 50 ms each). Reported:
the time from sending a delivery to its answer's status line, p50/p99/max, and how many were
not answered 202.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
from aiohttp import web

from gitlab_jobs_async import GitLab
from gitlab_jobs_async.webhooks import JobEvent, Router, webhook_app

SECRET = "whsec_" + base64.b64encode(b"benchmark-signing-key-of-32-byte").decode()
BODY = (
    Path(__file__).resolve().parent.parent / "tests/fixtures/webhooks/job_success_child.json"
).read_bytes()
TICKS = os.sysconf("SC_CLK_TCK")


async def serve(handler_seconds: float, concurrency: int) -> None:
    """The receiver process: print the port, serve until SIGTERM."""
    router = Router()

    @router.job()
    async def handle(event: JobEvent, gl: GitLab) -> None:
        if handler_seconds:
            await asyncio.sleep(handler_seconds)

    gl = GitLab("http://127.0.0.1:9")  # handed to the handler, which never calls it
    app = webhook_app(
        router, client=gl, signing_secrets=[SECRET], max_concurrency=concurrency, max_queue=100_000
    )
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    print(runner.addresses[0][1], flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await runner.cleanup()


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


class Receiver:
    """A receiver process, started and stopped around one part of the benchmark."""

    def __init__(self, handler_seconds: float, concurrency: int) -> None:
        self.process = subprocess.Popen(
            [
                *(sys.executable, "-m", "benchmarks.bench_webhooks", "--serve"),
                *(f"--handler-seconds={handler_seconds}", f"--server-concurrency={concurrency}"),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        self.url = f"http://127.0.0.1:{self.process.stdout.readline().strip()}/"

    def cpu(self) -> float:
        return cpu_seconds(self.process.pid)

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=60)


def deliveries(count: int, start: int = 0) -> list[dict[str, str]]:
    """Signed headers for ``count`` distinct deliveries of BODY."""
    key = base64.b64decode(SECRET.removeprefix("whsec_"))
    stamp = str(int(time.time()))
    out = []
    for n in range(start, start + count):
        msg_id = f"bench-{os.getpid()}-{n}"
        mac = hmac.new(key, f"{msg_id}.{stamp}.".encode() + BODY, hashlib.sha256).digest()
        out.append({
            "Content-Type": "application/json",
            "X-Gitlab-Event": "Job Hook",
            "Idempotency-Key": msg_id,
            "webhook-id": msg_id,
            "webhook-timestamp": stamp,
            "webhook-signature": "v1," + base64.b64encode(mac).decode(),
        })  # fmt: skip
    return out


async def throughput(
    url: str, headers: list[dict[str, str]], concurrency: int
) -> tuple[float, dict[int, int]]:
    statuses: dict[int, int] = {}
    items = iter(headers)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def sender() -> None:
            for sent in items:
                async with session.post(url, data=BODY, headers=sent) as response:
                    await response.read()
                    statuses[response.status] = statuses.get(response.status, 0) + 1

        started = time.perf_counter()
        await asyncio.gather(*(sender() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return len(headers) / elapsed, statuses


async def steady(
    url: str, headers: list[dict[str, str]], rate: float
) -> tuple[list[float], dict[int, int]]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        async with session.post(url, data=b"{}", headers={"X-Gitlab-Event": "Warm-up"}):
            pass  # a refused warm-up request opens the first connection

        async def one(sent: dict[str, str]) -> None:
            began = time.perf_counter()
            async with session.post(url, data=BODY, headers=sent) as response:
                latencies.append(time.perf_counter() - began)
                statuses[response.status] = statuses.get(response.status, 0) + 1
                await response.read()

        loop = asyncio.get_running_loop()
        start = loop.time()
        tasks = []
        for n, sent in enumerate(headers):
            delay = start + n / rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(sent)))
        await asyncio.gather(*tasks)
    return latencies, statuses


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def main(args: argparse.Namespace) -> None:
    print(f"Python {sys.version.split()[0]}, aiohttp {aiohttp.__version__}, {os.cpu_count()} CPUs")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    receiver = Receiver(handler_seconds=0, concurrency=8)
    try:
        rates = []
        warm = deliveries(1000, start=10**9)
        await throughput(receiver.url, warm, args.concurrency)
        for run in range(args.runs):
            sent = deliveries(args.count, start=run * args.count)
            cpu_before = receiver.cpu()
            rate, statuses = await throughput(receiver.url, sent, args.concurrency)
            cpu = receiver.cpu() - cpu_before
            rates.append(rate)
            print(
                f"throughput run {run + 1}: {rate:,.0f} deliveries/s, receiver CPU "
                f"{1000 * cpu / args.count * 1000:.0f} ms per 1,000, answers {statuses}"
            )
        print(
            f"throughput: median {statistics.median(rates):,.0f}/s "
            f"(min {min(rates):,.0f}, max {max(rates):,.0f}), {args.concurrency} in flight"
        )
    finally:
        receiver.stop()
    receiver = Receiver(handler_seconds=0.05, concurrency=32)
    try:
        sent = deliveries(int(args.rate * args.seconds), start=10**8)
        latencies, statuses = await steady(receiver.url, sent, args.rate)
        ms = [1000 * value for value in latencies]
        print(
            f"steady {args.rate:g}/s for {args.seconds:g} s, 50 ms handler: "
            f"ack p50 {percentile(ms, 0.50):.2f} ms, p99 {percentile(ms, 0.99):.2f} ms, "
            f"max {max(ms):.2f} ms, answers {statuses}"
        )
    finally:
        receiver.stop()
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=20_000, help="deliveries per throughput run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=32, help="deliveries in flight")
    parser.add_argument("--rate", type=float, default=200.0, help="steady deliveries per second")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the steady part")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--handler-seconds", type=float, default=0.0, help=argparse.SUPPRESS)
    parser.add_argument("--server-concurrency", type=int, default=8, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.serve:
        asyncio.run(serve(options.handler_seconds, options.server_concurrency))
    else:
        asyncio.run(main(options))
