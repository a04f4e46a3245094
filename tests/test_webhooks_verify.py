"""verify() and parse(): tokens, Standard Webhooks signatures, and the order of the checks, as tables."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
from multidict import CIMultiDict

from gitlab_jobs_async import GitLabError
from gitlab_jobs_async.webhooks import (
    Event,
    InvalidSignature,
    InvalidToken,
    JobEvent,
    MalformedPayload,
    MissingSignature,
    MissingToken,
    PayloadTooLarge,
    PipelineEvent,
    StaleSignature,
    VerificationError,
    Verifier,
    WebhookError,
    parse,
    verify,
)

FIXTURES = Path(__file__).parent / "fixtures" / "webhooks"
JOB_BODY = (FIXTURES / "job_pending_null_runner.json").read_bytes()

# The example of the Standard Webhooks specification (also Svix's documentation): a signature
# computed by their reference implementation, so this suite's own signing is checked against
# something it did not compute.
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TS = 1614265330
VECTOR_BODY = b'{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

TOKEN = "s3cret-token-value"
OLD = "whsec_" + base64.b64encode(b"o" * 32).decode()
NEW = "whsec_" + base64.b64encode(b"n" * 32).decode()
RETIRED = "whsec_" + base64.b64encode(b"r" * 32).decode()
NOW = 1_750_000_000
SECRETS = (TOKEN, OLD, NEW, RETIRED, VECTOR_SECRET, OLD[6:], NEW[6:], RETIRED[6:])


def sign(secret: str, msg_id: str, ts: int | str, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def signed(
    secret: str = NEW, *, body: bytes = JOB_BODY, msg_id: str = "evt-1", ts: int = NOW
) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": sign(secret, msg_id, ts, body),
    }


def test_signing_matches_the_published_vector():
    """This suite's signer reproduces the Standard Webhooks example signature."""
    assert sign(VECTOR_SECRET, VECTOR_ID, VECTOR_TS, VECTOR_BODY) == VECTOR_SIGNATURE


VECTOR_HEADERS = {
    "webhook-id": VECTOR_ID,
    "webhook-timestamp": str(VECTOR_TS),
    "webhook-signature": VECTOR_SIGNATURE,
}

TOKEN_ONLY: dict[str, Any] = {"secret_token": TOKEN}
SIGNING_ONLY: dict[str, Any] = {"signing_secrets": [NEW]}
ROTATING: dict[str, Any] = {"signing_secrets": [NEW, OLD]}
BOTH: dict[str, Any] = {"secret_token": TOKEN, "signing_secrets": [NEW]}

