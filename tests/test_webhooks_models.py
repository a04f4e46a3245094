"""Webhook payloads become typed events: GitLab's job and pipeline hooks, tolerant as GitLab is."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from gitlab_jobs_async import GitLabError, Job, JobStatus
from gitlab_jobs_async._converter import structure
from gitlab_jobs_async.webhooks import (
    Event,
    HookEnvironment,
    HookProject,
    JobEvent,
    MalformedPayload,
    PipelineEvent,
    SourcePipeline,
    WebhookError,
)
from gitlab_jobs_async.webhooks._convert import Envelope, parse_hook_timestamp, structure_event

FIXTURES = Path(__file__).parent / "fixtures" / "webhooks"


def payload(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return data


def job_event(data: dict[str, Any]) -> JobEvent:
    event = structure_event(data, Envelope("Job Hook"))
    assert isinstance(event, JobEvent)
    return event


def pipeline_event(data: dict[str, Any]) -> PipelineEvent:
    event = structure_event(data, Envelope("Pipeline Hook"))
    assert isinstance(event, PipelineEvent)
    return event


@pytest.mark.parametrize(
    ("fixture", "hook", "cls"),
    [
        ("job_pending_null_runner", "Job Hook", JobEvent),
        ("job_failed_legacy", "Job Hook", JobEvent),
        ("job_success_child", "Job Hook", JobEvent),
        ("job_unknown_status", "Job Hook", JobEvent),
        ("pipeline_merge_request", "Pipeline Hook", PipelineEvent),
        ("pipeline_push", "Pipeline Hook", PipelineEvent),
        ("push_hook", "Push Hook", Event),
    ],
)
def test_every_fixture_structures_as_its_hook_type(fixture, hook, cls):
    """Each GitLab-shaped payload becomes the event type of its X-Gitlab-Event, keeping its data."""
    data = payload(fixture)
    event = structure_event(data, Envelope(hook, idempotency_key="k"))
    assert type(event) is cls
    assert event.hook == hook
    assert event.idempotency_key == "k"
    assert event.data == data


@pytest.mark.parametrize(
    ("hook", "cls"),
    [
        ("Job Hook", JobEvent),
        ("job hook", JobEvent),
        (" JOB HOOK ", JobEvent),
        ("Pipeline Hook", PipelineEvent),
        ("System Hook", Event),
        ("Deployment Hook", Event),
        ("", Event),
    ],
)
def test_hook_name_picks_the_type_without_case(hook, cls):
    """X-Gitlab-Event is compared without case or surrounding blanks; unknown hooks are Events."""
    data = payload("job_pending_null_runner" if cls is JobEvent else "pipeline_push")
    assert type(structure_event(data, Envelope(hook))) is cls


def test_job_fields_use_sdk_names():
    """build_id, build_name, build_status, ... arrive as job_id, name, status, ..."""
    event = job_event(payload("job_failed_legacy"))
    assert (event.job_id, event.name, event.stage) == (1977, "test", "test")
    assert event.status is JobStatus.FAILED
    assert event.failure_reason == "script_failure"
    assert (event.pipeline_id, event.project_id) == (2366, 380)
    assert (event.duration, event.queued_duration) == (93.0, 88.2)
    assert event.pipeline is not None and event.pipeline.id == 2366  # GitLab's `commit`
    assert event.runner is not None and event.runner.tags == ("linux", "docker")


def test_null_runner_and_absent_source_pipeline():
    """A job no runner took yet has runner None; a plain pipeline's job has no source pipeline."""
    event = job_event(payload("job_pending_null_runner"))
    assert event.runner is None
    assert event.source_pipeline is None
    assert event.environment is None
    assert event.status is JobStatus.PENDING


def test_unknown_failure_means_no_failure_reason():
    """build_failure_reason "unknown_failure", sent for jobs that did not fail, is None."""
    assert job_event(payload("job_pending_null_runner")).failure_reason is None
    failed = payload("job_failed_legacy") | {"build_failure_reason": "unknown_failure"}
    assert job_event(failed).failure_reason is None
    build = payload("pipeline_push")["builds"][0] | {"failure_reason": "unknown_failure"}
    pipeline = payload("pipeline_push") | {"builds": [build]}
    assert pipeline_event(pipeline).builds[0].failure_reason is None


