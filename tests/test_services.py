"""The four services end to end against the fake GitLab over HTTP."""

from __future__ import annotations

import inspect
from contextlib import aclosing

import pytest

from gitlab_jobs_async import (
    BadRequest,
    Bridge,
    Forbidden,
    GitLab,
    Job,
    JobStatus,
    NotFound,
    Unauthorized,
)

from ._support import LOG, PROJECT, World


@pytest.fixture
async def gl(world: World):
    async with GitLab(world.fake.url, private_token=world.token) as client:
        yield client


async def test_get_by_path_sends_encoded_path(gl, world):
    """A full project path goes out as one %2F-encoded segment, exactly as GitLab needs."""
    job = await gl.project_jobs.get(PROJECT, world.jobs["build"].id)
    assert isinstance(job, Job) and job.name == "build" and job.status is JobStatus.SUCCESS
    request = world.fake.requests[-1]
    assert request.method == "GET"
    assert request.path == f"/api/v4/projects/group%2Fsub%2Fapp/jobs/{world.jobs['build'].id}"


async def test_get_by_numeric_id(gl, world):
    """A numeric project id works the same as the path."""
    job = await gl.project_jobs.get(world.project.id, world.jobs["rspec"].id)
    assert job.failure_reason == "script_failure"
    assert world.fake.requests[-1].path == f"/api/v4/projects/{world.project.id}/jobs/{job.id}"


async def test_job_fields_are_typed(gl, world):
    """Nested objects, timestamps and artifacts are typed; absent keys are None."""
    job = await gl.project_jobs.get(PROJECT, world.jobs["build"].id)
    assert job.created_at is not None and job.created_at.tzinfo is not None
    assert job.pipeline is not None and job.pipeline.id == world.pipeline.id
    assert job.user is not None and job.user.username == "alice"
    assert job.failure_reason is None  # key absent for a successful job
    assert job.artifacts_file is not None
    assert {a.file_type for a in job.artifacts} >= {"archive", "trace"}
    assert job.tag_list == ("docker", "linux")  # GitLab sorts tags
    assert job.web_url is not None and job.web_url.endswith(f"/-/jobs/{job.id}")


async def test_headers_sent(gl, world):
    """The token travels in PRIVATE-TOKEN and the User-Agent names the SDK."""
    await gl.project_jobs.get(PROJECT, world.jobs["build"].id)
    headers = world.fake.requests[-1].headers
    assert headers["PRIVATE-TOKEN"] == world.token
    assert headers["User-Agent"].startswith("gitlab-jobs-async/")


async def test_list_project_jobs_every_job_once(gl, world):
    """The project list yields every build (no bridges), newest first, across pages."""
    jobs = [job async for job in gl.project_jobs.list(PROJECT, per_page=2)]
    expected = sorted((j.id for j in world.jobs.values()), reverse=True)
    assert [j.id for j in jobs] == expected
    pages = [r for r in world.fake.requests if r.path.endswith("/jobs")]
    assert all(("per_page", "2") in r.query for r in pages)
    numbers = [int(r.param("page") or 0) for r in pages]
    assert numbers[0] == 1 and {1, 2, 3} <= set(numbers)
    assert len(numbers) == len(set(numbers))  # no page twice; extra ones are speculative


async def test_list_keyset_matches_offset(gl, world):
    """Keyset pagination yields the same jobs as offset pagination."""
    offset = [j.id async for j in gl.project_jobs.list(PROJECT, per_page=2)]
    keyset = [j.id async for j in gl.project_jobs.list(PROJECT, per_page=2, pagination="keyset")]
    assert keyset == offset
    sent = world.fake.requests[-1].query
    assert ("pagination", "keyset") in sent and ("order_by", "id") in sent


async def test_list_scope(gl, world):
    """scope accepts a string, enum members and mixtures, sent as scope[]."""
    failed = [j.name async for j in gl.project_jobs.list(PROJECT, scope="failed")]
    assert failed == ["rspec"]
    mixed = [
        j.name async for j in gl.project_jobs.list(PROJECT, scope=["failed", JobStatus.MANUAL])
    ]
    assert sorted(mixed) == ["deploy", "rspec"]
    assert ("scope[]", "manual") in world.fake.requests[-1].query


