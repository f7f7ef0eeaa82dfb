"""Every named URL x every kind of user x GET and POST, against a table written out below.

Two hosts, A and B, each with networks lab-1 and prod-1, a guest, jobs, leases and audit entries.
The cast: anonymous, outsider (no role), the three global roles, and three grants on host A:
host-viewer and host-operator (the whole host), net-operator (operator on `lab-*` only).
A refused request (and any GET) changes no row of Job, Network, Host, Grant, User, AuditEntry,
PortForward.
"""

import csv
import io
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from networks import tokens
from networks import urls as network_urls
from networks.models import AuditEntry, Grant, Host, Job, Lease, Network, PortForward
from networks.operations import Op

pytestmark = pytest.mark.postgres

ROLES = ("anon", "outsider", "viewer", "operator", "admin", "hviewer", "hoperator", "netop")
MODELS = (Job, Network, Host, Grant, User, AuditEntry, PortForward)

# What each URL is asked about: its name, a label for variants, and its arguments (names; the
# fixture's primary keys are filled in by _url). Network URLs aim at A/lab-1, which every role
# but the outsider sees; the variants at the end aim at what net-operator or host grants miss.
A, B = "hosta", "hostb"
LAB = {"host": A, "name": "lab-1"}
GUEST = {"host": A, "name": "vm-a"}
NIC = {**GUEST, "mac": "52:54:00:aa:00:01"}
TARGET = {"pk": "target"}

# Shorthands for a row: (GET, POST) for the roles in ROLES' order, anonymous first.
# A page everyone logged in may read: 200 on GET, 405 on POST.
READ_ALL = [(302, 302), *[(200, 405)] * 7]
# The same on host A, hidden (404) from the outsider.
READ_A = [(302, 302), (404, 405), *[(200, 405)] * 6]
# A page of global admins only (user management): 403 for everyone else.
SITE_ADMIN = [(302, 302), (403, 403), (403, 403), (403, 403)]

