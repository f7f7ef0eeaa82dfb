"""Schemathesis fuzzes every operation of the API from its served schema (/api/v1/schema/), as
anonymous and as viewer, operator and admin tokens: no answer may be a server error or break the
schema (status codes, content types, headers and bodies as documented).

In-process through Django's WSGI application, on the test database: a host on libvirt's test
driver with two networks, so that generated requests reach real objects as well as missing ones.
Changes become jobs that no worker runs (they fail at once, unserved), as they would on a site
whose worker is down. VNETWEB_SCHEMATHESIS_EXAMPLES sets the examples per operation and role.
"""

import contextlib
import os
from collections import Counter
from pathlib import Path

import pytest
import schemathesis
from django.contrib.auth.models import User
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis import checks

from networks import redis_client, tokens
from networks.models import Host, Job, Network

MAC = "52:54:00:12:34:01"
HOST_PATH = "/api/v1/hosts/{name}/"
EXAMPLES = int(os.environ.get("VNETWEB_SCHEMATHESIS_EXAMPLES", "20"))
ROLES = ("anonymous", "viewer", "operator", "admin")
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]
# Every call made, by (test, method, path, status): written to var/schemathesis.txt at the end.
CALLS: Counter = Counter()
FIGURES = Path(__file__).resolve().parent.parent / "var" / "schemathesis.txt"

# Names of the world's objects: a path parameter takes one of these half the time, so that
# generated requests reach real hosts, networks, guests and NICs, not only missing ones.
REAL = {
    "host": ["testdrv"],
    "name": ["testdrv", "lab-1", "prod-1", "vm1"],
    "mac": [MAC],
    "action": ["start", "stop", "restart", "autostart-on", "autostart-off"],
}


@pytest.fixture
def world(test_host, make_network, make_guest, admin, operator, viewer, settings):
    # Schemathesis sends made-up bearer tokens too: the brake on wrong tokens (counted per
    # address, in Redis) would soon answer every role 429. It has tests of its own.
    settings.VNETWEB_API_FAILURE_LIMIT = 10**9
    redis_client.client().delete(tokens._key("127.0.0.1"))
    make_network(test_host, "lab-1", ipv4="10.1.0.1/24", active=True)
    make_network(test_host, "prod-1", ipv4="10.2.0.1/24")
    make_guest(test_host, "vm1", nics=[("lab-1", MAC)], state="shut off")
    headers = {"anonymous": {}}
    for role, user in (("viewer", viewer), ("operator", operator), ("admin", admin)):
        _, key = tokens.issue(user, "schemathesis")
        headers[role] = {"Authorization": f"Bearer {key}"}
    return headers


@contextlib.contextmanager
def connection_kept():
    """Requests that leave the database connection open, as Django's test client does: each
    request's end would otherwise close it, a scenario's transaction with it."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def rows() -> dict[str, int]:
    """How many users, hosts, networks and jobs there are: what scenarios create."""
    models = (User, Host, Network, Job)
    return {model.__name__: model.objects.count() for model in models}


def served_schema():
    """The schema as the site serves it, its path parameters sometimes real names (REAL)."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", get_wsgi_application())

    @schema.hook
    def flatmap_path_parameters(context, path_parameters):
        operation = context.operation
        # Not the world's own host to remove: every later call would find nothing (404).
        removes_host = operation.method.upper() == "DELETE" and operation.path == HOST_PATH
        if not path_parameters or removes_host:
            return st.just(path_parameters)
        choices = {
            key: st.sampled_from([value, *REAL[key]]) if key in REAL else st.just(value)
            for key, value in path_parameters.items()
        }
        return st.fixed_dictionaries(choices)

    return schema


@pytest.fixture
def api_schema(world):
    return served_schema()


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_every_operation_answers_as_its_schema_says(case, world):
    # Every generated request is sent as each role in turn (a lazy schema runs all operations in
    # one test, so the roles cannot be pytest parameters).
    for role in ROLES:
        response = case.call(headers=world[role])
        CALLS["stateless", case.method, case.path, response.status_code] += 1
        case.validate_response(response, checks=CHECKS)


@pytest.mark.parametrize("role", ["viewer", "admin"])
def test_workflows_along_the_schemas_links_keep_to_it(world, role):
    """Schemathesis' stateful tests: sequences of calls that follow the schema's links
    (networks.api.links: a created switch to its page, its buttons, its jobs; a host to its
    guests and their NICs; a user to its role and grants), as a viewer and as an admin."""
    workflow = served_schema().as_state_machine()
    headers = world[role]

    class AsRole(workflow):
        # Each scenario starts from the same database, rolled back when it ends. Otherwise what
        # one scenario created answers the next one differently (201, then 409 for the same
        # name), the links then supply other values, and hypothesis, replaying the same choices,
        # sees its data drawn differently: FlakyStrategyDefinition, seen once in CI.
        def setup(self):
            self.scenario = transaction.atomic()
            self.scenario.__enter__()

        def teardown(self):
            transaction.set_rollback(True)
            self.scenario.__exit__(None, None, None)

        def get_call_kwargs(self, case):
            return {"headers": headers}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            CALLS["stateful-" + role, case.method, case.path, response.status_code] += 1
            case.validate_response(response, checks=CHECKS)

    before = rows()
    with connection_kept():
        AsRole.run(
            settings=settings(
                max_examples=EXAMPLES,
                stateful_step_count=6,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                derandomize=True,
            )
        )
    assert rows() == before, "every scenario was rolled back: the next began where this one did"


@pytest.fixture(autouse=True, scope="module")
def figures():
    """What schemathesis asked and how it was answered, for docs/api.md's figures."""
    yield
    lines = [f"{count} {' '.join(map(str, key))}" for key, count in sorted(CALLS.items())]
    by_test = Counter()
    for (test, *_), count in CALLS.items():
        by_test[test] += count
    # Reached the view and done: 2xx, or 303 (a change asked with ?wait=, sent on to its job).
    reached = {(m, p) for (_, m, p, status) in CALLS if status < 400}
    braked = sum(count for (*_, status), count in CALLS.items() if status == 429)
    summary = [f"{test}: {count} calls" for test, count in sorted(by_test.items())]
    summary.append(f"operations answered 2xx or 303 at least once: {len(reached)}")
    FIGURES.parent.mkdir(exist_ok=True)
    FIGURES.write_text("\n".join(summary + lines) + "\n")
    if CALLS:
        # Generated requests must reach the views, not only the refusals in front of them.
        assert not braked, f"{braked} calls were braked (429): see {FIGURES}"
        assert len(reached) >= 18, (
            f"only {len(reached)} operations answered 2xx or 303: see {FIGURES}"
        )
