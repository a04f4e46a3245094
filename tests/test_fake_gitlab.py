"""The fake GitLab itself, checked over raw HTTP and with python-gitlab, a client no one here wrote.

These tests pin GitLab's behaviour (SERVER-BEHAVIOUR.md) in the fake, independently of the SDK.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp
import gitlab
import pytest
from jsonschema import Draft7Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7
from yarl import URL

from gitlab_jobs_async.testing import FakeGitLab

from ._support import LOG, PROJECT, World, seed

SCHEMAS = Path(__file__).resolve().parents[2] / "shared" / "gitlab-reference" / "schemas" / "public_api" / "v4"


@pytest.fixture
def world(fake: FakeGitLab) -> World:
    return seed(fake)


async def http(
    world: World, method: str, path: str, *, token: str | None = "", **kwargs: Any
) -> tuple[int, Any, Any]:
    """Send one raw request; returns (status, headers, parsed JSON or text)."""
    headers = kwargs.pop("headers", {})
    token = world.token if token == "" else token
    if token:
        headers["PRIVATE-TOKEN"] = token
    async with aiohttp.ClientSession() as session:
        url = URL(world.fake.api_url + path, encoded=True)
        async with session.request(method, url, headers=headers, **kwargs) as resp:
            text = await resp.text()
            body = json.loads(text) if resp.content_type == "application/json" else text
            return resp.status, resp.headers, body


def validator(name: str) -> Draft7Validator:
    resources = []
    for path in SCHEMAS.rglob("*.json"):
        rel = path.relative_to(SCHEMAS).as_posix()
        resources.append((rel, Resource.from_contents(json.loads(path.read_text()),
                                                      default_specification=DRAFT7)))
    registry: Registry[Any] = Registry().with_resources(resources)
    schema = json.loads((SCHEMAS / name).read_text())
    return Draft7Validator({**schema, "$id": name}, registry=registry)


def at_schema_floor(job: dict[str, Any]) -> dict[str, Any]:
    """Drop what GitLab's lagging schemas do not know yet (§3.6), keeping everything else."""
    job = {k: v for k, v in job.items() if k != "failure_reason"}  # job.json lacks it
    if job.get("runner"):
        # runner.json predates paused/runner_type/created_at/job_execution_status and an
        # always-null ip_address.
        job["runner"] = {k: v for k, v in job["runner"].items()
                         if k not in ("paused", "runner_type", "created_at", "job_execution_status")}
        job["runner"]["ip_address"] = job["runner"]["ip_address"] or ""
    if job.get("runner_manager"):
        job["runner_manager"] = {k: v for k, v in job["runner_manager"].items()
                                 if k != "job_execution_status"}
    return job


async def test_jobs_validate_against_gitlab_schemas(world):
    """Every job the fake renders satisfies GitLab's own job.json schema (a floor)."""
    check = validator("job.json")
    status, _, jobs = await http(world, "GET", "/projects/group%2Fsub%2Fapp/jobs?per_page=100")
    assert status == 200 and len(jobs) == len(world.jobs)
    for job in jobs:
        errors = [e.message for e in check.iter_errors(at_schema_floor(job))]
        assert errors == [], (job["name"], errors)


async def test_conditional_keys(world):
    """failure_reason only on failed jobs; artifacts_file only with an archive."""
    _, _, jobs = await http(world, "GET", "/projects/group%2Fsub%2Fapp/jobs")
    by_name = {j["name"]: j for j in jobs}
    assert by_name["rspec"]["failure_reason"] == "script_failure"
    assert "failure_reason" not in by_name["build"]
    assert by_name["build"]["artifacts_file"] == {"filename": "artifacts.zip", "size": 4096}
    assert "artifacts_file" not in by_name["rspec"]
    assert by_name["pending"]["runner"] is None and by_name["pending"]["started_at"] is None


async def test_project_jobs_never_send_totals(world):
    """The project jobs list has no X-Total, X-Total-Pages or rel=last, and an empty X-Next-Page at the end."""
    status, headers, _ = await http(world, "GET", "/projects/group%2Fsub%2Fapp/jobs?per_page=4&page=2")
    assert status == 200
    assert "X-Total" not in headers and "X-Total-Pages" not in headers
    assert headers["X-Next-Page"] == "" and headers["X-Prev-Page"] == "1"
    assert headers["X-Page"] == "2" and headers["X-Per-Page"] == "4"
    assert 'rel="last"' not in headers["Link"] and 'rel="first"' in headers["Link"]


