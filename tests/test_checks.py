"""Table tests of the argument checks: each names what it checks and refuses by name."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gitlab_jobs_async import GitLab, JobStatus
from gitlab_jobs_async import _checks as checks


@pytest.mark.parametrize(
    ("check", "name"),
    [
        (lambda v: checks.positive_int("chunk_size", v), "chunk_size"),
        (checks.job_id, "job_id"),
        (checks.pipeline_id, "pipeline_id"),
        (checks.per_page, "per_page"),
    ],
    ids=["positive_int", "job_id", "pipeline_id", "per_page"],
)
@pytest.mark.parametrize(
    ("value", "error"),
    [
        (0, ValueError),
        (-1, ValueError),
        (True, TypeError),
        ("8", TypeError),
        (8.0, TypeError),
        (None, TypeError),
    ],
)
def test_positive_ints_refuse_by_name(check, name, value, error):
    """Ids, sizes and limits must be positive ints; bools, strings, floats, None are refused."""
    with pytest.raises(error, match=name):
        check(value)


def test_per_page_range():
    """per_page must be within GitLab's 1..100."""
    assert checks.per_page(1) == 1 and checks.per_page(100) == 100
    with pytest.raises(ValueError, match="at most 100"):
        checks.per_page(101)


@pytest.mark.parametrize(
    ("project", "normalised"),
    [
        (42, 42),
        ("42", 42),
        ("group/app", "group/app"),
        ("my.group/app-1_x", "my.group/app-1_x"),
        ("g/ü", "g/ü"),
    ],
)
def test_project_forms(project, normalised):
    """A project is a positive id (int or digits, which become an int) or a full path."""
    assert checks.project(project) == normalised


@pytest.mark.parametrize(
    ("project", "error"),
    [
        ("", ValueError),
        (" group/app", ValueError),
        ("group//app", ValueError),
        ("/group/app", ValueError),
        ("group/app/", ValueError),
        (0, ValueError),
        (-3, ValueError),
        ("0", ValueError),
        (True, TypeError),
        (3.0, TypeError),
        (None, TypeError),
    ],
)
def test_project_rejects(project, error):
    """Empty, malformed, non-positive and non-int/str projects are refused with a clear error."""
    with pytest.raises(error, match="project"):
        checks.project(project)


def test_group_is_named_group():
    """A group is checked like a project, and its errors say "group"."""
    assert checks.group("acme/web") == "acme/web"
    with pytest.raises(ValueError, match="group"):
        checks.group("acme//web")


def test_statuses_forms():
    """A status, a list of statuses or enum members become GitLab's status values."""
    assert checks.statuses(None) == ()
    assert checks.statuses("failed") == ("failed",)
    assert checks.statuses(["failed", JobStatus.RUNNING]) == ("failed", "running")
    assert checks.statuses({JobStatus.CANCELING}) == ("canceling",)


@pytest.mark.parametrize(("scope", "error"), [("fail", ValueError), ([3], TypeError)])
def test_statuses_rejects(scope, error):
    """An unknown status or a non-string scope is refused, naming scope."""
    with pytest.raises(error, match="scope"):
        checks.statuses(scope)


@pytest.mark.parametrize(
    ("value", "error"),
    [(None, TypeError), ("", ValueError), (" x", ValueError), ("a/../b", ValueError)],
)
def test_artifact_path_rejects(value, error):
    """An artifact path must be a plain relative path."""
    with pytest.raises(error, match="artifact_path"):
        checks.artifact_path(value)


def test_artifact_path_strips_slashes():
    """Leading and trailing slashes are dropped from an artifact path."""
    assert checks.artifact_path("/reports/junit.xml/") == "reports/junit.xml"


@pytest.mark.parametrize(
    ("value", "error"),
    [(1, TypeError), ("yes", TypeError), (None, TypeError)],
)
def test_boolean_rejects(value, error):
    """Flags must be bools: 1, "yes" and None are refused by name."""
    with pytest.raises(error, match="force"):
        checks.boolean("force", value)


@pytest.mark.parametrize(
    ("value", "error"),
    [("2026-01-01", TypeError), (datetime(2026, 1, 1), ValueError)],
)
def test_aware_datetime_rejects(value, error):
    """created_after must be an aware datetime."""
    with pytest.raises(error, match="created_after"):
        checks.aware_datetime("created_after", value)


def test_aware_datetime_accepts_aware():
    """An aware datetime passes unchanged."""
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    assert checks.aware_datetime("created_after", moment) is moment


@pytest.mark.parametrize(
    ("variables", "error", "match"),
    [
        ({"N": 1}, TypeError, "variable"),
        ({"": "x"}, ValueError, "empty"),
        ([("K", "v")], TypeError, "variables"),
    ],
)
def test_variables_rejects(variables, error, match):
    """Job variables map non-empty str names to str values."""
    with pytest.raises(error, match=match):
        checks.variables(variables)


def test_choice_names_the_options():
    """A value outside the choices is refused, naming them."""
    assert checks.choice("pagination", "keyset", ("offset", "keyset")) == "keyset"
    with pytest.raises(ValueError, match="'offset' or 'keyset'"):
        checks.choice("pagination", "cursor", ("offset", "keyset"))


@pytest.mark.parametrize(
    ("value", "error"),
    [(0, ValueError), (-1.0, ValueError), (float("nan"), ValueError), ("3", TypeError)],
)
def test_positive_seconds_rejects(value, error):
    """Poll intervals are finite, positive numbers of seconds."""
    with pytest.raises(error, match="poll"):
        checks.positive_seconds("poll", value)