UTC_0815 = datetime(2016, 8, 12, 15, 23, 28, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2016-08-12 15:23:28 UTC", UTC_0815),
        ("2016-08-12 15:23:28.5 UTC", UTC_0815.replace(microsecond=500000)),
        ("2016-08-12 17:23:28 +0200", UTC_0815),
        ("2016-08-12 17:23:28 +02:00", UTC_0815),
        ("2016-08-12 10:23:28 -0500", UTC_0815),
    ],
)
def test_legacy_timestamps(text, expected):
    """Ruby's Time#to_s form of older GitLab hooks is an aware datetime at the same instant."""
    parsed = parse_hook_timestamp(text)
    assert parsed == expected
    assert parsed.tzinfo is not None


@pytest.mark.parametrize(
    "text", ["2016-08-12T15:23:28Z", "2016-08-12 15:23:28", "2016-08-12 15:23:28 CEST", "x"]
)
def test_legacy_parser_rejects_other_forms(text):
    """Only the legacy form is taken by the legacy parser; ISO goes through the package's own."""
    with pytest.raises(ValueError):
        parse_hook_timestamp(text)


@pytest.mark.parametrize(
    ("created_at", "created_at_iso", "expected"),
    [
        ("2016-08-12 15:23:28 UTC", None, UTC_0815),
        ("2016-08-12T15:23:28.000Z", None, UTC_0815),
        ("2016-08-12 15:23:28 UTC", "2016-08-12T17:23:28+02:00", UTC_0815),
        ("garbage the twin replaces", "2016-08-12T15:23:28Z", UTC_0815),
        (None, "2016-08-12T15:23:28Z", UTC_0815),
        (None, None, None),
    ],
)
def test_iso_twin_wins_over_the_legacy_field(created_at, created_at_iso, expected):
    """build_created_at_iso, when not null, is read instead of build_created_at."""
    data = payload("job_pending_null_runner")
    data["build_created_at"] = created_at
    data["build_created_at_iso"] = created_at_iso
    assert job_event(data).created_at == expected


def test_both_date_forms_in_one_child_job():
    """The twins carry offsets; pipeline started_at comes from its twin; status_changed_at is read."""
    event = job_event(payload("job_success_child"))
    plus2 = timezone(timedelta(hours=2))
    assert event.created_at == datetime(2024, 5, 2, 11, 0, 0, 123000, tzinfo=plus2)
    assert event.finished_at == datetime(2024, 5, 2, 9, 1, 35, tzinfo=UTC)
    assert event.status_changed_at == datetime(2024, 5, 2, 9, 1, 35, tzinfo=UTC)
    assert event.pipeline is not None
    assert event.pipeline.started_at == datetime(2024, 5, 2, 8, 59, tzinfo=UTC)
    assert event.retries_count == 2
    assert event.environment == HookEnvironment(name="staging", action="start")
    assert event.runner is not None and event.runner.tags == ()  # sent as null
    assert event.source_pipeline == SourcePipeline(
        project=HookProject(
            id=41,
            web_url="https://gitlab.example.com/gitlab-org/upstream-project",
            path_with_namespace="gitlab-org/upstream-project",
        ),
        job_id=3401,
        pipeline_id=30,
    )


def test_open_status_and_unknown_keys():
    """A status this SDK does not know stays a str; keys it does not know are ignored."""
    event = job_event(payload("job_unknown_status"))
    assert event.status == "waiting_for_approval"
    assert not isinstance(event.status, JobStatus)
    assert event.user is None
    assert event.data["a_field_from_the_future"] is True


def test_absent_optional_keys_are_none():
    """An older server's payload without project, retries_count or the twins still structures."""
    event = job_event(payload("job_failed_legacy"))
    assert event.project is None
    assert event.retries_count is None
    assert event.status_changed_at is None