# fmt: off
CASES: list[tuple[str, dict[str, Any], Any, bytes, float, type[Exception] | None]] = [
    # name, configuration, headers, body, now, expected error (None: accepted)
    ("token matches", TOKEN_ONLY, {"X-Gitlab-Token": TOKEN}, JOB_BODY, NOW, None),
    ("token header in lower case", TOKEN_ONLY, {"x-gitlab-token": TOKEN}, JOB_BODY, NOW, None),
    ("token header in odd case", TOKEN_ONLY, {"X-GITLAB-token": TOKEN}, JOB_BODY, NOW, None),
    ("token in a CIMultiDict", TOKEN_ONLY, CIMultiDict({"X-Gitlab-Token": TOKEN}), JOB_BODY, NOW, None),
    ("token in a read-only mapping", TOKEN_ONLY, MappingProxyType({"X-Gitlab-Token": TOKEN}), JOB_BODY, NOW, None),
    ("token missing", TOKEN_ONLY, {}, JOB_BODY, NOW, MissingToken),
    ("token empty", TOKEN_ONLY, {"X-Gitlab-Token": ""}, JOB_BODY, NOW, InvalidToken),
    ("token wrong", TOKEN_ONLY, {"X-Gitlab-Token": "guess"}, JOB_BODY, NOW, InvalidToken),
    ("token a prefix", TOKEN_ONLY, {"X-Gitlab-Token": TOKEN[:-1]}, JOB_BODY, NOW, InvalidToken),
    ("token with more", TOKEN_ONLY, {"X-Gitlab-Token": TOKEN + "x"}, JOB_BODY, NOW, InvalidToken),
    ("token other case", TOKEN_ONLY, {"X-Gitlab-Token": TOKEN.upper()}, JOB_BODY, NOW, InvalidToken),
    ("token twice, same", TOKEN_ONLY, CIMultiDict([("X-Gitlab-Token", TOKEN), ("x-gitlab-token", TOKEN)]), JOB_BODY, NOW, None),
    ("token twice, differing", TOKEN_ONLY, CIMultiDict([("X-Gitlab-Token", "guess"), ("X-Gitlab-Token", TOKEN)]), JOB_BODY, NOW, InvalidToken),
    ("token twice in a dict, differing", TOKEN_ONLY, {"X-Gitlab-Token": TOKEN, "x-gitlab-token": "guess"}, JOB_BODY, NOW, InvalidToken),
    ("published vector", {"signing_secrets": [VECTOR_SECRET]}, VECTOR_HEADERS, VECTOR_BODY, VECTOR_TS, None),
    ("published vector, body changed", {"signing_secrets": [VECTOR_SECRET]}, VECTOR_HEADERS, VECTOR_BODY + b" ", VECTOR_TS, InvalidSignature),
    ("signed", SIGNING_ONLY, signed(), JOB_BODY, NOW, None),
    ("signed, headers in upper case", SIGNING_ONLY, {k.upper(): v for k, v in signed().items()}, JOB_BODY, NOW, None),
    ("signed, 300 s old", SIGNING_ONLY, signed(), JOB_BODY, NOW + 300, None),
    ("signed, 301 s old", SIGNING_ONLY, signed(), JOB_BODY, NOW + 301, StaleSignature),
    ("signed, 300 s ahead", SIGNING_ONLY, signed(), JOB_BODY, NOW - 300, None),
    ("signed, 301 s ahead", SIGNING_ONLY, signed(), JOB_BODY, NOW - 301, StaleSignature),
    ("signed a day ago", SIGNING_ONLY, signed(ts=NOW - 86400), JOB_BODY, NOW, StaleSignature),
    ("stale and forged: forged wins", SIGNING_ONLY, signed(RETIRED, ts=NOW - 86400), JOB_BODY, NOW, InvalidSignature),
    ("body changed", SIGNING_ONLY, signed(), JOB_BODY + b"\n", NOW, InvalidSignature),
    ("body truncated", SIGNING_ONLY, signed(), JOB_BODY[:-1], NOW, InvalidSignature),
    ("id changed", SIGNING_ONLY, signed() | {"webhook-id": "evt-2"}, JOB_BODY, NOW, InvalidSignature),
    ("timestamp changed", SIGNING_ONLY, signed() | {"webhook-timestamp": str(NOW + 1)}, JOB_BODY, NOW, InvalidSignature),
    ("other secret", SIGNING_ONLY, signed(RETIRED), JOB_BODY, NOW, InvalidSignature),
    ("second of two entries", SIGNING_ONLY, signed() | {"webhook-signature": sign(OLD, "evt-1", NOW, JOB_BODY) + " " + signed()["webhook-signature"]}, JOB_BODY, NOW, None),
    ("entry after bad base64", SIGNING_ONLY, signed() | {"webhook-signature": "v1,@@@ v1, " + signed()["webhook-signature"]}, JOB_BODY, NOW, None),
    ("v1a entry only", SIGNING_ONLY, signed() | {"webhook-signature": "v1a," + signed()["webhook-signature"][3:]}, JOB_BODY, NOW, InvalidSignature),
    ("v2 entry only", SIGNING_ONLY, signed() | {"webhook-signature": "v2," + signed()["webhook-signature"][3:]}, JOB_BODY, NOW, InvalidSignature),
    ("bare signature, no version", SIGNING_ONLY, signed() | {"webhook-signature": signed()["webhook-signature"][3:]}, JOB_BODY, NOW, InvalidSignature),
    ("signature of the hex digest", SIGNING_ONLY, signed() | {"webhook-signature": "v1," + hashlib.sha256(JOB_BODY).hexdigest()}, JOB_BODY, NOW, InvalidSignature),
    ("two signature headers", SIGNING_ONLY, CIMultiDict([*signed().items(), ("webhook-signature", "v1,AAAA")]), JOB_BODY, NOW, InvalidSignature),
    ("no webhook-id", SIGNING_ONLY, {k: v for k, v in signed().items() if k != "webhook-id"}, JOB_BODY, NOW, MissingSignature),
    ("no webhook-timestamp", SIGNING_ONLY, {k: v for k, v in signed().items() if k != "webhook-timestamp"}, JOB_BODY, NOW, MissingSignature),
    ("no webhook-signature", SIGNING_ONLY, {k: v for k, v in signed().items() if k != "webhook-signature"}, JOB_BODY, NOW, MissingSignature),
    ("empty webhook-signature", SIGNING_ONLY, signed() | {"webhook-signature": ""}, JOB_BODY, NOW, MissingSignature),
    ("timestamp with a fraction", SIGNING_ONLY, signed() | {"webhook-timestamp": f"{NOW}.5"}, JOB_BODY, NOW, InvalidSignature),
    ("timestamp negative", SIGNING_ONLY, signed() | {"webhook-timestamp": "-5"}, JOB_BODY, NOW, InvalidSignature),
    ("timestamp in Arabic-Indic digits", SIGNING_ONLY, signed() | {"webhook-timestamp": "١٧٥٠٠٠٠٠٠٠"}, JOB_BODY, NOW, InvalidSignature),
    ("timestamp huge", SIGNING_ONLY, signed() | {"webhook-timestamp": "9" * 40}, JOB_BODY, NOW, InvalidSignature),
    ("rotation: new secret", ROTATING, signed(NEW), JOB_BODY, NOW, None),
    ("rotation: old secret", ROTATING, signed(OLD), JOB_BODY, NOW, None),
    ("rotation: retired secret", ROTATING, signed(RETIRED), JOB_BODY, NOW, InvalidSignature),
    ("rotation: old secret dropped", SIGNING_ONLY, signed(OLD), JOB_BODY, NOW, InvalidSignature),
    ("both: both sent", BOTH, signed() | {"X-Gitlab-Token": TOKEN}, JOB_BODY, NOW, None),
    ("both: token only", BOTH, {"X-Gitlab-Token": TOKEN}, JOB_BODY, NOW, MissingSignature),
    ("both: signature only", BOTH, signed(), JOB_BODY, NOW, MissingToken),
    ("both: wrong token, good signature", BOTH, signed() | {"X-Gitlab-Token": "guess"}, JOB_BODY, NOW, InvalidToken),
    ("both: good token, bad signature", BOTH, signed(RETIRED) | {"X-Gitlab-Token": TOKEN}, JOB_BODY, NOW, InvalidSignature),
    ("signing only: a token is not enough", SIGNING_ONLY, {"X-Gitlab-Token": TOKEN}, JOB_BODY, NOW, MissingSignature),
    ("token only: a signature is not enough", TOKEN_ONLY, signed(), JOB_BODY, NOW, MissingToken),
]
# fmt: on