# Columns: anon, outsider, viewer, operator, admin, hviewer, hoperator, netop.
# fmt: off
MATRIX: dict[str, list[tuple[int, int]]] = {
    "home": [(302, 302)] * 8,
    "healthz": [(200, 405)] * 8,
    "network-list": READ_ALL,
    "network-rows": READ_ALL,
    "live-events": READ_ALL,
    "host-list": READ_ALL,
    "lease-search": READ_ALL,
    "job-list": READ_ALL,
    "audit-list": READ_ALL,
    "audit-csv": READ_ALL,
    "host-add": [(302, 302), (403, 403), (403, 403), (403, 403), (200, 200), *[(403, 403)] * 3],
    "host-detail": READ_A,
    "host-edit": [(302, 302), (404, 404), (403, 403), (403, 403), (200, 200), *[(403, 403)] * 3],
    "host-delete": [(302, 302), (404, 404), (403, 403), (403, 403), (200, 302), *[(403, 403)] * 3],
    "host-probe": [(302, 302), (405, 404), (405, 403), (405, 302), (405, 302),
                   (405, 403), (405, 302), (405, 403)],
    "host-topology": READ_A,
    "host-topology-part": READ_A,
    # An empty form names no guest: 400 for whoever may connect one.
    "host-topology-connect": [(302, 302), (405, 404), (405, 403), (405, 400), (405, 400),
                              (405, 403), (405, 400), (405, 403)],
    # New switch from the list: the host choice, for who may create on some host (global admin:
    # A and B, so the choice itself; tests/test_switch_new.py has the one-host redirect).
    "switch-new": [(302, 302), *[(403, 405)] * 3, (200, 405), *[(403, 405)] * 3],
    "switch-create": [(302, 302), (404, 404), (403, 403), (403, 403), (200, 422),
                      *[(403, 403)] * 3],
    "network-detail": READ_A,
    # An empty edit form: the admin's whole form has errors (422); an operator's form holds only
    # static hosts and DNS records, so empty means "none" and the review shows (200, not sent).
    "switch-edit": [(302, 302), (404, 404), (403, 403), (200, 200), (200, 422),
                    (403, 403), (200, 200), (200, 200)],
    "switch-xml": [(302, 302), (404, 404), (403, 403), (403, 403), (200, 422),
                   *[(403, 403)] * 3],
    "switch-delete": [(302, 302), (404, 404), (403, 403), (403, 403), (200, 302),
                      *[(403, 403)] * 3],
    "network-summary": READ_A,
    "network-more": READ_A,
    "network-panel": READ_A,
    "network-row": READ_A,
    "network-host-row": READ_A,
    "host-network-rows": READ_A,
    "job-followed": READ_A,
    "network-switch": READ_A,
    "network-leases": READ_A,
    "network-leases-csv": READ_A,
    # lab-1 is not running: nothing to pin (400) for whoever may pin.
    "lease-pin": [(302, 302), (405, 404), (405, 403), (405, 400), (405, 400),
                  (405, 403), (405, 400), (405, 400)],
    # Port forwards: operators of the network (net-operator on lab-1 too). An empty form is
    # refused (422); lab-1 is not running, so its forwards cannot be put back (400); a forward of
    # lab-1 is removed (a job, 302).
    "network-forwards": READ_A,
    "forward-add": [(302, 302), (405, 404), (405, 403), (405, 422), (405, 422),
                    (405, 403), (405, 422), (405, 422)],
    "forward-remove": [(302, 302), (405, 404), (405, 403), (405, 302), (405, 302),
                       (405, 403), (405, 302), (405, 302)],
    "forwards-apply": [(302, 302), (405, 404), (405, 403), (405, 400), (405, 400),
                       (405, 403), (405, 400), (405, 400)],
    "network-action": [(302, 302), (405, 404), (405, 403), (405, 302), (405, 302),
                       (405, 403), (405, 302), (405, 302)],
    "network-action-part": [(302, 302), (405, 404), (405, 403), (405, 302), (405, 302),
                            (405, 403), (405, 302), (405, 302)],
    "job-detail": READ_A,
    # Guests need a role on the whole host: net-operator gets 404.
    "guest-list": [(302, 302), (404, 405), *[(200, 405)] * 5, (404, 405)],
    "guest-detail": [(302, 302), (404, 405), *[(200, 405)] * 5, (404, 405)],
    "guest-nic-attach": [(302, 302), (405, 404), (405, 403), (405, 400), (405, 400),
                         (405, 403), (405, 400), (405, 404)],
    "guest-nic-move": [(302, 302), (405, 404), (405, 403), (405, 400), (405, 400),
                       (405, 403), (405, 400), (405, 404)],
    # A stopped guest: the detach is queued.
    "guest-nic-detach": [(302, 302), (405, 404), (405, 403), (405, 302), (405, 302),
                         (405, 403), (405, 302), (405, 404)],
    "guest-nic-link": [(302, 302), (405, 404), (405, 403), (405, 400), (405, 400),
                       (405, 403), (405, 400), (405, 404)],
    "user-list": [(302, 302), *[(403, 405)] * 3, (200, 405), *[(403, 405)] * 3],
    "user-add": [*SITE_ADMIN, (200, 422), *[(403, 403)] * 3],
    "user-detail": [(302, 302), *[(403, 405)] * 3, (200, 405), *[(403, 405)] * 3],
    "user-active": [(302, 302), *[(405, 403)] * 3, (405, 302), *[(405, 403)] * 3],
    "user-password": [(302, 302), *[(405, 403)] * 3, (405, 422), *[(405, 403)] * 3],
    "user-role": [(302, 302), *[(405, 403)] * 3, (405, 302), *[(405, 403)] * 3],
    "user-unlock": [(302, 302), *[(405, 403)] * 3, (405, 302), *[(405, 403)] * 3],
    "grant-add": [(302, 302), *[(405, 403)] * 3, (405, 422), *[(405, 403)] * 3],
    "grant-delete": [(302, 302), *[(405, 403)] * 3, (405, 302), *[(405, 403)] * 3],
    "user-token-revoke": [(302, 302), *[(405, 403)] * 3, (405, 302), *[(405, 403)] * 3],
    # Everyone's own tokens, whatever the role: an empty form is refused (422); the token aimed
    # at is tina's, which nobody else may revoke there, admins included (404).
    "token-list": [(302, 302), *[(200, 422)] * 7],
    "token-revoke": [(302, 302), *[(405, 404)] * 7],
    # Prometheus: a token or an allowed address, not a session (none of these sends either).
    "metrics": [(401, 405)] * 8,
}
# fmt: on
URL_ARGS = {
    "host-detail": {"name": A},
    "host-edit": {"name": A},
    "host-delete": {"name": A},
    "host-probe": {"name": A},
    "host-topology": {"host": A},
    "host-topology-part": {"host": A},
    "host-topology-connect": {"host": A},
    "switch-create": {"host": A},
    "network-action": {**LAB, "action": "start"},
    "forward-remove": {**LAB, "forward": "forward"},
    "network-action-part": {**LAB, "action": "start", "fragment": "panel"},
    "host-network-rows": {"name": A},
    "job-followed": {"pk": "job"},
    "job-detail": {"pk": "job"},
    "guest-list": {"host": A},
    "guest-detail": GUEST,
    "guest-nic-attach": GUEST,
    "guest-nic-move": NIC,
    "guest-nic-detach": NIC,
    "guest-nic-link": NIC,
    "user-detail": TARGET,
    "user-active": TARGET,
    "user-password": TARGET,
    "user-role": TARGET,
    "user-unlock": TARGET,
    "grant-add": TARGET,
    "grant-delete": {**TARGET, "grant": "grant"},
    "user-token-revoke": {**TARGET, "token": "token"},
    "token-revoke": {"token": "token"},
}
for _name in ("network-detail", "switch-edit", "switch-xml", "switch-delete", "network-switch",
              "network-leases", "network-leases-csv", "lease-pin", "network-summary",
              "network-more", "network-panel", "network-row", "network-host-row",
              "network-forwards", "forward-add", "forwards-apply"):  # fmt: skip
    URL_ARGS[_name] = LAB