def _chain(exc: BaseException | None) -> list[BaseException]:
    found = []
    while exc is not None and exc not in found:
        found.append(exc)
        exc = exc.__cause__ or exc.__context__
    return found


@pytest.mark.parametrize(
    ("url", "what"),
    [
        ("oauth2:glpat-SECRET@gitlab.example.com", "credentials"),
        ("https://oauth2:glpat-SECRET@gitlab.example.com", "credentials"),
        ("ftp://user:SECRET@host", "credentials"),
        ("https://SECRET@gitlab.example.com:99999", "credentials"),
        ("http://user:SECRET@[::1", "credentials"),
        ("gitlab.example.com?private_token=glpat-SECRET", "query"),
        ("https://gitlab.example.com/?private_token=glpat-SECRET", "query"),
        ("https://gitlab.example.com/#SECRET", "fragment"),
        ("http://[::1/?token=SECRET", "query"),
    ],
)
def test_bad_url_errors_never_quote_the_secret(url, what):
    """A URL with a token in its user info, query or fragment is refused without showing it."""
    with pytest.raises(ValueError, match=what) as info:
        GitLab(url)
    for exc in _chain(info.value):
        assert "SECRET" not in str(exc) and "SECRET" not in repr(exc)


@pytest.mark.parametrize(
    ("url", "what", "shown"),
    [
        ("gitlab.example.com", "http\\(s\\) URL with a host", "gitlab.example.com"),
        ("ftp://gitlab.example.com", "http\\(s\\) URL with a host", "ftp://gitlab.example.com"),
        ("https://", "http\\(s\\) URL with a host", "https://"),
        ("http://[::1", "not a valid URL", "http://[::1"),
        ("https://gitlab.example.com:99999", "not a valid URL", ":99999"),
    ],
)
def test_bad_url_errors_name_the_problem(url, what, shown):
    """A URL without secrets is quoted, so the message shows what to fix, with no chained cause."""
    with pytest.raises(ValueError, match=what) as info:
        GitLab(url)
    assert shown in str(info.value)
    assert info.value.__cause__ is None and info.value.__context__ is None


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("https://u:p@host/x", "'https://<redacted>@host/x'"),
        ("u:p@host", "'<redacted>@host'"),
        ("https://host/a@b", "'https://host/a@b'"),
        ("host?private_token=x#y", "'host?<redacted>'"),
        ("https://host#frag", "'https://host#<redacted>'"),
    ],
)
def test_shown_url(text, shown):
    """User info before the host, the query and the fragment are redacted; a path is kept."""
    assert checks.shown_url(text) == shown


CONSTRUCTION = {
    "rpm 0": ({"requests_per_minute": 0}, ValueError, "requests_per_minute"),
    "rpm negative": ({"requests_per_minute": -60}, ValueError, "requests_per_minute"),
    "rpm NaN": ({"requests_per_minute": float("nan")}, ValueError, "requests_per_minute"),
    "rpm inf": ({"requests_per_minute": float("inf")}, ValueError, "requests_per_minute"),
    "rpm 1e-7": ({"requests_per_minute": 1e-7}, ValueError, "at least 1"),
    "rpm str": ({"requests_per_minute": "600"}, TypeError, "requests_per_minute"),
    "rpm bool": ({"requests_per_minute": True}, TypeError, "requests_per_minute"),
    "timeout None": ({"timeout": None}, TypeError, "timeout"),
    "timeout number": ({"timeout": 30}, TypeError, "ClientTimeout"),
    "ssl 'yes'": ({"ssl": "yes"}, TypeError, "ssl"),
    "ssl None": ({"ssl": None}, TypeError, "ssl"),
    "user_agent CRLF": ({"user_agent": "x\r\nX-Injected: 1"}, ValueError, "user_agent"),
    "user_agent NUL": ({"user_agent": "x\x00"}, ValueError, "user_agent"),
    "user_agent None": ({"user_agent": None}, TypeError, "user_agent"),
    "private_token NUL": ({"private_token": "glpat-SE\x00CRET"}, ValueError, "private_token"),
    "private_token CR": ({"private_token": "glpat-SE\rCRET"}, ValueError, "private_token"),
    "oauth_token LF": ({"oauth_token": "SECRET\n"}, ValueError, "oauth_token"),
    "job_token int": ({"job_token": 123}, TypeError, "job_token"),
    "retry str": ({"retry": "fast"}, TypeError, "retry"),
    "session str": ({"session": "shared"}, TypeError, "session"),
    "max_concurrency 0": ({"max_concurrency": 0}, ValueError, "max_concurrency"),
    "max_body_size 0": ({"max_body_size": 0}, ValueError, "max_body_size"),
    "per_page 101": ({"per_page": 101}, ValueError, "per_page"),
}


@pytest.mark.parametrize(("options", "error", "match"), CONSTRUCTION.values(), ids=CONSTRUCTION)
def test_construction_refuses_careless_options(options, error, match):
    """Options that would fail later (or pace for years) are refused by name at construction."""
    with pytest.raises(error, match=match) as info:
        GitLab("https://gitlab.example.com", **options)
    assert "SECRET" not in str(info.value)


@pytest.mark.parametrize("pace", [1, 1.0, 600, 2000.5, None])
def test_reasonable_paces_are_accepted(pace):
    """A pace of one request a minute or more, or none, is accepted."""
    gl = GitLab("https://gitlab.example.com", requests_per_minute=pace)
    assert gl.url == "https://gitlab.example.com/api/v4/"
