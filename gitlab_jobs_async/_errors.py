"""The exceptions this SDK raises.

Every failure reaches the caller as a subclass of one root, :class:`GitLabError`::

    GitLabError
    ├── TransportError          # no usable HTTP answer: connection refused/reset, DNS, TLS
    │   ├── RequestTimeout      # a connect or read timeout expired
    │   └── OutcomeUnknown      # an action may have reached GitLab; it was not sent again
    ├── APIError                # an error status: .status .message .method .url .request_id
    │   ├── BadRequest          # 400
    │   ├── Unauthorized        # 401
    │   ├── Forbidden           # 403
    │   ├── NotFound            # 404
    │   ├── MethodNotAllowed    # 405
    │   ├── Conflict            # 409
    │   ├── RateLimited         # 429 (.retry_after)
    │   └── ServerError         # 5xx
    ├── ResponseError           # an answer GitLab would not send (bad JSON, shape, Location)
    └── LogRewritten            # a followed log shrank or changed behind us (erased, archived)

Bad arguments raise the builtin ``ValueError``/``TypeError`` before any request is sent.
A cattrs exception behind a :class:`ResponseError` is kept as ``__cause__``. aiohttp's are
not kept (they hold the request's headers, tokens included): :attr:`TransportError.reason`
names what failed instead. No message or attribute ever carries a token: URLs are stripped
of credentials first.
"""

from __future__ import annotations

__all__ = [
    "APIError",
    "BadRequest",
    "Conflict",
    "Forbidden",
    "GitLabError",
    "LogRewritten",
    "MethodNotAllowed",
    "NotFound",
    "OutcomeUnknown",
    "RateLimited",
    "RequestTimeout",
    "ResponseError",
    "ServerError",
    "TransportError",
    "Unauthorized",
]


class GitLabError(Exception):
    """The root of every exception this SDK raises."""


class TransportError(GitLabError):
    """The request got no usable HTTP answer (connection failure, reset, TLS, DNS).

    Attributes:
        reason: what failed, in a few words, e.g. ``request failed: ServerDisconnectedError
            (Server disconnected)`` or ``GitLab did not answer in time``; never a token.
        method: the HTTP method of the request.
        url: the request URL, without credentials.
    """

    def __init__(self, reason: str, *, method: str, url: str) -> None:
        super().__init__(f"{self._text(reason)} ({method} {url})")
        self.reason = reason
        self.method = method
        self.url = url

    @staticmethod
    def _text(reason: str) -> str:
        return reason


class RequestTimeout(TransportError):
    """A connect or read timeout expired before GitLab answered."""


class OutcomeUnknown(TransportError):
    """An action (retry, play, erase) failed after it may have reached GitLab.

    It was not sent again, since that could start a job twice. Read the job's state to learn
    what happened. :attr:`reason` says what failed; the :class:`TransportError` of that
    failure is the ``__cause__``.
    """

    @staticmethod
    def _text(reason: str) -> str:
        return (
            f"{reason}; the request may have reached GitLab, so it was not sent again: "
            "check the job's state"
        )


class APIError(GitLabError):
    """GitLab answered with an error status code.

    Attributes:
        status: the HTTP status code.
        message: GitLab's own wording of the error, read from any of its error-body shapes.
        method: the HTTP method of the request.
        url: the request URL, without credentials.
        request_id: GitLab's ``X-Request-Id`` for the request, to quote in a support ticket.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        method: str,
        url: str,
        request_id: str | None = None,
    ) -> None:
        text = f"{status} {message} ({method} {url})"
        if request_id:
            text += f" [request id {request_id}]"
        super().__init__(text)
        self.status = status
        self.message = message
        self.method = method
        self.url = url
        self.request_id = request_id


class BadRequest(APIError):
    """400: GitLab rejected a parameter, or the action does not apply (e.g. an unplayable job)."""


class Unauthorized(APIError):
    """401: no credentials, an unknown token, or an expired or revoked one."""


class Forbidden(APIError):
    """403: authenticated but not allowed (role, token scope, job not retryable/erasable)."""


class NotFound(APIError):
    """404: the project is not visible to these credentials, or the job does not exist in it."""


class MethodNotAllowed(APIError):
    """405: e.g. an unsupported keyset ordering, or the offset pagination cap."""


class Conflict(APIError):
    """409: a resource lock or a statistics refresh in progress; the action may succeed later."""


class RateLimited(APIError):
    """429: GitLab throttled the request.

    Attributes:
        retry_after: seconds GitLab asked us to wait, from ``Retry-After`` or ``RateLimit-Reset``,
            or ``None`` when it said nothing.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        method: str,
        url: str,
        request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status=status, method=method, url=url, request_id=request_id)
        self.retry_after = retry_after


class ServerError(APIError):
    """5xx: GitLab failed to handle the request."""


class ResponseError(GitLabError):
    """GitLab answered, but not as GitLab does: a success body that is not JSON or not the
    expected shape, a body over the client's size limit, or a redirect to a malformed or
    non-HTTP ``Location``.

    Attributes:
        status: the HTTP status code of the response.
        method: the HTTP method of the request.
        url: the request URL, without credentials.
    """

    def __init__(self, message: str, *, status: int, method: str, url: str) -> None:
        super().__init__(f"{message} ({status} {method} {url})")
        self.status = status
        self.method = method
        self.url = url


class LogRewritten(GitLabError):
    """A log being followed no longer starts with the bytes already read.

    GitLab's log endpoint returns the whole log each time; when it comes back shorter than
    what was read (the job was erased) or with other bytes before that point, following
    cannot go on without repeating or dropping output.

    Attributes:
        offset: how many bytes had been read.
        size: the size of the log now, when known.
    """

    def __init__(self, message: str, *, offset: int, size: int | None) -> None:
        super().__init__(f"{message} (read {offset} bytes; log now {size} bytes)")
        self.offset = offset
        self.size = size
