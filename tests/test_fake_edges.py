"""The fake GitLab where it used to be kinder than GitLab (issue 13's differences), checked
over raw HTTP: links, methods, lenient params, page ends, missing routes, data, log ranges,
newer action params, and malformed requests (never a 500)."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import aiohttp
import pytest

from gitlab_jobs_async.testing._logs import BadRange, NoOverlap, byte_range, serve_log

from ._support import LOG
from .test_fake_gitlab import JOBS, add_jobs, call, get, links, post


def pairs(url: str) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(url).query, keep_blank_values=True)


# -- 1. links echo each parameter once ------------------------------------------------------


async def test_followed_links_echo_each_param_once(fake):
    """Following rel=next 30 times keeps one id=, one page=, one per_page=: the URL never grows."""
    project, _, token, _ = add_jobs(fake, 40)
    path = f"/projects/{project.id}/jobs?per_page=1&scope[]=success"
    lengths = set()
    for _ in range(30):
        reply = await call(fake, "GET", path, token=token)
        nxt = links(reply)["next"]
        keys = [k for k, _ in pairs(nxt)]
        assert sorted(keys) == ["id", "page", "per_page", "scope[]"], keys
        lengths.add(len(nxt) - len(str(dict(pairs(nxt))["page"])))
        path = nxt.split("/api/v4", 1)[1]
    assert len(lengths) == 1


async def test_keyset_cursor_link_echoes_each_param_once(fake):
    """The keyset Link keeps one cursor= and one of each other param, however far it is followed."""
    project, _, token, _ = add_jobs(fake, 12)
    path = f"/projects/{project.id}/jobs?pagination=keyset&per_page=2"
    for _ in range(5):
        nxt = links(await call(fake, "GET", path, token=token))["next"]
        keys = [k for k, _ in pairs(nxt)]
        assert len(keys) == len(set(keys)) and keys.count("cursor") == 1
        path = nxt.split("/api/v4", 1)[1]


# -- 2/3. methods, trailing slashes, lenient params ------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("DELETE", "{jobs}/{build}", "GET, HEAD"),
        ("GET", "{jobs}/{build}/cancel", "POST"),
        ("POST", "/job", "GET, HEAD"),
        ("PUT", "{jobs}/{build}/artifacts", "DELETE, GET, HEAD"),
    ],
)
async def test_wrong_method_is_grapes_405(world, method, path, allow):
    """A path another method would match answers 405 {"error":"405 Not Allowed"} with Allow."""
    path = path.format(jobs=JOBS, build=world.jobs["build"].id)
    reply = await call(world.fake, method, path, token=world.token)
    assert (reply.status, reply.body) == (405, {"error": "405 Not Allowed"})
    assert reply.headers["Allow"] == allow


@pytest.mark.parametrize("suffix", ["", "/"])
async def test_trailing_slash_is_ignored(world, suffix):
    """Grape ignores a trailing slash: /jobs/ and /jobs/:id/ answer 200 like their plain paths."""
    listed = await get(world, f"{JOBS}{suffix}")
    one = await get(world, f"{JOBS}/{world.jobs['build'].id}{suffix}")
    assert (listed.status, one.status) == (200, 200) and one.body["name"] == "build"


@pytest.mark.parametrize(
    ("query", "status", "expected"),
    [
        ("include_retried=maybe", 400, {"error": "include_retried is invalid"}),
        ("scope=failed&scope=success", 200, ["build"]),  # Rack keeps the last plain value
        ("scope[x]=failed", 200, ["rspec"]),  # a hash's values
        ("scope[]=failed&scope[]=manual", 200, ["deploy", "rspec"]),
        ("scope[]=nope", 400, {"error": "scope does not have a valid value"}),
    ],
)
async def test_pipeline_params_as_grape_reads_them(world, query, status, expected):
    """Booleans are strict, repeated plain keys keep the last, hashes give their values."""
    reply = await get(
        world, f"/projects/{world.project.id}/pipelines/{world.pipeline.id}/jobs?{query}"
    )
    assert reply.status == status
    assert (sorted(j["name"] for j in reply.body) if status == 200 else reply.body) == expected


async def test_non_integer_pipeline_id_is_400(world):
    """/pipelines/abc/jobs fails Grape's Integer coercion: 400 pipeline_id is invalid."""
    reply = await get(world, f"/projects/{world.project.id}/pipelines/abc/jobs")
    assert (reply.status, reply.body) == (400, {"error": "pipeline_id is invalid"})


