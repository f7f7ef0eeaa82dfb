"""Who may see and do what: anonymous, outsider (no role), viewer, operator, admin."""

import pytest
from django.test import Client
from django.urls import reverse

from networks import tokens
from networks import urls as network_urls
from networks.models import ApiToken, Grant, Guest, Host, Job
from networks.operations import Op

# Real arguments for every named pattern of networks/urls.py; the fixtures below make them exist.
URL_KWARGS = {
    "home": {},
    "network-list": {},
    "network-rows": {},
    "host-network-rows": {"name": "testdrv"},
    "host-list": {},
    "host-add": {},
    "host-detail": {"name": "testdrv"},
    "host-edit": {"name": "testdrv"},
    "host-delete": {"name": "testdrv"},
    "host-probe": {"name": "testdrv"},
    "host-topology": {"host": "testdrv"},
    "host-topology-part": {"host": "testdrv"},
    "host-topology-connect": {"host": "testdrv"},
    "switch-create": {"host": "testdrv"},
    "switch-new": {},
    "network-detail": {"host": "testdrv", "name": "net1"},
    "switch-edit": {"host": "testdrv", "name": "net1"},
    "switch-xml": {"host": "testdrv", "name": "net1"},
    "switch-delete": {"host": "testdrv", "name": "net1"},
    "network-summary": {"host": "testdrv", "name": "net1"},
    "network-more": {"host": "testdrv", "name": "net1"},
    "network-panel": {"host": "testdrv", "name": "net1"},
    "network-row": {"host": "testdrv", "name": "net1"},
    "network-host-row": {"host": "testdrv", "name": "net1"},
    "network-leases": {"host": "testdrv", "name": "net1"},
    "network-switch": {"host": "testdrv", "name": "net1"},
    "network-leases-csv": {"host": "testdrv", "name": "net1"},
    "network-forwards": {"host": "testdrv", "name": "net1"},
    "forward-add": {"host": "testdrv", "name": "net1"},
    "forward-remove": {"host": "testdrv", "name": "net1", "forward": 1},
    "forwards-apply": {"host": "testdrv", "name": "net1"},
    "lease-pin": {"host": "testdrv", "name": "net1"},
    "network-action": {"host": "testdrv", "name": "net1", "action": "start"},
    "network-action-part": {
        "host": "testdrv",
        "name": "net1",
        "action": "start",
        "fragment": "row",
    },
    "lease-search": {},
    "job-list": {},
    "live-events": {},
    "job-detail": {"pk": None},  # filled in with the fixture job's pk
    "job-followed": {"pk": None},
    "audit-list": {},
    "audit-csv": {},
    "guest-list": {"host": "testdrv"},
    "guest-detail": {"host": "testdrv", "name": "vm1"},
    "guest-nic-attach": {"host": "testdrv", "name": "vm1"},
    "guest-nic-move": {"host": "testdrv", "name": "vm1", "mac": "52:54:00:00:00:01"},
    "guest-nic-detach": {"host": "testdrv", "name": "vm1", "mac": "52:54:00:00:00:01"},
    "guest-nic-link": {"host": "testdrv", "name": "vm1", "mac": "52:54:00:00:00:01"},
    # User management: filled in with the fixture operator's pk and its grant's.
    "user-list": {},
    "user-add": {},
    "user-detail": {"pk": None},
    "user-active": {"pk": None},
    "user-password": {"pk": None},
    "user-role": {"pk": None},
    "user-unlock": {"pk": None},
    "grant-add": {"pk": None},
    "grant-delete": {"pk": None, "grant": None},
    "user-token-revoke": {"pk": None, "token": None},
    # Everyone's own API tokens.
    "token-list": {},
    "token-revoke": {"token": None},
}

# Answer without a login on purpose, and show nothing about hosts or networks.
PUBLIC_URLS = {"healthz", "metrics"}  # /metrics: for a token or an allowed address only

ADMIN_URLS = [
    "admin:index",
    "admin:networks_host_changelist",
    "admin:networks_network_changelist",
    "admin:auth_user_changelist",
]