async def test_bad_list_arguments_fail_before_any_request(gl, world):
    """Bad scope, per_page, pagination or project raise at call time, with no request sent."""
    world.fake.requests.clear()
    with pytest.raises(ValueError, match="scope"):
        gl.project_jobs.list(PROJECT, scope="broken")
    with pytest.raises(ValueError, match="per_page"):
        gl.project_jobs.list(PROJECT, per_page=500)
    with pytest.raises(ValueError, match="pagination"):
        gl.project_jobs.list(PROJECT, pagination="cursor")
    with pytest.raises(ValueError, match="project"):
        gl.project_jobs.list("")
    with pytest.raises(TypeError, match="job_id"):
        await gl.project_jobs.get(PROJECT, True)
    with pytest.raises(ValueError, match="job_id"):
        await gl.project_jobs.get(PROJECT, -1)
    with pytest.raises(TypeError, match="pipeline_id"):
        gl.pipeline_jobs.list(PROJECT, "6")
    assert world.fake.requests == []


BAD_CALLS = {
    "get(None)": (lambda gl, tmp: gl.project_jobs.get(PROJECT, None), TypeError, "job_id"),
    "cancel(None)": (lambda gl, tmp: gl.project_jobs.cancel(PROJECT, None), TypeError, "job_id"),
    "retry(None)": (lambda gl, tmp: gl.project_jobs.retry(PROJECT, None), TypeError, "job_id"),
    "erase(None)": (lambda gl, tmp: gl.project_jobs.erase(PROJECT, None), TypeError, "job_id"),
    "play(None)": (lambda gl, tmp: gl.project_jobs.play(PROJECT, None), TypeError, "job_id"),
    "cancel(force=1)": (
        lambda gl, tmp: gl.project_jobs.cancel(PROJECT, 1, force=1),
        TypeError,
        "force",
    ),
    "play(variables=list)": (
        lambda gl, tmp: gl.project_jobs.play(PROJECT, 1, variables=[("K", "v")]),
        TypeError,
        "variables",
    ),
    "trace(None)": (lambda gl, tmp: gl.project_jobs.trace(PROJECT, None), TypeError, "job_id"),
    "trace(chunk_size=0)": (
        lambda gl, tmp: gl.project_jobs.trace(PROJECT, 1, chunk_size=0),
        ValueError,
        "chunk_size",
    ),
    "follow(None)": (lambda gl, tmp: gl.project_jobs.follow(PROJECT, None), TypeError, "job_id"),
    "follow(poll=0)": (
        lambda gl, tmp: gl.project_jobs.follow(PROJECT, 1, poll=0),
        ValueError,
        "poll",
    ),
    "save_trace(None)": (
        lambda gl, tmp: gl.project_jobs.save_trace(PROJECT, None, tmp / "log"),
        TypeError,
        "job_id",
    ),
    "list(None)": (lambda gl, tmp: gl.project_jobs.list(None), TypeError, "project"),
    "list(max_items=0)": (
        lambda gl, tmp: gl.project_jobs.list(PROJECT, max_items=0),
        ValueError,
        "max_items",
    ),
    "list(concurrency=0)": (
        lambda gl, tmp: gl.project_jobs.list(PROJECT, concurrency=0),
        ValueError,
        "concurrency",
    ),
    "list(created_after=str)": (
        lambda gl, tmp: gl.project_jobs.list(PROJECT, created_after="2026-01-01"),
        TypeError,
        "created_after",
    ),
    "list_many([None])": (
        lambda gl, tmp: gl.project_jobs.list_many([PROJECT, None]),
        TypeError,
        "project",
    ),
    "artifacts(None)": (
        lambda gl, tmp: gl.project_jobs.artifacts(PROJECT, None),
        TypeError,
        "job_id",
    ),
    "artifact_file(..)": (
        lambda gl, tmp: gl.project_jobs.artifact_file(PROJECT, 1, "../secret"),
        ValueError,
        "artifact_path",
    ),
    "artifacts_by_ref(None)": (
        lambda gl, tmp: gl.project_jobs.artifacts_by_ref(PROJECT, None, "build"),
        TypeError,
        "ref",
    ),
    "artifact_file_by_ref(job_name=None)": (
        lambda gl, tmp: gl.project_jobs.artifact_file_by_ref(PROJECT, "main", None, "a.txt"),
        TypeError,
        "job_name",
    ),
    "save_artifacts(None)": (
        lambda gl, tmp: gl.project_jobs.save_artifacts(PROJECT, None, tmp / "a.zip"),
        TypeError,
        "job_id",
    ),
    "keep_artifacts(None)": (
        lambda gl, tmp: gl.project_jobs.keep_artifacts(PROJECT, None),
        TypeError,
        "job_id",
    ),
    "delete_artifacts(None)": (
        lambda gl, tmp: gl.project_jobs.delete_artifacts(PROJECT, None),
        TypeError,
        "job_id",
    ),
    "pipeline_jobs.list(None)": (
        lambda gl, tmp: gl.pipeline_jobs.list(PROJECT, None),
        TypeError,
        "pipeline_id",
    ),
    "pipeline_jobs.list(include_retried=1)": (
        lambda gl, tmp: gl.pipeline_jobs.list(PROJECT, 1, include_retried=1),
        TypeError,
        "include_retried",
    ),
    "pipeline_jobs.list_many(None id)": (
        lambda gl, tmp: gl.pipeline_jobs.list_many([(PROJECT, None)]),
        TypeError,
        "pipeline_id",
    ),
    "bridges.list(None)": (
        lambda gl, tmp: gl.bridges.list(PROJECT, None),
        TypeError,
        "pipeline_id",
    ),
    "list('..')": (lambda gl, tmp: gl.project_jobs.list(".."), ValueError, "project"),
    "get('group/../app')": (
        lambda gl, tmp: gl.project_jobs.get("group/../app", 1),
        ValueError,
        "'..' segment",
    ),
    "pipeline_jobs.list('./app')": (
        lambda gl, tmp: gl.pipeline_jobs.list("./app", 1),
        ValueError,
        "project",
    ),
    "groups.projects('..')": (lambda gl, tmp: gl.groups.projects(".."), ValueError, "group"),
    "groups.projects('acme/.')": (
        lambda gl, tmp: gl.groups.projects("acme/."),
        ValueError,
        "group",
    ),
    "artifacts_by_ref(ref='..')": (
        lambda gl, tmp: gl.project_jobs.artifacts_by_ref(PROJECT, "..", "build"),
        ValueError,
        "ref",
    ),
    "artifact_file_by_ref(ref='main/../x')": (
        lambda gl, tmp: gl.project_jobs.artifact_file_by_ref(PROJECT, "main/../x", "b", "a"),
        ValueError,
        "ref",
    ),
    "list_many(str)": (
        lambda gl, tmp: gl.project_jobs.list_many("group/app"),
        TypeError,
        "not a str",
    ),
    "pipeline_jobs.list_many(str)": (
        lambda gl, tmp: gl.pipeline_jobs.list_many("group/app"),
        TypeError,
        "not a str",
    ),
    "pipeline_jobs.list_many(not pairs)": (
        lambda gl, tmp: gl.pipeline_jobs.list_many([(PROJECT,)]),
        TypeError,
        "pairs",
    ),
    "list_many(None)": (lambda gl, tmp: gl.project_jobs.list_many(None), TypeError, "projects"),
}


