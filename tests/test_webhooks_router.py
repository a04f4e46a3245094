"""Routing events to handlers, running them with the event's UUID, and remembering keys."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import pytest

from gitlab_jobs_async import GitLab
from gitlab_jobs_async._request_context import extra_headers, request_headers
from gitlab_jobs_async.webhooks import (
    Event,
    IdempotencyStore,
    JobEvent,
    MemoryIdempotencyStore,
    PipelineEvent,
    Router,
)
from gitlab_jobs_async.webhooks._convert import Envelope, structure_event

FIXTURES = Path(__file__).parent / "fixtures" / "webhooks"
UUID = "9cebe914-4827-408f-b014-cfa23a47a35f"


def event(fixture: str, hook: str, **changes: Any) -> Any:
    data = json.loads((FIXTURES / f"{fixture}.json").read_text()) | changes
    return structure_event(data, Envelope(hook, idempotency_key="k", event_uuid=UUID))


FAILED_JOB = event("job_failed_legacy", "Job Hook")
PENDING_JOB = event("job_pending_null_runner", "Job Hook")
DEPLOY_JOB = event("job_success_child", "Job Hook")
GREEN_PIPELINE = event("pipeline_merge_request", "Pipeline Hook")
RUNNING_PIPELINE = event("pipeline_push", "Pipeline Hook")
PUSH = event("push_hook", "Push Hook")
EVENTS = {
    "failed job": FAILED_JOB,
    "pending job": PENDING_JOB,
    "deploy job": DEPLOY_JOB,
    "green pipeline": GREEN_PIPELINE,
    "running pipeline": RUNNING_PIPELINE,
    "push": PUSH,
}


def routed() -> Router:
    """One router with a route of each kind; each handler's name says what it wants."""
    router = Router()

    async def noop(event: Any, gl: GitLab) -> None:
        return None

    def named(name: str) -> Any:
        async def handler(event: Any, gl: GitLab) -> None:
            return None

        handler.__qualname__ = name
        return handler

    router.job()(named("any job"))
    router.job(status="failed")(named("failed job"))
    router.job(status=("failed", "success"), stage="deploy")(named("finished deploy"))
    router.job(when=lambda e: e.runner is None)(named("no runner"))
    router.pipeline(status="success")(named("green pipeline"))
    router.pipeline(ref=["main", "master"], project_id=1)(named("main of project 1"))
    router.event("push hook")(named("push"))
    router.event("Job Hook", allow_failure=True)(named("allowed to fail"))
    router.add("Deployment Hook", noop)
    return router


ROUTES = [
    ("failed job", ["any job", "failed job"]),
    ("pending job", ["any job", "no runner"]),
    ("deploy job", ["any job", "finished deploy", "allowed to fail"]),
    ("green pipeline", ["green pipeline", "main of project 1"]),
    ("running pipeline", []),
    ("push", ["push"]),
]


@pytest.mark.parametrize(("name", "expected"), ROUTES, ids=[name for name, _ in ROUTES])
def test_routes(name, expected):
    """An event goes to every handler whose hook, filters and predicate match, in order."""
    handlers = routed().handlers_for(EVENTS[name])
    assert [handler.__qualname__ for handler in handlers] == expected


@pytest.mark.parametrize(
    ("register", "error", "message"),
    [
        (lambda r: r.job(statuss="failed"), ValueError, "JobEvent has no attribute 'statuss'"),
        (lambda r: r.pipeline(build_status="x"), ValueError, "PipelineEvent has no attribute"),
        (lambda r: r.event("Push Hook", job_id=1), ValueError, "Event has no attribute 'job_id'"),
        (lambda r: r.add("", lambda e, g: None), ValueError, "hook name"),
        (lambda r: r.add("  ", lambda e, g: None), ValueError, "hook name"),
        (lambda r: r.add("Job Hook", "not callable"), TypeError, "async callable"),
        (lambda r: r.add("Job Hook", lambda e, g: None, when=True), TypeError, "predicate"),
    ],
)
def test_bad_registrations_raise_at_once(register, error, message):
    """A filter naming no attribute, an empty hook or a non-callable is refused when registered."""
    router = Router()
    with pytest.raises(error, match=message):
        register(router)
    assert len(router) == 0


def test_properties_of_pipeline_events_can_be_filtered():
    """PipelineEvent's status, ref, pipeline_id and project_id properties are filter names."""
    router = Router()

    @router.pipeline(status="running", ref="main", pipeline_id=2366, project_id=380)
    async def handler(event: PipelineEvent, gl: GitLab) -> None:
        return None

    assert router.handlers_for(RUNNING_PIPELINE) == (handler,)
    assert router.handlers_for(GREEN_PIPELINE) == ()


def test_a_failing_predicate_is_no_match_and_is_logged(caplog):
    """A `when` that raises does not match, does not stop other routes, and is logged."""
    router = Router()

    @router.job(when=lambda e: bool(1 / 0))
    async def broken(event: JobEvent, gl: GitLab) -> None:
        return None

    @router.job()
    async def fine(event: JobEvent, gl: GitLab) -> None:
        return None

    with caplog.at_level(logging.ERROR, "gitlab_jobs_async.webhooks"):
        assert router.handlers_for(FAILED_JOB) == (fine,)
    assert "the `when` of" in caplog.text and "ZeroDivisionError" in caplog.text