# Variants: the same URLs aimed at what some grants do not reach.
PROD = {"host": A, "name": "prod-1"}
B_LAB = {"host": B, "name": "lab-1"}
GLOBAL_ONLY_READ = [(302, 302), (404, 405), *[(200, 405)] * 3, *[(404, 405)] * 3]
VARIANTS: dict[str, tuple[str, dict, list[tuple[int, int]]]] = {
    "network-detail@A/prod-1": ("network-detail", PROD, [*READ_A[:7], (404, 405)]),
    "network-action@A/prod-1": (
        "network-action",
        {**PROD, "action": "start"},
        [*MATRIX["network-action"][:7], (405, 404)],
    ),
    "switch-edit@A/prod-1": ("switch-edit", PROD, [*MATRIX["switch-edit"][:7], (404, 404)]),
    # net-operator operates lab-* only: prod-1's forwards are not even seen.
    "forward-add@A/prod-1": ("forward-add", PROD, [*MATRIX["forward-add"][:7], (405, 404)]),
    "host-detail@B": ("host-detail", {"name": B}, GLOBAL_ONLY_READ),
    "host-topology@B": ("host-topology", {"host": B}, GLOBAL_ONLY_READ),
    "network-detail@B/lab-1": ("network-detail", B_LAB, GLOBAL_ONLY_READ),
    "network-action@B/lab-1": (
        "network-action",
        {**B_LAB, "action": "stop"},
        [(302, 302), (405, 404), (405, 403), (405, 302), (405, 302), *[(405, 404)] * 3],
    ),
    "switch-create@B": (
        "switch-create",
        {"host": B},
        [(302, 302), (404, 404), (403, 403), (403, 403), (200, 422), *[(404, 404)] * 3],
    ),
}
CASES = [(name, name, URL_ARGS.get(name, {}), row) for name, row in MATRIX.items()] + [
    (label, name, args, row) for label, (name, args, row) in VARIANTS.items()
]
CELLS = [
    pytest.param(label, name, args, role, method, row[i][m], id=f"{label}-{role}-{method}")
    for label, name, args, row in CASES
    for i, role in enumerate(ROLES)
    for m, method in enumerate(("get", "post"))
]


def test_the_table_names_every_url_of_the_app_once_and_every_role():
    names = {pattern.name for pattern in network_urls.urlpatterns}
    assert set(MATRIX) == names
    assert all(len(row) == len(ROLES) for _label, _name, _args, row in CASES)
    print(f"permission matrix: {len(CASES)} routes x {len(ROLES)} roles x 2 methods = {len(CELLS)}")
    assert len(CELLS) == len(CASES) * len(ROLES) * 2


def _user(username: str, group: str | None = None) -> User:
    user = User.objects.create_user(username=username, password="pw-" + username)
    if group:
        user.groups.add(Group.objects.get_or_create(name=group)[0])
    return user


