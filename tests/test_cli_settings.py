"""Where the command line connects and with which token: a token goes only to the URL it was
set up with, whichever of the environment, CI or python-gitlab's file set it."""

from __future__ import annotations

import re

import pytest

from gitlab_jobs_async import GitLab
from gitlab_jobs_async._cli._settings import ConfigError, settings

A = "https://a.example"
B = "https://b.example"
GITLAB_ENV = {"GITLAB_URL": A, "GITLAB_TOKEN": "env-secret"}
CI_ENV = {"CI_SERVER_URL": A, "CI_JOB_TOKEN": "job-secret"}
HOST_ENV = {"GITLAB_HOST": "a.example", "GITLAB_OAUTH_TOKEN": "oauth-secret"}

ROUTES = {
    "--url and --token": (B, "flag", GITLAB_ENV, B, {"private_token": "flag"}, False),
    "--token with GITLAB_URL": (None, "flag", GITLAB_ENV, A, {"private_token": "flag"}, False),
    "--token in a CI job": (None, "flag", CI_ENV, A, {"private_token": "flag"}, False),
    "--url elsewhere, GITLAB_TOKEN kept back": (B, None, GITLAB_ENV, B, {}, True),
    "--url elsewhere, CI_JOB_TOKEN kept back": (B, None, CI_ENV, B, {}, True),
    "--url naming GITLAB_URL": (
        f"{A}/api/v4/", None, GITLAB_ENV, f"{A}/api/v4/", {"private_token": "env-secret"}, False,
    ),
    "--url naming the CI server": (
        f"{A}:443", None, CI_ENV, f"{A}:443", {"job_token": "job-secret"}, False,
    ),
    "--url, other scheme": ("http://a.example", None, GITLAB_ENV, "http://a.example", {}, True),
    "--url, no environment": (B, None, {}, B, {}, False),
    "--url, environment without token": (B, None, {"GITLAB_URL": A}, B, {}, False),
    "environment only": (None, None, GITLAB_ENV, A, {"private_token": "env-secret"}, False),
    "CI job only": (None, None, CI_ENV, A, {"job_token": "job-secret"}, False),
    "GITLAB_HOST gets https": (None, None, HOST_ENV, A, {"oauth_token": "oauth-secret"}, False),
    "GITLAB_PRIVATE_TOKEN": (
        None, None, {"GITLAB_URL": A, "GITLAB_PRIVATE_TOKEN": "p"}, A, {"private_token": "p"},
        False,
    ),
    "GITLAB_URL beats the CI server": (
        None, None, GITLAB_ENV | CI_ENV, A, {"private_token": "env-secret"}, False,
    ),
    "GITLAB_TOKEN in CI replaces the job token": (
        None, None, CI_ENV | {"GITLAB_TOKEN": "t"}, A, {"private_token": "t"}, False,
    ),
}  # fmt: skip


@pytest.mark.parametrize(
    ("url", "token", "env", "sent_url", "tokens", "noted"), ROUTES.values(), ids=ROUTES
)
def test_token_routing(url, token, env, sent_url, tokens, noted, tmp_path):
    """Flags win; a token from the environment only ever goes to that environment's URL."""
    chosen = settings(url, token, env | {"HOME": str(tmp_path)})
    assert (chosen.url, chosen.tokens) == (sent_url, tokens)
    assert (chosen.note is not None) == noted
    if chosen.note is not None:
        assert "--token" in chosen.note and "secret" not in chosen.note
        assert "b.example" not in chosen.note


def config(tmp_path, text: str) -> dict[str, str]:
    path = tmp_path / "gitlab.cfg"
    path.write_text(text)
    return {"PYTHON_GITLAB_CFG": str(path)}


CFG = f"""
[global]
default = a
ssl_verify = false

[a]
url = {A}
private_token = cfg-secret

[b]
url = {B}
oauth_token = b-secret
ssl_verify = true
"""


def test_python_gitlab_file_default_and_named_sections(tmp_path):
    """The file's default section, or -g NAME; each section's token goes to its own URL."""
    env = config(tmp_path, CFG)
    chosen = settings(None, None, env)
    assert (chosen.url, chosen.tokens, chosen.ssl_verify) == (A, {"private_token": "cfg-secret"},
                                                              False)  # fmt: skip
    chosen = settings(None, None, env, "b")
    assert (chosen.url, chosen.tokens, chosen.ssl_verify) == (B, {"oauth_token": "b-secret"}, True)
    assert settings(B, None, env).tokens == {}  # the default section's token stays with A
    assert settings(A, None, env).tokens == {"private_token": "cfg-secret"}
    assert settings(None, None, env | GITLAB_ENV).tokens == {"private_token": "env-secret"}
    assert settings(None, None, env | GITLAB_ENV, "b").url == B  # -g is explicit: it wins


@pytest.mark.parametrize(
    ("text", "gitlab_id", "words"),
    [
        ("[global]\ndefault = gone\n", None, "no [gone] section"),
        ("[a]\nurl = https://a\n", "b", "sections: a"),
        ("not ini", None, "malformed"),
        ("[a]\nurl = https://a\nprivate_token = x\njob_token = y\n", "a", "several tokens"),
        ("[a]\nurl = https://a\nprivate_token = helper: /nonexistent/helper\n", "a", "helper"),
    ],
)
def test_python_gitlab_file_mistakes_are_config_errors(tmp_path, text, gitlab_id, words):
    """A broken configuration file is a clear ConfigError (exit 2), never a traceback."""
    with pytest.raises(ConfigError, match=re.escape(words)):
        settings(None, None, config(tmp_path, text), gitlab_id)


def test_missing_configuration_file_named_by_the_environment(tmp_path):
    """PYTHON_GITLAB_CFG naming no file is refused, as python-gitlab does."""
    with pytest.raises(ConfigError, match="PYTHON_GITLAB_CFG"):
        settings(None, None, {"PYTHON_GITLAB_CFG": str(tmp_path / "none.cfg")})


@pytest.mark.parametrize("token", [None, "flag"])
def test_token_routing_without_any_url(token, tmp_path):
    """With no --url and no URL in the environment, the error says what to set."""
    with pytest.raises(ConfigError, match="GITLAB_URL"):
        settings(None, token, {"GITLAB_TOKEN": "env-secret", "HOME": str(tmp_path)})


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({"GITLAB_URL": "ftp://user:TOKEN@host"}, "$GITLAB_URL is malformed"),
        ({"GITLAB_HOST": "gitlab.example.com:99999"}, "$GITLAB_HOST is malformed"),
    ],
)
def test_malformed_url_says_malformed_not_missing(env, words, tmp_path):
    """A malformed URL is named as malformed, and its credentials are not quoted."""
    with pytest.raises(ConfigError, match=re.escape(words)) as caught:
        settings(None, None, env | {"HOME": str(tmp_path)})
    assert "TOKEN" not in str(caught.value)


def test_from_env_explicit_token_wins():
    """GitLab.from_env(private_token=...) uses that token with the environment's URL."""
    gl = GitLab.from_env(GITLAB_ENV, private_token="flag")
    assert gl.url == f"{A}/api/v4/" and "auth=private_token" in repr(gl)
    assert (
        GitLab.from_env(CI_ENV, oauth_token="o").__repr__().endswith("auth=oauth_token unopened>")
    )
    assert "auth=job_token" in repr(GitLab.from_env(CI_ENV, private_token=None))
