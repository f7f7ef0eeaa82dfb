"""OpenAPI links: which answer leads to which operation, so that a client generator, and
schemathesis' stateful tests, can follow a workflow (create a switch, read it, press its buttons,
follow its job) instead of guessing names. Added to the schema ninja generates (`with_links`)."""

from collections.abc import Iterator

# Path parameters of the operations a network leads to, from a network's own answer.
_NETWORK = {"host": "$response.body#/host", "name": "$response.body#/name"}
_NETWORK_OPERATIONS = (
    "switches_switch_spec",
    "switches_switch_spec_edit",
    "switches_switch_xml_edit",
    "switches_switch_delete",
    "networks_network_action",
    "leases_network_leases",
    "leases_lease_pin",
    "forwards_forward_list",
    "forwards_forward_guests",
    "forwards_forward_add",
    "forwards_forwards_apply",
)
_GUEST = {"host": "$response.body#/host", "name": "$response.body#/name"}
_FIRST_NIC = {**_GUEST, "mac": "$response.body#/nics/0/mac"}
# A switch's forwards, from a request on its path.
_SWITCH = {"host": "$request.path.host", "name": "$request.path.name"}

# operation (without ninja's "networks_api_" prefix), status -> {link name: (to, parameters)}
LINKS: dict[tuple[str, str], dict[str, tuple[str, dict]]] = {
    ("switches_switch_create", "202"): {
        "network": (
            "networks_network_detail",
            {"host": "$request.path.host", "name": "$request.body#/spec/name"},
        ),
    },
    ("networks_network_detail", "200"): {op: (op, _NETWORK) for op in _NETWORK_OPERATIONS},
    ("forwards_forward_list", "200"): {
        "remove": (
            "forwards_forward_remove",
            {**_SWITCH, "forward_id": "$response.body#/results/0/id"},
        ),
    },
    ("forwards_forward_add", "202"): {"forwards": ("forwards_forward_list", _SWITCH)},
    ("hosts_host_add", "201"): {"host": ("hosts_host_detail", {"name": "$request.body#/name"})},
    ("hosts_host_detail", "200"): {
        "check": ("hosts_host_probe", {"name": "$response.body#/name"}),
        "edit": ("hosts_host_edit", {"name": "$response.body#/name"}),
        "guests": ("guests_guest_list", {"host": "$response.body#/name"}),
    },
    ("guests_guest_detail", "200"): {
        "attach": ("guests_nic_attach", _GUEST),
        "move": ("guests_nic_move", _FIRST_NIC),
        "link": ("guests_nic_link", _FIRST_NIC),
        "detach": ("guests_nic_detach", _FIRST_NIC),
    },
    ("users_user_add", "201"): {
        op: (op, {"user_id": "$response.body#/id"})
        for op in ("users_user_detail", "users_user_role", "users_grant_add")
    },
}
PREFIX = "networks_api_"
JOB = "jobs_job_detail"


def _operations(schema: dict) -> Iterator[dict]:
    for item in schema["paths"].values():
        yield from item.values()


def with_links(schema: dict) -> dict:
    """`schema` with its links: the ones above, and from every 202 (a job) to the job."""
    ids = {op["operationId"].removeprefix(PREFIX) for op in _operations(schema)}
    for operation in _operations(schema):
        name = operation["operationId"].removeprefix(PREFIX)
        for status, response in operation["responses"].items():
            links = dict(LINKS.get((name, str(status)), {}))
            if str(status) == "202":
                links["job"] = (JOB, {"job_id": "$response.body#/id"})
            if links:
                assert {to for to, _ in links.values()} <= ids, f"a link of {name} leads nowhere"
                response["links"] = {
                    link: {"operationId": PREFIX + to, "parameters": parameters}
                    for link, (to, parameters) in links.items()
                }
    return schema
