"""How GitLab's webhook JSON becomes the event models: one cattrs converter and its hooks.

It starts from the package's :func:`~gitlab_jobs_async._converter.make_converter` (strict
primitives, ISO timestamps, unknown keys ignored, a missing optional key is ``None``) and adds:

* timestamps in both forms GitLab has sent: ISO 8601 (``2021-02-23T02:41:37.886Z``) and the
  legacy ``2016-08-12 15:23:28 UTC`` (or ``+0200``) of older servers and of pipeline hooks;
  when a field has an ``*_iso`` twin (``build_created_at_iso``) that is not ``null``, the twin
  wins;
* ``JobStatus | str``: an open enum, a status this version does not know stays a ``str``;
* the job hook's names: ``build_id`` is :attr:`JobEvent.job_id`, ``build_status`` its
  ``status``, ``commit`` its ``pipeline``, ...; a pipeline hook's ``object_attributes`` is
  :attr:`PipelineEvent.pipeline`;
* ``failure_reason``: ``unknown_failure`` (what GitLab sends for a job that did not fail) is
  ``None``;
* lists sent as ``null`` (a runner's ``tags``, a pipeline's ``stages``) are empty tuples.

Failures come out as :class:`MalformedPayload` naming the fields that were wrong.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, get_args

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, override

from .._converter import make_converter
from .._models import JobStatus
from ._errors import MalformedPayload
from ._models import (
    JOB_HOOK,
    PIPELINE_HOOK,
    CommitAuthor,
    Event,
    HookArtifactsFile,
    HookCommit,
    HookEnvironment,
    HookProject,
    HookRunner,
    HookUser,
    JobEvent,
    JobPipeline,
    MergeRequest,
    PipelineAttributes,
    PipelineBuild,
    PipelineEvent,
    PipelineVariable,
    SourcePipeline,
)

__all__ = ["Envelope", "event_class", "parse_hook_timestamp", "structure_event"]

# ``2016-08-12 15:23:28 UTC``: Ruby's ``Time#to_s`` of a UTC time, what GitLab's hooks sent
# before the ``*_iso`` fields; a local zone shows as ``+0200`` (deployment hooks).
_LEGACY = re.compile(
    r"(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(\.\d{1,6})? (?:(UTC)|([+-])(\d{2}):?(\d{2}))",
    re.ASCII,
)


def parse_hook_timestamp(value: str) -> datetime:
    """A webhook timestamp in the legacy ``2016-08-12 15:23:28 UTC`` form, as an aware ``datetime``.

    Raises:
        ValueError: when ``value`` is not of that form.
    """
    match = _LEGACY.fullmatch(value)
    if match is None:
        raise ValueError(f"not a GitLab timestamp: {value[:40]!r}")
    date, clock, fraction, utc, sign, hours, minutes = match.groups()
    zone = UTC
    if utc is None:
        offset = timedelta(hours=int(hours), minutes=int(minutes))
        zone = timezone(-offset if sign == "-" else offset)
    return datetime.fromisoformat(f"{date}T{clock}{fraction or ''}").replace(tzinfo=zone)


class Envelope:
    """What a delivery's headers say about it. Strictly private."""

    __slots__ = ("delivery_id", "event_uuid", "hook", "idempotency_key", "instance")

    def __init__(
        self,
        hook: str,
        *,
        delivery_id: str | None = None,
        idempotency_key: str | None = None,
        event_uuid: str | None = None,
        instance: str | None = None,
    ) -> None:
        self.hook = hook
        self.delivery_id = delivery_id
        self.idempotency_key = idempotency_key
        self.event_uuid = event_uuid
        self.instance = instance


# Attribute name -> GitLab's key, where they differ.
_RENAMES: dict[type, dict[str, str]] = {
    JobEvent: {
        "job_id": "build_id",
        "name": "build_name",
        "stage": "build_stage",
        "status": "build_status",
        "failure_reason": "build_failure_reason",
        "allow_failure": "build_allow_failure",
        "created_at": "build_created_at",
        "started_at": "build_started_at",
        "finished_at": "build_finished_at",
        "status_changed_at": "build_status_changed_at",
        "duration": "build_duration",
        "queued_duration": "build_queued_duration",
        "pipeline": "commit",
    },
    PipelineEvent: {"pipeline": "object_attributes"},
}
_ENVELOPE = ("hook", "delivery_id", "idempotency_key", "event_uuid", "instance")
_MODELS = (
    HookUser,
    HookRunner,
    HookProject,
    HookEnvironment,
    SourcePipeline,
    JobPipeline,
    PipelineVariable,
    PipelineAttributes,
    MergeRequest,
    CommitAuthor,
    HookCommit,
    HookArtifactsFile,
    PipelineBuild,
    Event,
    JobEvent,
    PipelineEvent,
)
_EVENTS: dict[str, type[Event]] = {
    JOB_HOOK.casefold(): JobEvent,
    PIPELINE_HOOK.casefold(): PipelineEvent,
}


