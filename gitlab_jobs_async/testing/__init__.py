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

Modules: ``_records`` (records and their state rules), ``_state`` (the store, seeding and
job actions), ``_entities`` (JSON builders), ``_paging`` (offset/keyset headers),
``_params`` (Grape-like parameters), ``_access`` (authentication and roles), ``_errors``
(error bodies), ``_routes`` and ``_artifacts`` (the routes), ``_recording`` (recorded
requests and scripted faults), ``_server`` (the server).
"""

from ._faults import Fault
from ._generator import Generated, generate
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
    "Fault",
    "Generated",
    "Knobs",
    "ManualClock",
    "Observations",
    "RecordedRequest",
    "Throttle",
    "generate",
]