# -- 4. the ends of a list -------------------------------------------------------------------


async def test_page_out_of_range_has_no_prev(fake):
    """Past the end Kaminari has neither previous nor next page: empty X-Prev-Page, no rel=prev."""
    project, pipeline, token, _ = add_jobs(fake, 3)
    for path in (
        f"/projects/{project.id}/jobs",
        f"/projects/{project.id}/pipelines/{pipeline.id}/jobs",
    ):
        reply = await call(fake, "GET", f"{path}?page=7&per_page=2", token=token)
        assert reply.body == [] and reply.headers["X-Prev-Page"] == ""
        assert reply.headers["X-Next-Page"] == "" and "prev" not in links(reply)


async def test_links_echo_the_requested_per_page(fake):
    """per_page=500 is served as 100 (X-Per-Page) but echoed as 500, as offset_header_builder does."""
    project, pipeline, token, _ = add_jobs(fake, 3)
    reply = await call(
        fake,
        "GET",
        f"/projects/{project.id}/pipelines/{pipeline.id}/jobs?per_page=500&include_retried=false&scope[]=success",
        token=token,
    )
    assert reply.headers["X-Per-Page"] == "100"
    first = dict(pairs(links(reply)["first"]))
    assert first["per_page"] == "500" and first["include_retried"] == "false"
    assert first["scope[]"] == "success" and first["pipeline_id"] == str(pipeline.id)


# -- 5. routes that were missing -------------------------------------------------------------


async def test_delete_project_artifacts_is_202_and_keeps_the_latest(fake):
    """DELETE /projects/:id/artifacts answers 202 {"message":"202 Accepted"}, expires old artifacts, keeps the latest successful pipeline's."""
    user = fake.add_user("m")
    project = fake.add_project("g/arts")
    fake.add_member(project, user, "maintainer")
    old = fake.add_job(fake.add_pipeline(project, status="success"), files={"a": b"1"})
    new = fake.add_job(fake.add_pipeline(project, status="success"), files={"a": b"2"})
    token = fake.add_personal_token(user)
    reply = await call(fake, "DELETE", f"/projects/{project.id}/artifacts", token=token)
    assert (reply.status, reply.body) == (202, {"message": "202 Accepted"})
    assert old.archive is None and new.archive is not None


async def test_delete_project_artifacts_needs_maintainer(world):
    """A developer may not expire a project's artifacts: 403."""
    reply = await call(
        world.fake, "DELETE", f"/projects/{world.project.id}/artifacts", token=world.token
    )
    assert (reply.status, reply.body) == (403, {"message": "403 Forbidden"})


async def test_single_pipeline(world):
    """GET /projects/:id/pipelines/:id is the full pipeline; an unknown or foreign one is 404 Not found."""
    reply = await get(world, f"/projects/{world.project.id}/pipelines/{world.pipeline.id}")
    assert reply.status == 200
    body = reply.body
    assert (body["id"], body["project_id"], body["status"]) == (
        world.pipeline.id,
        world.project.id,
        "running",
    )
    assert (
        body["user"]["username"] == "alice" and "detailed_status" in body and "started_at" in body
    )
    other = await get(world, f"/projects/{world.project.id}/pipelines/{world.downstream.id}")
    assert (other.status, other.body) == (404, {"message": "404 Not found"})


async def test_user_and_version(world):
    """GET /user names the token's user; GET /version answers; both need a token."""
    me = await get(world, "/user")
    assert me.status == 200 and me.body["username"] == "alice" and "email" in me.body
    version = await get(world, "/version")
    assert version.status == 200 and version.body["version"].count(".") == 2
    assert (await get(world, "/user", token=None)).status == 401


async def test_api_v3_is_gone(world):
    """Anything under /api/v3 answers 410 {"error": "API V3 is no longer supported..."}."""
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{world.fake.url}/api/v3/projects") as resp:
            assert resp.status == 410
            assert await resp.json() == {
                "error": "API V3 is no longer supported. Use API V4 instead."
            }