@pytest.fixture
def world(test_host, make_network, operator):
    """One host, one network and one guest on it, and one job, so every URL has something to
    show."""
    network = make_network(test_host, "net1")
    Guest.objects.create(
        host=test_host,
        name="vm1",
        uuid="00000000-0000-0000-0000-0000000000a1",
        state="shut off",
        nics=[{"mac": "52:54:00:00:00:01", "type": "network", "source": "net1", "network": "net1"}],
        last_seen=network.last_seen,
    )
    job = Job.objects.create(
        user=operator,
        username=operator.username,
        host=test_host,
        network=network,
        target=network.name,
        operation=Op.STOP,
        state=Job.State.SUCCEEDED,
        message="Stopped net1.",
    )
    grant = Grant.objects.create(user=operator, role="viewer", host=test_host, networks="net*")
    token, _ = tokens.issue(operator, "ci")
    return {"host": test_host, "network": network, "job": job, "grant": grant, "token": token}


def _all_urls(job: Job) -> list[tuple[str, str]]:
    urls = []
    grant = Grant.objects.get()
    token = ApiToken.objects.get()
    for name, kwargs in URL_KWARGS.items():
        if name in ("job-detail", "job-followed"):
            kwargs = {"pk": job.pk}
        elif "pk" in kwargs:
            kwargs = {**kwargs, "pk": grant.user_id}
            if "grant" in kwargs:
                kwargs["grant"] = grant.pk
        if "token" in kwargs:
            kwargs = {**kwargs, "token": token.pk}
        urls.append((name, reverse(name, kwargs=kwargs)))
    return urls


def test_every_pattern_of_the_app_is_covered_by_these_tests():
    names = {pattern.name for pattern in network_urls.urlpatterns}
    assert names == set(URL_KWARGS) | PUBLIC_URLS, "give new URL patterns arguments in URL_KWARGS"


def test_the_health_check_answers_without_a_login_and_says_only_ok(world):
    response = Client().get(reverse("healthz"))
    assert response.status_code == 200
    assert response.content == b"ok\n"
    assert Client().post(reverse("healthz")).status_code == 405


# --- anonymous ---------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["get", "post"])
def test_anonymous_users_are_sent_to_the_login_page_from_every_page(world, method):
    client = Client()
    login = reverse("login")
    for name, url in _all_urls(world["job"]):
        response = getattr(client, method)(url)
        assert response.status_code == 302, f"{method.upper()} {name} ({url})"
        assert response["Location"].startswith(f"{login}?next="), f"{name}: {response['Location']}"
    assert Job.objects.count() == 1, "an anonymous POST must not create jobs"
    assert Host.objects.filter(name="testdrv").exists(), "an anonymous POST must not delete"


@pytest.mark.parametrize("name", ["password_change", "password_change_done"])
def test_anonymous_users_are_sent_to_the_login_page_from_account_pages(db, name):
    response = Client().get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login") + "?next=")


@pytest.mark.parametrize("name", ADMIN_URLS)
def test_anonymous_users_are_sent_to_a_login_page_from_the_admin(db, name):
    response = Client().get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].split("?")[0] in {reverse("login"), reverse("admin:login")}
    assert "?next=" in response["Location"]


def test_the_login_page_itself_is_reachable_without_logging_in(db):
    response = Client().get(reverse("login"))
    assert response.status_code == 200
    assert b'name="password"' in response.content


