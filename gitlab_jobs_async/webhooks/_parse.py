"""From a delivery's headers and raw body to a typed, verified event."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from ._convert import Envelope, structure_event
from ._errors import MalformedPayload, PayloadTooLarge
from ._models import Event
from ._verify import DEFAULT_TOLERANCE, Body, Headers, Verifier, header

__all__ = ["MAX_BODY_SIZE", "envelope", "parse", "parse_verified"]

try:  # the `speedups` extra: orjson parses JSON about three times faster
    from orjson import loads as _loads
except ImportError:  # pragma: no cover - exercised when the extra is not installed
    _loads = json.loads  # type: ignore[assignment]

MAX_BODY_SIZE = 25 * 2**20
"""GitLab's own limit on a webhook payload (25 MB, its webhook docs), the default here."""


def envelope(headers: Headers) -> Envelope:
    """What a delivery's headers say about it (names matched without case).

    Raises:
        MalformedPayload: when ``X-Gitlab-Event`` is missing, or a header comes twice with
            different values.
    """
    hook = header(headers, "x-gitlab-event", MalformedPayload)
    if not hook or not hook.strip():
        raise MalformedPayload("X-Gitlab-Event is missing: GitLab names the hook in every delivery")
    key = header(headers, "idempotency-key", MalformedPayload)
    return Envelope(
        hook.strip(),
        delivery_id=header(headers, "x-gitlab-webhook-uuid", MalformedPayload),
        # GitLab sends both with one value; webhook-id alone comes from other senders.
        idempotency_key=key or header(headers, "webhook-id", MalformedPayload),
        event_uuid=header(headers, "x-gitlab-event-uuid", MalformedPayload),
        instance=header(headers, "x-gitlab-instance", MalformedPayload),
    )


def decode(body: Body) -> dict[str, Any]:
    """The body as a JSON object.

    Raises:
        MalformedPayload: when it is not JSON, or not an object.
    """
    try:
        data = _loads(bytes(body))
    except (ValueError, RecursionError) as exc:  # orjson.JSONDecodeError is a ValueError
        raise MalformedPayload(f"the body is not JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise MalformedPayload(f"the body is a JSON {type(data).__name__}, not an object")
    return data


def parse_verified(headers: Headers, body: Body) -> Event:
    """The event of a delivery whose origin was already checked. Strictly private."""
    return structure_event(decode(body), envelope(headers))


def parse(
    headers: Headers,
    body: Body,
    *,
    secret_token: str | None = None,
    signing_secrets: str | Iterable[str] = (),
    tolerance: float = DEFAULT_TOLERANCE,
    now: float | None = None,
    max_body_size: int = MAX_BODY_SIZE,
) -> Event:
    """Verify a delivery, then return its typed event.

    The order is: size, then :func:`verify` over the raw bytes, then JSON and the event's
    shape. The event is a :class:`JobEvent` for ``X-Gitlab-Event: Job Hook``, a
    :class:`PipelineEvent` for ``Pipeline Hook``, else an :class:`Event` with the payload in
    its ``data``; every one carries the delivery's ``delivery_id``, ``idempotency_key``,
    ``event_uuid`` and ``instance``.

    Args:
        headers: the request headers, any mapping (names matched without case).
        body: the raw request body.
        secret_token: the hook's secret token, or ``None``.
        signing_secrets: its signing tokens, ``whsec_<base64>``: one, or several while rotating.
        tolerance: seconds a signature's timestamp may differ from now (default 300).
        now: the current Unix time (default :func:`time.time`).
        max_body_size: the largest body accepted, in bytes (default 25 MiB, GitLab's limit).

    Raises:
        PayloadTooLarge: for a body over ``max_body_size``.
        VerificationError: when the token or signature does not check (see :func:`verify`).
        MalformedPayload: when the body is not what GitLab sends for that hook.
        ValueError: when nothing to verify with is given, or a secret is malformed.
    """
    verifier = Verifier(
        secret_token=secret_token, signing_secrets=signing_secrets, tolerance=tolerance
    )
    check_size(body, max_body_size)
    verifier.verify(headers, body, now=now)
    return parse_verified(headers, body)


def check_size(body: Body, max_body_size: int) -> None:
    """Raise :class:`PayloadTooLarge` for a body over the limit. Strictly private."""
    size = len(body) if not isinstance(body, memoryview) else body.nbytes
    if size > max_body_size:
        raise PayloadTooLarge(f"the body is {size} bytes; at most {max_body_size} are accepted")
