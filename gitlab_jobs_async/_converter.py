"""Every wire rule between GitLab's JSON and the models, in one cattrs converter.

:func:`make_converter` starts from cattrs' preconfigured JSON converter and adds, in order
(cattrs matches simpler hooks first, so they are registered before any class is structured):

* ``datetime``: ISO-8601 with ``Z`` or an offset, always timezone-aware; a naive value is
  taken as UTC (GitLab.com's instance time zone).
* ``str``, ``int``, ``float``, ``bool``: strict, so ``"false"`` never becomes ``True`` and a
  wrong shape is reported instead of coerced; an ``int`` is accepted where a ``float`` is expected.
* ``tuple[X, ...]``: from a JSON array only, so a string is never split into characters.
* ``JobStatus | str``: open enum, a known status becomes the member, an unknown one stays a ``str``.
* nested objects that repeat across a list (the user, pipeline, commit, runner of each job)
  are built once and shared: the models are immutable, so an identical JSON object can safely
  give the identical instance. The key is the object's whole content (a commit's is its sha and
  ``web_url``, which determine the rest); the cache per class is small and bounded.
* attrs classes: unknown keys are ignored (GitLab adds fields often), a missing optional key
  and an explicit ``null`` both become ``None``.

Errors come out as cattrs' ``ClassValidationError``; :func:`structure` turns them into
:class:`~gitlab_jobs_async.ResponseError` with a readable list of what was wrong.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from datetime import UTC, datetime
from types import UnionType
from typing import Any, TypeVar, Union, get_args, get_origin

import cattrs
from cattrs.cols import homogenous_tuple_structure_factory
from cattrs.gen import make_dict_structure_fn
from cattrs.preconf.json import JsonConverter
from cattrs.preconf.json import make_converter as make_json_converter

from ._models import (
    Artifact,
    ArtifactsFile,
    Commit,
    JobProject,
    JobStatus,
    Pipeline,
    Runner,
    RunnerManager,
    User,
)

__all__ = [
    "converter",
    "make_converter",
    "parse_timestamp",
    "structure",
    "structure_error_text",
]

T = TypeVar("T")


def parse_timestamp(value: str) -> datetime:
    """GitLab's ISO-8601 timestamp as an aware ``datetime`` (naive means UTC); ``ValueError``."""
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _structure_datetime(value: Any, _: type) -> datetime:
    if not isinstance(value, str):
        raise TypeError(f"expected an ISO-8601 timestamp string, got {type(value).__name__}")
    return parse_timestamp(value)


def _str(value: Any, _: Any) -> str:
    if type(value) is str:
        return value
    raise TypeError(f"expected str, got {type(value).__name__}")


def _int(value: Any, _: Any) -> int:
    if type(value) is int:
        return value
    raise TypeError(f"expected int, got {type(value).__name__}")


def _float(value: Any, _: Any) -> float:
    kind = type(value)
    if kind is float:
        return value  # type: ignore[no-any-return]
    if kind is int:
        return float(value)
    raise TypeError(f"expected float, got {kind.__name__}")


def _bool(value: Any, _: Any) -> bool:
    if type(value) is bool:
        return value
    raise TypeError(f"expected bool, got {type(value).__name__}")


def _structure_status(value: Any, _: type) -> JobStatus | str:
    if not isinstance(value, str):
        raise TypeError(f"expected a status string, got {type(value).__name__}")
    try:
        return JobStatus(value)
    except ValueError:
        return value


def _is_homogenous_tuple(t: Any) -> bool:
    args = get_args(t)
    return get_origin(t) is tuple and len(args) == 2 and args[1] is Ellipsis


def _array_only(t: Any, conv: cattrs.Converter) -> Callable[[Any, Any], Any]:
    inner = homogenous_tuple_structure_factory(t, conv)

    def hook(value: Any, type_: Any) -> Any:
        if not isinstance(value, list):
            raise TypeError(f"expected a JSON array, got {type(value).__name__}")
        return inner(value, type_)

    return hook


def _is_optional(t: Any) -> bool:
    args = get_args(t)
    return get_origin(t) in (UnionType, Union) and len(args) == 2 and type(None) in args