def event_class(hook: str) -> type[Event]:
    """The type for an ``X-Gitlab-Event`` value, compared without case; else :class:`Event`."""
    return _EVENTS.get(hook.strip().casefold(), Event)


def _open_status(value: Any, _: Any) -> JobStatus | str:
    if not isinstance(value, str):
        raise TypeError(f"expected a status string, got {type(value).__name__}")
    try:
        return JobStatus(value)
    except ValueError:
        return value


def _is_tuple(t: Any) -> bool:
    return getattr(t, "__origin__", None) is tuple


def _null_is_empty(inner: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    def hook(value: Any, type_: Any) -> Any:
        return () if value is None else inner(value, type_)

    return hook


def _unknown_failure_is_none(key: str) -> Callable[[dict[str, Any]], None]:
    def prepare(fields: dict[str, Any]) -> None:
        if fields.get(key) == "unknown_failure":
            fields[key] = None

    return prepare


_PREPARE: dict[type, Callable[[dict[str, Any]], None]] = {
    JobEvent: _unknown_failure_is_none("build_failure_reason"),
    PipelineBuild: _unknown_failure_is_none("failure_reason"),
}


def _is_datetime(t: Any) -> bool:
    return t is datetime or datetime in get_args(t)


def _model_hook(conv: cattrs.Converter, cls: type) -> Callable[[Any, Any], Any]:
    attrs.resolve_types(cls)  # the models' annotations are strings until resolved
    renames = _RENAMES.get(cls, {})
    overrides: dict[str, Any] = {}
    iso_keys: list[str] = []
    for field in attrs.fields(cls):
        wire = renames.get(field.name, field.name)
        if field.name == "data":  # the raw payload, kept as it is
            overrides[field.name] = override(struct_hook=lambda value, _: value)
        elif _is_tuple(field.type):
            overrides[field.name] = override(
                rename=wire, struct_hook=_null_is_empty(conv.get_structure_hook(field.type))
            )
        elif wire != field.name:
            overrides[field.name] = override(rename=wire)
        if _is_datetime(field.type):
            iso_keys.append(wire)
    build: Callable[[Any, Any], Any] = make_dict_structure_fn(cls, conv, **overrides)
    prepare = _PREPARE.get(cls)

    def hook(value: Any, type_: Any) -> Any:
        if not isinstance(value, dict):
            raise TypeError(f"expected a JSON object, got {type(value).__name__}")
        fields = value
        if prepare is not None:
            fields = dict(value)
            prepare(fields)
        for key in iso_keys:
            twin = value.get(key + "_iso")
            if twin is not None:
                if fields is value:
                    fields = dict(value)
                fields[key] = twin
        return build(fields, type_)

    return hook


def _make() -> cattrs.Converter:
    conv = make_converter()
    iso = conv.get_structure_hook(datetime)

    def structure_datetime(value: Any, type_: Any) -> datetime:
        if isinstance(value, str) and _LEGACY.fullmatch(value):
            return parse_hook_timestamp(value)
        return iso(value, type_)  # type: ignore[no-any-return]

    conv.register_structure_hook(datetime, structure_datetime)
    for status_type in (JobStatus | str, JobStatus | str | None):
        conv.register_structure_hook_func(
            lambda t, status_type=status_type: t == status_type,  # type: ignore[misc]
            lambda v, _: None if v is None else _open_status(v, _),
        )
    for cls in _MODELS:
        conv.register_structure_hook(cls, _model_hook(conv, cls))
    return conv


_converter = _make()


def structure_event(payload: Mapping[str, Any], envelope: Envelope) -> Event:
    """The typed event of a payload: :class:`JobEvent`, :class:`PipelineEvent` or :class:`Event`.

    Raises:
        MalformedPayload: when the payload is not what GitLab sends for that hook.
    """
    cls = event_class(envelope.hook)
    fields = dict(payload) if cls is not Event else {}
    for name in _ENVELOPE:
        fields[name] = getattr(envelope, name)
    fields["data"] = payload
    try:
        return _converter.structure(fields, cls)
    except Exception as exc:
        raise MalformedPayload(
            f"{envelope.hook} payload is not what GitLab sends: {_explain(exc, cls)}"
        ) from exc


def _explain(exc: Exception, cls: type) -> str:
    if not isinstance(exc, cattrs.BaseValidationError):
        return f"{type(exc).__name__}: {exc}"
    # cattrs names the attribute; the sender knows GitLab's key (``$.job_id`` is ``build_id``).
    renames = _RENAMES.get(cls, {})
    lines = []
    for line in cattrs.transform_error(exc, path="$"):
        text, at, path = line.rpartition(" @ ")
        first, dot, rest = path.removeprefix("$.").partition(".")
        if at and path.startswith("$.") and first in renames:
            line = f"{text}{at}$.{renames[first]}{dot}{rest}"
        lines.append(line)
    return "; ".join(lines)
