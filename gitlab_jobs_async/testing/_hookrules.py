"""The fake's webhooks and their deliveries: records, and GitLab's rules about them.

Pure: who gets which event, when a hook is disabled, and the headers of a delivery. The
sending (``_webhooks``) applies them. Sources: ``app/services/web_hook_service.rb`` (headers,
what counts as a failure), ``app/models/concerns/web_hooks/auto_disabling.rb`` (disabling),
``app/models/ci/build.rb`` and ``app/workers/ci/build_finished_worker.rb`` (which job
transitions execute hooks), and the Standard Webhooks scheme of GitLab's signing tokens.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any, Literal

import attrs

from ._records import FakeProject, JobStatus
from ._resources import VERSION

__all__ = [
    "HOOK_STATUSES",
    "HookKind",
    "Outcome",
    "WebhookDelivery",
    "FakeWebhook",
    "backoff",
    "delivery_headers",
]

HookKind = Literal["job", "pipeline"]
Outcome = Literal["pending", "delivered", "failed", "dropped", "disabled"]
"""``pending`` until sent; ``delivered`` (2xx/3xx) or ``failed`` (any other answer, a timeout,
no connection); ``dropped`` on purpose (:meth:`FakeWebhook.drop`, as GitLab.com drops hooks
over a rate limit) or ``disabled`` (the hook was disabled): both sent nothing."""

HOOK_STATUSES: frozenset[JobStatus] = frozenset(
    {"pending", "running", "success", "failed", "canceled"}
)
"""Job statuses whose transition executes job hooks (creation does too, in any status);
``manual``, ``scheduled``, ``skipped``, ``canceling``, ``preparing`` do not."""

EVENT_NAMES: dict[HookKind, str] = {"job": "Job Hook", "pipeline": "Pipeline Hook"}

TEMPORARY_THRESHOLD = 3  # failures tolerated before backing off
PERMANENT_THRESHOLD = 39  # beyond it: disabled for good
INITIAL_BACKOFF, MAX_BACKOFF = 60.0, 86400.0


def backoff(failures_before: int) -> float:
    """Seconds a hook is disabled after a failure, given its failures before this one."""
    seconds = INITIAL_BACKOFF * 2.0 ** (failures_before - TEMPORARY_THRESHOLD)
    return min(max(seconds, INITIAL_BACKOFF), MAX_BACKOFF)


@attrs.define(eq=False)
class FakeWebhook:
    """A project hook of the fake: where it posts, how it proves itself, what it sent.

    Disabling follows GitLab: 4 failures in a row disable it for 1 minute, each further
    failure doubles that (up to 24 hours), the 40th disables it for good; a success (2xx or
    3xx) resets it. Time is the fake's clock (``knobs.clock``).
    """

    id: int
    project: FakeProject
    url: str
    token: str | None = attrs.field(repr=False)
    signing_secret: str | None = attrs.field(repr=False)
    events: frozenset[HookKind]
    recent_failures: int = 0
    disabled_until: float | None = None
    deliveries: list[WebhookDelivery] = attrs.field(factory=list, repr=False)
    _drops: list[tuple[int, Callable[[WebhookDelivery], bool] | None]] = attrs.field(
        factory=list, repr=False
    )

    @property
    def permanently_disabled(self) -> bool:
        return self.recent_failures > PERMANENT_THRESHOLD

    def temporarily_disabled(self, now: float) -> bool:
        return (
            self.disabled_until is not None
            and self.disabled_until >= now
            and TEMPORARY_THRESHOLD < self.recent_failures <= PERMANENT_THRESHOLD
        )

    def executable(self, now: float) -> bool:
        """Whether a delivery would be attempted at ``now``."""
        return not self.temporarily_disabled(now) and not self.permanently_disabled

    def succeeded(self) -> None:
        """``enable!``: a success forgets the failures."""
        self.recent_failures, self.disabled_until = 0, None

    def failed(self, now: float) -> None:
        """``backoff!``: one more failure; past the grace count, disabled for a while."""
        if not self.executable(now):
            return
        before = self.recent_failures
        self.recent_failures = min(before + 1, PERMANENT_THRESHOLD + 1)
        if self.recent_failures > TEMPORARY_THRESHOLD:
            self.disabled_until = now + backoff(before)

    def enable(self) -> None:
        """Re-enable by hand, as the hook's "Enable" button does."""
        self.succeeded()

    def drop(
        self, count: int = 1, *, when: Callable[[WebhookDelivery], bool] | None = None
    ) -> None:
        """Drop the next ``count`` deliveries (those ``when`` accepts): nothing is sent, and
        it is no failure, as when GitLab.com's rate limit drops a hook."""
        if count < 1:
            raise ValueError(f"count must be at least 1, got {count}")
        self._drops.append((count, when))

    def takes_drop(self, delivery: WebhookDelivery) -> bool:
        """Whether ``delivery`` is to be dropped (and count it)."""
        for index, (count, when) in enumerate(self._drops):
            if when is None or when(delivery):
                if count == 1:
                    del self._drops[index]
                else:
                    self._drops[index] = (count - 1, when)
                return True
        return False


