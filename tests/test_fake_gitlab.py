"""The fake GitLab itself, checked over raw HTTP (plain aiohttp) and with python-gitlab.

These tests pin GitLab's behaviour (SERVER-BEHAVIOUR.md) in the fake, independently of the
SDK: status codes, error bodies, headers, entity shapes, pagination and permissions.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import aiohttp
import attrs
import gitlab
import pytest
from jsonschema import Draft7Validator
from referencing import Registry
from referencing.jsonschema import DRAFT7
from yarl import URL

from gitlab_jobs_async.testing import FakeGitLab, FakeJob, RecordedRequest

from ._support import LOG, PROJECT, World

SCHEMAS = Path(__file__).resolve().parent / "schemas"  # vendored: see schemas/README.md
ENCODED = "group%2Fsub%2Fapp"
JOBS = f"/projects/{ENCODED}/jobs"
ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@attrs.frozen
class Reply:
    status: int
    headers: Any
    body: Any
    raw: bytes


async def call(
    fake: FakeGitLab,
    method: str,
    path: str,
    *,
    token: str | None = None,
    headers: dict[str, str] | None = None,
    **kwargs: Any,
) -> Reply:
    """One raw request to ``fake.api_url + path`` (``path`` sent exactly as written)."""
    headers = dict(headers or {})
    if token:
        headers["PRIVATE-TOKEN"] = token
    async with aiohttp.ClientSession() as session:
        url = URL(fake.api_url + path, encoded=True)
        async with session.request(method, url, headers=headers, **kwargs) as resp:
            raw = await resp.read()
            body: Any = raw.decode("utf-8", "replace")
            if resp.content_type == "application/json" and raw:
                body = json.loads(raw)
            return Reply(resp.status, resp.headers, body, raw)


async def get(world: World, path: str, *, token: str | None = "", **kwargs: Any) -> Reply:
    """GET as alice (developer) unless another ``token`` (or ``None``) is given."""
    return await call(
        world.fake, "GET", path, token=world.token if token == "" else token, **kwargs
    )


async def post(world: World, path: str, *, token: str | None = "", **kwargs: Any) -> Reply:
    """POST as alice (developer) unless another ``token`` (or ``None``) is given."""
    return await call(
        world.fake, "POST", path, token=world.token if token == "" else token, **kwargs
    )


def links(reply: Reply) -> dict[str, str]:
    """``Link`` header as rel → URL, in the order sent (dicts keep insertion order)."""
    found = re.findall(r'<([^>]+)>; rel="(\w+)"', reply.headers.get("Link", ""))
    return {rel: url for url, rel in found}


def query_of(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query))


def ids(reply: Reply) -> list[int]:
    return [item["id"] for item in reply.body]


def add_jobs(fake: FakeGitLab, count: int, **fields: Any) -> tuple[Any, Any, str, list[FakeJob]]:
    """A fresh project ``bulk/app`` with ``count`` jobs; returns (project, pipeline, token, jobs)."""
    user = fake.add_user(f"bulk{len(fake.users)}")
    project = fake.add_project(f"bulk{len(fake.projects)}/app")
    fake.add_member(project, user, "developer")
    pipeline = fake.add_pipeline(project, user=user)
    jobs = [fake.add_job(pipeline, name=f"job-{i}", **fields) for i in range(count)]
    return project, pipeline, fake.add_personal_token(user), jobs


# -- JSON schemas (a floor: they lag the server, §3.6) ---------------------------------------


def _loosened(rel: str, schema: dict[str, Any]) -> dict[str, Any]:
    """GitLab's fixture schemas predate keys the current entities emit. Loosen only those:
    job.json (additionalProperties: false) lacks ``failure_reason``; runner.json lacks
    ``paused``, ``runner_type``, ``created_at``, ``job_execution_status`` and still wants a
    string ``ip_address`` that is now always null; runner_manager.json lacks
    ``job_execution_status``. Every other key keeps the schema's rules."""
    schema = json.loads(json.dumps(schema))
    props = schema.get("properties", {})
    if rel == "public_api/v4/job.json":
        props["failure_reason"] = {"type": "string"}
    elif rel == "public_api/v4/runner.json":
        props["paused"] = {"type": "boolean"}
        props["runner_type"] = {"type": "string"}
        props["created_at"] = {"type": ["string", "null"]}
        props["job_execution_status"] = {"type": "string"}
        props["ip_address"] = {"type": ["string", "null"]}
    elif rel == "public_api/v4/runner_manager.json":
        props["job_execution_status"] = {"type": "string"}
    return schema


@pytest.fixture(scope="module")
def job_schema() -> Draft7Validator:
    """A validator for job.json whose relative $refs resolve through a registry of the files."""
    resources = []
    for path in SCHEMAS.rglob("*.json"):
        rel = path.relative_to(SCHEMAS).as_posix()
        contents = _loosened(rel, json.loads(path.read_text()))
        resources.append((path.as_uri(), DRAFT7.create_resource(contents)))
    registry: Registry[Any] = Registry().with_resources(resources)
    root = (SCHEMAS / "public_api" / "v4" / "job.json").as_uri()
    return Draft7Validator({"$ref": root}, registry=registry)


def schema_errors(validator: Draft7Validator, job: dict[str, Any]) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(job)]


async def test_every_job_validates_against_gitlab_schemas(world, job_schema):
    """Every build the list, get, retry and /job routes render satisfies GitLab's job.json."""
    fake = world.fake
    listed = await get(world, f"{JOBS}?per_page=100")
    one = await get(world, f"{JOBS}/{world.jobs['build'].id}")
    retried = await post(world, f"{JOBS}/{world.jobs['rspec'].id}/retry")
    mine = await call(
        fake, "GET", "/job", headers={"JOB-TOKEN": fake.job_token(world.jobs["lint"])}
    )
    rendered = [*listed.body, one.body, retried.body, mine.body]
    assert len(listed.body) == len(world.jobs)
    for job in rendered:
        assert schema_errors(job_schema, job) == [], job["name"]


async def test_schema_check_is_strict(world, job_schema):
    """The loosened schema still rejects unknown keys and wrong types (it is not a no-op)."""
    job = (await get(world, f"{JOBS}/{world.jobs['build'].id}")).body
    assert schema_errors(job_schema, {**job, "surprise": 1})
    assert schema_errors(job_schema, {**job, "id": "1"})


# -- routes and their success codes -----------------------------------------------------------


ROUTES = [
    ("GET", "/projects/{p}/jobs", 200),
    ("GET", "/projects/{p}/jobs/{build}", 200),
    ("GET", "/projects/{p}/jobs/{build}/trace", 200),
    ("POST", "/projects/{p}/jobs/{lint}/cancel", 201),
    ("POST", "/projects/{p}/jobs/{rspec}/retry", 201),
    ("POST", "/projects/{p}/jobs/{build}/erase", 201),
    ("POST", "/projects/{p}/jobs/{deploy}/play", 200),
    ("GET", "/projects/{p}/pipelines/{pipeline}/jobs", 200),
    ("GET", "/projects/{p}/pipelines/{pipeline}/bridges", 200),
    ("GET", "/projects/{p}", 200),
]


