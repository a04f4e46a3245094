"""Why a webhook delivery was refused.

Every refusal is a :class:`WebhookError`, itself a :class:`~gitlab_jobs_async.GitLabError`;
each carries the HTTP status a receiver answers with::

    WebhookError                # .status
    ├── VerificationError       # 401: not provably from GitLab
    │   ├── MissingToken        #   a secret token is configured, no X-Gitlab-Token came
    │   ├── InvalidToken        #   X-Gitlab-Token is not the configured one
    │   ├── MissingSignature    #   signing secrets are configured, a webhook-* header is absent
    │   ├── InvalidSignature    #   no webhook-signature entry matches any signing secret
    │   └── StaleSignature      #   signed, but webhook-timestamp is outside the tolerance
    ├── MalformedPayload        # 400: not a JSON object, or not the shape GitLab sends
    └── PayloadTooLarge         # 413: larger than the receiver accepts

Messages name the header or field that was wrong and never carry a token, a signing secret
or a header's value.
"""

from __future__ import annotations

from .._errors import GitLabError

__all__ = [
    "InvalidSignature",
    "InvalidToken",
    "MalformedPayload",
    "MissingSignature",
    "MissingToken",
    "PayloadTooLarge",
    "StaleSignature",
    "VerificationError",
    "WebhookError",
]


class WebhookError(GitLabError):
    """A webhook delivery that must not be handled.

    Attributes:
        status: the HTTP status a receiver answers with (401, 400 or 413).
    """

    status: int = 400


class VerificationError(WebhookError):
    """The delivery does not prove it comes from GitLab: answer 401."""

    status = 401


class MissingToken(VerificationError):
    """A secret token is configured but the request has no ``X-Gitlab-Token``."""


class InvalidToken(VerificationError):
    """``X-Gitlab-Token`` is not the configured secret token."""


class MissingSignature(VerificationError):
    """Signing secrets are set; ``webhook-id``, ``-timestamp`` or ``-signature`` is absent."""


class InvalidSignature(VerificationError):
    """No ``v1`` entry of ``webhook-signature`` matches the body under any signing secret."""


class StaleSignature(VerificationError):
    """A valid signature, but ``webhook-timestamp`` is too far from now: a replay or a bad clock."""


class MalformedPayload(WebhookError):
    """The body is not a JSON object of the shape GitLab sends for its event: answer 400."""

    status = 400


class PayloadTooLarge(WebhookError):
    """The body is larger than the receiver accepts: answer 413."""

    status = 413