@pytest.fixture
def two_hosts(db, make_network, make_guest):
    """Hosts A and B, each with lab-1 and prod-1 (one lease each), a stopped guest on lab-1, a
    job per network and a probe of A, an audit entry per network and one about host A, and a
    port forward on A's lab-1."""
    world = {"jobs": {}, "leases": {}}
    users = {role: _user(role, role) for role in ("viewer", "operator", "admin")}
    users["outsider"] = _user("outsider")
    for key, role, networks in (
        ("hviewer", "viewer", ""),
        ("hoperator", "operator", ""),
        ("netop", "operator", "lab-*"),
    ):
        users[key] = _user(key)
        world[key + "-grant"] = [(role, networks)]
    world["users"] = users
    for index, name in enumerate((A, B)):
        host = Host.objects.create(name=name, uri="test:///default")
        world[name] = host
        for net_index, net in enumerate(("lab-1", "prod-1")):
            subnet = f"10.{index}.{net_index}"
            network = make_network(host, net, ipv4=f"{subnet}.1/24", bridge=f"br{index}{net_index}")
            world[f"{name}/{net}"] = network
            world["leases"][f"{name}/{net}"] = Lease.objects.create(
                network=network,
                mac=f"52:54:00:0{index}:0{net_index}:99",
                ip=f"{subnet}.50",
                expires=timezone.now() + timedelta(hours=1),
            )
            world["jobs"][f"{name}/{net}"] = Job.objects.create(
                user=users["admin"],
                username="admin",
                host=host,
                network=network,
                target=net,
                operation=Op.STOP,
                state=Job.State.SUCCEEDED,
            )
            AuditEntry.objects.create(
                username="admin", action="stop", host=host, host_name=name, network_name=net
            )
        guest_mac = f"52:54:00:{'aa' if name == A else 'bb'}:00:01"
        make_guest(host, f"vm-{name[-1]}", nics=[("lab-1", guest_mac)], state="shut off")
    world["forward"] = PortForward.objects.create(
        network=world[f"{A}/lab-1"], host_port=8080, host_port_end=8080,
        guest_ip="10.0.0.10", guest_port=80,
    )  # fmt: skip
    world["jobs"][A] = Job.objects.create(
        user=users["admin"], username="admin", host=world[A], operation=Op.PROBE
    )
    AuditEntry.objects.create(username="admin", action="host-edit", host=world[A], host_name=A)
    for key in ("hviewer", "hoperator", "netop"):
        [(role, networks)] = world.pop(key + "-grant")
        Grant.objects.create(user=users[key], role=role, host=world[A], networks=networks)
    target = _user("tina")
    world["target"] = target
    world["token"], _ = tokens.issue(target, "ci")
    world["grant"] = Grant.objects.create(user=target, role="viewer", host=world[B])
    return world


def _url(name: str, args: dict, world: dict) -> str:
    kwargs = dict(args)
    if kwargs.get("pk") == "job":
        kwargs["pk"] = world["jobs"][f"{A}/lab-1"].pk
    elif kwargs.get("pk") == "target":
        kwargs["pk"] = world["target"].pk
    if kwargs.get("forward") == "forward":
        kwargs["forward"] = world["forward"].pk
    if kwargs.get("grant") == "grant":
        kwargs["grant"] = world["grant"].pk
    if kwargs.get("token") == "token":
        kwargs["token"] = world["token"].pk
    return reverse(name, kwargs=kwargs)


def _counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in MODELS}


def _client(world: dict, role: str) -> Client:
    client = Client()
    if role != "anon":
        client.force_login(world["users"][role])
    return client


PUBLIC = ("healthz", "metrics")  # answer without a login, and say nothing of the fleet to one
STREAM = "live-events"  # an async view: see test_matrix_of_the_live_stream


@pytest.mark.parametrize(
    ("label", "name", "args", "role", "method", "expected"),
    [cell for cell in CELLS if cell.values[1] != STREAM],
)
def test_matrix(two_hosts, label, name, args, role, method, expected):
    url = _url(name, args, two_hosts)
    before = _counts()
    response = getattr(_client(two_hosts, role), method)(url)
    _check(response, url, name, role, method, expected, before)


