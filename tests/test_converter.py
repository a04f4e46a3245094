"""Structuring GitLab's JSON into models: timestamps, open enums, null vs absent, bad shapes."""

from __future__ import annotations

import copy
import json
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import cattrs
import pytest

from gitlab_jobs_async import AllowedAgents, Bridge, Job, JobStatus
from gitlab_jobs_async._converter import converter, make_converter, structure

FIXTURES = Path(__file__).parent / "fixtures"


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return data


def test_documented_job_example():
    """GitLab's documented job example becomes a fully typed Job."""
    job = converter.structure(load("job_failed.json"), Job)
    assert job.id == 7 and job.status is JobStatus.FAILED
    assert job.failure_reason == "script_failure"
    assert job.created_at == datetime(2015, 12, 24, 15, 51, 21, 880000, tzinfo=UTC)
    assert job.commit is not None and job.commit.authored_date is not None
    assert job.commit.authored_date.utcoffset() == timedelta(hours=1)
    assert job.pipeline is not None and job.pipeline.id == 6 and job.pipeline.source == "push"
    assert job.user is not None and job.user.username == "root"
    assert job.runner is not None and job.runner.runner_type == "instance_type"
    assert job.runner_manager is not None and job.runner_manager.system_id == "s_89e5e9956577"
    assert job.artifacts_file is not None and job.artifacts_file.filename == "artifacts.zip"
    assert [a.file_type for a in job.artifacts] == ["archive", "metadata", "trace"]
    assert job.tag_list == ("docker runner", "ubuntu18")
    assert job.coverage is None and job.archived is False
    assert job.project is not None and job.project.ci_job_token_scope_enabled is False


def test_absent_and_null_keys_are_none():
    """A key GitLab leaves out and a key sent as null both give None."""
    data = load("job_failed.json")
    for key in ("failure_reason", "artifacts_file", "runner_manager"):
        del data[key]
    for key in (
        "started_at",
        "finished_at",
        "duration",
        "queued_duration",
        "user",
        "commit",
        "runner",
        "artifacts_expire_at",
        "coverage",
        "erased_at",
    ):
        data[key] = None
    job = converter.structure(data, Job)
    assert job.failure_reason is None and job.artifacts_file is None and job.runner_manager is None
    assert job.started_at is None and job.duration is None and job.user is None
    assert job.commit is None and job.runner is None


def test_unknown_status_failure_reason_and_keys():
    """Unknown statuses, failure reasons, file types, sources and extra keys never break parsing."""
    data = load("job_failed.json")
    data["status"] = "waiting_for_quantum"
    data["failure_reason"] = "cosmic_ray_failure"
    data["pipeline"]["source"] = "telepathy"
    data["pipeline"]["status"] = "hyperspace"
    data["artifacts"][0]["file_type"] = "hologram"
    data["brand_new_field"] = {"nested": [1, 2]}
    data["user"]["brand_new_user_field"] = True
    job = converter.structure(data, Job)
    assert job.status == "waiting_for_quantum" and not isinstance(job.status, JobStatus)
    assert job.failure_reason == "cosmic_ray_failure"
    assert job.pipeline is not None and job.pipeline.status == "hyperspace"
    assert job.artifacts[0].file_type == "hologram"


@pytest.mark.parametrize("status", list(JobStatus))
def test_every_known_status_is_the_enum(status: JobStatus) -> None:
    """Each of the 13 statuses becomes its JobStatus member, equal to its string."""
    data = load("job_failed.json") | {"status": status.value}
    job = converter.structure(data, Job)
    assert job.status is status and job.status == status.value


def test_bridge_example():
    """A bridge keeps its downstream pipeline; null downstream is None."""
    bridge = converter.structure(load("bridge.json"), Bridge)
    assert bridge.downstream_pipeline is not None and bridge.downstream_pipeline.id == 5
    assert bridge.downstream_pipeline.source == "pipeline"
    pending = converter.structure(load("bridge.json") | {"downstream_pipeline": None}, Bridge)
    assert pending.downstream_pipeline is None


