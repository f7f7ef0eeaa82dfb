"""The permission matrix of the API: every operation of its schema x the same eight kinds of user
as the pages' matrix (tests/test_permission_matrix.py, whose two hosts it reuses), each with a
token of its own; the anonymous caller sends none.

A row gives the status for: anon, outsider, viewer, operator, admin, hviewer, hoperator, netop.
A refused request (and any GET) changes no row of Job, Network, Host, Grant, User, AuditEntry.
Bodies are valid, so that what is tested is the permission, not the body's schema.
"""

import json
from dataclasses import asdict

import pytest
from django.test import Client

from networks import tokens
from networks.api.site import api
from networks.models import PortForward
from networks.spec import parse
from networks.versions import definition_version
from tests import test_permission_matrix as pages
from tests.test_permission_matrix import ROLES, A, B, _counts

pytestmark = pytest.mark.postgres

pages_world = pages.two_hosts  # the pages' matrix's world, as a fixture of this module


@pytest.fixture
def two_hosts(pages_world):
    """The pages' world and a port forward on A/lab-1 (what a removal aims at)."""
    pages_world["forward"] = PortForward.objects.create(
        network=pages_world[f"{A}/lab-1"],
        host_port=8080,
        host_port_end=8080,
        guest_ip="10.0.0.10",
        guest_port=80,
    )
    return pages_world