@pytest.mark.parametrize(
    ("label", "name", "args", "role", "method", "expected"),
    [cell for cell in CELLS if cell.values[1] == STREAM],
)
def test_matrix_of_the_live_stream(
    transactional_db, two_hosts, label, name, args, role, method, expected
):
    # Asked from a thread of its own, as tests/test_live.py does: a browser test earlier in the run
    # leaves Playwright's loop running in this thread, where Django cannot run an async view.
    url = _url(name, args, two_hosts)
    before = _counts()
    client = _client(two_hosts, role)
    with ThreadPoolExecutor(1) as pool:
        response = pool.submit(getattr(client, method), url).result()
    response.close()
    _check(response, url, name, role, method, expected, before)


def _check(response, url, name, role, method, expected, before) -> None:
    assert response.status_code == expected, f"{method.upper()} {url} as {role}"
    if role == "anon" and name not in PUBLIC:
        assert response["Location"].startswith(reverse("login") + "?next=")
    if expected >= 400 or method == "get" or role == "anon":
        assert _counts() == before, f"{method.upper()} {url} as {role} changed something"


# --- lists show exactly what each role sees ------------------------------------------------------

ALL_NETWORKS = {f"{h}/{n}" for h in (A, B) for n in ("lab-1", "prod-1")}
SEEN = {
    "outsider": set(),
    "viewer": ALL_NETWORKS,
    "operator": ALL_NETWORKS,
    "admin": ALL_NETWORKS,
    "hviewer": {f"{A}/lab-1", f"{A}/prod-1"},
    "hoperator": {f"{A}/lab-1", f"{A}/prod-1"},
    "netop": {f"{A}/lab-1"},
}
LIST_ROLES = list(SEEN)


def _network_paths(content: str) -> set[str]:
    return {key for key in ALL_NETWORKS if f"/hosts/{key.replace('/', '/networks/')}/" in content}


@pytest.mark.parametrize("role", LIST_ROLES)
def test_the_network_list_shows_exactly_the_visible_networks(two_hosts, role):
    content = _client(two_hosts, role).get(reverse("network-list")).content.decode()
    assert _network_paths(content) == SEEN[role]


@pytest.mark.parametrize("role", LIST_ROLES)
def test_the_host_list_counts_only_the_visible_networks(two_hosts, role):
    content = _client(two_hosts, role).get(reverse("host-list")).content.decode()
    hosts = {h for h in (A, B) if f'data-host="{h}"' in content}
    assert hosts == {key.split("/")[0] for key in SEEN[role]}
    if role == "netop":
        assert "0 active of 1" in content


@pytest.mark.parametrize("role", LIST_ROLES)
def test_the_lease_search_finds_exactly_the_visible_leases(two_hosts, role):
    response = _client(two_hosts, role).get(reverse("lease-search"), {"q": "10."})
    content = response.content.decode()
    found = {key for key, lease in two_hosts["leases"].items() if lease.ip in content}
    assert found == SEEN[role]


@pytest.mark.parametrize("role", LIST_ROLES)
def test_the_job_list_shows_exactly_the_visible_jobs(two_hosts, role):
    content = _client(two_hosts, role).get(reverse("job-list")).content.decode()
    shown = {key for key, job in two_hosts["jobs"].items() if f"/jobs/{job.pk}/" in content}
    # The probe of host A is a job of the host: for those who see host A whole.
    whole_a = role in ("viewer", "operator", "admin", "hviewer", "hoperator")
    assert shown == SEEN[role] | ({A} if whole_a else set())


@pytest.mark.parametrize("role", LIST_ROLES)
def test_the_audit_trail_shows_exactly_the_visible_entries(two_hosts, role):
    content = _client(two_hosts, role).get(reverse("audit-csv")).content.decode()
    rows = list(csv.DictReader(io.StringIO(content)))
    seen = {f"{r['host_name']}/{r['network_name']}" if r["network_name"] else r["host_name"]
            for r in rows if r["action"] in ("stop", "host-edit")}  # fmt: skip
    whole_a = role in ("viewer", "operator", "admin", "hviewer", "hoperator")
    assert seen == SEEN[role] | ({A} if whole_a else set())


@pytest.mark.parametrize("role", LIST_ROLES)
def test_the_topology_of_host_a_shows_only_the_visible_switches_and_guests(two_hosts, role):
    response = _client(two_hosts, role).get(reverse("host-topology", args=[A]))
    if role == "outsider":
        assert response.status_code == 404
        return
    content = response.content.decode()
    switches = {n for n in ("lab-1", "prod-1") if f"/hosts/{A}/networks/{n}/" in content}
    assert switches == {key.split("/")[1] for key in SEEN[role] if key.startswith(A)}
    assert ("vm-a" in content) == (role != "netop")
    assert ('data-action="new-switch"' in content) == (role == "admin")


