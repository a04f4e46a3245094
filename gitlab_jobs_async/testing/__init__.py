"""A fake GitLab for tests: a real HTTP server on 127.0.0.1 that behaves like GitLab's Jobs API.

::

    async with FakeGitLab() as fake:
        user = fake.add_user("alice")
        token = fake.add_personal_token(user)
        project = fake.add_project("group/app")
        fake.add_member(project, user, "developer")
        job = fake.add_job(fake.add_pipeline(project), name="rspec", status="failed")
        async with GitLab(fake.url, private_token=token) as gl:
            ...

It builds its JSON from plain dicts shaped like GitLab's entities, never from this SDK's
models, so it can check the SDK (and any other client, such as python-gitlab) independently.

It delivers webhooks too: ``fake.add_webhook(project, url, token=..., signing_secret=...)``
posts GitLab's Job Hook and Pipeline Hook payloads, with GitLab's headers, whenever a job
changes state; each delivery and its answer is recorded, GitLab's auto-disabling applies,
and tests can drop deliveries (``hook.drop()``), resend one with its idempotency key
(``fake.resend_delivery(d)``) and wait until all are sent (``await
fake.wait_for_deliveries()``).

``generate(fake, projects=..., pipelines=..., seed=...)`` seeds realistic data instead;
``FakeGitLab(rate_limits="gitlab.com", clock=ManualClock())`` adds GitLab.com's rate
limits on a clock tests move. The pytest plugin (``gitlab_jobs_async.testing.pytest_plugin``,
a ``pytest11`` entry point) gives the fixtures ``fake_gitlab``, ``fake_gitlab_data`` and
``fake_gitlab_client``.

Modules: ``_records`` (records, typed options and state rules), ``_state`` and
``_seeding`` (the store and its seeding API), ``_generator`` (realistic data),
``_actions`` (what job actions change), ``_entities`` and ``_resources`` (JSON builders),
``_paging`` (offset/keyset headers), ``_params`` (Grape-like parameters), ``_access``
(authentication and roles), ``_errors`` (JSON answers and errors), ``_call`` (every
request's prologue and rate limiting), ``_jobs``, ``_artifacts`` and ``_routes`` (the
routes), ``_logs`` (log byte ranges), ``_ratelimits`` (GitLab's two kinds of limit),
``_knobs`` (settings), ``_recording`` (recorded requests, observations), ``_faults``
(scripted faults), ``_hookdata`` (webhook payloads), ``_hookrules`` (hooks, deliveries, their
headers and auto-disabling), ``_webhooks`` (sending them), ``_server`` (the servers).
"""

from ._faults import Fault
from ._generator import Generated, generate
from ._hookrules import FakeWebhook, WebhookDelivery
from ._knobs import Knobs, ManualClock
from ._ratelimits import EndpointLimit, Throttle
from ._recording import Observations, RecordedRequest
from ._records import FakeJob, FakePipeline, FakeProject, FakeUser
from ._server import FakeGitLab

__all__ = [
    "EndpointLimit",
    "FakeGitLab",
    "FakeJob",
    "FakePipeline",
    "FakeProject",
    "FakeUser",
    "FakeWebhook",
    "Fault",
    "Generated",
    "Knobs",
    "ManualClock",
    "Observations",
    "RecordedRequest",
    "Throttle",
    "WebhookDelivery",
    "generate",
]