@pytest.mark.parametrize(
    ("method", "template", "expected"), ROUTES, ids=[f"{m} {t}" for m, t, _ in ROUTES]
)
async def test_success_codes(world, method, template, expected):
    """Each route answers its own success code: cancel/retry/erase 201, play 200, reads 200."""
    path = template.format(
        p=ENCODED, pipeline=world.pipeline.id, **{n: j.id for n, j in world.jobs.items()}
    )
    reply = await call(world.fake, method, path, token=world.token)
    assert reply.status == expected, reply.body


async def test_job_token_routes_answer_200(world):
    """GET /job and GET /job/allowed_agents answer 200 to a running job's token."""
    token = world.fake.job_token(world.jobs["lint"])
    for path in ("/job", "/job/allowed_agents"):
        assert (await call(world.fake, "GET", path, headers={"JOB-TOKEN": token})).status == 200


async def test_head_answers_like_get_without_body(world):
    """HEAD is accepted wherever GET is, with the same headers and no body."""
    reply = await call(world.fake, "HEAD", f"{JOBS}?per_page=2", token=world.token)
    assert reply.status == 200 and reply.raw == b""
    assert reply.headers["X-Next-Page"] == "2" and "Link" in reply.headers


async def test_every_response_carries_gitlab_headers(world):
    """Success and error answers carry a unique X-Request-Id, X-Runtime and GitLab's Cache-Control."""
    replies = [
        await get(world, JOBS),
        await get(world, f"{JOBS}/999999"),
        await get(world, JOBS, token=None),
    ]
    assert [r.status for r in replies] == [200, 404, 401]
    for reply in replies:
        assert reply.headers["X-Runtime"] and float(reply.headers["X-Runtime"]) >= 0
        assert reply.headers["Cache-Control"] == "max-age=0, private, must-revalidate"
        assert reply.headers["Content-Type"] == "application/json"
    assert len({r.headers["X-Request-Id"] for r in replies}) == 3


# -- entities ---------------------------------------------------------------------------------


async def test_failure_reason_only_on_failed_jobs(world):
    """failure_reason is present exactly when status is failed, and leaves with the status."""
    listed = (await get(world, f"{JOBS}?per_page=100")).body
    for job in listed:
        assert ("failure_reason" in job) == (job["status"] == "failed"), job["name"]
    assert next(j for j in listed if j["name"] == "rspec")["failure_reason"] == "script_failure"
    world.fake.set_status(world.jobs["rspec"], "running")
    assert "failure_reason" not in (await get(world, f"{JOBS}/{world.jobs['rspec'].id}")).body


async def test_artifacts_file_only_with_an_archive(world):
    """artifacts_file is absent without an archive artifact and {filename, size} with one."""
    build = (await get(world, f"{JOBS}/{world.jobs['build'].id}")).body
    rspec = (await get(world, f"{JOBS}/{world.jobs['rspec'].id}")).body
    assert build["artifacts_file"] == {"filename": "artifacts.zip", "size": 4096}
    assert "artifacts_file" not in rspec
    assert [a["file_type"] for a in build["artifacts"]] == ["archive", "metadata", "trace"]
    assert build["artifacts_expire_at"] is not None and ISO_MS.match(build["artifacts_expire_at"])


async def test_trace_artifact_once_the_log_is_archived(world):
    """A finished job's log is a trace artifact (job.log, raw, its size); a running job's is not."""
    rspec = (await get(world, f"{JOBS}/{world.jobs['rspec'].id}")).body
    lint = (await get(world, f"{JOBS}/{world.jobs['lint'].id}")).body
    assert rspec["artifacts"] == [
        {"file_type": "trace", "size": 5, "filename": "job.log", "file_format": "raw"}
    ]
    assert rspec["artifacts_expire_at"] is None
    assert lint["artifacts"] == []


async def test_runner_null_until_picked_up(world):
    """A pending job has runner and runner_manager null; a running one has both as objects."""
    pending = (await get(world, f"{JOBS}/{world.jobs['pending'].id}")).body
    lint = (await get(world, f"{JOBS}/{world.jobs['lint'].id}")).body
    assert pending["runner"] is None and pending["runner_manager"] is None
    assert pending["started_at"] is None and pending["duration"] is None
    assert lint["runner"]["ip_address"] is None and lint["runner"]["paused"] is False
    assert set(lint["runner_manager"]) >= {"id", "system_id", "version", "status"}


JOB_KEYS = [
    "id",
    "status",
    "stage",
    "name",
    "ref",
    "tag",
    "coverage",
    "allow_failure",
    "created_at",
    "started_at",
    "finished_at",
    "erased_at",
    "duration",
    "queued_duration",
    "user",
    "commit",
    "pipeline",
    "failure_reason",
    "web_url",
    "project",
    "artifacts_file",
    "artifacts",
    "runner",
    "runner_manager",
    "artifacts_expire_at",
    "archived",
    "tag_list",
]


async def test_job_keys_in_gitlab_exposure_order(world):
    """A failed build with an archive has every Job key, in Entities::Ci::Job's order."""
    job = world.fake.add_job(world.pipeline, name="full", status="failed", artifacts=("archive",))
    body = (await get(world, f"{JOBS}/{job.id}")).body
    assert list(body) == JOB_KEYS
    assert body["project"] == {"ci_job_token_scope_enabled": False}
    assert set(body["pipeline"]) == {
        "id",
        "iid",
        "project_id",
        "sha",
        "ref",
        "status",
        "source",
        "created_at",
        "updated_at",
        "web_url",
    }
    assert body["user"]["username"] == "alice" and "bio" in body["user"]  # full User entity


async def test_bridge_entity(world):
    """Bridges are JobBasic + downstream_pipeline, without artifacts, runner, tag_list or archived."""
    reply = await get(world, f"/projects/{ENCODED}/pipelines/{world.pipeline.id}/bridges")
    (bridge,) = reply.body
    expected = [k for k in JOB_KEYS[: JOB_KEYS.index("project") + 1] if k != "failure_reason"]
    assert list(bridge) == [*expected, "downstream_pipeline"]
    assert (
        bridge["id"] == world.bridge.id
        and bridge["downstream_pipeline"]["id"] == world.downstream.id
    )
    assert bridge["downstream_pipeline"]["project_id"] == world.downstream.project.id


async def test_null_downstream_and_bridge_failure_reason(world):
    """A failed bridge without a downstream pipeline has downstream_pipeline null and a failure_reason."""
    world.fake.add_bridge(
        world.pipeline,
        name="broken",
        status="failed",
        failure_reason="downstream_bridge_project_not_found",
    )
    reply = await get(world, f"/projects/{ENCODED}/pipelines/{world.pipeline.id}/bridges")
    broken = reply.body[0]
    assert broken["downstream_pipeline"] is None
    assert broken["failure_reason"] == "downstream_bridge_project_not_found"


async def test_extra_fields_merge_last_and_tags_sort(world):
    """extra_fields appear in the JSON (overriding), and tag_list comes sorted."""
    job = world.fake.add_job(
        world.pipeline,
        name="odd",
        tag_list=("z", "a", "m"),
        extra_fields={"hologram": {"x": 1}, "stage": "weird"},
    )
    body = (await get(world, f"{JOBS}/{job.id}")).body
    assert body["hologram"] == {"x": 1} and body["stage"] == "weird"
    assert body["tag_list"] == ["a", "m", "z"] and list(body)[-1] == "hologram"


