"""The API's port forwards: a switch's list and the guests a forward may reach, adding one (a job
with the worker's params, or the page's refusals field by field), removing one, putting them
back; who may do which. Through real views with real tokens."""

import pytest
from django.urls import reverse
from django.utils import timezone

from networks import tokens
from networks.models import Job, Lease, Network, PortForward
from networks.operations import Op

pytestmark = pytest.mark.postgres

XML = """<network><name>{name}</name>{forward}<bridge name='vnwtpf{n}'/>
<ip address='10.9.{n}.1' prefix='24'><dhcp><range start='10.9.{n}.100' end='10.9.{n}.200'/>
<host mac='52:54:00:00:0{n}:10' name='web' ip='10.9.{n}.10'/></dhcp></ip></network>"""
ADD = {"protocol": "tcp", "host_port": 8080, "guest_ip": "10.9.1.10", "guest_port": 80}


def bearer(user, read_only: bool = False) -> dict:
    _, key = tokens.issue(user, "t", read_only=read_only)
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def url(network: Network, name: str = "forwards", *more) -> str:
    return reverse(f"api-v1:{name}", args=[network.host.name, network.name, *more])


@pytest.fixture
def switch(make_network, test_host):
    """make(name, n, mode, local): a running switch with a reservation "web" at 10.9.n.10, on a
    host that listens on TCP 22 everywhere."""
    test_host.side = {
        "addresses": ["192.0.2.5"],
        "listening": [{"protocol": "tcp", "address": "0.0.0.0", "port": 22}],
    }
    test_host.save()

    def make(name="pf1", n=1, mode="nat", local=True) -> Network:
        forward = f"<forward mode='{mode}'/>" if mode != "isolated" else ""
        return make_network(
            test_host,
            name,
            active=True,
            mode=mode,
            bridge=f"vnwtpf{n}",
            ipv4=f"10.9.{n}.1/24",
            xml=XML.format(name=name, forward=forward, n=n),
            switch={"local": True} if local else {"local": False, "reason": "over ssh"},
        )

    return make


def forward(network: Network, host_port: int = 8080, n: int = 1) -> PortForward:
    return PortForward.objects.create(
        network=network,
        protocol="tcp",
        host_port=host_port,
        host_port_end=host_port,
        guest_ip=f"10.9.{n}.10",
        guest_port=80,
        guest_name="web",
        guest_mac=f"52:54:00:00:0{n}:10",
        username="olga",
    )


def post(client, path: str, body: dict, **auth):
    return client.post(path, body, content_type="application/json", **auth)


# --- reading ------------------------------------------------------------------------------------


def test_a_viewer_lists_the_forwards_with_what_the_firewall_holds_of_each(switch, viewer, client):
    net = switch()
    held, unseen = forward(net, 8080), forward(net, 9090)
    net.switch = {"local": True, "forwards": [{"id": held.pk, "in_place": True, "connections": 3}]}
    net.save()
    response = client.get(url(net), **bearer(viewer))
    assert response.status_code == 200
    body = response.json()
    assert [row["id"] for row in body["results"]] == [held.pk, unseen.pk]
    first = body["results"][0]
    assert first["text"] == "TCP *:8080 -> web 10.9.1.10:80"
    assert (first["in_place"], first["connections"]) == (True, 3)
    assert (first["listen"], first["guest_port_end"], first["username"]) == (None, 80, "olga")
    assert first["url"] == url(net, "forward", held.pk)
    assert (body["results"][1]["in_place"], body["results"][1]["connections"]) == (None, None)


def test_the_guests_a_forward_may_reach_are_reservations_first_then_leases(switch, viewer, client):
    net = switch()
    Lease.objects.create(
        network=net, ip="10.9.1.150", mac="52:54:00:aa:bb:cc", hostname="laptop",
        expires=timezone.now(),
    )  # fmt: skip
    body = client.get(url(net, "forward-guests"), **bearer(viewer)).json()
    assert body["results"] == [
        {"ip": "10.9.1.10", "name": "web", "mac": "52:54:00:00:01:10", "static": True},
        {"ip": "10.9.1.150", "name": "laptop", "mac": "52:54:00:aa:bb:cc", "static": False},
    ]


def test_an_outsider_does_not_find_the_switchs_forwards(switch, outsider, client):
    net, auth = switch(), bearer(outsider)
    assert client.get(url(net), **auth).status_code == 404
    assert post(client, url(net), ADD, **auth).status_code == 404


# --- adding -------------------------------------------------------------------------------------


def test_an_operator_adds_a_forward_as_a_job_with_the_workers_params(switch, operator, client):
    net = switch()
    response = post(client, url(net), {**ADD, "host_port_end": 8081}, **bearer(operator))
    assert response.status_code == 202
    job = Job.objects.get()
    assert (job.operation, job.network, job.state) == (Op.FORWARD_ADD, net, Job.State.QUEUED)
    assert job.params == {
        "protocol": "tcp",
        "listen": "",
        "host_port": 8080,
        "host_port_end": 8081,
        "guest_ip": "10.9.1.10",
        "guest_port": 80,
    }
    assert response["Location"] == reverse("api-v1:job", args=[job.pk])
    assert response.json()["operation"] == Op.FORWARD_ADD
    assert not PortForward.objects.exists(), "the worker keeps the row once its rules are written"