@pytest.mark.parametrize(
    ("config", "headers", "body", "now", "error"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_verify(config, headers, body, now, error):
    """Each delivery is accepted or refused with the named VerificationError, never a secret."""
    if error is None:
        verify(headers, body, now=now, **config)  # returns None, raises nothing
        return
    with pytest.raises(error) as caught:
        verify(headers, body, now=now, **config)
    assert isinstance(caught.value, VerificationError)
    assert isinstance(caught.value, GitLabError)
    assert caught.value.status == 401
    for secret in SECRETS:
        assert secret not in str(caught.value)
    assert caught.value.__cause__ is None


def test_verify_takes_any_bytes_like_body():
    """The raw body may be bytes, a bytearray or a memoryview."""
    for body in (JOB_BODY, bytearray(JOB_BODY), memoryview(JOB_BODY)):
        verify(signed(), body, signing_secrets=NEW, now=NOW)


def test_a_single_secret_string_is_one_secret():
    """signing_secrets="whsec_..." is one secret, not a list of characters."""
    verify(signed(), JOB_BODY, signing_secrets=NEW, now=NOW)


def test_verifier_uses_its_clock_and_hides_its_secrets():
    """A prepared Verifier reads its clock for staleness and shows no secret in its repr."""
    clock = iter([NOW, NOW + 301]).__next__
    verifier = Verifier(secret_token=TOKEN, signing_secrets=[NEW, OLD], clock=clock)
    headers = signed() | {"X-Gitlab-Token": TOKEN}
    verifier.verify(headers, JOB_BODY)
    with pytest.raises(StaleSignature):
        verifier.verify(headers, JOB_BODY)
    assert repr(verifier) == "Verifier(secret_token=set, signing_secrets=2)"
    assert not any(secret in repr(verifier) for secret in SECRETS)


def test_tolerance_is_configurable():
    """A smaller tolerance refuses what the default accepts."""
    verify(signed(), JOB_BODY, signing_secrets=NEW, now=NOW + 60)
    with pytest.raises(StaleSignature, match="at most 30 s"):
        verify(signed(), JOB_BODY, signing_secrets=NEW, now=NOW + 60, tolerance=30)


@pytest.mark.parametrize(
    ("config", "error", "message"),
    [
        ({}, ValueError, "nothing to verify"),
        ({"signing_secrets": []}, ValueError, "nothing to verify"),
        ({"secret_token": ""}, ValueError, "secret_token is empty"),
        ({"secret_token": b"bytes"}, TypeError, "must be a str"),
        (
            {"signing_secrets": ["MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]},
            ValueError,
            "#1 is not of the form whsec_",
        ),
        ({"signing_secrets": [NEW, "whsec_not base64!"]}, ValueError, "#2 is not valid base64"),
        ({"signing_secrets": ["whsec_"]}, ValueError, "#1 is empty"),
        ({"signing_secrets": [b"whsec_AAAA"]}, TypeError, "#1 must be a str"),
        ({"secret_token": TOKEN, "tolerance": 0}, ValueError, "tolerance"),
    ],
)
def test_bad_configuration_raises_before_any_delivery(config, error, message):
    """A configuration that cannot verify anything is a ValueError or TypeError naming the fault."""
    with pytest.raises(error, match=message) as caught:
        Verifier(**config)
    assert "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" not in str(caught.value)
    with pytest.raises(error):
        verify({}, b"{}", **config)


GITLAB_HEADERS = {
    "Content-Type": "application/json",
    "User-Agent": "GitLab/19.0.0",
    "Idempotency-Key": "a5461c4d-9c7f-4af9-add6-cddebe3c426f",
    "X-Gitlab-Event": "Job Hook",
    "X-Gitlab-Webhook-UUID": "3c5c0404-c866-44bc-a5f6-452bb1bfc76e",
    "X-Gitlab-Instance": "https://gitlab.example.com",
    "X-Gitlab-Event-UUID": "9cebe914-4827-408f-b014-cfa23a47a35f",
    "X-Gitlab-Token": TOKEN,
}


def test_parse_returns_the_typed_event_with_its_delivery_headers():
    """parse() verifies, then gives the JobEvent carrying the delivery's ids from its headers."""
    event = parse(GITLAB_HEADERS, JOB_BODY, secret_token=TOKEN)
    assert isinstance(event, JobEvent)
    assert event.job_id == 1977
    assert event.delivery_id == "3c5c0404-c866-44bc-a5f6-452bb1bfc76e"
    assert event.idempotency_key == "a5461c4d-9c7f-4af9-add6-cddebe3c426f"
    assert event.event_uuid == "9cebe914-4827-408f-b014-cfa23a47a35f"
    assert event.instance == "https://gitlab.example.com"


def test_parse_signed_delivery_and_webhook_id_as_idempotency_key():
    """A signed delivery without Idempotency-Key takes webhook-id as its idempotency key."""
    headers = {"x-gitlab-event": "Pipeline Hook"} | signed(
        body=(FIXTURES / "pipeline_push.json").read_bytes(), msg_id="evt-9"
    )
    event = parse(
        headers, (FIXTURES / "pipeline_push.json").read_bytes(), signing_secrets=[NEW], now=NOW
    )
    assert isinstance(event, PipelineEvent)
    assert event.idempotency_key == "evt-9"
    assert event.delivery_id is None


def test_parse_unknown_hook_gives_a_plain_event():
    """Any other X-Gitlab-Event gives an Event with the payload as data."""
    body = (FIXTURES / "push_hook.json").read_bytes()
    event = parse(GITLAB_HEADERS | {"X-Gitlab-Event": "Push Hook"}, body, secret_token=TOKEN)
    assert type(event) is Event
    assert event.hook == "Push Hook"
    assert event.data == json.loads(body)


LIMIT = 250_000
# fmt: off
PARSE_FAILURES: list[tuple[str, dict[str, str], bytes, type[WebhookError], str]] = [
    ("not JSON", GITLAB_HEADERS, b"{not json", MalformedPayload, "not JSON"),
    ("not UTF-8", GITLAB_HEADERS, b'{"a": "\xff"}', MalformedPayload, "not JSON"),
    ("a JSON array", GITLAB_HEADERS, b"[1, 2]", MalformedPayload, "JSON list, not an object"),
    ("a JSON string", GITLAB_HEADERS, b'"hi"', MalformedPayload, "JSON str, not an object"),
    ("empty body", GITLAB_HEADERS, b"", MalformedPayload, "not JSON"),
    ("nested too deep", GITLAB_HEADERS, b"[" * 100_000 + b"]" * 100_000, MalformedPayload, "not JSON"),
    ("no X-Gitlab-Event", {k: v for k, v in GITLAB_HEADERS.items() if k != "X-Gitlab-Event"}, JOB_BODY, MalformedPayload, "X-Gitlab-Event is missing"),
    ("blank X-Gitlab-Event", GITLAB_HEADERS | {"X-Gitlab-Event": " "}, JOB_BODY, MalformedPayload, "X-Gitlab-Event is missing"),
    ("wrong shape for the hook", GITLAB_HEADERS | {"X-Gitlab-Event": "Pipeline Hook"}, JOB_BODY, MalformedPayload, "$.object_attributes"),
    ("too large", GITLAB_HEADERS, b" " * (LIMIT + 1), PayloadTooLarge, f"{LIMIT + 1} bytes; at most {LIMIT}"),
    ("too large and unauthenticated", GITLAB_HEADERS | {"X-Gitlab-Token": "guess"}, b" " * (LIMIT + 1), PayloadTooLarge, f"at most {LIMIT}"),
    ("unauthenticated and malformed", GITLAB_HEADERS | {"X-Gitlab-Token": "guess"}, b"{not json", InvalidToken, "X-Gitlab-Token"),
]
# fmt: on


@pytest.mark.parametrize(
    ("headers", "body", "error", "message"),
    [case[1:] for case in PARSE_FAILURES],
    ids=[case[0] for case in PARSE_FAILURES],
)
def test_parse_failures(headers, body, error, message):
    """parse() checks size, then origin, then shape, and names what was wrong; 413/401/400."""
    with pytest.raises(error) as caught:
        parse(CIMultiDict(headers), body, secret_token=TOKEN, max_body_size=LIMIT)
    assert message in str(caught.value)
    assert caught.value.status == {PayloadTooLarge: 413, InvalidToken: 401}.get(error, 400)
    assert TOKEN not in str(caught.value)


def test_parse_at_the_default_limit():
    """GitLab's 25 MiB is the default limit: one byte more is PayloadTooLarge."""
    body = b"{" + b" " * (25 * 2**20 - 2) + b"}"
    assert (
        parse(GITLAB_HEADERS | {"X-Gitlab-Event": "Push Hook"}, body, secret_token=TOKEN).data == {}
    )
    with pytest.raises(PayloadTooLarge):
        parse(GITLAB_HEADERS, body + b" ", secret_token=TOKEN)