async def test_timestamp_formats(world):
    """Instance times are ISO-8601 with milliseconds and Z; commit dates keep an offset."""
    body = (await get(world, f"{JOBS}/{world.jobs['build'].id}")).body
    for key in ("created_at", "started_at", "finished_at"):
        assert ISO_MS.match(body[key]), key
    assert ISO_MS.match(body["pipeline"]["created_at"])
    assert re.match(
        r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+01:00$", body["commit"]["authored_date"]
    )


async def test_web_urls_use_external_url(world):
    """web_url fields name the external URL and the project's full path."""
    world.fake.external_url = "https://gitlab.example.com/"
    body = (await get(world, f"{JOBS}/{world.jobs['build'].id}")).body
    assert (
        body["web_url"] == f"https://gitlab.example.com/{PROJECT}/-/jobs/{world.jobs['build'].id}"
    )
    assert (
        body["pipeline"]["web_url"]
        == f"https://gitlab.example.com/{PROJECT}/-/pipelines/{world.pipeline.id}"
    )
    assert body["user"]["web_url"] == "https://gitlab.example.com/alice"


async def test_durations_grow_while_running_or_pending(world):
    """duration grows for a running job, queued_duration for a pending one; finished ones are fixed."""
    fake = world.fake
    running = fake.add_job(world.pipeline, name="r", status="created")
    queued = fake.add_job(world.pipeline, name="q", status="created")
    fake.set_status(running, "running")
    fake.set_status(queued, "pending")
    first = {j["name"]: j for j in (await get(world, f"{JOBS}?per_page=100")).body}
    await asyncio.sleep(0.05)
    second = {j["name"]: j for j in (await get(world, f"{JOBS}?per_page=100")).body}
    assert second["r"]["duration"] > first["r"]["duration"]
    assert (
        second["q"]["queued_duration"] > first["q"]["queued_duration"]
        and second["q"]["duration"] is None
    )
    assert second["build"]["duration"] == first["build"]["duration"] > 0


async def test_set_status_stamps_like_gitlab(world):
    """pending sets queued_at, running started_at, success/failed/canceled finished_at; skipped none."""
    fake = world.fake

    def stamped(job: FakeJob) -> tuple[bool, bool, bool]:
        return job.queued_at is not None, job.started_at is not None, job.finished_at is not None

    job = fake.add_job(world.pipeline, status="created")
    assert stamped(job) == (False, False, False)
    fake.set_status(job, "pending")
    assert stamped(job) == (True, False, False)
    fake.set_status(job, "running")
    assert stamped(job) == (True, True, False)
    fake.set_status(job, "failed", failure_reason="runner_system_failure")
    assert stamped(job) == (True, True, True) and job.failure_reason == "runner_system_failure"
    skipped = fake.add_job(world.pipeline, status="created")
    fake.set_status(skipped, "skipped")
    assert stamped(skipped) == (False, False, False)
    with pytest.raises(ValueError, match="unknown job status"):
        fake.set_status(job, "exploded")


# -- offset pagination ------------------------------------------------------------------------


async def test_project_jobs_never_send_totals(fake):
    """The project jobs list has no X-Total, X-Total-Pages or rel=last, even with 5 jobs."""
    project, _, token, _ = add_jobs(fake, 5)
    for query in ("", "?per_page=2", "?per_page=2&page=3"):
        reply = await call(fake, "GET", f"/projects/{project.id}/jobs{query}", token=token)
        assert reply.status == 200
        assert "X-Total" not in reply.headers and "X-Total-Pages" not in reply.headers
        assert "last" not in links(reply) and "first" in links(reply)


async def test_offset_headers_across_pages(fake):
    """X-Page/X-Per-Page always; X-Prev-Page/X-Next-Page empty strings at the ends; Link prev,next,first."""
    project, _, token, jobs = add_jobs(fake, 5)
    path = f"/projects/{project.id}/jobs?per_page=2"
    first, middle, last = [
        await call(fake, "GET", f"{path}&page={n}", token=token) for n in (1, 2, 3)
    ]
    assert (first.headers["X-Prev-Page"], first.headers["X-Next-Page"]) == ("", "2")
    assert (middle.headers["X-Prev-Page"], middle.headers["X-Next-Page"]) == ("1", "3")
    assert (last.headers["X-Prev-Page"], last.headers["X-Next-Page"]) == ("2", "")
    assert last.headers["X-Page"] == "3" and last.headers["X-Per-Page"] == "2"
    assert list(links(first)) == ["next", "first"]
    assert list(links(middle)) == ["prev", "next", "first"]
    assert list(links(last)) == ["prev", "first"]
    assert ids(first) + ids(middle) + ids(last) == sorted((j.id for j in jobs), reverse=True)
    beyond = await call(fake, "GET", f"{path}&page=9", token=token)
    assert beyond.body == [] and beyond.headers["X-Next-Page"] == ""
    assert beyond.headers["X-Prev-Page"] == "" and list(links(beyond)) == ["first"]


async def test_pipeline_totals_up_to_max_count(fake):
    """Pipeline jobs carry X-Total, X-Total-Pages and rel=last at max_count rows, none above."""
    fake.max_count = 3
    project, pipeline, token, _ = add_jobs(fake, 3)
    path = f"/projects/{project.id}/pipelines/{pipeline.id}/jobs?per_page=2"
    at = await call(fake, "GET", path, token=token)
    assert (at.headers["X-Total"], at.headers["X-Total-Pages"]) == ("3", "2")
    assert (
        list(links(at)) == ["next", "first", "last"] and query_of(links(at)["last"])["page"] == "2"
    )
    fake.add_job(pipeline)
    above = await call(fake, "GET", path, token=token)
    assert "X-Total" not in above.headers and "X-Total-Pages" not in above.headers
    assert "last" not in links(above) and above.headers["X-Next-Page"] == "2"


async def test_empty_pipeline_list_has_one_total_page(fake):
    """An empty pipeline jobs list reports X-Total 0 and X-Total-Pages 1."""
    project, pipeline, token, _ = add_jobs(fake, 0)
    reply = await call(
        fake, "GET", f"/projects/{project.id}/pipelines/{pipeline.id}/jobs", token=token
    )
    assert (
        reply.body == []
        and reply.headers["X-Total"] == "0"
        and reply.headers["X-Total-Pages"] == "1"
    )
    assert reply.headers["X-Next-Page"] == "" and reply.headers["X-Prev-Page"] == ""


async def test_link_host_is_external_url_and_query_echoes_every_param(world):
    """Links name the external URL's host with the raw request path, and every param sorted and re-encoded."""
    world.fake.external_url = "https://gitlab.example.com:8443"
    reply = await get(world, f"{JOBS}?scope[]=success&scope[]=failed&per_page=1")
    assert links(reply)["next"] == (
        f"https://gitlab.example.com:8443/api/v4{JOBS}"
        "?id=group%2Fsub%2Fapp&page=2&per_page=1&scope%5B%5D=success&scope%5B%5D=failed"
    )
    path = f"/projects/{world.project.id}/pipelines/{world.pipeline.id}/jobs?scope=success"
    first = links(await get(world, path))["first"]
    assert first == (
        f"https://gitlab.example.com:8443/api/v4/projects/{world.project.id}/pipelines/{world.pipeline.id}/jobs"
        f"?id={world.project.id}&include_retried=false&page=1&per_page=20&pipeline_id={world.pipeline.id}"
        "&scope%5B%5D=success"
    )


