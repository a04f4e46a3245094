"""The ``gitlab-jobs`` command line's grammar and help. Strictly private.

Options that say where to connect (``--url``, ``--token``, ``-g``, ``-R``, ``--debug``) are
accepted before or after the command. Every option exists only where it works.
"""

from __future__ import annotations

import argparse
from typing import Any

from .._version import __version__
from ._problems import EXIT_CODES

__all__ = ["STATUSES", "build_parser"]

STATUSES = (
    "created",
    "waiting_for_resource",
    "preparing",
    "waiting_for_callback",
    "pending",
    "running",
    "success",
    "failed",
    "canceling",
    "canceled",
    "skipped",
    "manual",
    "scheduled",
)

_EXIT = "\n".join(f"  {code:<4} {text}" for code, text in EXIT_CODES.items())

EPILOG = f"""\
where to connect (first found):
  --url/--token; -g NAME (python-gitlab's ~/.python-gitlab.cfg or $PYTHON_GITLAB_CFG);
  GITLAB_URL or GITLAB_HOST with GITLAB_TOKEN (or GITLAB_PRIVATE_TOKEN, GITLAB_OAUTH_TOKEN);
  in a CI job CI_SERVER_URL with GITLAB_TOKEN or CI_JOB_TOKEN; the configuration file's
  default section. A token is only ever sent to the URL it was set with.
which project: PROJECT or -R, else CI_PROJECT_ID inside CI, else the git remote here.
colour: on a terminal only; NO_COLOR=1 turns it off.

exit codes:
{_EXIT}

examples:
  gitlab-jobs demo                        # no GitLab needed: a fake one, audited
  gitlab-jobs audit --group acme --since 7d
  gitlab-jobs list -R acme/app --scope failed --limit 20
  gitlab-jobs trace lint -b main -f --exit-status
  gitlab-jobs pipeline --watch            # this branch's latest pipeline, live
"""


