"""The command line's pure rules, as tables: safe text, durations, --since, log lines,
remotes, stage order, progress lines and error messages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gitlab_jobs_async import (
    APIError,
    Forbidden,
    NotFound,
    OutcomeUnknown,
    RateLimited,
    ResponseError,
    TransportError,
    Unauthorized,
)
from gitlab_jobs_async._cli._audit import stage_order
from gitlab_jobs_async._cli._problems import ConfigError, explain, network_reason
from gitlab_jobs_async._cli._progress import AuditProgress
from gitlab_jobs_async._cli._project import project_of_remote
from gitlab_jobs_async._cli._text import (
    SinceError,
    csv_cell,
    duration,
    json_safe,
    parse_since,
    printable,
    when,
)
from gitlab_jobs_async._cli._trace import render_line

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)

PRINTABLE = {
    "plain": ("lint", "lint"),
    "matrix brackets kept": ("deploy: [aws, monitoring]", "deploy: [aws, monitoring]"),
    "rich markup kept as text": ("lint [/bold]", "lint [/bold]"),
    "OSC title": ("x\x1b]0;owned\x07y", "x\\x1b]0;owned\\x07y"),
    "clear screen": ("\x1b[2J\x1b[H", "\\x1b[2J\\x1b[H"),
    "C1 CSI": ("a\x9b31mb", "a\\x9b31mb"),
    "bidi override": ("abc\u202edef", "abc\\u202edef"),
    "newline and tab": ("a\nb\tc\r", "a\\nb\\tc\\r"),
    "DEL and NUL": ("a\x7f\x00", "a\\x7f\\x00"),
    "unicode letters kept": ("déploiement ✓", "déploiement ✓"),
}


@pytest.mark.parametrize(("text", "shown"), PRINTABLE.values(), ids=PRINTABLE)
def test_printable(text, shown):
    """Control and bidi characters become visible escapes; everything else stays."""
    assert printable(text) == shown


CSV = {
    "formula": ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
    "plus": ("+1+1", "'+1+1"),
    "minus": ("-2+3", "'-2+3"),
    "at": ("@SUM(A1)", "'@SUM(A1)"),
    "leading tab": ("\t=1", "'\\t=1"),
    "leading CR": ("\r=1", "'\\r=1"),
    "plain text": ("lint", "lint"),
    "number stays a number": (-5, -5),
    "float seconds": (12.5, 12.5),
    "datetime as ISO 8601": (NOW, "2026-12-01T12:00:00+00:00"),
    "none empty": (None, ""),
}


@pytest.mark.parametrize(("value", "cell"), CSV.values(), ids=CSV)
def test_csv_cell(value, cell):
    """Cells a spreadsheet would execute get a leading quote; numbers and times stay raw."""
    assert csv_cell(value) == cell


def test_json_safe_escapes_what_a_terminal_would_act_on():
    """JSON text keeps its meaning, but C1 and bidi characters are written as \\u escapes."""
    import json

    text = json.dumps({"name": "a\x9bb\u202e"}, ensure_ascii=False)
    safe = json_safe(text)
    assert "\x9b" not in safe and "\u202e" not in safe
    assert json.loads(safe) == {"name": "a\x9bb\u202e"}


DURATIONS = {
    "none": (None, ""),
    "zero": (0, "0s"),
    "seconds": (45.4, "45s"),
    "minutes": (2652, "44m 12s"),
    "hours": (3 * 3600 + 300, "3h 05m"),
    "days": (2651217, "30d 16h"),
}


@pytest.mark.parametrize(("seconds", "shown"), DURATIONS.values(), ids=DURATIONS)
def test_duration(seconds, shown):
    """Durations read as people say them."""
    assert duration(seconds) == shown


WHEN = {
    "none": (None, ""),
    "just now": (NOW - timedelta(seconds=20), "just now"),
    "minutes": (NOW - timedelta(minutes=12), "12m ago"),
    "hours": (NOW - timedelta(hours=5, minutes=3), "5h ago"),
    "days": (NOW - timedelta(days=3), "3d ago"),
    "a date beyond 30 days": (NOW - timedelta(days=45), "2026-10-17"),
    "ahead": (NOW + timedelta(minutes=5), "in 5m"),
}


@pytest.mark.parametrize(("moment", "shown"), WHEN.values(), ids=WHEN)
def test_when(moment, shown):
    """Times in tables are short and relative."""
    assert when(moment, NOW) == shown


SINCE = {
    "days": ("7d", NOW - timedelta(days=7)),
    "weeks": ("2w", NOW - timedelta(weeks=2)),
    "minutes": ("30m", NOW - timedelta(minutes=30)),
    "a date, UTC": ("2026-11-01", datetime(2026, 11, 1, tzinfo=UTC)),
    "an offset kept": (
        "2026-11-01T10:00:00+02:00",
        datetime.fromisoformat("2026-11-01T10:00:00+02:00"),
    ),
}


@pytest.mark.parametrize(("text", "moment"), SINCE.values(), ids=SINCE)
def test_parse_since(text, moment):
    """--since takes durations back from now, or dates."""
    assert parse_since(text, NOW) == moment


@pytest.mark.parametrize("text", ["99999999999d", "9" * 5000 + "d", "soon", "7 days", "\x1b[2J"])
def test_parse_since_refuses_with_a_message(text):
    """Far past the year 1, or not a duration: a SinceError naming --since, never a traceback."""
    with pytest.raises(SinceError, match="--since") as caught:
        parse_since(text, NOW)
    assert "\x1b" not in str(caught.value)


LOG_LINES = {
    "plain": ("hello", False, "hello"),
    "colour stripped without colour": ("\x1b[32;1mok\x1b[0;m", False, "ok"),
    "colour kept on a terminal": ("\x1b[32;1mok\x1b[0;m", True, "\x1b[32;1mok\x1b[0;m\x1b[0m"),
    "section end dropped": ("section_end:1764000064:step_script\r\x1b[0K", False, None),
    "section start shows its header": (
        "section_start:1764000000:step_script\r\x1b[0K\x1b[0K\x1b[36;1mRunning\x1b[0;m",
        False,
        "Running",
    ),
    "blank line kept": ("", False, ""),
    "title escape removed": ("a\x1b]0;owned\x07b", True, "ab"),
    "clear screen removed": ("\x1b[2Jtext", True, "text"),
    "bare control made visible": ("bell\x07", False, "bell\\x07"),
}


@pytest.mark.parametrize(("line", "colour", "shown"), LOG_LINES.values(), ids=LOG_LINES)
def test_render_line(line, colour, shown):
    """A log line as a terminal would show it: only colour codes survive, markers go."""
    assert render_line(line, colour=colour) == shown


REMOTES = {
    "scp-like": ("git@gitlab.example.com:group/app.git", "group/app"),
    "nested groups": ("git@gitlab.com:acme/web/frontend.git", "acme/web/frontend"),
    "https": ("https://gitlab.example.com/group/sub/app.git", "group/sub/app"),
    "https without .git": ("https://gitlab.example.com/group/app", "group/app"),
    "ssh with port": ("ssh://git@gitlab.example.com:2222/group/app.git", "group/app"),
    "token in https remote": ("https://oauth2:glpat-x@gitlab.example.com/g/app.git", "g/app"),
    "not a project": ("https://gitlab.example.com/app.git", None),
    "a local path": ("/srv/git/app.git", None),
}


@pytest.mark.parametrize(("remote", "project"), REMOTES.values(), ids=REMOTES)
def test_project_of_remote(remote, project):
    """The project path is read from every usual form of a git remote."""
    assert project_of_remote(remote) == project


STAGES = {
    "one pipeline": ([[(1, "build"), (2, "test"), (3, "deploy")]], ["build", "test", "deploy"]),
    "a retry does not move a stage": (
        [[(1, "build"), (2, "test"), (9, "build")]],
        ["build", "test"],
    ),
    "alphabet is not the order": (
        [[(1, "test"), (2, "deploy")], [(5, "build"), (6, "test"), (7, "deploy")]],
        ["build", "test", "deploy"],
    ),
}


@pytest.mark.parametrize(("pipelines", "order"), STAGES.values(), ids=STAGES)
def test_stage_order(pipelines, order):
    """Stages come in pipeline order, from their first job id in each pipeline."""
    assert stage_order(pipelines) == order


def test_progress_lines_are_bounded_and_count_projects_audited():
    """40 projects fit in a few lines; finished ones are marked; counts name projects, not pages."""
    progress = AuditProgress.of([f"g/p{i}" for i in range(40)], 0.0, NOW - timedelta(days=7))
    for i in range(3):
        progress.job("g/p0", NOW - timedelta(days=i))
    progress.finish("g/p1")
    progress.finish("g/p2", "skipped")
    progress.warn("pausing all requests for 12.0s: 429 from GitLab", 9.0)
    lines = progress.lines(10.0, rows=5)
    assert len(lines) == 1 + 5 + 1 + 1
    assert lines[0].startswith("3 jobs from 1 of 40 projects done, 1 skipped")
    assert "g/p0: 3 jobs, back to 2026-11-29" in lines[1]
    assert "… and 35 more (1 done)" in lines[-2]
    assert "429 from GitLab" in lines[-1] and "1s ago" in lines[-1]
    assert len(progress.lines(60.0, rows=5)) == 7  # an old warning is no longer shown


URL = "https://gitlab.example.com/api/v4/projects/g%2Fa/jobs"


def _api(cls: type[APIError], status: int, message: str, **extra: Any) -> APIError:
    return cls(message, status=status, method="GET", url=URL, **extra)


EXPLAINED = {
    "404 said once": (
        _api(NotFound, 404, "404 Project Not Found"),
        {},
        4,
        "404 Project Not Found:",
    ),
    "401 with a job token": (
        _api(Unauthorized, 401, "401 Unauthorized"),
        {"token_kind": "job_token"},
        3,
        "CI job token",
    ),
    "401 without a token": (_api(Unauthorized, 401, "401 Unauthorized"), {}, 3, "no token"),
    "401 with a token": (
        _api(Unauthorized, 401, "401 Unauthorized"),
        {"token_kind": "private_token", "token_source": "GITLAB_TOKEN"},
        3,
        "from GITLAB_TOKEN is unknown",
    ),
    "403": (_api(Forbidden, 403, "403 Forbidden"), {}, 3, "role"),
    "429 says when": (
        _api(RateLimited, 429, "Retry later", retry_after=42.0),
        {"now": NOW},
        6,
        "retry in 42s (at 12:00:42 UTC)",
    ),
    "301 says where": (
        _api(APIError, 301, "(empty body)"),
        {"redirect_to": "https://gitlab.example.com/api/v4/projects/g%2Fa/jobs"},
        1,
        "pointing to https://gitlab.example.com",
    ),
    "broken data is not bad usage": (
        ResponseError("unexpected Job shape", status=200, method="GET", url=URL),
        {},
        1,
        "not what GitLab sends",
    ),
    "outcome unknown": (
        OutcomeUnknown("may have reached GitLab", method="POST", url=URL),
        {},
        5,
        "may have reached",
    ),
    "config": (ConfigError("no GitLab URL"), {}, 2, "no GitLab URL"),
    "unexpected": (KeyError("x"), {}, 1, "unexpected KeyError"),
}


@pytest.mark.parametrize(("exc", "context", "code", "words"), EXPLAINED.values(), ids=EXPLAINED)
def test_explain(exc, context, code, words):
    """Each failure has one clear sentence (status once) and its documented exit code."""
    message, got = explain(exc, **context)
    assert got == code
    assert words in message
    assert "404 404" not in message and "_cli" not in message


class _Refused(OSError):
    def __str__(self) -> str:
        return (
            "Cannot connect to host 127.0.0.1:9 ssl:default [Connect call failed ('127.0.0.1', 9)]"
        )


class _Unknown(OSError):
    def __str__(self) -> str:
        return "Cannot connect to host nohost.invalid:443 ssl:default [Name or service not known]"


@pytest.mark.parametrize(
    ("cause", "words"), [(_Refused(), "connection refused"), (_Unknown(), "name not known")]
)
def test_network_reason(cause, words):
    """aiohttp's class names become "connection refused" or "name not known"."""
    exc = TransportError("request failed: ClientConnectorError", method="GET", url=URL)
    exc.__cause__ = cause
    assert network_reason(exc).startswith(words)
    message, code = explain(exc)
    assert code == 5 and "ClientConnectorError" not in message
    assert message.startswith(f"cannot reach gitlab.example.com: {words}")