def test_pipeline_event_with_merge_request_and_legacy_dates():
    """A merge request pipeline: its pipeline, builds, merge request, commit and source pipeline."""
    event = pipeline_event(payload("pipeline_merge_request"))
    assert (event.pipeline_id, event.status, event.ref) == (31, JobStatus.SUCCESS, "master")
    assert event.project_id == 1
    assert event.pipeline.created_at == UTC_0815
    assert event.pipeline.stages == ("build", "test", "deploy")
    assert [(v.key, v.value) for v in event.pipeline.variables] == [
        ("NESTOR_PROD_ENVIRONMENT", "us-west-1")
    ]
    assert event.merge_request is not None and event.merge_request.iid == 1
    assert event.commit is not None
    assert event.commit.timestamp == datetime(2016, 8, 12, 15, 23, 21, tzinfo=UTC)
    assert event.source_pipeline is not None and event.source_pipeline.pipeline_id == 30
    by_id = {build.id: build for build in event.builds}
    assert set(by_id) == {377, 378, 379, 380}
    assert by_id[378].failure_reason == "script_failure"
    assert by_id[379].runner is None
    assert by_id[380].environment == HookEnvironment(
        name="production", action="start", deployment_tier="production"
    )
    assert by_id[377].runner is not None and by_id[377].runner.is_shared is True


def test_pipeline_event_push_without_source_pipeline():
    """A push pipeline: null merge request, no source pipeline key, ISO dates."""
    event = pipeline_event(payload("pipeline_push"))
    assert event.merge_request is None
    assert event.source_pipeline is None
    assert event.pipeline.created_at == datetime(2024, 5, 2, 9, 0, tzinfo=UTC)
    assert event.pipeline.queued_duration == 2.0
    assert event.user is not None and event.user.email == "[REDACTED]"
    assert [build.status for build in event.builds] == [JobStatus.SUCCESS, JobStatus.PENDING]


def _drop(data: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k != key}


@pytest.mark.parametrize(
    ("hook", "data", "names"),
    [
        ("Job Hook", _drop(payload("job_pending_null_runner"), "build_id"), ["$.build_id"]),
        ("Job Hook", payload("job_pending_null_runner") | {"build_id": "1977"}, ["$.build_id"]),
        ("Job Hook", payload("job_pending_null_runner") | {"build_status": 3}, ["$.build_status"]),
        ("Job Hook", payload("job_pending_null_runner") | {"runner": [1]}, ["$.runner"]),
        ("Job Hook", payload("job_pending_null_runner") | {"commit": {"id": "x"}}, ["$.commit.id"]),
        (
            "Job Hook",
            payload("job_pending_null_runner") | {"build_created_at_iso": "yesterday"},
            ["$.build_created_at"],
        ),
        (
            "Pipeline Hook",
            _drop(payload("pipeline_push"), "object_attributes"),
            ["$.object_attributes"],
        ),
        ("Pipeline Hook", payload("pipeline_push") | {"builds": {"id": 1}}, ["$.builds"]),
    ],
)
def test_wrong_shapes_raise_malformed_payload_naming_gitlabs_keys(hook, data, names):
    """A payload GitLab would not send raises MalformedPayload naming the wire key, status 400."""
    with pytest.raises(MalformedPayload) as caught:
        structure_event(data, Envelope(hook))
    assert isinstance(caught.value, WebhookError)
    assert caught.value.status == 400
    for name in names:
        assert name in str(caught.value)


def test_null_lists_are_empty():
    """A pipeline whose stages, variables or builds are null has empty tuples."""
    data = payload("pipeline_push")
    data["object_attributes"] |= {"stages": None, "variables": None}
    data["builds"] = None
    event = pipeline_event(data)
    assert (event.pipeline.stages, event.pipeline.variables, event.builds) == ((), (), ())


REST_JOB = {
    "id": 1977,
    "status": "failed",
    "name": "rspec 1/2",
    "stage": "test",
    "ref": "main",
    "tag": False,
    "allow_failure": False,
    "created_at": "2024-05-02T09:00:00.000Z",
    "started_at": "2024-05-02T09:00:02.000Z",
    "finished_at": "2024-05-02T09:00:40.000Z",
    "duration": 38.1,
    "queued_duration": 1.9,
    "failure_reason": "runner_system_failure",
    "user": {"id": 3, "username": "user1", "name": "User"},
    "commit": {"id": "2293ada6b400935a1378653304eaf6221e0fdb8f"},
    "pipeline": {"id": 2366, "project_id": 380, "sha": "2293ada6", "status": "failed"},
    "runner": {
        "id": 12,
        "description": "k8s-runner",
        "is_shared": False,
        "runner_type": "group_type",
    },
}