@attrs.define(eq=False)
class WebhookDelivery:
    """One attempt to deliver an event to a hook, and how it went."""

    hook: FakeWebhook
    event: str
    """``X-Gitlab-Event``: ``Job Hook`` or ``Pipeline Hook``."""
    payload: dict[str, Any] = attrs.field(repr=False)
    idempotency_key: str
    """One per event, kept by :meth:`~FakeGitLab.resend_delivery`."""
    event_uuid: str
    """``X-Gitlab-Event-UUID``: the request that caused it (recursion detection)."""
    resend_of: WebhookDelivery | None = attrs.field(default=None, repr=False)
    outcome: Outcome = "pending"
    webhook_uuid: str | None = None
    """``X-Gitlab-Webhook-UUID``: new for every attempt."""
    headers: dict[str, str] = attrs.field(factory=dict, repr=False)
    body: bytes = attrs.field(default=b"", repr=False)
    status: int | None = None
    error: str | None = None
    """Why no answer came (a timeout, a refused connection)."""
    response_body: str = attrs.field(default="", repr=False)
    """The answer's first 8 KiB, as GitLab keeps it for "Recent events"."""

    @property
    def job_id(self) -> int | None:
        """The job of a Job Hook delivery."""
        value = self.payload.get("build_id")
        return value if isinstance(value, int) else None

    @property
    def job_status(self) -> str | None:
        """The job status a Job Hook delivery announced."""
        value = self.payload.get("build_status")
        return value if isinstance(value, str) else None


def _sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def delivery_headers(
    delivery: WebhookDelivery, *, instance: str, attempt_uuid: str, now: float
) -> tuple[dict[str, str], bytes]:
    """The headers and body of one attempt (``WebHookService#build_headers``)."""
    body = json.dumps(delivery.payload, separators=(",", ":")).encode()
    hook = delivery.hook
    headers = {
        "Content-Type": "application/json",
        "User-Agent": f"GitLab/{VERSION}",
        "Idempotency-Key": delivery.idempotency_key,
        "X-Gitlab-Event": delivery.event,
        "X-Gitlab-Webhook-UUID": attempt_uuid,
        "X-Gitlab-Instance": instance,
        "X-Gitlab-Event-UUID": delivery.event_uuid,
    }
    if hook.token:
        headers["X-Gitlab-Token"] = hook.token.replace("\r", "").replace("\n", "")
    if hook.signing_secret:
        timestamp = int(now)
        headers["webhook-id"] = delivery.idempotency_key
        headers["webhook-timestamp"] = str(timestamp)
        headers["webhook-signature"] = _sign(
            hook.signing_secret, delivery.idempotency_key, timestamp, body
        )
    return headers, body