@pytest.mark.parametrize(("make", "error", "match"), BAD_CALLS.values(), ids=BAD_CALLS)
async def test_bad_arguments_raise_before_any_request(gl, world, tmp_path, make, error, match):
    """Every public method refuses a bad argument by name before sending anything."""
    world.fake.requests.clear()
    with pytest.raises(error, match=match):
        result = make(gl, tmp_path)  # lists and streams raise here, at call time
        if inspect.isawaitable(result):
            await result
    assert world.fake.requests == []


async def test_list_skips_jobs_shifted_by_new_arrivals(gl, world):
    """Jobs created while an offset listing runs do not make older jobs appear twice."""
    expected = sorted((j.id for j in world.jobs.values()), reverse=True)
    seen: list[int] = []
    async with aclosing(gl.project_jobs.list(PROJECT, per_page=2)) as jobs:
        async for job in jobs:
            if not seen:
                for n in range(3):
                    world.fake.add_job(world.pipeline, name=f"new{n}", status="pending")
            seen.append(job.id)
    assert seen == expected


async def test_list_follows_own_host_not_link_host(world):
    """Link headers naming another host are not followed there: pages come from our own URL."""
    world.fake.external_url = "https://gitlab.example.com"
    async with GitLab(world.fake.url, private_token=world.token) as gl:
        offset = [j.id async for j in gl.project_jobs.list(PROJECT, per_page=2)]
        keyset = [
            j.id async for j in gl.project_jobs.list(PROJECT, per_page=2, pagination="keyset")
        ]
    assert len(offset) == len(world.jobs) and keyset == offset
    assert all(r.headers["Host"].startswith("127.0.0.1:") for r in world.fake.requests)
    assert all(r.headers["PRIVATE-TOKEN"] == world.token for r in world.fake.requests)