def _positive(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a positive number")
    return number


def _port(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"{text} is not a port (0-65535; 0 picks a free one)")
    return number


def _seconds(text: str) -> float:
    try:
        number = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0.01 <= number <= 3600:
        raise argparse.ArgumentTypeError(f"{text}: use 0.01 to 3600 seconds")
    return number


def _connection(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """The options of every command; on subcommands they do not overwrite the top's."""
    keep: dict[str, Any] = {} if top else {"default": argparse.SUPPRESS}
    group = parser.add_argument_group("connection") if top else parser
    group.add_argument("--url", help="GitLab's URL (default: see below)", **keep)
    group.add_argument("--token", help="access token for that URL", **keep)
    group.add_argument(
        "-g",
        "--gitlab",
        metavar="NAME",
        help="a section of python-gitlab's configuration file",
        **keep,
    )
    group.add_argument(
        "-R", "--repo", metavar="PROJECT", help="the project, as group/app or an id", **keep
    )
    group.add_argument(
        "--debug",
        action="store_true",
        help="log every request (tokens redacted) and show tracebacks",
        **keep,
    )


def _formats(parser: argparse.ArgumentParser, formats: tuple[str, ...], *, fields: bool) -> None:
    parser.add_argument(
        "--format", choices=formats, default="table", help="output format (default: table)"
    )
    if fields:
        parser.add_argument(
            "--fields",
            metavar="FIELDS",
            help="comma-separated job fields, dotted for nested ones "
            "(id,name,pipeline.id); columns or JSON keys",
        )
        parser.add_argument(
            "--json",
            metavar="FIELDS",
            dest="json_fields",
            help="JSON of these fields only (as gh's --json)",
        )


def _job_target(parser: argparse.ArgumentParser, what: str = "the job") -> None:
    parser.add_argument(
        "target",
        nargs="*",
        metavar="[PROJECT] JOB",
        help=f"{what}: its id, or its name in a pipeline "
        "(-b/--pipeline); PROJECT defaults to -R, CI or the git remote",
    )
    parser.add_argument(
        "-b",
        "--branch",
        metavar="REF",
        help="with a job name: the latest pipeline of this branch or tag "
        "(default: CI's or the current git branch)",
    )
    parser.add_argument(
        "--pipeline", type=_positive, metavar="ID", help="with a job name: this pipeline"
    )


def _pipeline_target(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "target",
        nargs="*",
        metavar="[PROJECT] [PIPELINE]",
        help="a pipeline id (default: CI_PIPELINE_ID, else the latest of "
        "-b); a numeric project needs -R",
    )
    parser.add_argument(
        "-b",
        "--branch",
        metavar="REF",
        help="the latest pipeline of this branch or tag (default: CI's or the current git branch)",
    )


def _scopes(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--scope",
        action="append",
        choices=STATUSES,
        metavar="STATUS",
        help=f"only jobs in this status (repeatable): {', '.join(STATUSES)}",
    )


def _watch_arguments(watch: argparse.ArgumentParser) -> None:
    """Add the ``watch`` command's own arguments to its parser."""
    watch.add_argument("projects", nargs="+", metavar="PROJECT", help="projects to watch")
    watch.add_argument(
        "--status", action="append", metavar="STATUS", help="only this status (repeatable)"
    )
    watch.add_argument("--poll", type=float, default=10.0, help="seconds between polls (10)")
    watch.add_argument(
        "--existing",
        choices=("none", "unfinished", "all"),
        default="none",
        help="also print what the first poll finds: unfinished jobs, or all of page 1",
    )
    watch.add_argument("--count", type=int, help="stop after this many transitions")


def build_parser() -> argparse.ArgumentParser:
    """The whole grammar, with help, examples and exit codes."""
    parser = argparse.ArgumentParser(
        prog="gitlab-jobs",
        description="Audit GitLab CI jobs, read and follow their logs, and act on them.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    _connection(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, summary: str, text: str, examples: str) -> argparse.ArgumentParser:
        made = sub.add_parser(
            name,
            help=summary,
            description=f"{summary[0].upper()}{summary[1:]}.\n\n{text}",
            epilog=f"examples:\n{examples}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        _connection(made, top=False)
        return made

    audit = command(
        "audit",
        "summarise the jobs of projects",
        "Counts by status, failure reasons, the jobs that fail most, flaky jobs and\n"
        "time by stage. A project that cannot be read is skipped with a warning\n"
        "(exit 7 at the end) unless --strict.",
        "  gitlab-jobs audit acme/web acme/api --since 7d\n"
        "  gitlab-jobs audit --group acme --format csv --table stages",
    )
    audit.add_argument(
        "projects",
        nargs="*",
        metavar="PROJECT",
        help="projects to audit (default: -R, CI or the git remote)",
    )
    audit.add_argument(
        "--group",
        action="append",
        default=[],
        metavar="GROUP",
        help="every project of this group and its subgroups (repeatable)",
    )
    audit.add_argument("--since", help="only jobs created since: 7d, 12h, 30m, 2w or a date")
    _scopes(audit)
    audit.add_argument(
        "--strict", action="store_true", help="stop at the first project that cannot be read"
    )
    _formats(audit, ("table", "json", "csv"), fields=False)
    audit.add_argument(
        "--table",
        choices=("jobs", "status", "reasons", "failing", "flaky", "stages"),
        help="with --format csv: which table (default: jobs, one row per job)",
    )

    listing = command(
        "list",
        "list a project's or a pipeline's jobs",
        "Newest first.",
        "  gitlab-jobs list acme/app --scope failed --since 2d\n"
        "  gitlab-jobs list --pipeline 1234 --json id,name,status\n"
        "  gitlab-jobs list --format jsonl | jq .name",
    )
    listing.add_argument(
        "target",
        nargs="*",
        metavar="PROJECT",
        help="the project (default: -R, CI or the git remote)",
    )
    listing.add_argument(
        "--pipeline", type=_positive, metavar="ID", help="only this pipeline's jobs"
    )
    _scopes(listing)
    listing.add_argument("--since", help="only jobs created since: 7d, 12h, 30m, 2w or a date")
    listing.add_argument("--limit", type=_positive, metavar="N", help="at most N jobs")
    _formats(listing, ("table", "json", "jsonl", "csv"), fields=True)

    show = command(
        "show",
        "show one job",
        "Every field of the job.",
        "  gitlab-jobs show acme/app 1234\n  gitlab-jobs show lint -b main --web",
    )
    _job_target(show)
    _formats(show, ("table", "json"), fields=True)
    show.add_argument("--web", action="store_true", help="open the job in the browser")

    trace = command(
        "trace",
        "print (or follow) a job's log",
        "On a terminal the log keeps its colours (not with NO_COLOR); piped, it is\n"
        "plain text. Section markers are hidden either way.",
        "  gitlab-jobs trace acme/app 1234 --sections\n"
        "  gitlab-jobs trace lint -b main -f --exit-status",
    )
    _job_target(trace)
    trace.add_argument(
        "-f", "--follow", action="store_true", help="follow a running job until it ends"
    )
    trace.add_argument("--exit-status", action="store_true", help="exit 8 unless the job succeeded")
    trace.add_argument("--sections", action="store_true", help="then print each step's time")
    trace.add_argument("--raw", action="store_true", help="the log's bytes as they are")
    trace.add_argument(
        "--poll",
        type=_seconds,
        metavar="SECONDS",
        help="with -f: seconds between reads (default 3)",
    )

    pipeline = command(
        "pipeline",
        "show a pipeline's jobs by stage",
        "The exit code follows the pipeline's result with --watch or\n"
        "--exit-status: 0 for success, 8 otherwise.",
        "  gitlab-jobs pipeline -R acme/app 1234\n  gitlab-jobs pipeline -b main --watch",
    )
    _pipeline_target(pipeline)
    pipeline.add_argument(
        "--watch",
        action="store_true",
        help="redraw until the pipeline ends (or waits on a manual job)",
    )
    pipeline.add_argument(
        "--interval",
        type=_seconds,
        metavar="SECONDS",
        help="with --watch: seconds between reads (default 5)",
    )
    pipeline.add_argument(
        "--exit-status", action="store_true", help="exit 8 unless the pipeline succeeded"
    )
    _formats(pipeline, ("table", "json", "jsonl", "csv"), fields=True)
    pipeline.add_argument("--web", action="store_true", help="open the pipeline in the browser")

    logs = command(
        "logs",
        "print the logs of a pipeline's failed jobs",
        "Each log under a heading naming the job.",
        "  gitlab-jobs logs -b main --tail 30",
    )
    _pipeline_target(logs)
    logs.add_argument("--all", action="store_true", help="every job's log, not only failed ones")
    logs.add_argument("--tail", type=_positive, metavar="N", help="only the last N lines of each")

    again = command(
        "retry-failed",
        "retry the failed jobs of a pipeline",
        "Each failed job is retried once. A retry whose answer was lost is\n"
        "reported, never sent again (exit 7).",
        "  gitlab-jobs retry-failed -b main",
    )
    _pipeline_target(again)

    actions: list[tuple[str, str, str]] = [
        ("cancel", "cancel a job", "A finished job is left as it is."),
        ("retry", "retry a job", "The retry is a new job, with a new id."),
        ("erase", "erase a job's log and artifacts", "Asks first, unless --yes."),
        ("play", "run a manual job", "Job variables with --var KEY=VALUE."),
    ]
    watch = command(
        "watch",
        "print job transitions live",
        "New jobs and status changes, found by polling each project's newest jobs;\n"
        "one line each, or JSON Lines with --format json. Runs until Ctrl-C or --count.",
        "  gitlab-jobs watch acme/app --status failed\n"
        "  gitlab-jobs watch acme/app acme/web --format json | jq .name",
    )
    _watch_arguments(watch)
    _formats(watch, ("table", "json", "csv"), fields=False)

    for name, summary, text in actions:
        action = command(name, summary, text, f"  gitlab-jobs {name} acme/app 1234")
        _job_target(action)
        _formats(action, ("table", "json"), fields=False)
        if name == "play":
            action.add_argument(
                "--var", action="append", metavar="KEY=VALUE", help="a job variable (repeatable)"
            )
        if name == "cancel":
            action.add_argument(
                "--force",
                action="store_true",
                help="complete a job stuck in canceling (maintainers)",
            )
        if name == "erase":
            action.add_argument("-y", "--yes", action="store_true", help="do not ask")

    files = command(
        "artifacts",
        "download a job's artifacts",
        "The archive (a zip), or one file of it with --path; written atomically,\n"
        "with progress on a terminal. A job name means the latest successful job\n"
        "of that name on -b.",
        "  gitlab-jobs artifacts acme/app 1234 -o build.zip\n"
        "  gitlab-jobs artifacts build -b main --path dist/app.whl",
    )
    _job_target(files)
    files.add_argument("--path", metavar="FILE", help="one file of the archive")
    files.add_argument(
        "-o",
        "--output",
        metavar="PATH",
        help="where to write (default: artifacts.zip, or the file's name; - for stdout)",
    )
    files.add_argument("--force", action="store_true", help="replace an existing file")

    sub.add_parser(
        "demo",
        help="audit and follow jobs on an embedded fake GitLab",
        description="Audit and follow jobs on an embedded fake GitLab: no network, no token.",
    )
    serve = sub.add_parser(
        "serve",
        help="run the fake GitLab, seeded, for other tools",
        description="Run the fake GitLab with the demo's data until Ctrl-C.",
        epilog='examples:\n  eval "$(gitlab-jobs serve --port 8080 | grep ^export)"',
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.add_argument("--port", type=_port, default=0, help="port on 127.0.0.1 (default: free)")
    serve.add_argument(
        "--token", dest="serve_token", help="the seeded user's token (default: a new one each run)"
    )
    serve.add_argument(
        "--rate-limits",
        choices=("gitlab.com", "off"),
        default="off",
        help="simulate GitLab.com's rate limits (2,000/min API, 600/min jobs list) or none",
    )
    return parser