@pytest.mark.parametrize(
    ("query", "status", "expected"),
    [
        ("per_page=500", 200, {"X-Per-Page": "100"}),
        ("per_page=-5", 200, {"X-Per-Page": "20"}),
        ("", 200, {"X-Per-Page": "20", "X-Page": "1"}),
        ("page=0", 200, {"X-Page": "1"}),
        ("page=-3", 200, {"X-Page": "1"}),
        ("per_page=0", 400, {"error": "per_page has a value not allowed"}),
        ("per_page=abc", 400, {"error": "per_page is invalid"}),
        ("page=x", 400, {"error": "page is invalid"}),
        ("page=x&per_page=1.5", 400, {"error": "page is invalid, per_page is invalid"}),
        (
            "scope[]=unknown&page=x",
            400,
            {"error": "scope does not have a valid value, page is invalid"},
        ),
    ],
)
async def test_page_parameter_rules(world, query, status, expected):
    """per_page defaults to 20, clamps to 100, 0 and junk are Grape 400s; bad pages become page 1."""
    reply = await get(world, f"{JOBS}?{query}")
    assert reply.status == status
    if status == 400:
        assert reply.body == expected
    else:
        assert {k: reply.headers[k] for k in expected} == expected


async def test_scope_validation_and_forms(world):
    """scope takes scope[]=, a bare string or a hash; an unknown status is a 400."""
    bad = await get(world, f"{JOBS}?scope[]=unknown")
    assert bad.status == 400 and bad.body == {"error": "scope does not have a valid value"}
    assert (await get(world, f"{JOBS}?scope=bogus")).status == 400
    failed = world.jobs["rspec"].id
    assert ids(await get(world, f"{JOBS}?scope=failed")) == [failed]
    assert ids(await get(world, f"{JOBS}?scope[x]=failed")) == [failed]
    both = await get(world, f"{JOBS}?scope[]=failed&scope[]=manual")
    assert ids(both) == [world.jobs["deploy"].id, failed]
    for status in ("canceling", "preparing", "waiting_for_callback", "scheduled"):
        assert (await get(world, f"{JOBS}?scope[]={status}")).status == 200


# -- keyset pagination and the offset cap ------------------------------------------------------


async def test_keyset_walk_returns_every_id_once(fake):
    """Keyset pages carry only Link rel=next (none on the last page); following its cursor yields each id once."""
    fake.external_url = "https://gitlab.example.com"
    project, _, token, jobs = add_jobs(fake, 23)
    query = "pagination=keyset&per_page=5&order_by=id&sort=desc"
    seen: list[int] = []
    pages = 0
    url = f"/projects/{project.id}/jobs?{query}"
    while True:
        reply = await call(fake, "GET", url, token=token)
        pages += 1
        assert reply.status == 200
        assert not {"X-Page", "X-Per-Page", "X-Next-Page", "X-Prev-Page", "X-Total"} & set(
            reply.headers
        )
        seen += ids(reply)
        if "Link" not in reply.headers:
            break
        assert list(links(reply)) == ["next"]
        nxt = links(reply)["next"]
        assert nxt.startswith(f"https://gitlab.example.com/api/v4/projects/{project.id}/jobs?")
        cursor = query_of(nxt)["cursor"]
        assert json.loads(base64.urlsafe_b64decode(cursor)) == {"id": str(seen[-1]), "_kd": "n"}
        assert len(cursor) % 4 == 0  # padded
        url = (
            f"/projects/{project.id}/jobs?{query}&cursor={cursor}"  # our own host, never the Link's
        )
    assert pages == 5
    assert seen == sorted((j.id for j in jobs), reverse=True)


async def test_keyset_defaults_scope_and_exact_last_page(fake):
    """Keyset defaults to id desc, honours scope, and sends no Link when the last page is exactly full."""
    project, pipeline, token, jobs = add_jobs(fake, 4)
    fake.add_job(pipeline, status="failed")
    reply = await call(
        fake,
        "GET",
        f"/projects/{project.id}/jobs?pagination=keyset&per_page=4&scope=success",
        token=token,
    )
    assert ids(reply) == sorted((j.id for j in jobs), reverse=True) and "Link" not in reply.headers


@pytest.mark.parametrize("order", ["sort=asc", "order_by=created_at", "order_by=id&sort=asc"])
async def test_keyset_other_orders_are_405(world, order):
    """Keyset supports only order_by=id with sort=desc; anything else is GitLab's 405."""
    reply = await get(world, f"{JOBS}?pagination=keyset&{order}")
    assert reply.status == 405
    assert reply.body == {
        "error": "Keyset pagination is not yet available for this type of request"
    }


async def test_offset_cap(fake):
    """With the cap on, page * requested per_page past the limit is 405; keyset and the flag-off default are not capped."""
    project, _, token, _ = add_jobs(fake, 6)
    path = f"/projects/{project.id}/jobs"
    assert (await call(fake, "GET", f"{path}?page=2000&per_page=100", token=token)).status == 200
    fake.enforce_offset_limit = True
    assert (await call(fake, "GET", f"{path}?page=501&per_page=100", token=token)).status == 405
    fake.offset_limit = 4
    capped = await call(fake, "GET", f"{path}?per_page=2&page=3", token=token)
    assert capped.status == 405 and capped.body == {
        "error": (
            "Offset pagination has a maximum allowed offset of 4 for requests that return objects of type "
            "Ci::Build. Remaining records can be retrieved using keyset pagination."
        )
    }
    assert (await call(fake, "GET", f"{path}?per_page=2&page=2", token=token)).status == 200
    fake.offset_limit = 150
    raw = await call(
        fake, "GET", f"{path}?per_page=500", token=token
    )  # clamped to 100, checked as 500
    assert raw.status == 405
    keyset = await call(fake, "GET", f"{path}?pagination=keyset&per_page=500", token=token)
    assert keyset.status == 200


async def test_pipeline_lists_ignore_the_offset_cap(fake):
    """The offset cap applies to the project jobs list only."""
    fake.enforce_offset_limit = True
    fake.offset_limit = 1
    project, pipeline, token, _ = add_jobs(fake, 3)
    reply = await call(
        fake,
        "GET",
        f"/projects/{project.id}/pipelines/{pipeline.id}/jobs?page=3&per_page=1",
        token=token,
    )
    assert reply.status == 200 and len(reply.body) == 1


# -- lists: contents ---------------------------------------------------------------------------


async def test_lists_hold_builds_newest_first(world):
    """Project and pipeline job lists hold builds only, id DESC; bridges list only bridges."""
    builds = sorted((j.id for j in world.jobs.values()), reverse=True)
    assert ids(await get(world, f"{JOBS}?per_page=100")) == builds
    assert (
        ids(await get(world, f"/projects/{ENCODED}/pipelines/{world.pipeline.id}/jobs")) == builds
    )
    assert ids(await get(world, f"/projects/{ENCODED}/pipelines/{world.pipeline.id}/bridges")) == [
        world.bridge.id
    ]


