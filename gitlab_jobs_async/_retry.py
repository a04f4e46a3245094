"""When a failed attempt is sent again: one pure decision, no I/O. Strictly private.

The transport feeds :func:`decide` with the outcome of each attempt and acts on the answer;
every rule about retrying lives here, so it can be tested as a table:

* a 429 means GitLab did not act: any method is retried, after ``Retry-After`` when GitLab
  gave one (a wait longer than ``max_retry_after`` is not waited for) or after a back-off,
  and every task of the client pauses for that wait, since they would meet the same limit;
* a 500, 502, 503 or 504, or no answer at all, is retried only for a request that is safe
  to repeat (GET, HEAD and the harmless actions);
* a request that provably never left (the connection could not be opened) is retried
  whatever it is, since GitLab cannot have seen it;
* an unsafe request that may have reached GitLab and got no answer is never sent again: the
  caller learns that its outcome is unknown;
* nothing is retried after ``attempts`` tries, or when the next wait would take the time
  spent waiting between attempts beyond ``timeout``.
"""

from __future__ import annotations

import attrs

from ._config import RetryPolicy

__all__ = ["RETRY_STATUSES", "Decision", "Outcome", "backoff", "decide"]

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_MAX_DOUBLINGS = 64  # 2 ** 64 times any back-off is beyond every cap; more would overflow


@attrs.frozen
class Outcome:
    """How one attempt failed, as far as retrying cares.

    Attributes:
        status: the error status GitLab answered with, or ``None`` when no answer came.
        retry_after: seconds a 429 asked to wait, when it said.
        sent: ``False`` only when the request provably never left (no connection was made).
    """

    status: int | None = None
    retry_after: float | None = None
    sent: bool = True


@attrs.frozen
class Decision:
    """What to do after a failed attempt.

    Attributes:
        retry: whether to send the request again.
        delay: seconds to wait first.
        pause_all: whether every task of the client waits ``delay`` too (a retried 429).
        outcome_unknown: when not retrying, whether the request may have acted on GitLab
            although no answer said so (then the caller must check the job's state).
    """

    retry: bool
    delay: float = 0.0
    pause_all: bool = False
    outcome_unknown: bool = False


def backoff(policy: RetryPolicy, attempt: int, jitter: float) -> float:
    """The wait after failed attempt number ``attempt`` (1 for the first) without Retry-After.

    ``policy.backoff`` doubling with each attempt, capped at ``policy.max_backoff``, then
    scaled by 0.5 to 1.0 with ``jitter`` (0 to 1) so that many clients do not retry in step.
    """
    doublings = min(max(attempt - 1, 0), _MAX_DOUBLINGS)
    return min(policy.max_backoff, policy.backoff * 2.0**doublings) * (0.5 + jitter / 2)


def decide(
    policy: RetryPolicy,
    *,
    repeatable: bool,
    outcome: Outcome,
    attempt: int,
    waited: float,
    jitter: float,
) -> Decision:
    """Whether to retry after failed attempt number ``attempt`` (1 for the first), and how.

    Args:
        policy: the client's retry policy.
        repeatable: whether the request is safe to send twice (GET, HEAD, harmless actions).
        outcome: how the attempt failed.
        attempt: how many attempts were made, this one included.
        waited: seconds already spent waiting between this request's attempts.
        jitter: a number from 0 to 1 (random in use) that spreads back-offs.
    """
    unknown = outcome.status is None and outcome.sent and not repeatable
    give_up = Decision(retry=False, outcome_unknown=unknown)
    if attempt >= policy.attempts:
        return give_up
    delay: float | None
    if outcome.status == 429:
        if outcome.retry_after is None:
            delay = backoff(policy, attempt, jitter)
        else:
            delay = outcome.retry_after if outcome.retry_after <= policy.max_retry_after else None
    elif outcome.status is not None:
        retryable = repeatable and outcome.status in RETRY_STATUSES
        delay = backoff(policy, attempt, jitter) if retryable else None
    elif repeatable or not outcome.sent:
        delay = backoff(policy, attempt, jitter)
    else:
        delay = None
    if delay is None or waited + delay > policy.timeout:
        return give_up
    return Decision(retry=True, delay=delay, pause_all=outcome.status == 429)
