"""The ``gitlab-jobs`` command line: audits, logs and job actions over the SDK.

Exit codes: 0 done; 1 another GitLab error; 2 bad usage or a missing setting;
3 unauthorized or forbidden; 4 not found; 5 network failure or timeout; 6 rate limited;
130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import traceback
from collections.abc import Sequence

from .._errors import (
    Forbidden,
    GitLabError,
    NotFound,
    RateLimited,
    TransportError,
    Unauthorized,
)
from .._version import __version__
from ._commands import COMMANDS, ConfigError
from ._output import Output
from ._watch import add_watch

__all__ = ["main", "run"]

EXIT_CODES: list[tuple[type[BaseException], int]] = [
    (ConfigError, 2),
    (Unauthorized, 3),
    (Forbidden, 3),
    (NotFound, 4),
    (TransportError, 5),
    (RateLimited, 6),
    (GitLabError, 1),
]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gitlab-jobs",
        description="Audit GitLab CI jobs, read and follow their logs, and act on them.",
        epilog="Settings: --url/--token, else GITLAB_URL/GITLAB_TOKEN, else CI_SERVER_URL "
        "and CI_JOB_TOKEN inside a CI job. Try `gitlab-jobs demo` first: no network needed.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--url", help="GitLab URL (default: $GITLAB_URL)")
    common.add_argument("--token", help="access token (default: $GITLAB_TOKEN)")
    common.add_argument("--format", choices=("table", "json", "csv"), default="table")
    common.add_argument(
        "--debug",
        action="store_true",
        help="show tracebacks and log every request (tokens redacted)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    audit = sub.add_parser("audit", parents=[common], help="summarise the jobs of projects")
    audit.add_argument("projects", nargs="*", metavar="PROJECT")
    audit.add_argument(
        "--group",
        action="append",
        default=[],
        help="also every project of this group and its subgroups (repeatable)",
    )
    audit.add_argument("--since", help="7d, 12h, or a date (default: all)")
    audit.add_argument("--scope", action="append", help="only jobs in this status (repeatable)")

    listing = sub.add_parser("list", parents=[common], help="list a project's or pipeline's jobs")
    listing.add_argument("project")
    listing.add_argument("--pipeline", type=int)
    listing.add_argument("--scope", action="append")
    listing.add_argument("--since")
    listing.add_argument("--limit", type=int)

    show = sub.add_parser("show", parents=[common], help="show one job")
    show.add_argument("project")
    show.add_argument("job", type=int)

    trace = sub.add_parser("trace", parents=[common], help="print (or follow) a job's log")
    trace.add_argument("project")
    trace.add_argument("job", type=int)
    trace.add_argument("--follow", "-f", action="store_true", help="follow a running job")
    trace.add_argument("--sections", action="store_true", help="print the step timing table")
    trace.add_argument("--raw", action="store_true", help="keep colour codes when piped")
    trace.add_argument("--poll", type=float, default=3.0, help="seconds between reads")

    for name, text in (
        ("cancel", "cancel a job"),
        ("retry", "retry a job (a new job)"),
        ("erase", "erase a job's log and artifacts"),
        ("play", "run a manual job"),
    ):
        action = sub.add_parser(name, parents=[common], help=text)
        action.add_argument("project")
        action.add_argument("job", type=int)
        if name == "play":
            action.add_argument("--var", action="append", metavar="KEY=VALUE")
        if name == "cancel":
            action.add_argument("--force", action="store_true")

    add_watch(sub, common)
    sub.add_parser("demo", help="audit and follow jobs on an embedded fake GitLab")
    serve = sub.add_parser("serve", help="run the fake GitLab, seeded, for other tools")
    serve.add_argument("--port", type=int, default=0)
    serve.add_argument(
        "--rate-limits",
        choices=("gitlab.com", "off"),
        default="off",
        help="simulate GitLab.com's rate limits (2,000/min API, 600/min jobs list) or none",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``gitlab-jobs`` with ``argv``; return the exit code."""
    args = _parser().parse_args(argv)
    out = Output(getattr(args, "format", "table"))
    if getattr(args, "debug", False):
        logging.basicConfig(level=logging.DEBUG, format="%(levelname)s %(name)s: %(message)s")
    try:
        return asyncio.run(COMMANDS[args.command](args, out))
    except KeyboardInterrupt:
        sys.stdout.flush()
        print("gitlab-jobs: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`gitlab-jobs ... | head`): stop quietly, as `cat` does.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (ConfigError, GitLabError, ValueError, TypeError) as exc:
        if getattr(args, "debug", False):
            traceback.print_exc()
        print(f"gitlab-jobs: {exc}", file=sys.stderr)
        return next((code for cls, code in EXIT_CODES if isinstance(exc, cls)), 2)


def run() -> None:
    """The console script's entry point."""
    raise SystemExit(main())