# Shorthands, in ROLES' order.
READ_ALL = [401, *[200] * 7]
READ_A = [401, 404, *[200] * 6]  # host A's objects: hidden from the outsider only
OPERATE_LAB = [401, 404, 403, 202, 202, 403, 202, 202]  # operators of A/lab-1 and up
ADMIN_OF_A = [401, 404, 403, 403, 202, 403, 403, 403]  # a switch's definition: admins only
SITE_ADMIN = [401, 403, 403, 403, 200, 403, 403, 403]  # hosts themselves and users
SITE_ADMIN_ON_A = [401, 404, 403, 403, 200, 403, 403, 403]  # ... of host A, hidden from outsider
GUESTS_OF_A = [401, 404, 200, 200, 200, 200, 200, 404]
NIC_OF_A = [401, 404, 403, 202, 202, 403, 202, 404]  # a stopped guest's NIC: queued
LAB = {"host": A, "name": "lab-1"}
VM = {"host": A, "name": "vm-a"}
NIC = {**VM, "mac": "52:54:00:aa:00:01"}
USER = {"user_id": "target"}
PASSWORD = "a-Long-new-pass-phrase-9"
# A body's "version": the current definition's, sent as If-Match (filled in by _request).
NEW_SWITCH = {
    "spec": {"name": "new-1", "mode": "nat", "ips": [{"address": "10.77.0.1", "prefix": 24}]}
}
DNS_RECORD = {"dns_hosts": [{"ip": "10.0.0.5", "hostnames": ["nas"]}]}
FORWARD = {"protocol": "tcp", "host_port": 8081, "guest_ip": "10.0.0.50", "guest_port": 80}
FORWARD_LAB = [401, 404, 403, 422, 422, 403, 422, 422]
# (method, path template): (path arguments, JSON body or None, statuses)
# fmt: off
MATRIX: dict[tuple[str, str], tuple[dict, dict | None, list[int]]] = {
    ("get", "/api/v1/networks/"): ({}, None, READ_ALL),
    ("get", "/api/v1/networks/{host}/{name}/"): ({"host": A, "name": "lab-1"}, None, READ_A),
    ("post", "/api/v1/networks/{host}/{name}/actions/{action}/"): (
        {"host": A, "name": "lab-1", "action": "start"}, None, OPERATE_LAB),
    ("get", "/api/v1/jobs/"): ({}, None, READ_ALL),
    ("get", "/api/v1/jobs/{job_id}/"): ({"job_id": "job"}, None, READ_A),
    # The switch's definition (networks/api/switches.py).
    ("post", "/api/v1/networks/{host}/"): ({"host": A}, NEW_SWITCH, ADMIN_OF_A),
    ("get", "/api/v1/networks/{host}/{name}/spec/"): (LAB, None, READ_A),
    # A DNS record: what operators may change too (the pages' switch-edit).
    ("put", "/api/v1/networks/{host}/{name}/spec/"): (LAB, {"spec+": DNS_RECORD}, OPERATE_LAB),
    # The XML unchanged: nothing to send (200) for the admin.
    ("put", "/api/v1/networks/{host}/{name}/xml/"): (
        LAB, {"xml": "current"}, [401, 404, 403, 403, 200, 403, 403, 403]),
    ("delete", "/api/v1/networks/{host}/{name}/"): (LAB, None, ADMIN_OF_A),
    # Hosts (networks/api/hosts.py): their settings are the site admins'; a check, operators'.
    ("get", "/api/v1/hosts/"): ({}, None, READ_ALL),
    ("post", "/api/v1/hosts/"): (
        {}, {"name": "hostc", "uri": "test:///default"}, [401, *[403] * 3, 201, *[403] * 3]),
    ("get", "/api/v1/hosts/{name}/"): ({"name": A}, None, READ_A),
    ("patch", "/api/v1/hosts/{name}/"): ({"name": A}, {"description": "rack 2"}, SITE_ADMIN_ON_A),
    ("delete", "/api/v1/hosts/{name}/"): (
        {"name": A}, None, [401, 404, 403, 403, 204, 403, 403, 403]),
    ("post", "/api/v1/hosts/{name}/probe/"): (
        {"name": A}, None, [401, 404, 403, 202, 202, 403, 202, 403]),
    ("get", "/api/v1/audit/"): ({}, None, READ_ALL),
    # Leases (networks/api/leases.py): lab-1 is not running, nothing to pin (409) for who may.
    ("get", "/api/v1/networks/{host}/{name}/leases/"): (LAB, None, READ_A),
    ("post", "/api/v1/networks/{host}/{name}/leases/pin/"): (
        LAB, {"mac": "52:54:00:00:00:99", "ip": "10.0.0.50"},
        [401, 404, 403, 409, 409, 403, 409, 409]),
    ("get", "/api/v1/leases/"): ({}, None, READ_ALL),
    # Port forwards (networks/api/forwards.py): no worker has read lab-1's host side (it is not
    # `local`), so an add is refused (422) for who may ask; it is stopped: nothing to put
    # back (409).
    ("get", "/api/v1/networks/{host}/{name}/forwards/"): (LAB, None, READ_A),
    ("get", "/api/v1/networks/{host}/{name}/forwards/guests/"): (LAB, None, READ_A),
    ("post", "/api/v1/networks/{host}/{name}/forwards/"): (LAB, FORWARD, FORWARD_LAB),
    ("delete", "/api/v1/networks/{host}/{name}/forwards/{forward_id}/"): (
        {**LAB, "forward_id": "forward"}, None, OPERATE_LAB),
    ("post", "/api/v1/networks/{host}/{name}/forwards/apply/"): (
        LAB, None, [401, 404, 403, 409, 409, 403, 409, 409]),
    # Guests (networks/api/guests.py) need a role on the whole host: net-operator gets 404.
    ("get", "/api/v1/hosts/{host}/guests/"): ({"host": A}, None, GUESTS_OF_A),
    ("get", "/api/v1/hosts/{host}/guests/{name}/"): (VM, None, GUESTS_OF_A),
    ("post", "/api/v1/hosts/{host}/guests/{name}/nics/"): (VM, {"network": "prod-1"}, NIC_OF_A),
    ("post", "/api/v1/hosts/{host}/guests/{name}/nics/{mac}/move/"): (
        NIC, {"network": "prod-1"}, NIC_OF_A),
    ("delete", "/api/v1/hosts/{host}/guests/{name}/nics/{mac}/"): (NIC, None, NIC_OF_A),
    ("post", "/api/v1/hosts/{host}/guests/{name}/nics/{mac}/link/"): (
        NIC, {"state": "down"}, NIC_OF_A),
    # Users and grants (networks/api/users.py): site admins only.
    ("get", "/api/v1/users/"): ({}, None, SITE_ADMIN),
    ("post", "/api/v1/users/"): (
        {}, {"username": "newbie", "password1": PASSWORD, "password2": PASSWORD, "role": "viewer"},
        [401, *[403] * 3, 201, *[403] * 3]),
    ("get", "/api/v1/users/{user_id}/"): (USER, None, SITE_ADMIN),
    ("put", "/api/v1/users/{user_id}/role/"): (USER, {"role": "operator"}, SITE_ADMIN),
    ("post", "/api/v1/users/{user_id}/active/"): (USER, {"active": False}, SITE_ADMIN),
    ("post", "/api/v1/users/{user_id}/password/"): (
        USER, {"new_password1": PASSWORD, "new_password2": PASSWORD}, SITE_ADMIN),
    ("post", "/api/v1/users/{user_id}/unlock/"): (USER, None, SITE_ADMIN),
    ("post", "/api/v1/users/{user_id}/grants/"): (
        USER, {"role": "viewer", "host": A}, [401, *[403] * 3, 201, *[403] * 3]),
    ("delete", "/api/v1/users/{user_id}/grants/{grant}/"): (
        {**USER, "grant": "grant"}, None, [401, *[403] * 3, 204, *[403] * 3]),
}
# Variants: the same operations aimed at what some grants do not reach.
VARIANTS: dict[str, tuple[str, str, dict, dict | None, list[int]]] = {
    "prod-1 (netop's pattern misses it)": (
        "get", "/api/v1/networks/{host}/{name}/", {"host": A, "name": "prod-1"},
        None, [*READ_A[:7], 404]),
    "start B/lab-1 (global roles only)": (
        "post", "/api/v1/networks/{host}/{name}/actions/{action}/",
        {"host": B, "name": "lab-1", "action": "start"}, None,
        [401, 404, 403, 202, 202, 404, 404, 404]),
    "add a forward on A/prod-1 (netop's pattern misses it)": (
        "post", "/api/v1/networks/{host}/{name}/forwards/", {"host": A, "name": "prod-1"},
        FORWARD, [*FORWARD_LAB[:7], 404]),
}
# fmt: on
CASES = [(f"{m.upper()} {p}", m, p, *row) for (m, p), row in MATRIX.items()] + [
    (label, *row) for label, row in VARIANTS.items()
]
CELLS = [
    pytest.param(method, path, args, body, role, row[i], id=f"{label}-{role}")
    for label, method, path, args, body, row in CASES
    for i, role in enumerate(ROLES)
]