async def test_pipeline_totals_up_to_max_count(world):
    """Pipeline jobs carry totals while the count is at most max_count, none above."""
    path = f"/projects/{world.project.id}/pipelines/{world.pipeline.id}/jobs?per_page=2"
    world.fake.max_count = 6
    _, headers, _ = await http(world, "GET", path)
    assert headers["X-Total"] == "6" and headers["X-Total-Pages"] == "3"
    assert 'rel="last"' in headers["Link"]
    world.fake.max_count = 5
    _, headers, _ = await http(world, "GET", path)
    assert "X-Total" not in headers and 'rel="last"' not in headers["Link"]
    assert headers["X-Next-Page"] == "2"


async def test_link_uses_external_url_and_echoes_params(world):
    """Link URLs name the external host and carry every param, sorted."""
    world.fake.external_url = "https://gitlab.example.com"
    _, headers, _ = await http(world, "GET", "/projects/group%2Fsub%2Fapp/jobs?scope[]=success&scope[]=failed&per_page=1")
    first = headers["Link"].split(", ")[0]
    assert first == (
        "<https://gitlab.example.com/api/v4/projects/group%2Fsub%2Fapp/jobs"
        '?id=group%2Fsub%2Fapp&page=2&per_page=1&scope%5B%5D=success&scope%5B%5D=failed>; rel="next"'
    )


@pytest.mark.parametrize(
    ("query", "status", "body"),
    [
        ("per_page=500", 200, None),
        ("per_page=0", 400, {"error": "per_page has a value not allowed"}),
        ("per_page=abc", 400, {"error": "per_page is invalid"}),
        ("page=x", 400, {"error": "page is invalid"}),
        ("scope[]=unknown", 400, {"error": "scope does not have a valid value"}),
        ("pagination=keyset&sort=asc", 405,
         {"error": "Keyset pagination is not yet available for this type of request"}),
    ],
)
async def test_list_parameter_rules(world, query, status, body):
    """per_page clamps to 100, 0 and junk are 400, bad scope 400, keyset asc 405."""
    got, headers, data = await http(world, "GET", f"/projects/group%2Fsub%2Fapp/jobs?{query}")
    assert got == status
    if body is not None:
        assert data == body
    else:
        assert headers["X-Per-Page"] == "100"


async def test_keyset_walk(world):
    """Keyset pages carry only Link rel=next, none on the last page; every id once."""
    path = "/projects/group%2Fsub%2Fapp/jobs?pagination=keyset&per_page=4&order_by=id&sort=desc"
    _, headers, first = await http(world, "GET", path)
    assert set(headers) & {"X-Page", "X-Next-Page", "X-Total"} == set()
    link = headers["Link"]
    assert link.endswith('>; rel="next"')
    cursor = link[link.index("cursor=") + 7 : link.index(">")].split("&")[0]
    _, headers, second = await http(world, "GET", f"{path}&cursor={cursor}")
    assert "Link" not in headers
    ids = [j["id"] for j in first + second]
    assert ids == sorted((j.id for j in world.jobs.values()), reverse=True)


async def test_offset_cap(world):
    """With the cap on, an offset past the limit is 405 pointing to keyset."""
    world.fake.enforce_offset_limit = True
    world.fake.offset_limit = 4
    status, _, body = await http(world, "GET", "/projects/group%2Fsub%2Fapp/jobs?per_page=2&page=3")
    assert status == 405 and "keyset pagination" in body["error"]


async def test_unencoded_path_hits_catch_all(world):
    """A bare / in the project path matches no route: 404 in the {"error"} shape."""
    status, _, body = await http(world, "GET", "/projects/group/sub/app/jobs")
    assert status == 404 and body == {"error": "404 Not Found"}


async def test_status_codes_of_actions(world):
    """cancel, retry and erase answer 201; play answers 200."""
    jobs = world.jobs
    base = "/projects/group%2Fsub%2Fapp/jobs"
    assert (await http(world, "POST", f"{base}/{jobs['lint'].id}/cancel"))[0] == 201
    assert (await http(world, "POST", f"{base}/{jobs['rspec'].id}/retry"))[0] == 201
    assert (await http(world, "POST", f"{base}/{jobs['build'].id}/erase"))[0] == 201
    status, _, body = await http(
        world, "POST", f"{base}/{jobs['deploy'].id}/play",
        data={"job_variables_attributes[][key]": "K", "job_variables_attributes[][value]": "V"},
    )
    assert status == 200 and body["status"] == "pending"
    assert jobs["deploy"].variables == [{"key": "K", "value": "V"}]