def _optional_primitive(kind: type) -> Callable[[Any, Any], Any]:
    def hook(value: Any, _: Any) -> Any:
        if value is None or type(value) is kind:
            return value
        if kind is float and type(value) is int:
            return float(value)
        raise TypeError(f"expected {kind.__name__} or null, got {type(value).__name__}")

    return hook


def _optional(t: Any, conv: cattrs.Converter) -> Callable[[Any, Any], Any]:
    # Resolve the inner hook once, instead of cattrs dispatching on every value; the
    # primitives, by far the most common, get a single-call check.
    (inner_type,) = (arg for arg in get_args(t) if arg is not type(None))
    if inner_type in (str, int, float, bool):
        return _optional_primitive(inner_type)
    inner = conv.get_structure_hook(inner_type)

    def hook(value: Any, _: Any) -> Any:
        return None if value is None else inner(value, inner_type)

    return hook


_SHARED_LIMIT = 512


def _content_key(value: Any) -> Hashable:
    # Types are part of the key: 1, 1.0 and True are equal in Python but not in JSON.
    # A list or dict value makes the key unhashable (TypeError): then nothing is shared.
    return tuple((k, type(v), v) for k, v in value.items())


def _commit_key(value: Any) -> Hashable:
    return (value["id"], value.get("web_url"))


def _share(conv: cattrs.Converter, cls: type, key: Callable[[Any], Hashable]) -> None:
    build: Callable[[Any, Any], Any] = make_dict_structure_fn(cls, conv)
    cache: dict[Hashable, Any] = {}

    def hook(value: Any, type_: Any) -> Any:
        try:
            found = key(value)
            hit = cache.get(found)
        except (TypeError, KeyError, AttributeError):
            return build(value, type_)
        if hit is None:
            hit = build(value, type_)
            if len(cache) >= _SHARED_LIMIT:
                cache.clear()
            cache[found] = hit
        return hit

    conv.register_structure_hook(cls, hook)


def make_converter(*, detailed_validation: bool = True) -> JsonConverter:
    """Build a converter holding every rule of this module's docstring.

    ``detailed_validation=False`` is faster and raises the first error bare; the client
    uses it and, only when a body fails, structures it again with details for the message.
    """
    conv = make_json_converter(detailed_validation=detailed_validation)
    conv.register_structure_hook(datetime, _structure_datetime)
    conv.register_structure_hook(str, _str)
    conv.register_structure_hook(int, _int)
    conv.register_structure_hook(float, _float)
    conv.register_structure_hook(bool, _bool)
    conv.register_structure_hook_factory(_is_homogenous_tuple, _array_only)
    # A predicate hook: cattrs' union passthrough would otherwise take ``JobStatus | str``.
    conv.register_structure_hook_func(lambda t: t == JobStatus | str, _structure_status)
    conv.register_structure_hook_func(
        lambda t: t == JobStatus | str | None,
        lambda v, t: None if v is None else _structure_status(v, t),
    )
    conv.register_structure_hook_factory(_is_optional, _optional)
    if not detailed_validation:  # the fast converter; the detailed one only explains errors
        # Nested before nesting: Runner's hook embeds User's.
        for cls in (User, Pipeline, JobProject, Artifact, ArtifactsFile, Runner, RunnerManager):
            _share(conv, cls, _content_key)
        _share(conv, Commit, _commit_key)
    return conv


converter = make_converter(detailed_validation=False)
"""The fast converter the client uses. Build your own with :func:`make_converter`."""

_detailed = make_converter()


def structure(data: Any, cls: type[T]) -> T:
    """Structure ``data`` as ``cls``; on failure raise ``ValueError`` naming every problem.

    The fast converter does the work; a failing body is structured once more by a detailed
    converter, only to say where it went wrong (``$.pipeline.id``: expected int, ...).
    """
    try:
        return converter.structure(data, cls)
    except Exception as fast_error:
        try:
            _detailed.structure(data, cls)
        except Exception as exc:
            raise ValueError(structure_error_text(exc)) from exc
        raise ValueError(structure_error_text(fast_error)) from fast_error


def structure_error_text(exc: Exception) -> str:
    """A one-line, readable account of a cattrs structuring failure."""
    if isinstance(exc, cattrs.BaseValidationError):
        return "; ".join(cattrs.transform_error(exc))
    return f"{type(exc).__name__}: {exc}"