async def test_pipeline_jobs_and_include_retried(gl, world):
    """Pipeline jobs hide retried attempts unless include_retried=True."""
    old = world.jobs["rspec"].id
    new = await gl.project_jobs.retry(PROJECT, old)
    latest = [j.id async for j in gl.pipeline_jobs.list(PROJECT, world.pipeline.id)]
    assert new.id in latest and old not in latest
    every = [
        j.id async for j in gl.pipeline_jobs.list(PROJECT, world.pipeline.id, include_retried=True)
    ]
    assert new.id in every and old in every
    assert ("include_retried", "true") in world.fake.requests[-1].query
    failed = [
        j.name
        async for j in gl.pipeline_jobs.list(
            PROJECT, world.pipeline.id, scope="failed", include_retried=True
        )
    ]
    assert failed == ["rspec"]


async def test_pipeline_jobs_unknown_pipeline(gl, world):
    """An unknown pipeline is NotFound with GitLab's wording."""
    with pytest.raises(NotFound) as info:
        [j async for j in gl.pipeline_jobs.list(PROJECT, 999_999)]
    assert info.value.message == "404 Not found"


async def test_bridges(gl, world):
    """Bridges come back as Bridge objects with their downstream pipeline."""
    bridges = [b async for b in gl.bridges.list(PROJECT, world.pipeline.id)]
    assert len(bridges) == 1 and isinstance(bridges[0], Bridge)
    assert bridges[0].downstream_pipeline is not None
    assert bridges[0].downstream_pipeline.id == world.downstream.id
    assert bridges[0].downstream_pipeline.source == "pipeline"


async def test_bridge_is_not_a_job(gl, world):
    """GET of a bridge id is a 404, as in GitLab."""
    with pytest.raises(NotFound):
        await gl.project_jobs.get(PROJECT, world.bridge.id)


async def test_trace_streams_exact_bytes(gl, world):
    """The log arrives as bytes chunks that join to exactly the stored log."""
    chunks = [
        c async for c in gl.project_jobs.trace(PROJECT, world.jobs["build"].id, chunk_size=16)
    ]
    assert len(chunks) > 1 and all(len(c) <= 16 for c in chunks)
    assert b"".join(chunks) == LOG


async def test_trace_empty_log(gl, world):
    """A job without a log yields no chunks (GitLab answers 200 with an empty body)."""
    assert [c async for c in gl.project_jobs.trace(PROJECT, world.jobs["deploy"].id)] == []


async def test_trace_early_break_releases_connection(gl, world):
    """Leaving the loop early releases the connection for the next request."""
    async with aclosing(gl.project_jobs.trace(PROJECT, world.jobs["build"].id, chunk_size=8)) as t:
        async for _ in t:
            break
    job = await gl.project_jobs.get(PROJECT, world.jobs["build"].id)
    assert job.id == world.jobs["build"].id


async def test_trace_errors(gl, world):
    """A bridge or unknown job has no log: NotFound."""
    with pytest.raises(NotFound):
        [c async for c in gl.project_jobs.trace(PROJECT, world.bridge.id)]
    with pytest.raises(NotFound):
        [c async for c in gl.project_jobs.trace(PROJECT, 999_999)]


async def test_cancel_finished_job_is_a_noop(gl, world):
    """Cancelling a finished job succeeds and returns it unchanged."""
    job = await gl.project_jobs.cancel(PROJECT, world.jobs["build"].id)
    assert job.status is JobStatus.SUCCESS
    assert world.fake.requests[-1].method == "POST"