def _operations() -> set[tuple[str, str]]:
    paths = api.get_openapi_schema()["paths"]
    return {(method, path) for path, item in paths.items() for method in item}


def test_the_table_names_every_operation_of_the_api_and_every_role():
    assert set(MATRIX) == _operations()
    assert all(len(row) == len(ROLES) for *_, row in CASES)
    print(f"API permission matrix: {len(CASES)} operations x {len(ROLES)} roles = {len(CELLS)}")


def _path(template: str, args: dict, world: dict) -> str:
    objects = {"job": world["jobs"][f"{A}/lab-1"].pk, "target": world["target"].pk}
    objects["grant"] = world["grant"].pk
    objects["forward"] = world["forward"].pk
    values = {k: objects.get(v, v) if isinstance(v, str) else v for k, v in args.items()}
    return template.format(**values)


def _body(body: dict | None, args: dict, world: dict) -> tuple[dict | None, dict]:
    """The body to send and the headers it needs: an edit of a network's definition names its
    current version (If-Match); "spec+" adds to its current spec, "xml": "current" is it as is."""
    if body is None or args.get("name") not in ("lab-1", "prod-1") or args.get("host") != A:
        return body, {}
    network = world[f"{args['host']}/{args['name']}"]
    headers = {"HTTP_IF_MATCH": f'"{definition_version(network.saved_xml)}"'}
    if "spec+" in body:
        spec = asdict(parse(network.saved_xml))
        return {"spec": {**spec, **body["spec+"]}}, headers
    if body.get("xml") == "current":
        return {"xml": network.saved_xml}, headers
    return body, headers


@pytest.mark.parametrize(("method", "template", "args", "body", "role", "expected"), CELLS)
def test_api_matrix(two_hosts, method, template, args, body, role, expected):
    path = _path(template, args, two_hosts)
    body, headers = _body(body, args, two_hosts)
    if role != "anon":
        _, key = tokens.issue(two_hosts["users"][role], "matrix")
        headers["HTTP_AUTHORIZATION"] = f"Bearer {key}"
    before = _counts()
    options = {"data": json.dumps(body), "content_type": "application/json"} if body else {}
    response = getattr(Client(), method)(path, **options, **headers)
    assert response.status_code == expected, f"{method.upper()} {path} as {role}"
    assert response["Content-Type"].startswith("application/json")
    if expected >= 400 or method == "get":
        assert _counts() == before, f"{method.upper()} {path} as {role} changed something"