async def test_renamed_project_redirects_gets_and_refuses_the_rest(world):
    """A renamed project's old path: GET gets a 301 to /projects/<id>/..., POST a 405; the new path works."""
    fake = world.fake
    fake.rename_project(world.project, "group/sub/renamed")
    async with aiohttp.ClientSession(headers={"PRIVATE-TOKEN": world.token}) as session:
        old = f"{fake.api_url}/projects/group%2Fsub%2Fapp/jobs?per_page=2"
        async with session.get(old, allow_redirects=False) as resp:
            assert resp.status == 301
            assert (
                resp.headers["Location"]
                == f"{fake.url}/api/v4/projects/{world.project.id}/jobs?per_page=2"
            )
        async with session.get(old) as resp:
            assert resp.status == 200 and len(await resp.json()) == 2
        play = f"{fake.api_url}/projects/group%2Fsub%2Fapp/jobs/{world.jobs['deploy'].id}/play"
        async with session.post(play) as resp:
            assert resp.status == 405
            assert await resp.json() == {
                "message": "Non GET methods are not allowed for moved projects"
            }
    assert (await get(world, "/projects/group%2Fsub%2Frenamed/jobs")).status == 200


# -- 6. data --------------------------------------------------------------------------------


async def test_skipped_jobs_have_no_finish_and_no_queue(world):
    """A skipped job has finished_at null and queued_duration null (it never ran or queued)."""
    job = world.fake.add_job(world.pipeline, name="skip", status="skipped")
    body = (await get(world, f"{JOBS}/{job.id}")).body
    assert body["finished_at"] is None and body["queued_duration"] is None
    assert body["duration"] is None


async def test_running_jobs_have_no_artifacts_yet(world):
    """A running job with a log lists no trace artifact and no artifacts_expire_at until it is archived."""
    job = world.fake.add_job(
        world.pipeline, name="live", status="running", log=b"abc", artifacts=("junit",)
    )
    body = (await get(world, f"{JOBS}/{job.id}")).body
    assert body["artifacts"] == [] and body["artifacts_expire_at"] is None
    assert "artifacts_file" not in body
    world.fake.set_status(job, "success")
    done = (await get(world, f"{JOBS}/{job.id}")).body
    assert [a["file_type"] for a in done["artifacts"]] == ["junit", "trace"]


async def test_play_with_indexed_form_keys(world):
    """job_variables_attributes[0][key]=... form fields reach the job (Rack's indexed hashes)."""
    deploy = world.jobs["deploy"]
    form = {
        "job_variables_attributes[0][key]": "A",
        "job_variables_attributes[0][value]": "1",
        "job_variables_attributes[1][key]": "B",
        "job_variables_attributes[1][value]": "2",
    }
    reply = await post(world, f"{JOBS}/{deploy.id}/play", data=form)
    assert reply.status == 200
    assert deploy.variables == [{"key": "A", "value": "1"}, {"key": "B", "value": "2"}]


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("{jobs}/999999", "404 Not found"),  # find_build!: ActiveRecord::RecordNotFound
        ("{jobs}/{rspec}/artifacts", "404 Not Found"),  # present_artifacts_file!: not_found!
        ("{jobs}/{rspec}/artifacts/a.txt", "404 Not Found"),
        ("{jobs}/artifacts/main/download?job=nothing", "404 Not found"),
    ],
)
async def test_not_found_wordings(world, path, message):
    """RecordNotFound says "404 Not found"; the not_found! helper says "404 Not Found"."""
    path = path.format(jobs=JOBS, rspec=world.jobs["rspec"].id)
    reply = await get(world, path)
    assert (reply.status, reply.body) == (404, {"message": message})


# -- 7. archived logs by range, job inputs, forced cancel -------------------------------------


async def test_archived_log_is_served_by_range(world):
    """A finished job's log answers Range with 206, Content-Range and a strong ETag; If-Range guards it."""
    job = world.jobs["build"]
    path = f"{JOBS}/{job.id}/trace"
    whole = await get(world, path)
    tag = whole.headers["ETag"]
    assert whole.status == 200 and whole.raw == LOG and not tag.startswith("W/")
    assert whole.headers["Accept-Ranges"] == "bytes"
    part = await get(world, path, headers={"Range": "bytes=10-"})
    assert part.status == 206 and part.raw == LOG[10:] and part.headers["ETag"] == tag
    assert part.headers["Content-Range"] == f"bytes 10-{len(LOG) - 1}/{len(LOG)}"
    assert part.headers["Content-Type"] == "text/plain"
    stale = await get(world, path, headers={"Range": "bytes=10-", "If-Range": '"old"'})
    assert stale.status == 200 and stale.raw == LOG
    fresh = await get(world, path, headers={"Range": "bytes=-5", "If-Range": tag})
    assert fresh.status == 206 and fresh.raw == LOG[-5:]
    unchanged = await get(world, path, headers={"If-None-Match": tag})
    assert unchanged.status == 304 and unchanged.raw == b""