async def test_cancel_running_and_graceful(gl, world):
    """A running job is canceled; one whose runner cancels gracefully goes to canceling."""
    assert (
        await gl.project_jobs.cancel(PROJECT, world.jobs["lint"].id)
    ).status is JobStatus.CANCELED
    job = await gl.project_jobs.cancel(PROJECT, world.jobs["graceful"].id)
    assert job.status is JobStatus.CANCELING and job.finished_at is None


async def test_force_cancel_needs_maintainer(gl, world):
    """force=True is refused for a developer and completes canceling for a maintainer."""
    job_id = world.jobs["graceful"].id
    await gl.project_jobs.cancel(PROJECT, job_id)
    with pytest.raises(Forbidden):
        await gl.project_jobs.cancel(PROJECT, job_id, force=True)
    async with GitLab(world.fake.url, private_token=world.maintainer_token) as maintainer:
        job = await maintainer.project_jobs.cancel(PROJECT, job_id, force=True)
    assert job.status is JobStatus.CANCELED


async def test_retry_returns_new_job(gl, world):
    """Retry answers with a new job (new id, pending); retrying the old one again is Forbidden."""
    old = world.jobs["rspec"].id
    new = await gl.project_jobs.retry(PROJECT, old)
    assert new.id != old and new.name == "rspec" and new.status is JobStatus.PENDING
    with pytest.raises(Forbidden) as info:
        await gl.project_jobs.retry(PROJECT, old)
    assert info.value.message == "403 Forbidden - Job is not retryable"
    assert info.value.status == 403


async def test_retry_running_job_is_forbidden(gl, world):
    """A running job cannot be retried."""
    with pytest.raises(Forbidden, match="not retryable"):
        await gl.project_jobs.retry(PROJECT, world.jobs["lint"].id)


async def test_erase(gl, world):
    """Erase removes log and artifacts of a finished job; a running job is not erasable."""
    with pytest.raises(Forbidden, match="not erasable"):
        await gl.project_jobs.erase(PROJECT, world.jobs["lint"].id)
    job = await gl.project_jobs.erase(PROJECT, world.jobs["build"].id)
    assert job.erased_at is not None and job.artifacts == () and job.artifacts_file is None
    assert [c async for c in gl.project_jobs.trace(PROJECT, job.id)] == []


async def test_play_with_variables(gl, world):
    """Play starts a manual job with job variables sent as job_variables_attributes."""
    job = await gl.project_jobs.play(
        PROJECT, world.jobs["deploy"].id, variables={"TARGET": "prod", "DRY": "no"}
    )
    assert isinstance(job, Job) and job.status is JobStatus.PENDING
    assert world.jobs["deploy"].variables == [
        {"key": "TARGET", "value": "prod"},
        {"key": "DRY", "value": "no"},
    ]


async def test_play_unplayable(gl, world):
    """Playing a job that is not manual is BadRequest with GitLab's wording."""
    with pytest.raises(BadRequest) as info:
        await gl.project_jobs.play(PROJECT, world.jobs["lint"].id)
    assert info.value.message == "400 Bad request - Unplayable Job"


async def test_play_bridge_returns_bridge(gl, world):
    """Playing a manual trigger job returns a Bridge."""
    manual = world.fake.add_bridge(
        world.pipeline, name="manual-trigger", status="manual", when="manual", downstream=None
    )
    result = await gl.project_jobs.play(PROJECT, manual.id)
    assert isinstance(result, Bridge) and result.status is JobStatus.PENDING


async def test_play_rejects_bad_variables(gl, world):
    """Non-string variables fail before any request."""
    world.fake.requests.clear()
    with pytest.raises(TypeError, match="variable"):
        await gl.project_jobs.play(PROJECT, world.jobs["deploy"].id, variables={"N": 1})
    with pytest.raises(ValueError, match="empty"):
        await gl.project_jobs.play(PROJECT, world.jobs["deploy"].id, variables={"": "x"})
    assert world.fake.requests == []


async def test_token_job(world):
    """A running job's token reads its own job and allowed agents."""
    lint = world.jobs["lint"]
    world.fake.add_allowed_agent(
        world.project, agent_id=7, name="k8s", config_project=world.project
    )
    token = world.fake.job_token(lint)
    async with GitLab(world.fake.url, job_token=token) as gl:
        me = await gl.token_job.get()
        agents = await gl.token_job.allowed_agents()
    assert me.id == lint.id and me.status is JobStatus.RUNNING
    assert world.fake.requests[-1].headers["JOB-TOKEN"] == token
    assert [a.id for a in agents.allowed_agents] == [7]
    assert agents.job is not None and agents.job.id == lint.id
    assert agents.pipeline is not None and agents.pipeline.id == world.pipeline.id
    assert agents.environment is None