SAME_JOB_HOOK = payload("job_pending_null_runner") | {
    "build_id": 1977,
    "build_name": "rspec 1/2",
    "build_stage": "test",
    "build_status": "failed",
    "build_failure_reason": "runner_system_failure",
    "build_created_at_iso": "2024-05-02T09:00:00Z",
    "build_started_at_iso": "2024-05-02T09:00:02Z",
    "build_finished_at_iso": "2024-05-02T09:00:40Z",
    "build_duration": 38.1,
    "build_queued_duration": 1.9,
    "ref": "main",
    "sha": "2293ada6b400935a1378653304eaf6221e0fdb8f",
}
SHARED = (
    "hook", "job_id", "name", "stage", "status", "failure_reason", "allow_failure",
    "created_at", "started_at", "finished_at", "duration", "queued_duration",
    "pipeline_id", "project_id", "ref", "tag", "sha",
)  # fmt: skip


def test_from_job_builds_the_event_a_webhook_sends_for_the_same_job():
    """A REST job becomes a JobEvent equal, field for field, to the hook's for that job state."""
    job = structure(REST_JOB, Job)
    polled = JobEvent.from_job(job)
    hooked = job_event(SAME_JOB_HOOK)
    assert {name: getattr(polled, name) for name in SHARED} == {
        name: getattr(hooked, name) for name in SHARED
    }
    assert polled.runner is not None and polled.runner.id == 12
    assert polled.user is not None and polled.user.username == "user1"
    assert polled.pipeline is not None and polled.pipeline.status is JobStatus.FAILED
    assert polled.delivery_id is None and polled.idempotency_key is None


@pytest.mark.parametrize(
    ("changes", "kwargs", "message"),
    [
        ({"pipeline": None}, {}, "has no pipeline"),
        ({"pipeline": {"id": 5}}, {}, "pass project_id"),
    ],
)
def test_from_job_refuses_what_it_cannot_place(changes, kwargs, message):
    """A job without a pipeline, or without any project id, raises ValueError saying so."""
    job = structure(REST_JOB | changes, Job)
    with pytest.raises(ValueError, match=message):
        JobEvent.from_job(job, **kwargs)


def test_from_job_takes_the_project_when_given():
    """An explicit project sets project_id, project and project_name; unknown_failure is None."""
    job = structure(REST_JOB | {"pipeline": {"id": 5}, "failure_reason": "unknown_failure"}, Job)
    project = HookProject(id=9, path_with_namespace="acme/app")
    event = JobEvent.from_job(job, project=project)
    assert (event.project_id, event.project, event.project_name) == (9, project, "acme/app")
    assert event.failure_reason is None


def test_events_are_immutable_and_hide_data_from_repr():
    """Events are frozen; their raw data stays out of repr and equality."""
    data = payload("job_pending_null_runner")
    event = job_event(data)
    with pytest.raises(AttributeError):
        event.job_id = 1  # type: ignore[misc]
    assert "gitlab_test" not in repr(event)
    assert event == job_event(json.loads(json.dumps(data)) | {"extra": 1})


def test_public_surface_is_sorted_and_complete():
    """webhooks.__all__ lists the issue's names and every public name, sorted."""
    import gitlab_jobs_async.webhooks as webhooks

    public = {n for n in dir(webhooks) if not n.startswith("_") and n.isidentifier()}
    assert set(webhooks.__all__) == public
    assert webhooks.__all__ == sorted(webhooks.__all__)
    fixed = {"Event", "JobEvent", "PipelineEvent", "WebhookError", "Router", "parse", "verify"}
    assert fixed | {"webhook_app"} <= set(webhooks.__all__)
    assert issubclass(webhooks.WebhookError, GitLabError)