async def test_unsatisfiable_range_is_416(world):
    """A range past the end of an archived log is 416 with Content-Range: bytes */<size>."""
    job = world.jobs["build"]
    reply = await get(world, f"{JOBS}/{job.id}/trace", headers={"Range": f"bytes={len(LOG)}-"})
    assert reply.status == 416 and reply.headers["Content-Range"] == f"bytes */{len(LOG)}"


async def test_running_log_is_whole_and_older_servers_ignore_range(world):
    """A running job's live log is always whole (200); with log_ranges="never" so is an archived one."""
    fake = world.fake
    lint = world.jobs["lint"]
    live = await get(world, f"{JOBS}/{lint.id}/trace", headers={"Range": "bytes=3-"})
    assert (
        live.status == 200 and live.raw == bytes(lint.log) and "Content-Range" not in live.headers
    )
    fake.knobs.log_ranges = "never"
    old = await get(world, f"{JOBS}/{world.jobs['build'].id}/trace", headers={"Range": "bytes=3-"})
    assert old.status == 200 and old.raw == LOG and "Accept-Ranges" not in old.headers
    fake.knobs.log_ranges = "always"
    ranged = await get(world, f"{JOBS}/{lint.id}/trace", headers={"Range": "bytes=3-"})
    assert ranged.status == 206 and ranged.raw == bytes(lint.log)[3:]


@pytest.mark.parametrize(
    ("header", "size", "expected"),
    [
        ("bytes=0-", 10, (0, 10)),
        ("bytes=3-5", 10, (3, 6)),
        ("bytes=3-99", 10, (3, 10)),
        ("bytes=-4", 10, (6, 10)),
        ("bytes=-40", 10, (0, 10)),
        ("bytes= 2-", 10, (2, 10)),
        ("bytes=0-1,4-5", 10, None),  # several ranges: served whole
        ("bytes=10-", 10, NoOverlap),
        ("bytes=-0", 10, NoOverlap),
        ("bytes=abc-", 10, BadRange),
        ("bytes=5-3", 10, BadRange),
        ("bytes=-", 10, BadRange),
        ("bytes=", 10, BadRange),
        ("items=0-5", 10, BadRange),
        ("bytes=" + "9" * 4400 + "-", 10, BadRange),  # never int() of 4,400 digits
    ],
)
def test_byte_range_table(header, size, expected):
    """byte_range reads one range as Go's http.ServeContent does (RFC 9110)."""
    if isinstance(expected, type):
        with pytest.raises(expected):
            byte_range(header, size)
    else:
        assert byte_range(header, size) == expected


@pytest.mark.parametrize(
    ("ranged", "header", "status"),
    [(False, "bytes=2-", 200), (True, None, 200), (True, "bytes=2-", 206), (True, "bytes=x", 416)],
)
def test_serve_log_table(ranged, header, status):
    """serve_log: whole when not ranged or not asked, 206 for a range, 416 for a bad one."""
    assert serve_log(b"0123456789", ranged=ranged, range_header=header).status == status


def test_empty_archived_log_is_whole_whatever_the_range():
    """An empty archived log answers 200 (not 416) to any range, as Go serves an empty file."""
    answer = serve_log(b"", ranged=True, range_header="bytes=0-")
    assert (answer.status, answer.start, answer.end) == (200, 0, 0)


