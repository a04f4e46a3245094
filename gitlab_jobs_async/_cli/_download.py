"""``artifacts``: a job's archive or one file of it, to disk atomically or to stdout.
Strictly private.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import AsyncGenerator, Callable
from contextlib import aclosing
from pathlib import Path, PurePosixPath
from typing import Any

from .._files import save_chunks
from ._lookup import find_job, job_target
from ._output import Output
from ._problems import ConfigError
from ._project import current_branch, project_key
from ._settings import client

__all__ = ["cmd_artifacts"]


async def _counted(
    chunks: AsyncGenerator[bytes, None], advance: Callable[[int], None]
) -> AsyncGenerator[bytes, None]:
    async with aclosing(chunks):
        async for chunk in chunks:
            advance(len(chunk))
            yield chunk


def _progress(out: Output, label: str, total: int | None) -> tuple[Any, Callable[[int], None]]:
    """A transfer bar on stderr when it is a terminal, else nothing."""
    if out.err_console is None:
        return None, lambda n: None
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TransferSpeedColumn,
    )

    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=out.err_console,
        transient=True,
    )
    task = bar.add_task(label, total=total)
    return bar, lambda n: bar.advance(task, n)


async def cmd_artifacts(args: argparse.Namespace, out: Output) -> int:
    project, text = job_target(args, args.environ)
    by_name = isinstance(project_key(text), str) and args.pipeline is None
    target = args.output or (PurePosixPath(args.path).name if args.path else "artifacts.zip")
    if target != "-" and Path(target).exists() and not args.force:  # noqa: ASYNC240 - once
        raise ConfigError(f"{target} exists: pass --force to replace it, or -o another path")
    async with client(args, args.environ) as gl:
        jobs = gl.project_jobs
        total: int | None = None
        if by_name:
            ref = args.branch or current_branch(args.environ)
            if not ref:
                raise ConfigError("a job name needs -b BRANCH (or a git checkout on a branch)")
            label = f"{text} on {ref}"
            chunks = (
                jobs.artifact_file_by_ref(project, ref, text, args.path)
                if args.path
                else jobs.artifacts_by_ref(project, ref, text)
            )
        else:
            job_id = await find_job(
                gl, project, text, pipeline=args.pipeline, branch=args.branch, environ=args.environ
            )
            label = f"job {job_id}"
            if args.path:
                chunks = jobs.artifact_file(project, job_id, args.path)
            else:
                job = await jobs.get(project, job_id)
                total = job.artifacts_file.size if job.artifacts_file else None
                chunks = jobs.artifacts(project, job_id)
        if target == "-":
            sink = sys.stdout.buffer
            async with aclosing(chunks):
                async for chunk in chunks:
                    sink.write(chunk)
            sink.flush()
            return 0
        bar, advance = _progress(out, label, total)
        if bar is not None:
            bar.start()
        try:
            saved = await save_chunks(_counted(chunks, advance), target)
        finally:
            if bar is not None:
                bar.stop()
    out.line(f"saved {saved.path} ({saved.size:,} bytes, sha256 {saved.sha256})")
    return 0
