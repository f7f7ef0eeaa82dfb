"""Schemathesis fuzzes every operation of the API from its served schema (/api/v1/schema/), as
anonymous and as viewer, operator and admin tokens: no answer may be a server error or break the
schema (status codes, content types, headers and bodies as documented).

In-process through Django's WSGI application, on the test database: a host on libvirt's test
driver with two networks, so that generated requests reach real objects as well as missing ones.
Changes become jobs that no worker runs (they fail at once, unserved), as they would on a site
whose worker is down. VNETWEB_SCHEMATHESIS_EXAMPLES sets the examples per operation and role.
"""

import os

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from schemathesis import checks

from networks import tokens

EXAMPLES = int(os.environ.get("VNETWEB_SCHEMATHESIS_EXAMPLES", "20"))
ROLES = ("anonymous", "viewer", "operator", "admin")
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def world(test_host, make_network, admin, operator, viewer) -> dict[str, dict]:
    make_network(test_host, "lab-1", ipv4="10.1.0.1/24", active=True)
    make_network(test_host, "prod-1", ipv4="10.2.0.1/24")
    headers = {"anonymous": {}}
    for role, user in (("viewer", viewer), ("operator", operator), ("admin", admin)):
        _, key = tokens.issue(user, "schemathesis")
        headers[role] = {"Authorization": f"Bearer {key}"}
    return headers


@pytest.fixture
def api_schema(world):
    return schemathesis.openapi.from_wsgi("/api/v1/schema/", get_wsgi_application())


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
        case.call_and_validate(headers=world[role], checks=CHECKS)
