"""Proof that a delivery comes from GitLab: its secret token, and its Standard Webhooks signature.

Pure functions over ``(headers, raw body)``, usable from any web framework. GitLab sends:

* ``X-Gitlab-Token``: the hook's secret token, in plain (GitLab's webhook docs, "Validate
  payloads by using a secret token"). Compared in constant time, after hashing both sides so
  that not even its length shows in the timing.
* since GitLab 19.0, for a hook with a signing token (gitlab-org/gitlab!230944), the Standard
  Webhooks headers: ``webhook-id`` (the ``Idempotency-Key``), ``webhook-timestamp`` (Unix
  seconds) and ``webhook-signature``: space-separated ``v1,<base64>`` entries, each an
  HMAC-SHA256 of ``"{id}.{timestamp}.{raw body}"`` under the key a ``whsec_<base64>`` secret
  encodes (https://www.standardwebhooks.com/, "Verifying webhook authenticity").

**Policy: every configured check must pass.** With a secret token, ``X-Gitlab-Token`` must be
present and equal; with signing secrets, one of them must have signed the body within the
timestamp tolerance. A request carrying only one of the two when both are configured is
refused: accepting either would let whoever learned the plain token (it travels in every
request) skip the signature. To move a hook from a token to signing, give it a signing token in
GitLab first (GitLab then sends both), then configure it here; to drop the token, remove it
here first, then in GitLab. Several signing secrets are accepted at once for rotation.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import time
from collections.abc import Callable, Iterable, Mapping

from multidict import CIMultiDict, CIMultiDictProxy

from ._errors import (
    InvalidSignature,
    InvalidToken,
    MissingSignature,
    MissingToken,
    StaleSignature,
    WebhookError,
)

__all__ = ["DEFAULT_TOLERANCE", "Verifier", "header", "verify"]

DEFAULT_TOLERANCE = 300.0
"""Seconds a ``webhook-timestamp`` may differ from now (Standard Webhooks' 5 minutes)."""

Headers = Mapping[str, str]
Body = bytes | bytearray | memoryview

_TIMESTAMP = re.compile(r"[0-9]{1,12}", re.ASCII)
_SECRET_PREFIX = "whsec_"


def header(headers: Headers, name: str, error: type[WebhookError]) -> str | None:
    """The one value of header ``name`` (lower case) in any mapping, matched without case.

    Raises:
        WebhookError: of class ``error`` when the header comes twice with different values
            (which copy a proxy and this receiver would each read is anyone's guess).
    """
    values: list[str]
    if isinstance(headers, CIMultiDict | CIMultiDictProxy):
        values = headers.getall(name, [])
    else:
        values = [value for key, value in headers.items() if key.lower() == name]
    if not values:
        return None
    first = values[0]
    if any(value != first for value in values[1:]):
        raise error(f"{name} is sent more than once, with different values")
    return first


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode("utf-8", "surrogateescape")).digest()