async def test_token_job_with_personal_token(gl):
    """GET /job with a personal token is NotFound, as GitLab answers."""
    with pytest.raises(NotFound) as info:
        await gl.token_job.get()
    assert info.value.message == "404 Job Not Found"


async def test_token_of_finished_job(world):
    """The token of a job that stopped running is Unauthorized."""
    lint = world.jobs["lint"]
    token = world.fake.job_token(lint)
    world.fake.set_status(lint, "success")
    async with GitLab(world.fake.url, job_token=token) as gl:
        with pytest.raises(Unauthorized):
            await gl.token_job.get()


async def test_job_token_lists_project_jobs(world):
    """A job token may list its project's jobs (a job-token-allowed endpoint)."""
    token = world.fake.job_token(world.jobs["lint"])
    async with GitLab(world.fake.url, job_token=token) as gl:
        names = {j.name async for j in gl.project_jobs.list(PROJECT)}
    assert "lint" in names


async def test_oauth_token(world):
    """An OAuth token travels as Authorization: Bearer."""
    alice = world.jobs["build"].user
    token = world.fake.add_oauth_token(alice)
    async with GitLab(world.fake.url, oauth_token=token) as gl:
        await gl.project_jobs.get(PROJECT, world.jobs["build"].id)
    assert world.fake.requests[-1].headers["Authorization"] == f"Bearer {token}"


async def test_unknown_fields_in_server_json(gl, world):
    """Keys this SDK does not know are ignored."""
    job = world.fake.add_job(
        world.pipeline,
        name="future",
        status="success",
        extra_fields={"quantum_state": {"a": 1}, "status": "teleporting"},
    )
    got = await gl.project_jobs.get(PROJECT, job.id)
    assert got.status == "teleporting" and not isinstance(got.status, JobStatus)


async def test_group_projects(fake):
    """A group's project paths, with or without subgroups; an unknown group is NotFound."""
    user = fake.add_user("lead")
    token = fake.add_personal_token(user)
    for path in ("acme/web/frontend", "acme/web/backend", "acme/infra", "other/thing"):
        fake.add_member(fake.add_project(path), user, "reporter")
    async with GitLab(fake.url, private_token=token) as gl:
        every = [p async for p in gl.groups.projects("acme")]
        direct = [p async for p in gl.groups.projects("acme", include_subgroups=False)]
        web = [p async for p in gl.groups.projects("acme/web")]
        with pytest.raises(NotFound):
            [p async for p in gl.groups.projects("nobody")]
    assert every == ["acme/infra", "acme/web/backend", "acme/web/frontend"]
    assert direct == ["acme/infra"] and web == ["acme/web/backend", "acme/web/frontend"]
    assert fake.requests[0].path == "/api/v4/groups/acme/projects"


async def test_group_projects_use_the_client_page_size(fake):
    """The group's projects list pages by the client's per_page, like every other list."""
    user = fake.add_user("lead")
    token = fake.add_personal_token(user)
    for n in range(5):
        fake.add_member(fake.add_project(f"acme/app{n}"), user, "reporter")
    async with GitLab(fake.url, private_token=token, per_page=2) as gl:
        found = [p async for p in gl.groups.projects("acme")]
        assert [p async for p in gl.groups.projects("acme", per_page=5)] == found
    assert found == [f"acme/app{n}" for n in reversed(range(5))]
    sizes = {r.param("per_page") for r in fake.requests}
    assert sizes == {"2", "5"}


async def test_group_projects_check_arguments_before_any_request(fake):
    """A bad group, flag or page size is refused by name with no request sent."""
    async with GitLab(fake.url) as gl:
        with pytest.raises(ValueError, match="group"):
            gl.groups.projects("acme//web")
        with pytest.raises(TypeError, match="include_subgroups"):
            gl.groups.projects("acme", include_subgroups="yes")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="per_page"):
            gl.groups.projects("acme", per_page=101)
    assert fake.requests == []