async def test_play_missing_variable_value(world):
    """A variable without a value is Grape's 400."""
    status, _, body = await http(
        world, "POST", f"/projects/group%2Fsub%2Fapp/jobs/{world.jobs['deploy'].id}/play",
        json={"job_variables_attributes": [{"key": "K"}]},
    )
    assert status == 400 and body == {"error": "job_variables_attributes[0][value] is missing"}


async def test_trace_headers_and_range_ignored(world):
    """The log is text/plain with GitLab's Content-Disposition, whole even when a Range is asked."""
    job_id = world.jobs["build"].id
    status, headers, text = await http(world, "GET", f"/projects/{world.project.id}/jobs/{job_id}/trace",
                                       headers={"Range": "bytes=10-"})
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    assert headers["Content-Disposition"] == f'infile; filename="{job_id}.log"'
    assert text.encode() == LOG


async def test_every_response_has_request_id(world):
    """Answers carry X-Request-Id, X-Runtime and GitLab's Cache-Control."""
    _, headers, _ = await http(world, "GET", "/projects/group%2Fsub%2Fapp/jobs/999")
    assert headers["X-Request-Id"] and headers["X-Runtime"]
    assert headers["Cache-Control"] == "max-age=0, private, must-revalidate"


async def test_expired_token_has_www_authenticate(world):
    """An expired token gets the OAuth error body and a WWW-Authenticate header."""
    token = world.fake.add_personal_token(world.jobs["build"].user, state="expired")
    status, headers, body = await http(world, "GET", "/projects/group%2Fsub%2Fapp/jobs", token=token)
    assert status == 401 and body["error"] == "invalid_token"
    assert 'error="invalid_token"' in headers["WWW-Authenticate"]


async def test_anonymous_pipeline_jobs_on_public_project(fake):
    """Pipeline jobs of a public project may be read without a token; project jobs may not."""
    project = fake.add_project("open/source", visibility="public")
    pipeline = fake.add_pipeline(project)
    fake.add_job(pipeline, name="test")
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{fake.api_url}/projects/{project.id}/pipelines/{pipeline.id}/jobs") as r:
            assert r.status == 200 and len(await r.json()) == 1
        async with session.get(f"{fake.api_url}/projects/{project.id}/jobs") as r:
            assert r.status == 401


async def test_requests_are_recorded_raw(world):
    """The request log keeps the raw path and the decoded query."""
    await http(world, "GET", "/projects/group%2Fsub%2Fapp/jobs?scope[]=failed")
    request = world.fake.requests[-1]
    assert request.path == "/api/v4/projects/group%2Fsub%2Fapp/jobs"
    assert request.query == (("scope[]", "failed"),) and request.status == 200


# -- python-gitlab, unmodified, against the fake --------------------------------------------


def python_gitlab_session(world: World) -> dict[str, Any]:
    """Drive python-gitlab (synchronous) through every operation the SDK covers."""
    gl = gitlab.Gitlab(world.fake.url, private_token=world.token, retry_transient_errors=False)
    project = gl.projects.get(PROJECT)
    result: dict[str, Any] = {}
    result["offset"] = [j.id for j in project.jobs.list(iterator=True, per_page=2)]
    result["keyset"] = [
        j.id for j in project.jobs.list(iterator=True, per_page=2, pagination="keyset",
                                        order_by="id", sort="desc")
    ]
    build = project.jobs.get(world.jobs["build"].id)
    result["name"] = build.name
    result["trace"] = build.trace()
    lint = project.jobs.get(world.jobs["lint"].id)
    lint.cancel()
    result["cancel"] = project.jobs.get(lint.id).status
    rspec = project.jobs.get(world.jobs["rspec"].id)
    result["retry"] = rspec.retry()
    build.erase()
    result["erased"] = project.jobs.get(build.id).erased_at
    deploy = project.jobs.get(world.jobs["deploy"].id)
    deploy.play()
    result["play"] = project.jobs.get(deploy.id).status
    return result


async def test_python_gitlab_works_unmodified(world):
    """python-gitlab lists (offset and keyset), gets, reads logs and acts against the fake."""
    result = await asyncio.to_thread(python_gitlab_session, world)
    expected = sorted((j.id for j in world.jobs.values()), reverse=True)
    assert result["offset"] == expected and result["keyset"] == expected
    assert result["name"] == "build" and result["trace"] == LOG
    assert result["cancel"] == "canceled"
    assert result["retry"]["id"] > max(expected) and result["retry"]["status"] == "pending"
    assert result["erased"] is not None
    assert result["play"] == "pending"
