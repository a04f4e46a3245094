"""Which handlers an event goes to: by hook, and by the event's attributes."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from .._request_context import request_headers
from ._convert import event_class
from ._models import JOB_HOOK, PIPELINE_HOOK, Event, JobEvent, PipelineEvent

if TYPE_CHECKING:
    from .._client import GitLab

__all__ = ["Handler", "Router"]

log = logging.getLogger("gitlab_jobs_async.webhooks")

Handler = Callable[[Any, "GitLab"], Awaitable[object]]
"""An ``async def handler(event, gl)``; what it returns is ignored."""
JobHandlerT = TypeVar("JobHandlerT", bound=Callable[[JobEvent, "GitLab"], Awaitable[object]])
PipelineHandlerT = TypeVar(
    "PipelineHandlerT", bound=Callable[[PipelineEvent, "GitLab"], Awaitable[object]]
)
EventHandlerT = TypeVar("EventHandlerT", bound=Callable[[Event, "GitLab"], Awaitable[object]])

# GitLab's event UUIDs are UUIDs; anything else is not echoed into our own requests.
_EVENT_UUID = re.compile(r"[0-9A-Za-z-]{1,64}", re.ASCII)
_MANY = (tuple, list, set, frozenset)


def _attribute_names(cls: type) -> frozenset[str]:
    names = {field.name for field in attrs.fields(cls)}
    names.update(
        name for klass in cls.__mro__ for name, v in vars(klass).items() if isinstance(v, property)
    )
    return frozenset(names)


@attrs.frozen
class _Route:
    hook: str  # case-folded X-Gitlab-Event
    filters: tuple[tuple[str, tuple[object, ...]], ...]  # attribute, accepted values
    when: Callable[[Any], bool] | None
    handler: Handler

    def matches(self, event: Event) -> bool:
        if event.hook.casefold() != self.hook:
            return False
        for name, accepted in self.filters:
            if getattr(event, name) not in accepted:
                return False
        return self.when is None or bool(self.when(event))


class Router:
    """Handlers for webhook events, picked by hook and by attribute filters.

    Register with decorators; an event goes to every matching handler, in registration order::

        router = Router()

        @router.job(status="failed")
        async def on_failure(event: JobEvent, gl: GitLab) -> None: ...

        @router.pipeline(status=("success", "failed"), ref="main")
        async def on_main(event: PipelineEvent, gl: GitLab) -> None: ...

        @router.event("Deployment Hook", when=lambda e: e.data.get("status") == "success")
        async def on_deploy(event: Event, gl: GitLab) -> None: ...

    A filter ``name=value`` keeps events whose attribute ``name`` equals ``value``; a tuple,
    list or set of values accepts any of them. ``when`` is a predicate over the event for
    anything else. Statuses compare equal to their strings (``"failed"``).
    """

    def __init__(self) -> None:
        self._routes: list[_Route] = []

    def __len__(self) -> int:
        return len(self._routes)

    def add(
        self,
        hook: str,
        handler: Handler,
        /,
        *,
        when: Callable[[Any], bool] | None = None,
        **filters: object,
    ) -> None:
        """Register ``handler`` for the ``X-Gitlab-Event`` ``hook`` (compared without case).

        Raises:
            ValueError: for an empty hook name, or a filter naming no attribute of the event
                type of that hook.
            TypeError: when ``handler`` or ``when`` is not callable.
        """
        self._register(hook, when, filters)(handler)

    def _register(
        self, hook: str, when: Callable[[Any], bool] | None, filters: dict[str, object]
    ) -> Callable[[Handler], None]:
        # Everything is checked now, so a decorator with a typo fails on its own line.
        if not hook or not hook.strip():
            raise ValueError("a hook name such as 'Job Hook' is required")
        if when is not None and not callable(when):
            raise TypeError(f"when must be a predicate over the event, not {type(when).__name__}")
        cls = event_class(hook)
        unknown = sorted(set(filters) - _attribute_names(cls))
        if unknown:
            raise ValueError(
                f"{cls.__name__} has no attribute {', '.join(map(repr, unknown))} to filter on"
            )
        accepted = tuple(
            (name, tuple(value) if isinstance(value, _MANY) else (value,))
            for name, value in filters.items()
        )

        def register(handler: Handler) -> None:
            if not callable(handler):
                raise TypeError(
                    f"a handler must be an async callable, not {type(handler).__name__}"
                )
            route = _Route(hook.strip().casefold(), accepted, when, handler)
            self._routes.append(route)

        return register

    def job(
        self, *, when: Callable[[JobEvent], bool] | None = None, **filters: object
    ) -> Callable[[JobHandlerT], JobHandlerT]:
        """Decorate a handler of job events (``Job Hook``) matching ``filters`` and ``when``."""
        add = self._register(JOB_HOOK, when, filters)

        def register(handler: JobHandlerT) -> JobHandlerT:
            add(handler)
            return handler

        return register

    def pipeline(
        self, *, when: Callable[[PipelineEvent], bool] | None = None, **filters: object
    ) -> Callable[[PipelineHandlerT], PipelineHandlerT]:
        """Decorate a handler of pipeline events (``Pipeline Hook``) matching ``filters``."""
        add = self._register(PIPELINE_HOOK, when, filters)

        def register(handler: PipelineHandlerT) -> PipelineHandlerT:
            add(handler)
            return handler

        return register

    def event(
        self, hook: str, *, when: Callable[[Event], bool] | None = None, **filters: object
    ) -> Callable[[EventHandlerT], EventHandlerT]:
        """Decorate a handler of any hook by its ``X-Gitlab-Event`` name (``"Push Hook"``)."""
        add = self._register(hook, when, filters)

        def register(handler: EventHandlerT) -> EventHandlerT:
            add(handler)
            return handler

        return register

    def handlers_for(self, event: Event) -> tuple[Handler, ...]:
        """The handlers ``event`` goes to, in registration order (none: it is ignored).

        A ``when`` predicate that raises counts as no match, and is logged.
        """
        found = []
        for route in self._routes:
            try:
                if route.matches(event):
                    found.append(route.handler)
            except Exception:
                log.exception("the `when` of %s failed on %s", _name(route.handler), _what(event))
        return tuple(found)

    async def dispatch(
        self, event: Event, client: GitLab, handlers: tuple[Handler, ...] | None = None
    ) -> int:
        """Run the handlers of ``event`` one after another; return how many raised.

        Each runs with ``X-Gitlab-Event-UUID`` set for the API requests it makes through
        ``client`` (GitLab's recursion detection). A handler's exception is logged on the
        ``gitlab_jobs_async.webhooks`` logger and does not stop the next handler.

        Args:
            event: the event.
            client: the client handlers get.
            handlers: the handlers to run (default :meth:`handlers_for`).
        """
        failures = 0
        headers = {}
        if event.event_uuid and _EVENT_UUID.fullmatch(event.event_uuid):
            headers["X-Gitlab-Event-UUID"] = event.event_uuid
        for handler in self.handlers_for(event) if handlers is None else handlers:
            try:
                with request_headers(headers):
                    await handler(event, client)
            except Exception:
                failures += 1
                log.exception("webhook handler %s failed on %s", _name(handler), _what(event))
        return failures


def _name(handler: object) -> str:
    return getattr(handler, "__qualname__", None) or repr(handler)


def _what(event: Event) -> str:
    key = event.idempotency_key or event.delivery_id or "no idempotency key"
    return f"{event.hook} ({key})"
