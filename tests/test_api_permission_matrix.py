"""The permission matrix of the API: every operation of its schema x the same eight kinds of user
as the pages' matrix (tests/test_permission_matrix.py, whose two hosts it reuses), each with a
token of its own; the anonymous caller sends none.

A row gives the status for: anon, outsider, viewer, operator, admin, hviewer, hoperator, netop.
A refused request (and any GET) changes no row of Job, Network, Host, Grant, User, AuditEntry.
Bodies are valid, so that what is tested is the permission, not the body's schema.
"""

import json

import pytest
from django.test import Client

from networks import tokens
from networks.api.site import api
from tests import test_permission_matrix as pages
from tests.test_permission_matrix import ROLES, A, B, _counts

two_hosts = pages.two_hosts  # the pages' matrix's world, as a fixture of this module

# Shorthands, in ROLES' order.
READ_ALL = [401, *[200] * 7]
READ_A = [401, 404, *[200] * 6]  # host A's objects: hidden from the outsider only
OPERATE_LAB = [401, 404, 403, 202, 202, 403, 202, 202]  # operators of A/lab-1 and up
# (method, path template): (path arguments, JSON body or None, statuses)
# fmt: off
MATRIX: dict[tuple[str, str], tuple[dict, dict | None, list[int]]] = {
    ("get", "/api/v1/networks/"): ({}, None, READ_ALL),
    ("get", "/api/v1/networks/{host}/{name}/"): ({"host": A, "name": "lab-1"}, None, READ_A),
    ("post", "/api/v1/networks/{host}/{name}/actions/{action}/"): (
        {"host": A, "name": "lab-1", "action": "start"}, None, OPERATE_LAB),
    ("get", "/api/v1/jobs/"): ({}, None, READ_ALL),
    ("get", "/api/v1/jobs/{job_id}/"): ({"job_id": "job"}, None, READ_A),
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
    values = {k: world["jobs"][f"{A}/lab-1"].pk if v == "job" else v for k, v in args.items()}
    return template.format(**values)


@pytest.mark.parametrize(("method", "template", "args", "body", "role", "expected"), CELLS)
def test_api_matrix(two_hosts, method, template, args, body, role, expected):
    path = _path(template, args, two_hosts)
    headers = {}
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