async def test_retried_jobs_in_lists(world):
    """Retried attempts stay in the project list but leave pipeline lists unless include_retried=true."""
    old = world.jobs["rspec"]
    new = (await post(world, f"{JOBS}/{old.id}/retry")).body["id"]
    pipeline_path = f"/projects/{ENCODED}/pipelines/{world.pipeline.id}/jobs"
    assert {old.id, new} <= set(ids(await get(world, f"{JOBS}?per_page=100")))
    latest = ids(await get(world, pipeline_path))
    assert new in latest and old.id not in latest
    assert {old.id, new} <= set(ids(await get(world, f"{pipeline_path}?include_retried=true")))
    assert (await get(world, f"{pipeline_path}?include_retried=maybe")).body == {
        "error": "include_retried is invalid"
    }
    await post(world, f"/projects/{ENCODED}/jobs/{world.bridge.id}/retry")
    bridges = ids(await get(world, f"/projects/{ENCODED}/pipelines/{world.pipeline.id}/bridges"))
    assert world.bridge.id not in bridges and len(bridges) == 1


async def test_pipeline_lists_scope_and_unknown_pipeline(world):
    """Pipeline lists filter by scope; an unknown pipeline or one of another project is 404 Not found."""
    path = f"/projects/{ENCODED}/pipelines/{world.pipeline.id}"
    assert ids(await get(world, f"{path}/jobs?scope[]=running")) == [
        world.jobs["graceful"].id,
        world.jobs["lint"].id,
    ]
    assert ids(await get(world, f"{path}/bridges?scope=failed")) == []
    for bad in (
        f"/projects/{ENCODED}/pipelines/99999/jobs",
        f"/projects/{ENCODED}/pipelines/{world.downstream.id}/bridges",
    ):
        reply = await get(world, bad)
        assert (reply.status, reply.body) == (404, {"message": "404 Not found"})
    reply = await get(world, f"/projects/{ENCODED}/pipelines/abc/jobs")
    assert (reply.status, reply.body) == (400, {"error": "pipeline_id is invalid"})


async def test_ten_thousand_jobs_in_one_pipeline(fake):
    """10,001 jobs list newest first in offset and keyset mode, and the pipeline sends no totals."""
    project, pipeline, token, jobs = add_jobs(fake, 10_001)
    first = await call(fake, "GET", f"/projects/{project.id}/jobs?per_page=100", token=token)
    cursor = f"/projects/{project.id}/jobs?pagination=keyset&per_page=100"
    keyset = await call(fake, "GET", cursor, token=token)
    piped = await call(
        fake, "GET", f"/projects/{project.id}/pipelines/{pipeline.id}/jobs", token=token
    )
    assert ids(first)[0] == jobs[-1].id and len(keyset.body) == 100
    assert "X-Total" not in piped.headers  # 10,001 rows: above max_count


async def test_ids_shared_by_jobs_and_bridges(fake):
    """Jobs and bridges share one id sequence; pipelines, projects and users have their own."""
    project, pipeline, _, (first,) = add_jobs(fake, 1)
    bridge = fake.add_bridge(pipeline)
    second = fake.add_job(pipeline)
    assert (first.id, bridge.id, second.id) == (1, 2, 3)
    other = fake.add_project("other/app")
    assert (project.id, other.id, pipeline.id, fake.add_pipeline(other).id) == (1, 2, 1, 2)
    assert fake.add_pipeline(other).iid == 2 and pipeline.iid == 1


# -- authentication and permissions ------------------------------------------------------------


EXPIRED = "Token is expired. You can either do re-authorization or token refresh."
REVOKED = "Token was revoked. You have to re-authorize from the user."


@pytest.mark.parametrize("state", ["expired", "revoked"])
async def test_expired_and_revoked_tokens(world, state):
    """Known but dead tokens get the OAuth 401 body and a WWW-Authenticate header."""
    token = world.fake.add_personal_token(world.jobs["build"].user, state=state)
    text = EXPIRED if state == "expired" else REVOKED
    for headers in ({"PRIVATE-TOKEN": token}, {"Authorization": f"Bearer {token}"}):
        reply = await call(world.fake, "GET", JOBS, headers=headers)
        assert reply.status == 401
        assert reply.body == {"error": "invalid_token", "error_description": text}
        assert (
            reply.headers["WWW-Authenticate"]
            == f'Bearer realm="", error="invalid_token", error_description="{text}"'
        )


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"PRIVATE-TOKEN": "glpat-nope"},
        {"Authorization": "Bearer nope"},
        {"JOB-TOKEN": "glcbt-nope"},
    ],
    ids=["none", "unknown PAT", "unknown bearer", "unknown job token"],
)
async def test_missing_or_unknown_credentials_are_401(world, headers):
    """No credentials or an unknown token: 401 with the plain message body, no WWW-Authenticate."""
    reply = await call(world.fake, "GET", JOBS, headers=headers)
    assert (reply.status, reply.body) == (401, {"message": "401 Unauthorized"})
    assert "WWW-Authenticate" not in reply.headers


async def test_scopes(world):
    """read_api reads but cannot act; a token with neither api nor read_api gets insufficient_scope."""
    alice = world.jobs["build"].user
    reader = world.fake.add_personal_token(alice, scopes=("read_api",))
    assert (await get(world, JOBS, token=reader)).status == 200
    assert (await call(world.fake, "HEAD", JOBS, token=reader)).status == 200
    acting = await post(world, f"{JOBS}/{world.jobs['lint'].id}/cancel", token=reader)
    assert (
        acting.status == 403
        and acting.body["error"] == "insufficient_scope"
        and acting.body["scope"] == "api"
    )
    profile = world.fake.add_personal_token(alice, scopes=("read_user",))
    reply = await get(world, JOBS, token=profile)
    assert (reply.status, reply.body) == (
        403,
        {
            "error": "insufficient_scope",
            "error_description": "The request requires higher privileges than provided by the access token.",
            "scope": "api read_api",
        },
    )
    assert world.jobs["lint"].status == "running"


async def test_token_transports(world):
    """A PAT works as PRIVATE-TOKEN, private_token param and Bearer; an OAuth token as Bearer only."""
    fake = world.fake
    oauth = fake.add_oauth_token(world.jobs["build"].user)
    assert (
        await call(fake, "GET", JOBS, headers={"Authorization": f"Bearer {world.token}"})
    ).status == 200
    assert (await call(fake, "GET", f"{JOBS}?private_token={world.token}")).status == 200
    assert (
        await call(fake, "GET", JOBS, headers={"Authorization": f"Bearer {oauth}"})
    ).status == 200
    assert (await call(fake, "GET", JOBS, headers={"PRIVATE-TOKEN": oauth})).status == 401
    form = await call(
        fake, "POST", f"{JOBS}/{world.jobs['lint'].id}/cancel", data={"private_token": world.token}
    )
    assert form.status == 201