def _signing_key(secret: object, position: int) -> bytes:
    # The message names the secret by position only: a secret never appears in an error.
    if not isinstance(secret, str):
        raise TypeError(f"signing secret #{position} must be a str, not {type(secret).__name__}")
    if not secret.startswith(_SECRET_PREFIX):
        raise ValueError(f"signing secret #{position} is not of the form whsec_<base64>")
    try:
        key = base64.b64decode(secret[len(_SECRET_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"signing secret #{position} is not valid base64 after whsec_") from None
    if not key:
        raise ValueError(f"signing secret #{position} is empty")
    return key


class Verifier:
    """The checks of one receiver, prepared once; see the module docstring for the policy.

    Keeps a digest of the secret token, not the token, and never shows either in its repr.

    Args:
        secret_token: the hook's secret token (``X-Gitlab-Token``), or ``None``.
        signing_secrets: the hook's signing tokens, ``whsec_<base64>`` (one ``str``, or several
            while rotating), or none.
        tolerance: seconds a ``webhook-timestamp`` may be from now (default 300).
        clock: the current Unix time, for tests (default :func:`time.time`).

    Raises:
        ValueError: when neither a token nor a signing secret is given, the token is empty, or
            a signing secret is not ``whsec_<base64>``.
    """

    __slots__ = ("_clock", "_keys", "_token_digest", "_tolerance")

    def __init__(
        self,
        *,
        secret_token: str | None = None,
        signing_secrets: str | Iterable[str] = (),
        tolerance: float = DEFAULT_TOLERANCE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if secret_token is not None and not isinstance(secret_token, str):
            raise TypeError(f"secret_token must be a str, not {type(secret_token).__name__}")
        if secret_token == "":
            raise ValueError("secret_token is empty: pass None to check signatures only")
        secrets = [signing_secrets] if isinstance(signing_secrets, str) else list(signing_secrets)
        self._keys = tuple(_signing_key(secret, n) for n, secret in enumerate(secrets, 1))
        if secret_token is None and not self._keys:
            raise ValueError(
                "nothing to verify deliveries with: pass secret_token, signing_secrets or both"
            )
        if not tolerance > 0:
            raise ValueError(f"tolerance must be a positive number of seconds, got {tolerance!r}")
        self._token_digest = None if secret_token is None else _digest(secret_token)
        self._tolerance = float(tolerance)
        self._clock = clock

    def __repr__(self) -> str:
        token = "set" if self._token_digest is not None else "none"
        return f"Verifier(secret_token={token}, signing_secrets={len(self._keys)})"

    def verify(self, headers: Headers, body: Body, *, now: float | None = None) -> None:
        """Raise :class:`VerificationError` unless every configured check passes.

        Args:
            headers: the request headers, any mapping (names matched without case).
            body: the raw request body, exactly as received.
            now: the current Unix time (default: the verifier's clock).
        """
        if self._token_digest is not None:
            _check_token(headers, self._token_digest)
        if self._keys:
            self._check_signature(headers, bytes(body), self._clock() if now is None else now)

    def _check_signature(self, headers: Headers, body: bytes, now: float) -> None:
        found: dict[str, str] = {}
        for name in ("webhook-id", "webhook-timestamp", "webhook-signature"):
            value = header(headers, name, InvalidSignature)
            if not value:
                raise MissingSignature(f"{name} is missing")
            found[name] = value
        stamp = found["webhook-timestamp"].strip()
        if not _TIMESTAMP.fullmatch(stamp):
            raise InvalidSignature("webhook-timestamp is not a Unix time in seconds")
        signed = f"{found['webhook-id']}.{stamp}.".encode("utf-8", "surrogateescape") + body
        expected = [hmac.new(key, signed, hashlib.sha256).digest() for key in self._keys]
        if not any(
            hmac.compare_digest(candidate, digest)
            for candidate in _v1_signatures(found["webhook-signature"])
            for digest in expected
        ):
            raise InvalidSignature(
                f"no v1 entry of webhook-signature matches the body under any of the "
                f"{len(self._keys)} signing secret(s)"
            )
        age = now - int(stamp)
        if abs(age) > self._tolerance:
            when = "old" if age > 0 else "in the future"
            raise StaleSignature(
                f"webhook-timestamp is {abs(age):.0f} s {when}; "
                f"at most {self._tolerance:.0f} s is accepted"
            )


def _check_token(headers: Headers, expected: bytes) -> None:
    token = header(headers, "x-gitlab-token", InvalidToken)
    if token is None:
        raise MissingToken("X-Gitlab-Token is missing")
    if not hmac.compare_digest(_digest(token), expected):
        raise InvalidToken("X-Gitlab-Token is not the configured secret token")


def _v1_signatures(value: str) -> Iterable[bytes]:
    # Entries are "<version>,<base64>"; other versions (v1a: asymmetric) are not ours to check.
    for entry in value.split():
        version, _, encoded = entry.partition(",")
        if version != "v1":
            continue
        try:
            yield base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            continue


def verify(
    headers: Headers,
    body: Body,
    *,
    secret_token: str | None = None,
    signing_secrets: str | Iterable[str] = (),
    tolerance: float = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> None:
    """Check that a delivery comes from GitLab; return ``None`` or raise.

    Every configured check must pass (see the module docstring): with ``secret_token``,
    ``X-Gitlab-Token`` must equal it; with ``signing_secrets``, a ``v1`` entry of
    ``webhook-signature`` must match the raw body under one of them, and ``webhook-timestamp``
    be within ``tolerance`` seconds of ``now``.

    Args:
        headers: the request headers, any mapping (names matched without case).
        body: the raw request body, exactly as received (before any JSON parsing).
        secret_token: the hook's secret token, or ``None``.
        signing_secrets: its signing tokens, ``whsec_<base64>``: one, or several while rotating.
        tolerance: seconds the timestamp may differ from now (default 300).
        now: the current Unix time (default :func:`time.time`).

    Raises:
        VerificationError: :class:`MissingToken`, :class:`InvalidToken`,
            :class:`MissingSignature`, :class:`InvalidSignature` or :class:`StaleSignature`.
        ValueError: when nothing to verify with is given, or a secret is malformed.
    """
    Verifier(
        secret_token=secret_token, signing_secrets=signing_secrets, tolerance=tolerance
    ).verify(headers, body, now=now)