def test_asked_with_wait_the_add_answers_see_other_to_its_job(switch, operator, client):
    net = switch()
    response = post(
        client, url(net) + "?wait=5", {**ADD, "listen": "192.0.2.5"}, **bearer(operator)
    )
    job = Job.objects.get()
    assert (response.status_code, response["Location"]) == (303, f"/api/v1/jobs/{job.pk}/?wait=5")
    assert job.params["listen"] == "192.0.2.5"


def _clash(net: Network, switch) -> None:
    forward(switch("pf2", 2), 8000, n=2)


def _libvirt_nftables(net: Network, switch) -> None:
    net.host.side = {**net.host.side, "libvirt_nftables": True}
    net.host.save()


def _dynamic(net: Network, switch) -> None:
    Lease.objects.create(network=net, ip="10.9.1.150", mac="52:54:00:aa:bb:cc", static=False)


# (label, the switch's make() options, what else there is, the body's changes, field, words)
REFUSALS = [
    ("clash", {}, _clash, {"host_port": 8000}, "host_port", "already forwarded by switch pf2"),
    ("host listens", {}, None, {"host_port": 22}, "host_port", "The host itself listens on TCP"),
    ("no guest", {}, None, {"guest_ip": "10.9.1.77"}, "guest_ip", "No guest of pf1 has 10.9.1.77"),
    ("dynamic", {}, _dynamic, {"guest_ip": "10.9.1.150"}, "guest_ip", "make the lease permanent"),
    (
        "ranges",
        {},
        None,
        {"host_port_end": 8081, "guest_port_end": 85},
        "guest_port_end",
        "are not as many as the host's 8080-8081",
    ),
    ("isolated", {"mode": "isolated"}, None, {}, "__all__", "port forwards need a NAT or routed"),
    ("not local", {"local": False}, None, {}, "__all__", "does not see the host's side (over ssh)"),
    ("nftables", {}, _libvirt_nftables, {}, "__all__", 'firewall_backend = "iptables"'),
]


@pytest.mark.parametrize(
    ("options", "setup", "change", "field", "words"),
    [pytest.param(*row[1:], id=row[0]) for row in REFUSALS],
)
def test_a_refused_forward_is_a_field_error_in_the_pages_words(
    switch, operator, client, options, setup, change, field, words
):
    net = switch(**options)
    if setup:
        setup(net, switch)
    response = post(client, url(net), {**ADD, **change}, **bearer(operator))
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert list(errors) == [field] and len(errors[field]) == 1
    assert words in errors[field][0]
    assert not Job.objects.exists()


def test_a_body_with_a_field_it_does_not_know_is_refused(switch, operator, client):
    response = post(client, url(switch()), {**ADD, "guest": "web"}, **bearer(operator))
    assert response.status_code == 422 and "guest" in response.json()["errors"]
    assert not Job.objects.exists()


# --- removing, putting back ---------------------------------------------------------------------


def test_an_operator_removes_a_forward_as_a_job(switch, operator, client):
    net = switch()
    gone = forward(net)
    response = client.delete(url(net, "forward", gone.pk), **bearer(operator))
    assert response.status_code == 202
    job = Job.objects.get()
    assert (job.operation, job.network, job.params) == (
        Op.FORWARD_REMOVE,
        net,
        {"forward": gone.pk},
    )


def test_a_forward_of_no_such_id_or_of_another_switch_is_not_found(switch, operator, client):
    net, other = switch(), switch("pf2", 2)
    elsewhere = forward(other, n=2)
    auth = bearer(operator)
    assert client.delete(url(net, "forward", elsewhere.pk + 1), **auth).status_code == 404
    assert client.delete(url(net, "forward", elsewhere.pk), **auth).status_code == 404
    assert not Job.objects.exists()


def test_an_operator_puts_the_forwards_back_but_not_on_a_stopped_switch(switch, operator, client):
    net, auth = switch(), bearer(operator)
    response = client.post(url(net, "forwards-apply"), **auth)
    assert response.status_code == 202
    assert Job.objects.get().operation == Op.FORWARDS_APPLY
    Network.objects.filter(pk=net.pk).update(active=False)
    stopped = client.post(url(net, "forwards-apply"), **auth)
    assert stopped.status_code == 409 and "is not running" in stopped.json()["detail"]
    assert Job.objects.count() == 1


# --- who may --------------------------------------------------------------------------------------


def test_a_viewer_may_not_add_remove_or_put_back(switch, viewer, client):
    net = switch()
    auth = bearer(viewer)
    assert post(client, url(net), ADD, **auth).status_code == 403
    assert client.delete(url(net, "forward", forward(net).pk), **auth).status_code == 403
    assert client.post(url(net, "forwards-apply"), **auth).status_code == 403
    assert not Job.objects.exists()


def test_an_operators_read_only_token_reads_but_changes_nothing(switch, operator, client):
    net = switch()
    auth = bearer(operator, read_only=True)
    assert client.get(url(net), **auth).status_code == 200
    refused = post(client, url(net), ADD, **auth)
    assert refused.status_code == 403 and "read-only" in refused.json()["detail"]
    assert client.delete(url(net, "forward", forward(net).pk), **auth).status_code == 403
    assert client.post(url(net, "forwards-apply"), **auth).status_code == 403
    assert not Job.objects.exists()