async def test_project_visibility_and_roles(world):
    """Invisible project → 404 Project Not Found; visible but too low a role → 403 Forbidden; admins see all."""
    fake = world.fake
    outsider = fake.add_user("mallory")
    outsider_token = fake.add_personal_token(outsider)
    reply = await get(world, JOBS, token=outsider_token)
    assert (reply.status, reply.body) == (404, {"message": "404 Project Not Found"})
    unknown = await get(world, "/projects/nobody%2Fnothing/jobs")
    assert (unknown.status, unknown.body) == (404, {"message": "404 Project Not Found"})
    assert (await get(world, "/projects/not-a-path/jobs")).status == 404
    fake.add_member(world.project, outsider, "guest")
    world.project.public_builds = False
    reply = await get(world, JOBS, token=outsider_token)
    assert (reply.status, reply.body) == (403, {"message": "403 Forbidden"})
    world.project.public_builds = True  # public pipelines: guests may read jobs
    assert (await get(world, JOBS, token=outsider_token)).status == 200
    admin = fake.add_personal_token(fake.add_user("root", admin=True))
    assert (await get(world, JOBS, token=admin)).status == 200
    assert (await post(world, f"{JOBS}/{world.jobs['lint'].id}/cancel", token=admin)).status == 201


async def test_reporters_read_but_do_not_act(world):
    """A reporter reads jobs but gets 403 on cancel, retry, erase and play."""
    token = world.reporter_token
    assert (await get(world, f"{JOBS}/{world.jobs['build'].id}", token=token)).status == 200
    for action, name in (
        ("cancel", "lint"),
        ("retry", "rspec"),
        ("erase", "build"),
        ("play", "deploy"),
    ):
        reply = await post(world, f"{JOBS}/{world.jobs[name].id}/{action}", token=token)
        assert (reply.status, reply.body) == (403, {"message": "403 Forbidden"}), action


async def test_unknown_jobs_bridges_and_other_projects_are_404(world):
    """An unknown job id, a bridge id, or another project's job → 404 {"message": "404 Not found"}."""
    other = world.fake.add_job(world.downstream, name="elsewhere")
    for job_id in (999999, world.bridge.id, other.id):
        for suffix in ("", "/trace"):
            reply = await get(world, f"{JOBS}/{job_id}{suffix}")
            assert (reply.status, reply.body) == (404, {"message": "404 Not found"})
    for action in ("cancel", "erase"):
        assert (await post(world, f"{JOBS}/{world.bridge.id}/{action}")).status == 404


async def test_non_integer_job_id_is_400(world):
    """A job id that is not an integer fails Grape's coercion: 400 job_id is invalid."""
    for path in (f"{JOBS}/abc", f"{JOBS}/1.5/trace"):
        reply = await get(world, path)
        assert (reply.status, reply.body) == (400, {"error": "job_id is invalid"})
    assert (await get(world, f"{JOBS}/abc", token=None)).status == 401  # authentication comes first


async def test_public_project_anonymous_access(fake):
    """Anonymous GETs of a public project's pipeline jobs and bridges work; the project jobs list needs auth."""
    project = fake.add_project("open/source", visibility="public")
    pipeline = fake.add_pipeline(project)
    fake.add_job(pipeline)
    fake.add_bridge(pipeline)
    base = f"/projects/{project.id}"
    assert (await call(fake, "GET", f"{base}/pipelines/{pipeline.id}/jobs")).status == 200
    assert (await call(fake, "GET", f"{base}/pipelines/{pipeline.id}/bridges")).status == 200
    assert (await call(fake, "GET", base)).body["visibility"] == "public"
    for path in (f"{base}/jobs", f"{base}/jobs/1"):
        reply = await call(fake, "GET", path)
        assert (reply.status, reply.body) == (401, {"message": "401 Unauthorized"})
    private = fake.add_project("closed/source")
    hidden = await call(fake, "GET", f"/projects/{private.id}/pipelines/1/jobs")
    assert (hidden.status, hidden.body) == (404, {"message": "404 Project Not Found"})


async def test_job_tokens_where_allowed(world):
    """A job token lists its project's jobs, is nobody on routes that refuse job tokens, and cannot reach other projects."""
    fake = world.fake
    token = fake.job_token(world.jobs["lint"])
    assert fake.job_token(world.jobs["lint"]) == token  # one token per job
    as_header = {"JOB-TOKEN": token}
    assert (await call(fake, "GET", JOBS, headers=as_header)).status == 200
    assert (await call(fake, "GET", f"{JOBS}?job_token={token}")).status == 200
    assert (
        await call(fake, "GET", JOBS, headers={"Authorization": f"Bearer {token}"})
    ).status == 200
    pipeline = f"/projects/{ENCODED}/pipelines/{world.pipeline.id}/jobs"
    assert (await call(fake, "GET", pipeline, headers=as_header)).status == 200
    refused = await call(fake, "GET", f"{JOBS}/{world.jobs['build'].id}", headers=as_header)
    assert (refused.status, refused.body) == (401, {"message": "401 Unauthorized"})
    elsewhere = await call(
        fake, "GET", f"/projects/{world.downstream.project.id}/jobs", headers=as_header
    )
    assert elsewhere.status == 404
    fake.set_status(world.jobs["lint"], "success")
    assert (await call(fake, "GET", JOBS, headers=as_header)).status == 401


# -- paths --------------------------------------------------------------------------------------


async def test_encoded_path_and_numeric_id_are_interchangeable(world):
    """%2F-encoded full paths (any case) and numeric ids reach the same project."""
    by_path = await get(world, JOBS)
    by_id = await get(world, f"/projects/{world.project.id}/jobs")
    shouting = await get(world, "/projects/GROUP%2FSub%2FApp/jobs")
    assert ids(by_path) == ids(by_id) == ids(shouting) and by_path.status == 200


async def test_unencoded_slash_hits_the_catch_all(world):
    """A bare / in the project path matches no route: 404 in the {"error"} shape."""
    for path in ("/projects/group/sub/app/jobs", "/projects/group/sub/app", "/nothing/here"):
        reply = await get(world, path)
        assert (reply.status, reply.body) == (404, {"error": "404 Not Found"}), path


async def test_wrong_method_is_405(world):
    """A path that exists for another method answers Grape's 405 with an Allow header."""
    reply = await get(world, f"{JOBS}/{world.jobs['lint'].id}/cancel")
    assert (reply.status, reply.body) == (405, {"error": "405 Not Allowed"})
    assert reply.headers["Allow"] == "POST"
    assert world.jobs["lint"].status == "running"


async def test_project_entity_for_clients_that_fetch_it(world):
    """GET /projects/:id answers a minimal project: id, name, path, path_with_namespace, web_url, visibility."""
    body = (await get(world, f"/projects/{ENCODED}")).body
    assert {k: body[k] for k in ("id", "name", "path", "path_with_namespace", "visibility")} == {
        "id": world.project.id,
        "name": "app",
        "path": "app",
        "path_with_namespace": PROJECT,
        "visibility": "private",
    }
    assert body["web_url"] == f"{world.fake.url}/{PROJECT}"


# -- trace --------------------------------------------------------------------------------------


async def test_trace_whole_body_and_range_ignored(world):
    """The log is text/plain with Content-Disposition infile, whole even when a Range is asked of an older GitLab."""
    world.fake.knobs.log_ranges = "never"
    job_id = world.jobs["build"].id
    reply = await get(world, f"{JOBS}/{job_id}/trace", headers={"Range": "bytes=10-"})
    assert reply.status == 200 and reply.raw == LOG
    assert reply.headers["Content-Type"] == "text/plain"
    assert reply.headers["Content-Disposition"] == f'infile; filename="{job_id}.log"'


