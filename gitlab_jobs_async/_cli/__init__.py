# PYTHON_ARGCOMPLETE_OK  (argcomplete looks for this line: shell completion)
"""The ``gitlab-jobs`` command line: audits, logs, pipelines and job actions over the SDK.

``gitlab-jobs --help`` lists the commands, the settings and the exit codes (see
``_problems``). Shell completion comes with the ``cli`` extra's argcomplete::

    eval "$(register-python-argcomplete gitlab-jobs)"
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import traceback
from collections.abc import Mapping, Sequence
from typing import Any

from ._commands import command
from ._output import Output
from ._parser import build_parser
from ._problems import explain

__all__ = ["main", "run"]

_FIELDS_COMMANDS = ("list", "show", "pipeline")


def _complete(parser: argparse.ArgumentParser, environ: Mapping[str, str]) -> None:
    """Answer the shell's completion request, if this run is one (argcomplete installed)."""
    if "_ARGCOMPLETE" not in environ:
        return
    try:
        import argcomplete
    except ImportError:  # the `cli` extra is not installed
        return
    argcomplete.autocomplete(parser)


def _arguments(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse, letting positionals come after options (``trace acme/app -f 12``)."""
    args, extras = parser.parse_known_args(argv)
    unknown = [e for e in extras if e.startswith("-") and e != "-"]
    if unknown or (extras and not hasattr(args, "target")):
        parser.error(f"unrecognized arguments: {' '.join(unknown or extras)}")
    if extras:
        args.target = [*args.target, *extras]
    fields = getattr(args, "fields", None)
    json_fields = getattr(args, "json_fields", None)
    if json_fields is not None:
        if fields is not None:
            parser.error("--json FIELDS and --fields: use one")
        if getattr(args, "format", "table") not in ("table", "json"):
            parser.error("--json FIELDS writes JSON: drop --format")
        args.format, fields = "json", json_fields
    if fields is not None:
        from ._fields import FieldError, parse_fields

        try:
            args.fields = parse_fields(fields)
        except FieldError as exc:
            parser.error(str(exc))
    elif args.command in _FIELDS_COMMANDS:
        args.fields = None
    return args


async def _run(args: argparse.Namespace) -> int:
    from .._errors import APIError

    try:
        return await command(args.command)(args, args.out)
    except APIError as exc:
        if 300 <= exc.status < 400:
            args.redirect_to = await _where_redirected(exc.url)
        raise


async def _where_redirected(url: str) -> str | None:
    """Where a redirect answered to a JSON request points: asked again without any
    credential, and told without its query (it may be signed)."""
    import aiohttp
    from yarl import URL

    try:
        timeout = aiohttp.ClientTimeout(total=5)
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.get(url, allow_redirects=False) as resp,
        ):
            location = resp.headers.get("Location")
            if not location:
                return None
            target = resp.url.join(URL(location, encoded=True))
            return str(target.with_query(None).with_fragment(None).with_user(None))
    except (aiohttp.ClientError, TimeoutError, ValueError):
        return None


def main(argv: Sequence[str] | None = None, *, environ: Mapping[str, str] | None = None) -> int:
    """Run ``gitlab-jobs`` with ``argv`` (default: ``sys.argv[1:]``); return the exit code.

    Args:
        argv: the arguments, without the program name.
        environ: the environment to read settings from (default ``os.environ``).
    """
    env = os.environ if environ is None else environ
    parser = build_parser()
    _complete(parser, env)
    try:
        args = _arguments(parser, argv)
    except SystemExit as stop:  # --help, --version, or a usage error (exit 2)
        return stop.code if isinstance(stop.code, int) else 0
    if args.command is None:
        parser.print_help()
        return 0
    out = Output(getattr(args, "format", "table"), environ=env)
    args.out, args.environ, args.relay, args.settings = out, env, None, None
    args.redirect_to = None
    logger = logging.getLogger("gitlab_jobs_async")
    handler: logging.Handler | None = None
    if args.debug:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        logger.setLevel(logging.DEBUG)
    else:
        from ._progress import WarningRelay

        handler = args.relay = WarningRelay(lambda text: out.note(f"warning: {text}"))
    logger.addHandler(handler)
    try:
        return asyncio.run(_run(args))
    except KeyboardInterrupt:
        sys.stdout.flush()
        print("gitlab-jobs: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`gitlab-jobs ... | head`): stop quietly, as `cat` does.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:
        if args.debug:
            traceback.print_exc()
        chosen: Any = args.settings
        message, code = explain(
            exc,
            token_kind=chosen.kind if chosen is not None else None,
            token_source=chosen.token_origin if chosen is not None else None,
            redirect_to=args.redirect_to,
        )
        out.note(message)
        return code
    finally:
        logger.removeHandler(handler)
        if args.debug:
            logger.setLevel(logging.NOTSET)


def run() -> None:
    """The console script's entry point."""
    raise SystemExit(main())