async def test_dispatch_runs_handlers_in_order_with_the_event_uuid(caplog):
    """Handlers run in order with X-Gitlab-Event-UUID in the context; a failure is logged only."""
    router = Router()
    seen: list[tuple[str, object, dict[str, str]]] = []
    client = GitLab("http://127.0.0.1:9")

    @router.job()
    async def first(event: JobEvent, gl: GitLab) -> None:
        seen.append(("first", gl, dict(extra_headers())))
        raise RuntimeError("handler bug")

    @router.job()
    async def second(event: JobEvent, gl: GitLab) -> None:
        child = asyncio.create_task(asyncio.sleep(0, dict(extra_headers())))
        seen.append(("second", gl, await child))

    with caplog.at_level(logging.ERROR, "gitlab_jobs_async.webhooks"):
        assert await router.dispatch(FAILED_JOB, client) == 1
    assert seen == [
        ("first", client, {"X-Gitlab-Event-UUID": UUID}),
        ("second", client, {"X-Gitlab-Event-UUID": UUID}),  # as seen by a task it started
    ]
    assert extra_headers() == {}
    (record,) = caplog.records
    assert "first" in record.getMessage() and "Job Hook (k)" in record.getMessage()
    assert record.exc_info is not None


@pytest.mark.parametrize("uuid", [None, "", "not a uuid\u00e9", "x" * 65, "a b"])
async def test_dispatch_sends_no_uuid_it_cannot_trust(uuid):
    """An event without a UUID-like X-Gitlab-Event-UUID adds no header to API requests."""
    router = Router()
    seen = []

    @router.job()
    async def handler(event: JobEvent, gl: GitLab) -> None:
        seen.append(dict(extra_headers()))

    data = json.loads((FIXTURES / "job_failed_legacy.json").read_text())
    quiet = structure_event(data, Envelope("Job Hook", event_uuid=uuid))
    assert await router.dispatch(quiet, GitLab("http://127.0.0.1:9")) == 0
    assert seen == [{}]


def test_request_headers_nest_and_reset():
    """Inner blocks add to outer ones and replace a repeated name; leaving restores the outer."""
    assert extra_headers() == {}
    with request_headers({"A": "1", "B": "2"}):
        with request_headers({"B": "3"}):
            assert extra_headers() == {"A": "1", "B": "3"}
        assert extra_headers() == {"A": "1", "B": "2"}
    assert extra_headers() == {}


@pytest.mark.parametrize(
    ("headers", "error"),
    [
        ({"X-A": "1\r\nX-Injected: 1"}, ValueError),
        ({"X-A\n": "1"}, ValueError),
        ({"": "1"}, ValueError),
        ({"X A": "1"}, ValueError),
        ({"X-A": 1}, TypeError),
    ],
)
def test_request_headers_refuse_what_is_no_header(headers, error):
    """A line break, an empty or spaced name, or a non-str value is refused."""
    with pytest.raises(error), request_headers(headers):
        pass
    assert extra_headers() == {}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_memory_store_remembers_keys_for_ttl():
    """A key is a duplicate until ttl seconds after it was first added, then new again."""
    clock = Clock()
    store = MemoryIdempotencyStore(ttl=60, clock=clock)
    assert isinstance(store, IdempotencyStore)
    assert await store.add("a") is True
    clock.now += 59.9
    assert await store.add("a") is False  # a duplicate does not extend the window
    clock.now += 0.1
    assert await store.add("a") is True
    assert len(store) == 1


async def test_memory_store_is_bounded():
    """Past max_keys the oldest keys are forgotten first."""
    store = MemoryIdempotencyStore(max_keys=2, clock=Clock())
    for key in ("a", "b", "c"):
        assert await store.add(key) is True
    assert len(store) == 2
    assert await store.add("b") is False
    assert await store.add("c") is False
    assert await store.add("a") is True  # forgotten, so new again
    assert "2 of 2 keys" in repr(store)


async def test_memory_store_forgets_expired_keys_as_time_passes():
    """Expired keys are dropped from memory, not only treated as new."""
    clock = Clock()
    store = MemoryIdempotencyStore(ttl=10, clock=clock)
    for key in ("a", "b"):
        await store.add(key)
    clock.now += 10
    await store.add("c")
    assert len(store) == 1
    await store.discard("c")
    await store.discard("never added")
    assert len(store) == 0


@pytest.mark.parametrize(
    ("kwargs", "message"), [({"max_keys": 0}, "max_keys"), ({"ttl": 0}, "ttl")]
)
def test_memory_store_refuses_empty_bounds(kwargs, message):
    """A store that could remember nothing is a ValueError."""
    with pytest.raises(ValueError, match=message):
        MemoryIdempotencyStore(**kwargs)


def test_events_are_events():
    """Typed events are Events too, so a handler of any event accepts them."""
    assert all(isinstance(value, Event) for value in EVENTS.values())