def test_allowed_agents_example():
    """The allowed_agents answer is typed; a missing environment is None."""
    data = load("allowed_agents.json")
    agents = converter.structure(data, AllowedAgents)
    assert [a.id for a in agents.allowed_agents] == [1]
    first = agents.allowed_agents[0]
    assert first.config_project is not None and first.config_project.name == "project_1"
    assert first.configuration == {"default_namespace": "production"}
    assert agents.project is not None and [g.id for g in agents.project.groups] == [1, 2, 3]
    assert agents.user is not None and agents.user.roles_in_project == ("developer",)
    assert agents.environment is not None and agents.environment.tier == "production"
    del data["environment"]
    assert converter.structure(data, AllowedAgents).environment is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-24T15:51:21.880Z", datetime(2026, 11, 24, 15, 51, 21, 880000, tzinfo=UTC)),
        (
            "2026-11-24T15:51:21+01:00",
            datetime(2026, 11, 24, 15, 51, 21, tzinfo=timezone(timedelta(hours=1))),
        ),
        ("2026-11-24T15:51:21", datetime(2026, 11, 24, 15, 51, 21, tzinfo=UTC)),
    ],
)
def test_timestamps_are_timezone_aware(value, expected):
    """Z, offsets and (defensively) naive timestamps all give aware datetimes."""
    job = converter.structure({"id": 1, "status": "success", "name": "a", "created_at": value}, Job)
    assert job.created_at == expected and job.created_at.tzinfo is not None


@pytest.mark.parametrize(
    ("patch", "where"),
    [
        ({"id": "7"}, "$.id"),
        ({"tag": "false"}, "$.tag"),
        ({"status": 3}, "$.status"),
        ({"created_at": 1450972281}, "$.created_at"),
        ({"created_at": "yesterday"}, "$.created_at"),
        ({"tag_list": "docker"}, "$.tag_list"),
        ({"allow_failure": 1}, "$.allow_failure"),
    ],
)
def test_wrong_shapes_are_reported_not_coerced(patch, where):
    """A wrongly typed value raises, naming the field, instead of being coerced."""
    data = copy.deepcopy(load("job_failed.json")) | patch
    with pytest.raises(ValueError, match=re.escape(where)):
        structure(data, Job)


def test_missing_required_field():
    """A job without an id is an error naming the field."""
    data = load("job_failed.json")
    del data["id"]
    with pytest.raises(ValueError, match=re.escape("$.id")):
        structure(data, Job)


def test_strict_converter_sees_no_drift_on_documented_example():
    """Every key of the documented examples is modelled (a strict converter accepts them)."""
    strict = make_converter()
    strict.forbid_extra_keys = True  # applies to classes structured from now on
    strict.register_structure_hook_factory(
        lambda t: hasattr(t, "__attrs_attrs__"),
        lambda t: cattrs.gen.make_dict_structure_fn(t, strict, _cattrs_forbid_extra_keys=True),
    )
    strict.structure(load("job_failed.json"), Job)
    strict.structure(load("bridge.json"), Bridge)
    strict.structure(load("allowed_agents.json"), AllowedAgents)


def test_repeated_nested_objects_are_shared_only_when_identical():
    """Identical nested JSON gives one shared immutable instance; any difference gives another."""
    first = converter.structure(load("job_failed.json"), Job)
    second = converter.structure(load("job_failed.json") | {"id": 8}, Job)
    assert first.user is second.user and first.pipeline is second.pipeline
    assert first.commit is second.commit and first.runner is second.runner
    changed = load("job_failed.json")
    changed["user"]["name"] = "Someone Else"
    changed["pipeline"]["status"] = "success"
    third = converter.structure(changed, Job)
    assert third.user is not first.user and third.user is not None
    assert third.user.name == "Someone Else"
    assert third.pipeline is not None and third.pipeline.status is JobStatus.SUCCESS


def test_sharing_never_hides_a_wrong_type():
    """A nested object equal in Python but of another JSON type is not taken from the cache."""
    good = load("job_failed.json")
    converter.structure(good, Job)
    bad = load("job_failed.json")
    bad["user"]["locked"] = 0  # equal to False in Python, but not a JSON boolean
    with pytest.raises(ValueError, match=re.escape("$.user.locked")):
        structure(bad, Job)