async def test_trace_of_empty_and_growing_logs(world):
    """An empty log is 200 with an empty body; a running job's log grows between reads."""
    job = world.jobs["graceful"]
    empty = await get(world, f"{JOBS}/{job.id}/trace")
    assert (empty.status, empty.raw) == (200, b"")
    world.fake.append_log(job, b"one\n")
    world.fake.append_log(job, b"two\n")
    assert (await get(world, f"{JOBS}/{job.id}/trace")).raw == b"one\ntwo\n"


async def test_debug_trace_needs_developer(world):
    """A debug-trace job's log is 403 for a reporter and readable by a developer."""
    job = world.fake.add_job(world.pipeline, name="debug", log=b"secret\n", debug_trace=True)
    reporter = await get(world, f"{JOBS}/{job.id}/trace", token=world.reporter_token)
    assert (reporter.status, reporter.body) == (403, {"message": "403 Forbidden"})
    assert (await get(world, f"{JOBS}/{job.id}/trace")).raw == b"secret\n"


# -- job actions ----------------------------------------------------------------------------------


async def test_cancel_is_201_even_when_nothing_changes(world):
    """Cancelling a successful job answers 201 with the job unchanged."""
    job = world.jobs["build"]
    reply = await post(world, f"{JOBS}/{job.id}/cancel")
    assert reply.status == 201 and reply.body["status"] == "success" and job.status == "success"


async def test_cancel_transitions(world):
    """running → canceled (with finished_at); graceful running → canceling; pending and manual → canceled."""
    lint = await post(world, f"{JOBS}/{world.jobs['lint'].id}/cancel")
    assert lint.body["status"] == "canceled" and lint.body["finished_at"] is not None
    graceful = await post(world, f"{JOBS}/{world.jobs['graceful'].id}/cancel")
    assert graceful.body["status"] == "canceling" and graceful.body["finished_at"] is None
    again = await post(world, f"{JOBS}/{world.jobs['graceful'].id}/cancel")
    assert again.status == 201 and again.body["status"] == "canceling"
    for name in ("pending", "deploy"):
        assert (await post(world, f"{JOBS}/{world.jobs[name].id}/cancel")).body[
            "status"
        ] == "canceled"


async def test_force_cancel_needs_maintainer(world):
    """force=true finishes a canceling job, and only a maintainer may use it."""
    job = world.jobs["graceful"]
    await post(world, f"{JOBS}/{job.id}/cancel")
    denied = await post(world, f"{JOBS}/{job.id}/cancel", data={"force": "true"})
    assert (denied.status, denied.body) == (
        403,
        {"message": "403 Forbidden"},
    ) and job.status == "canceling"
    forced = await post(world, f"{JOBS}/{job.id}/cancel?force=true", token=world.maintainer_token)
    assert forced.status == 201 and forced.body["status"] == "canceled"
    bogus = await post(world, f"{JOBS}/{job.id}/cancel", json={"force": "perhaps"})
    assert (bogus.status, bogus.body) == (400, {"error": "force is invalid"})


async def test_retry_makes_a_new_job(world):
    """Retry answers 201 with a new pending job run by the caller; the old one is retried and not retryable again."""
    old = world.jobs["rspec"]
    reply = await post(world, f"{JOBS}/{old.id}/retry", token=world.maintainer_token)
    assert reply.status == 201
    new = reply.body
    assert new["id"] > max(world.fake.jobs) - 1 and new["id"] != old.id
    assert (new["status"], new["name"], new["user"]["username"]) == ("pending", "rspec", "bob")
    assert "failure_reason" not in new and new["started_at"] is None
    assert old.retried and old.status == "failed"
    again = await post(world, f"{JOBS}/{old.id}/retry")
    assert (again.status, again.body) == (403, {"message": "403 Forbidden - Job is not retryable"})


async def test_retry_needs_a_finished_job(world):
    """Running, manual or archived jobs are not retryable: 403."""
    archived = world.fake.add_job(world.pipeline, status="failed", archived=True)
    for job_id in (world.jobs["lint"].id, world.jobs["deploy"].id, archived.id):
        reply = await post(world, f"{JOBS}/{job_id}/retry")
        assert (reply.status, reply.body) == (
            403,
            {"message": "403 Forbidden - Job is not retryable"},
        )


async def test_retry_of_a_bridge_is_rendered_as_a_job(world):
    """Retrying a bridge answers the Job entity: artifacts [], runner null, no runner_manager."""
    reply = await post(world, f"{JOBS}/{world.bridge.id}/retry")
    body = reply.body
    assert reply.status == 201 and body["name"] == "trigger" and body["id"] != world.bridge.id
    assert body["artifacts"] == [] and body["runner"] is None and "runner_manager" not in body
    assert "downstream_pipeline" not in body and body["tag_list"] == []


async def test_erase(world):
    """Erasing a finished job answers 201 with erased_at set, no artifacts, and leaves an empty log."""
    job = world.jobs["build"]
    reply = await post(world, f"{JOBS}/{job.id}/erase")
    assert reply.status == 201
    assert reply.body["erased_at"] is not None and ISO_MS.match(reply.body["erased_at"])
    assert reply.body["artifacts"] == [] and "artifacts_file" not in reply.body
    trace = await get(world, f"{JOBS}/{job.id}/trace")
    assert (trace.status, trace.raw) == (200, b"")
    again = await post(world, f"{JOBS}/{job.id}/erase")
    assert (again.status, again.body) == (403, {"message": "403 Forbidden - Job is not erasable!"})


async def test_erase_refusals(world):
    """A running job is not erasable (403); a developer may not erase someone else's job, a maintainer may."""
    running = await post(world, f"{JOBS}/{world.jobs['lint'].id}/erase")
    assert (running.status, running.body) == (
        403,
        {"message": "403 Forbidden - Job is not erasable!"},
    )
    bobs = world.fake.add_job(world.pipeline, log=b"x", user=world.fake.users[2])
    theirs = await post(world, f"{JOBS}/{bobs.id}/erase")
    assert (theirs.status, theirs.body) == (403, {"message": "403 Forbidden"})
    alices = world.jobs["rspec"]
    assert (
        await post(world, f"{JOBS}/{alices.id}/erase", token=world.maintainer_token)
    ).status == 201


async def test_play_with_json_variables(world):
    """Playing a manual job answers 200 with it pending, run by the player, its variables stored."""
    job = world.jobs["deploy"]
    variables = [{"key": "TARGET", "value": "prod"}, {"key": "N", "value": 3}]
    reply = await post(
        world,
        f"{JOBS}/{job.id}/play",
        token=world.maintainer_token,
        json={"job_variables_attributes": variables},
    )
    assert reply.status == 200
    assert (reply.body["id"], reply.body["status"], reply.body["user"]["username"]) == (
        job.id,
        "pending",
        "bob",
    )
    assert job.variables == [{"key": "TARGET", "value": "prod"}, {"key": "N", "value": "3"}]
    assert job.status == "pending" and job.queued_at is not None