def test_net_operator_gets_start_buttons_on_its_network_only(two_hosts):
    client = _client(two_hosts, "netop")
    lab = client.get(reverse("network-detail", args=[A, "lab-1"])).content.decode()
    assert 'data-action="start"' in lab
    assert 'data-action="edit"' in lab and 'data-action="edit-xml"' not in lab
    host = client.get(reverse("host-detail", args=[A])).content.decode()
    assert reverse("guest-list", args=[A]) not in host
    assert reverse("host-probe", args=[A]) not in host


# --- the per-network admin: admin on host A's lab-* networks, nothing else -----------------------

# (label, URL name, arguments, (GET, POST)): the raw XML editor of its own network only, and no
# guest (a guest's page shows its whole XML; guests need a role on the whole host).
NETADMIN: list[tuple[str, str, dict, tuple[int, int]]] = [
    ("switch-xml@A/lab-1", "switch-xml", LAB, (200, 422)),
    ("switch-xml@A/prod-1", "switch-xml", PROD, (404, 404)),
    ("switch-xml@B/lab-1", "switch-xml", B_LAB, (404, 404)),
    ("switch-edit@A/lab-1", "switch-edit", LAB, (200, 422)),
    ("switch-create@A", "switch-create", {"host": A}, (403, 403)),
    ("switch-new", "switch-new", {}, (403, 405)),
    ("guest-list@A", "guest-list", {"host": A}, (404, 405)),
    ("guest-detail@A/vm-a", "guest-detail", GUEST, (404, 405)),
    ("guest-nic-attach@A/vm-a", "guest-nic-attach", GUEST, (405, 404)),
    ("guest-nic-detach@A/vm-a", "guest-nic-detach", NIC, (405, 404)),
]
TFTP_NEWLINE = "<ip address='10.0.0.1' prefix='24'><tftp root='/srv&#10;conf-script=id'/></ip>"


@pytest.fixture
def netadmin(two_hosts) -> Client:
    user = _user("netadmin")
    Grant.objects.create(user=user, role="admin", host=two_hosts[A], networks="lab-*")
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    ("name", "args", "method", "expected"),
    [
        pytest.param(name, args, method, codes[m], id=f"{label}-{method}")
        for label, name, args, codes in NETADMIN
        for m, method in enumerate(("get", "post"))
    ],
)
def test_matrix_of_the_per_network_admin(two_hosts, netadmin, name, args, method, expected):
    url = _url(name, args, two_hosts)
    before = _counts()
    response = getattr(netadmin, method)(url)
    _check(response, url, name, "netadmin", method, expected, before)


def test_the_per_network_admins_raw_xml_is_held_to_what_vnetweb_models(two_hosts, netadmin):
    url = reverse("switch-xml", args=[A, "lab-1"])
    page = netadmin.get(reverse("network-detail", args=[A, "lab-1"])).content.decode()
    assert 'data-action="edit-xml"' in page
    before = _counts()
    hostile = f"<network><name>lab-1</name>{TFTP_NEWLINE}</network>"
    response = netadmin.post(url, {"xml": hostile, "review": "1"})
    assert response.status_code == 422
    errors = " ".join(response.context["form"].errors["xml"])
    assert "holds a control character" in errors and "vnetweb does not edit <tftp>" in errors
    assert _counts() == before
    fine = "<network><name>lab-1</name><bridge name='vnwtlab1' stp='off'/></network>"
    reviewed = netadmin.post(url, {"xml": fine, "review": "1"})
    assert reviewed.status_code == 200, reviewed.context["form"].errors
    assert 'name="token"' in reviewed.content.decode()


def test_the_per_network_admin_sees_a_nic_job_on_its_network_without_the_guests_xml(
    two_hosts, netadmin
):
    detach = reverse("guest-nic-detach", args=[A, "vm-a", NIC["mac"]])
    assert _client(two_hosts, "admin").post(detach).status_code == 302
    pages = [
        netadmin.get(reverse("audit-list")).content.decode(),
        netadmin.get(reverse("audit-csv")).content.decode(),
        netadmin.get(reverse("network-detail", args=[A, "lab-1"])).content.decode(),
    ]
    for page in pages:
        assert "nic_detach" in page and NIC["mac"] in page
        assert "<domain" not in page and "&lt;domain" not in page