def test_logging_in_with_the_right_password_leads_to_the_networks(viewer):
    client = Client()
    response = client.post(
        reverse("login"), {"username": viewer.username, "password": "pw-" + viewer.username}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("network-list")
    assert client.get(reverse("network-list")).status_code == 200


def test_logging_in_with_a_wrong_password_fails(viewer):
    client = Client()
    response = client.post(reverse("login"), {"username": viewer.username, "password": "nope"})
    assert response.status_code == 200
    assert b"did not match" in response.content
    assert client.get(reverse("network-list")).status_code == 302


# --- outsider: logged in, no role -------------------------------------------------------------


def test_outsider_sees_no_hosts_networks_or_jobs(world, outsider, client_as):
    client = client_as(outsider)
    for name in ("network-list", "host-list", "job-list"):
        response = client.get(reverse(name))
        assert response.status_code == 200
        content = response.content.decode()
        assert "testdrv" not in content, name
        assert "net1" not in content, name
    assert b"no role yet" in client.get(reverse("network-list")).content


# The pages and parts that belong to one host: an outsider gets 404 for each, a viewer sees each.
PAGES_OF_A_HOST = (
    "host-detail",
    "host-topology",
    "host-topology-part",
    "network-detail",
    "network-summary",
    "network-more",
    "network-panel",
    "network-row",
    "network-host-row",
    "host-network-rows",
    "job-followed",
    "network-leases",
    "network-switch",
    "network-leases-csv",
    "job-detail",
    "guest-list",
    "guest-detail",
)


@pytest.mark.parametrize("name", PAGES_OF_A_HOST)
def test_outsider_gets_not_found_for_pages_of_hosts_it_cannot_see(world, outsider, client_as, name):
    kwargs = {"pk": world["job"].pk} if name.startswith("job-") else URL_KWARGS[name]
    assert client_as(outsider).get(reverse(name, kwargs=kwargs)).status_code == 404


def test_outsider_cannot_start_a_network(world, outsider, client_as):
    url = reverse("network-action", args=["testdrv", "net1", "start"])
    response = client_as(outsider).post(url)
    assert response.status_code in (403, 404)
    assert Job.objects.count() == 1


# --- viewer ------------------------------------------------------------------------------------


def test_viewer_sees_every_page_of_the_app(world, viewer, client_as):
    client = client_as(viewer)
    read_only = {
        "network-list",
        "host-list",
        *PAGES_OF_A_HOST,
        "lease-search",
        "job-list",
        "audit-list",
        "audit-csv",
    }
    for name, url in _all_urls(world["job"]):
        if name in read_only:
            assert client.get(url).status_code == 200, name


def test_viewer_sees_the_networks_list_without_action_buttons(world, viewer, client_as):
    response = client_as(viewer).get(reverse("network-list"))
    content = response.content.decode()
    assert 'data-network="net1"' in content
    assert "data-action=" not in content
    assert "hx-post=" not in content
    assert reverse("network-action", args=["testdrv", "net1", "start"]) not in content


def test_viewer_sees_the_network_page_without_action_buttons(world, viewer, client_as):
    response = client_as(viewer).get(reverse("network-detail", args=["testdrv", "net1"]))
    content = response.content.decode()
    assert response.status_code == 200
    assert 'id="net-panel"' in content
    assert "data-action=" not in content
    assert "hx-post=" not in content


def test_viewer_sees_no_check_now_edit_or_remove_on_the_host_page(world, viewer, client_as):
    content = client_as(viewer).get(reverse("host-detail", args=["testdrv"])).content.decode()
    assert reverse("host-probe", args=["testdrv"]) not in content
    assert reverse("host-edit", args=["testdrv"]) not in content
    assert reverse("host-delete", args=["testdrv"]) not in content
    assert "data-action=" not in content


def test_operator_does_see_the_action_buttons(world, operator, client_as):
    # The counterpart of the viewer tests: the markup they look for is really there for operators.
    client = client_as(operator)
    for url in (reverse("network-list"), reverse("network-detail", args=["testdrv", "net1"])):
        content = client.get(url).content.decode()
        assert 'data-action="start"' in content
        assert 'data-action="autostart-on"' in content
        assert reverse("network-action", args=["testdrv", "net1", "start"]) in content


@pytest.mark.parametrize("action", ["start", "stop", "autostart-on", "autostart-off"])
def test_viewer_cannot_change_a_network(world, viewer, client_as, action):
    url = reverse("network-action", args=["testdrv", "net1", action])
    response = client_as(viewer).post(url, HTTP_HX_REQUEST="true")
    assert response.status_code == 403
    assert Job.objects.count() == 1


def test_viewer_cannot_check_a_host(world, viewer, client_as):
    response = client_as(viewer).post(reverse("host-probe", args=["testdrv"]))
    assert response.status_code == 403
    assert not Job.objects.filter(operation=Op.PROBE).exists()


# --- operator ----------------------------------------------------------------------------------


def test_operator_can_start_a_network(world, operator, client_as):
    url = reverse("network-action", args=["testdrv", "net1", "start"])
    response = client_as(operator).post(url)
    assert response.status_code == 302
    job = Job.objects.exclude(pk=world["job"].pk).get()
    assert job.operation == Op.START
    assert job.state == Job.State.QUEUED
    assert job.username == operator.username
    assert job.user == operator
    assert job.host == world["host"]
    assert job.network == world["network"]
    assert job.target == "net1"
    assert job.attempts == 0


@pytest.mark.parametrize(
    ("action", "operation"),
    [
        ("stop", Op.STOP),
        ("autostart-on", Op.AUTOSTART_ON),
        ("autostart-off", Op.AUTOSTART_OFF),
    ],
)
def test_operator_actions_create_the_matching_job(world, operator, client_as, action, operation):
    url = reverse("network-action", args=["testdrv", "net1", action])
    client_as(operator).post(url)
    assert Job.objects.exclude(pk=world["job"].pk).get().operation == operation


def test_operator_can_check_a_host(world, operator, client_as):
    response = client_as(operator).post(reverse("host-probe", args=["testdrv"]))
    assert response.status_code == 302
    job = Job.objects.get(operation=Op.PROBE)
    assert (job.host, job.username, job.target) == (world["host"], operator.username, "")


@pytest.mark.parametrize("name", ["host-add", "host-edit", "host-delete"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_operator_cannot_add_edit_or_delete_hosts(world, operator, client_as, name, method):
    kwargs = {} if name == "host-add" else {"name": "testdrv"}
    data = {"name": "kvm9", "uri": "qemu+ssh://root@kvm9/system", "description": "changed"}
    response = getattr(client_as(operator), method)(reverse(name, kwargs=kwargs), data)
    assert response.status_code == 403
    host = Host.objects.get(name="testdrv")
    assert host.uri == "test:///default"
    assert host.description == "test driver"
    assert list(Host.objects.values_list("name", flat=True)) == ["testdrv"]
    assert not Job.objects.filter(operation=Op.PROBE).exists()


def test_viewer_cannot_delete_a_host(world, viewer, client_as):
    response = client_as(viewer).post(reverse("host-delete", args=["testdrv"]))
    assert response.status_code == 403
    assert Host.objects.filter(name="testdrv").exists()


def test_a_get_on_an_action_url_is_method_not_allowed(world, operator, client_as):
    url = reverse("network-action", args=["testdrv", "net1", "start"])
    response = client_as(operator).get(url)
    assert response.status_code == 405
    assert Job.objects.count() == 1


def test_a_get_on_the_probe_url_is_method_not_allowed(world, operator, client_as):
    assert client_as(operator).get(reverse("host-probe", args=["testdrv"])).status_code == 405


@pytest.mark.parametrize("action", ["reboot", "destroy", "START", "autostart"])
def test_an_unknown_action_is_a_bad_request_and_creates_no_job(world, operator, client_as, action):
    url = reverse("network-action", args=["testdrv", "net1", action])
    response = client_as(operator).post(url)
    assert response.status_code == 400
    assert Job.objects.count() == 1


def test_an_action_on_an_unknown_network_is_not_found(world, operator, client_as):
    url = reverse("network-action", args=["testdrv", "nonet", "start"])
    assert client_as(operator).post(url).status_code == 404
    assert Job.objects.count() == 1


def test_an_action_without_a_csrf_token_is_refused(world, operator):
    client = Client(enforce_csrf_checks=True)
    client.force_login(operator)
    url = reverse("network-action", args=["testdrv", "net1", "start"])
    assert client.post(url).status_code == 403
    assert Job.objects.count() == 1


# --- admin -------------------------------------------------------------------------------------


def test_admin_can_open_the_host_forms(world, admin, client_as):
    client = client_as(admin)
    assert client.get(reverse("host-add")).status_code == 200
    assert client.get(reverse("host-edit", args=["testdrv"])).status_code == 200
    assert client.get(reverse("host-delete", args=["testdrv"])).status_code == 200


def test_admin_can_add_edit_and_delete_a_host(world, admin, client_as):
    client = client_as(admin)
    response = client.post(
        reverse("host-add"), {"name": "kvm2", "uri": "qemu+ssh://root@kvm2/system"}
    )
    assert response.status_code == 302
    assert Host.objects.filter(name="kvm2", uri="qemu+ssh://root@kvm2/system").exists()

    response = client.post(
        reverse("host-edit", args=["kvm2"]),
        {"uri": "qemu+tls://kvm2/system", "description": "second"},
    )
    assert response.status_code == 302
    assert Host.objects.get(name="kvm2").uri == "qemu+tls://kvm2/system"

    response = client.post(reverse("host-delete", args=["kvm2"]))
    assert response.status_code == 302
    assert not Host.objects.filter(name="kvm2").exists()


def test_only_admins_see_the_add_host_link(world, admin, operator, client_as):
    add = reverse("host-add")
    assert add in client_as(admin).get(reverse("host-list")).content.decode()
    assert add not in client_as(operator).get(reverse("host-list")).content.decode()


def test_an_admin_group_member_manages_users_in_the_django_admin(client_as, admin):
    assert not admin.is_staff and not admin.is_superuser
    client = client_as(admin)
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/auth/user/").status_code == 200
    assert client.get("/admin/networks/host/add/").status_code == 200


def test_an_operator_is_kept_out_of_the_django_admin(client_as, operator):
    response = client_as(operator).get("/admin/auth/user/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