async def test_play_and_retry_accept_job_inputs(world):
    """play and retry take job_inputs for the job's declared inputs; unknown names are a 400."""
    fake = world.fake
    job = fake.add_job(
        world.pipeline,
        name="ship",
        status="manual",
        when="manual",
        inputs={"target": "staging", "replicas": 1},
    )
    bad = await post(world, f"{JOBS}/{job.id}/play", json={"job_inputs": {"colour": "red"}})
    assert bad.status == 400 and "colour" in bad.body["message"]
    wrong = await post(world, f"{JOBS}/{job.id}/play", json={"job_inputs": "target=prod"})
    assert (wrong.status, wrong.body) == (400, {"error": "job_inputs is invalid"})
    played = await post(
        world, f"{JOBS}/{job.id}/play", json={"job_inputs": {"target": "production"}}
    )
    assert played.status == 200 and job.inputs == {"target": "production", "replicas": 1}
    fake.set_status(job, "failed")
    retried = await post(world, f"{JOBS}/{job.id}/retry", data={"job_inputs[replicas]": "3"})
    assert retried.status == 201
    assert fake.jobs[retried.body["id"]].inputs == {"target": "production", "replicas": "3"}


async def test_forced_cancel_finishes_a_canceling_job(world):
    """cancel with force=true (maintainer) moves canceling to canceled; a developer gets 403."""
    graceful = world.jobs["graceful"]
    first = await post(world, f"{JOBS}/{graceful.id}/cancel")
    assert first.body["status"] == "canceling"
    assert (await post(world, f"{JOBS}/{graceful.id}/cancel?force=true")).status == 403
    forced = await post(
        world, f"{JOBS}/{graceful.id}/cancel", token=world.maintainer_token, json={"force": True}
    )
    assert forced.status == 201 and forced.body["status"] == "canceled"


# -- issue 10 item 20: malformed requests are 400s, never 500s --------------------------------


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        ({"Content-Type": "application/json"}, b"[" * 5000 + b"]" * 5000),
        ({"Content-Type": "application/json"}, b'{"a":' + b"[" * 101 + b"]" * 101 + b"}"),
        ({"Content-Type": "application/json"}, b'{"a": '),
        ({"Content-Type": "multipart/form-data"}, b"--x\r\n"),
        ({"Content-Type": "multipart/form-data; boundary=zzz"}, b"no parts at all"),
    ],
)
async def test_malformed_bodies_are_400(world, headers, body):
    """Deep or broken JSON and multipart without a usable boundary get a 400 JSON error, not a 500."""
    reply = await post(world, f"{JOBS}/{world.jobs['deploy'].id}/play", headers=headers, data=body)
    assert reply.status == 400 and "error" in reply.body
    assert world.jobs["deploy"].status == "manual"


async def test_multipart_fields_are_params(world):
    """A well-formed multipart/form-data body is read like a form (Rack parses it)."""
    form = aiohttp.FormData()
    form.add_field("job_variables_attributes[][key]", "K")
    form.add_field("job_variables_attributes[][value]", "V")
    reply = await post(world, f"{JOBS}/{world.jobs['deploy'].id}/play", data=form)
    assert reply.status == 200 and world.jobs["deploy"].variables == [{"key": "K", "value": "V"}]


async def test_unreadable_range_is_416_not_500(world):
    """Range: bytes=abc- on an archived log gets 416 "invalid range" (Go's answer), never a 500."""
    reply = await get(
        world, f"{JOBS}/{world.jobs['build'].id}/trace", headers={"Range": "bytes=abc-"}
    )
    assert reply.status == 416 and reply.raw == b"invalid range\n"


async def test_storage_origin_with_a_non_integer_key(world):
    """The object-storage origin answers a key it cannot have with 404 NoSuchKey, not a 500."""
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{world.fake.storage_url}/artifacts/abc/artifacts.zip") as resp:
            assert resp.status == 404 and await resp.text() == "NoSuchKey"


@pytest.mark.parametrize("size", [100_000, 2_000_000])
async def test_huge_query_is_nginxs_414_without_echo(world, size):
    """A 100 KB (or 2 MB) query gets nginx's 414 page, which never repeats the request line or its token."""
    url = f"{world.fake.api_url}{JOBS}?private_token={world.token}&q={'x' * size}"
    async with aiohttp.ClientSession() as session:
        async with session.get(url) as resp:
            text = await resp.text()
    assert resp.status == 414 and "414 Request-URI Too Large" in text
    assert world.token not in text and "xxxx" not in text


async def test_huge_header_is_nginxs_400(world):
    """A header line over 8 KiB gets nginx's 400 "Request Header Or Cookie Too Large"."""
    reply = await get(world, JOBS, headers={"X-Big": "y" * 20_000})
    assert reply.status == 400 and "Request Header Or Cookie Too Large" in reply.body