@pytest.mark.parametrize("where", ["form", "query"])
async def test_play_with_rack_style_variables(world, where):
    """job_variables_attributes[][key]/[value] pairs work as a form body and as a query string."""
    job = world.jobs["deploy"]
    pairs = [
        ("job_variables_attributes[][key]", "A"),
        ("job_variables_attributes[][value]", "1"),
        ("job_variables_attributes[][key]", "B"),
        ("job_variables_attributes[][value]", "2"),
    ]
    if where == "form":
        reply = await post(world, f"{JOBS}/{job.id}/play", data=pairs)
    else:
        query = "&".join(f"{k}={v}" for k, v in pairs).replace("[", "%5B").replace("]", "%5D")
        reply = await post(world, f"{JOBS}/{job.id}/play?{query}")
    assert reply.status == 200
    assert job.variables == [{"key": "A", "value": "1"}, {"key": "B", "value": "2"}]


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ([{"value": "V"}], "job_variables_attributes[0][key] is missing"),
        ([{"key": "K"}], "job_variables_attributes[0][value] is missing"),
        (
            [{"key": "K", "value": "V"}, {}],
            "job_variables_attributes[1][key] is missing, job_variables_attributes[1][value] is missing",
        ),
        ("K=V", "job_variables_attributes is invalid"),
    ],
)
async def test_play_variable_validation(world, variables, message):
    """A variable without key or value is Grape's 400, before the job is touched."""
    job = world.jobs["deploy"]
    reply = await post(world, f"{JOBS}/{job.id}/play", json={"job_variables_attributes": variables})
    assert (reply.status, reply.body) == (400, {"error": message})
    assert job.status == "manual" and job.variables == []


async def test_play_unplayable_is_400(world):
    """Playing a job that is not manual or delayed (or is archived) is 400 Unplayable Job."""
    archived = world.fake.add_job(world.pipeline, status="manual", when="manual", archived=True)
    for job_id in (world.jobs["build"].id, world.jobs["lint"].id, archived.id):
        reply = await post(world, f"{JOBS}/{job_id}/play")
        assert (reply.status, reply.body) == (400, {"message": "400 Bad request - Unplayable Job"})


async def test_play_of_a_manual_bridge_and_a_finished_manual_job(world):
    """A manual bridge plays in place as a Bridge entity; a finished manual build plays as a retry (new id)."""
    bridge = world.fake.add_bridge(world.pipeline, name="gate", status="manual", when="manual")
    reply = await post(world, f"{JOBS}/{bridge.id}/play")
    assert (
        reply.status == 200
        and reply.body["id"] == bridge.id
        and "downstream_pipeline" in reply.body
    )
    assert "artifacts" not in reply.body and bridge.status == "pending"
    done = world.fake.add_job(world.pipeline, name="again", status="success", when="manual")
    replay = await post(
        world,
        f"{JOBS}/{done.id}/play",
        json={"job_variables_attributes": [{"key": "K", "value": "V"}]},
    )
    assert (
        replay.status == 200 and replay.body["id"] != done.id and replay.body["status"] == "pending"
    )
    assert done.retried and world.fake.jobs[replay.body["id"]].variables == [
        {"key": "K", "value": "V"}
    ]


# -- job-token introspection ------------------------------------------------------------------


async def test_job_endpoint(world):
    """GET /job answers the token's job; a PAT gets 404 Job Not Found, no auth and a finished job's token 401."""
    fake = world.fake
    lint = world.jobs["lint"]
    token = fake.job_token(lint)
    for headers, path in (
        ({"JOB-TOKEN": token}, "/job"),
        ({}, f"/job?job_token={token}"),
        ({"Authorization": f"Bearer {token}"}, "/job"),
    ):
        reply = await call(fake, "GET", path, headers=headers)
        assert (
            reply.status == 200
            and reply.body["id"] == lint.id
            and reply.body["status"] == "running"
        )
    pat = await call(fake, "GET", "/job", token=world.token)
    assert (pat.status, pat.body) == (404, {"message": "404 Job Not Found"})
    anonymous = await call(fake, "GET", "/job")
    assert (anonymous.status, anonymous.body) == (401, {"message": "401 Unauthorized"})
    finished = await call(
        fake, "GET", "/job", headers={"JOB-TOKEN": fake.job_token(world.jobs["build"])}
    )
    assert (finished.status, finished.body) == (401, {"message": "401 Unauthorized"})


async def test_allowed_agents_shape(world):
    """/job/allowed_agents lists the project's agents, the job, pipeline, project groups and user roles; no environment without one."""
    fake = world.fake
    fake.add_allowed_agent(
        world.project, agent_id=7, name="agent-7", config_project=world.downstream.project
    )
    lint = world.jobs["lint"]
    body = (
        await call(fake, "GET", "/job/allowed_agents", headers={"JOB-TOKEN": fake.job_token(lint)})
    ).body
    assert body == {
        "allowed_agents": [
            {
                "id": 7,
                "config_project": {
                    "id": world.downstream.project.id,
                    "description": None,
                    "name": "downstream",
                    "name_with_namespace": "group / downstream",
                    "path": "downstream",
                    "path_with_namespace": "group/downstream",
                    "created_at": "2026-11-01T09:00:00.000Z",
                },
                "configuration": {"default_namespace": "agent-7"},
            }
        ],
        "job": {"id": lint.id},
        "pipeline": {"id": world.pipeline.id},
        "project": {"id": world.project.id, "groups": [{"id": 1000}, {"id": 1001}]},
        "user": {
            "id": lint.user.id,
            "username": "alice",
            "roles_in_project": ["guest", "reporter", "developer"],
        },
    }
    deploying = fake.add_job(
        world.pipeline, name="deploy-prod", status="running", environment="production"
    )
    with_env = await call(
        fake, "GET", "/job/allowed_agents", headers={"JOB-TOKEN": fake.job_token(deploying)}
    )
    assert with_env.body["environment"] == {"tier": "production", "slug": "production"}


# -- recording ------------------------------------------------------------------------------------


async def test_requests_are_recorded_raw_and_frozen(world):
    """Each request is recorded with its raw path, decoded query, headers and body; records are immutable."""
    fake = world.fake
    fake.requests.clear()
    await get(world, f"{JOBS}?scope[]=failed&per_page=5")
    await post(
        world, f"{JOBS}/{world.jobs['deploy'].id}/play", json={"job_variables_attributes": []}
    )
    listed, played = fake.requests
    assert isinstance(listed, RecordedRequest)
    assert (listed.method, listed.path) == ("GET", "/api/v4/projects/group%2Fsub%2Fapp/jobs")
    assert listed.query == (("scope[]", "failed"), ("per_page", "5")) and listed.body == b""
    assert listed.headers["private-token"] == world.token and listed.status == 200
    assert played.path.endswith("/play") and json.loads(played.body) == {
        "job_variables_attributes": []
    }
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        listed.method = "POST"  # type: ignore[misc]
    fake.requests.clear()
    assert fake.requests == []


# -- python-gitlab, unmodified, against the fake ---------------------------------------------------


def python_gitlab_session(world: World) -> dict[str, Any]:
    """Drive python-gitlab (synchronous) through every operation the SDK covers."""
    gl = gitlab.Gitlab(world.fake.url, private_token=world.token, retry_transient_errors=False)
    project = gl.projects.get(PROJECT)
    result: dict[str, Any] = {}
    result["offset"] = [j.id for j in project.jobs.list(iterator=True, per_page=2)]
    result["keyset"] = [
        j.id
        for j in project.jobs.list(
            iterator=True, per_page=2, pagination="keyset", order_by="id", sort="desc"
        )
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
