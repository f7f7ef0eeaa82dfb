"""Two admins on one switch (issue 17): alice and bob open the same page; alice saves first.

Bob's save, made on the definition he opened, is refused with what alice changed (no job), the
page shows both differences and offers his change again on top of the current definition; once
he reviews that, it goes through and libvirt has both changes. Every edit path of a network's
definition: the form editor, the raw XML editor, static hosts and DNS records (an operator's
form), and Make permanent. The jobs run here, on libvirt's test driver, as a worker runs them.

Every network made here is called vnwt-two… and is undefined after the test.
"""

import re
from html import unescape

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse
from django.utils import timezone

from networks import gateway
from networks.models import Job, Lease, Network
from networks.spec import DhcpHost, DhcpRange, DnsHost, IpSpec, NetworkSpec, parse, to_xml
from networks.versions import definition_version
from networks.worker import tasks

pytestmark = pytest.mark.postgres

URI = "test:///default"
NAME = "vnwt-two"


def two_spec() -> NetworkSpec:
    return NetworkSpec(
        name=NAME,
        mode="nat",
        bridge="vnwttwo",
        stp=False,
        dns_hosts=[DnsHost(ip="10.213.81.5", hostnames=["gw"])],
        ips=[
            IpSpec(
                address="10.213.81.1",
                prefix=24,
                dhcp_ranges=[DhcpRange("10.213.81.100", "10.213.81.200")],
                dhcp_hosts=[DhcpHost(mac="52:54:00:81:00:01", name="one", ip="10.213.81.11")],
            )
        ],
    )


@pytest.fixture
def switch(test_host):
    gateway.define_network(URI, to_xml(two_spec()), start=True)
    tasks.refresh(test_host)
    yield Network.objects.get(host=test_host, name=NAME)
    gateway.undefine_network(URI, NAME)


@pytest.fixture
def bob(db) -> User:
    user = User.objects.create_user(username="bob-admin", password="pw-bob-admin")
    user.groups.add(Group.objects.get_or_create(name="admin")[0])
    return user


def on_host() -> NetworkSpec:
    """The switch's saved definition as libvirt has it now."""
    info = gateway.find_network(URI, NAME)
    return parse(info.config_xml or info.xml)


def dns_ips() -> set[str]:
    """The DNS host records added to the switch's own (10.213.81.5)."""
    return {record.ip for record in on_host().dns_hosts} - {"10.213.81.5"}


def run_last_job() -> Job:
    job = Job.objects.latest("pk")
    tasks.run_job(job.pk)
    job.refresh_from_db()
    assert job.state == Job.State.SUCCEEDED, job.message
    return job


def hidden(response, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', response.content.decode())
    assert match, f"the page carries no {name}"
    return unescape(match.group(1))


def review_and_apply(client, url: str, data: dict):
    reviewed = client.post(url, {**data, "review": "1"})
    assert reviewed.status_code == 200, reviewed.content.decode()[:3000]
    token, base = hidden(reviewed, "token"), hidden(reviewed, "base")
    return client.post(url, {**data, "base": base, "apply": "1", "token": token})


def form_values(form) -> dict:
    """What a browser posts for a page's (unbound) form: its shown values."""
    data = {}
    for name, field in form.fields.items():
        value = form[name].value()
        if field.disabled or value in (None, False, ""):
            continue
        data[name] = "on" if value is True else str(value)
    return data


# --- the raw XML editor ------------------------------------------------------------------------


def with_dns_host(xml: str, ip: str, name: str) -> str:
    record = f"  <dns>\n    <host ip='{ip}'>\n      <hostname>{name}</hostname>\n    </host>\n"
    if "<dns>" in xml:
        return xml.replace("  <dns>\n", record, 1)
    return xml.replace("  <ip ", record + "  </dns>\n  <ip ", 1)


def test_a_stale_raw_xml_save_is_refused_with_alices_change_and_goes_through_when_reviewed_again(
    switch, admin, bob, client_as
):
    url = reverse("switch-xml", args=[switch.host.name, NAME])
    alice_client, bob_client = client_as(admin), client_as(bob)
    alice_page, bob_page = alice_client.get(url), bob_client.get(url)
    opened = hidden(bob_page, "base")
    assert bob_page.context["version"] == definition_version(switch.saved_xml)

    alice_xml = with_dns_host(alice_page.context["form"].initial["xml"], "10.213.81.10", "nas")
    review_and_apply(alice_client, url, {"xml": alice_xml, "base": hidden(alice_page, "base")})
    run_last_job()
    assert dns_ips() == {"10.213.81.10"}

    bob_xml = with_dns_host(bob_page.context["form"].initial["xml"], "10.213.81.20", "backup")
    jobs = Job.objects.count()
    for button in ("review", "apply"):
        refused = bob_client.post(url, {"xml": bob_xml, "base": opened, button: "1"})
        assert refused.status_code == 409
        page = unescape(refused.content.decode())
        assert "was changed since you opened it; nothing was sent" in page
        assert re.search(r"alice-admin at \d\d:\d\d: a DNS host record 10.213.81.10", page)
        theirs = "".join(line for _, line in refused.context["stale"].theirs)
        yours = "".join(line for _, line in refused.context["stale"].yours)
        assert "'10.213.81.10'" in theirs and "'10.213.81.20'" not in theirs
        assert "'10.213.81.20'" in yours and "'10.213.81.10'" not in yours
        assert Job.objects.count() == jobs
    assert dns_ips() == {"10.213.81.10"}, "nothing changed on the host"

    merged = refused.context["form"].initial["xml"]
    assert "10.213.81.10" in merged and "10.213.81.20" in merged
    applied = review_and_apply(bob_client, url, {"xml": merged, "base": hidden(refused, "base")})
    assert applied.status_code == 302
    run_last_job()
    assert dns_ips() == {"10.213.81.10", "10.213.81.20"}


def test_a_raw_xml_edit_overlapping_alices_lines_starts_again_from_the_current_definition(
    switch, admin, bob, client_as
):
    url = reverse("switch-xml", args=[switch.host.name, NAME])
    alice_client, bob_client = client_as(admin), client_as(bob)
    alice_page, bob_page = alice_client.get(url), bob_client.get(url)
    xml = alice_page.context["form"].initial["xml"]
    alice_xml = xml.replace("10.213.81.200", "10.213.81.199")
    review_and_apply(alice_client, url, {"xml": alice_xml, "base": hidden(alice_page, "base")})
    run_last_job()
    bob_xml = xml.replace("10.213.81.200", "10.213.81.150")
    refused = bob_client.post(url, {"xml": bob_xml, "base": hidden(bob_page, "base"), "review": 1})
    assert refused.status_code == 409
    assert "make your change again" in refused.content.decode()
    assert refused.context["form"].initial["xml"] == Network.objects.get(name=NAME).saved_xml


def test_two_first_records_of_a_list_are_not_merged_into_xml_libvirt_refuses(
    test_host, make_network, admin, bob, client_as
):
    """Both add the first DNS record: merged by lines, the XML would hold two <dns>."""
    ips = [IpSpec(address="10.213.82.1", prefix=24)]
    base = to_xml(NetworkSpec(name="vnwt-db", mode="isolated", bridge="vnwtdb", ips=ips))
    assert "<dns>" not in base
    network = make_network(test_host, "vnwt-db", xml=base)
    url = reverse("switch-xml", args=[test_host.name, "vnwt-db"])
    opened = hidden(client_as(bob).get(url), "base")
    Network.objects.filter(pk=network.pk).update(xml=with_dns_host(base, "10.213.82.10", "nas"))
    bob_xml = with_dns_host(base, "10.213.82.20", "backup")
    refused = client_as(bob).post(url, {"xml": bob_xml, "base": opened, "review": "1"})
    assert refused.status_code == 409
    assert "make your change again" in refused.content.decode()
    assert "10.213.82.20" not in refused.context["form"].initial["xml"]
    assert "someone outside vnetweb" not in refused.content.decode(), "nobody on the trail"
    assert "a DNS host record 10.213.82.10 was added" in unescape(refused.content.decode())


# --- the form editor ---------------------------------------------------------------------------


def test_a_stale_form_save_is_refused_and_reviewed_again_on_top_of_alices_change(
    switch, admin, bob, client_as
):
    # Stopped: the test driver keeps no saved definition apart from a running one's (the MTU
    # needs a restart).
    gateway.stop_network(URI, NAME)
    tasks.refresh(switch.host)
    url = reverse("switch-edit", args=[switch.host.name, NAME])
    alice_client, bob_client = client_as(admin), client_as(bob)
    alice_page, bob_page = alice_client.get(url), bob_client.get(url)
    alice_data = {**form_values(alice_page.context["form"]), "base": hidden(alice_page, "base")}
    alice_data["ipv4_hosts"] += "\n52:54:00:81:00:02 two 10.213.81.12"
    assert review_and_apply(alice_client, url, alice_data).status_code == 302
    run_last_job()

    bob_data = {**form_values(bob_page.context["form"]), "base": hidden(bob_page, "base")}
    bob_data["dns_hosts"] += "\n10.213.81.20 backup"
    bob_data["mtu"] = "9000"
    jobs = Job.objects.count()
    refused = bob_client.post(url, {**bob_data, "apply": "1"})
    assert refused.status_code == 409
    page = unescape(refused.content.decode())
    assert re.search(r"alice-admin at \d\d:\d\d: a static host 10.213.81.12", page)
    assert Job.objects.count() == jobs
    assert [h.ip for h in on_host().ips[0].dhcp_hosts] == ["10.213.81.11", "10.213.81.12"]

    again = {**form_values(refused.context["form"]), "base": hidden(refused, "base")}
    assert "10.213.81.12" in again["ipv4_hosts"], "alice's host is kept"
    assert again["dns_hosts"] == "10.213.81.5 gw\n10.213.81.20 backup", "bob's changes"
    assert again["mtu"] == "9000"
    assert review_and_apply(bob_client, url, again).status_code == 302
    run_last_job()
    saved = on_host()
    assert [h.ip for h in saved.ips[0].dhcp_hosts] == ["10.213.81.11", "10.213.81.12"]
    assert [record.ip for record in saved.dns_hosts] == ["10.213.81.5", "10.213.81.20"]
    assert saved.mtu == 9000


def test_static_hosts_and_dns_records_changed_live_by_two_people_both_stay(
    switch, admin, operator, client_as
):
    """The operator's form (static hosts and DNS records only, applied live)."""
    url = reverse("switch-edit", args=[switch.host.name, NAME])
    alice_client, oscar_client = client_as(admin), client_as(operator)
    alice_page, oscar_page = alice_client.get(url), oscar_client.get(url)
    alice_data = {**form_values(alice_page.context["form"]), "base": hidden(alice_page, "base")}
    alice_data["dns_hosts"] += "\n10.213.81.10 nas"
    review_and_apply(alice_client, url, alice_data)
    assert "without a restart" in run_last_job().message

    oscar_data = {**form_values(oscar_page.context["form"]), "base": hidden(oscar_page, "base")}
    oscar_data["dns_hosts"] += "\n10.213.81.30 printer"
    refused = oscar_client.post(url, {**oscar_data, "review": "1"})
    assert refused.status_code == 409
    assert "a DNS host record 10.213.81.10 was added" in unescape(refused.content.decode())
    again = {**form_values(refused.context["form"]), "base": hidden(refused, "base")}
    assert again["dns_hosts"].splitlines() == [
        "10.213.81.5 gw",
        "10.213.81.10 nas",
        "10.213.81.30 printer",
    ]
    review_and_apply(oscar_client, url, again)
    assert "without a restart" in run_last_job().message
    assert dns_ips() == {"10.213.81.10", "10.213.81.30"}


def test_an_apply_that_names_no_base_or_a_forged_one_is_refused_and_sends_nothing(
    switch, admin, client_as
):
    url = reverse("switch-xml", args=[switch.host.name, NAME])
    client = client_as(admin)
    xml = with_dns_host(switch.saved_xml, "10.213.81.10", "nas")
    for base in ({}, {"base": "forged"}, {"base": hidden(client.get(url), "base") + "x"}):
        response = client.post(url, {"xml": xml, "apply": "1", "token": "0" * 32, **base})
        assert response.status_code == 422
        assert "does not say which definition it was made on" in response.content.decode()
    assert not Job.objects.exists()


# --- Make permanent ----------------------------------------------------------------------------


def a_lease(switch: Network) -> None:
    """The lease a worker would have read (the test driver has no DHCPLeases)."""
    Lease.objects.get_or_create(network=switch, mac="52:54:00:81:00:09", ip="10.213.81.109")
    Network.objects.filter(pk=switch.pk).update(leases_seen=timezone.now())


def test_a_pin_from_a_table_older_than_alices_change_is_refused_and_goes_through_again(
    switch, admin, bob, client_as
):
    a_lease(switch)
    leases = reverse("network-leases", args=[switch.host.name, NAME])
    pin = reverse("lease-pin", args=[switch.host.name, NAME])
    bob_client = client_as(bob)
    shown = hidden(bob_client.get(leases), "version")
    assert shown == definition_version(switch.saved_xml)

    xml_url = reverse("switch-xml", args=[switch.host.name, NAME])
    alice_client = client_as(admin)
    alice_page = alice_client.get(xml_url)
    alice_xml = with_dns_host(alice_page.context["form"].initial["xml"], "10.213.81.10", "nas")
    review_and_apply(alice_client, xml_url, {"xml": alice_xml, "base": hidden(alice_page, "base")})
    run_last_job()
    a_lease(switch)  # the test driver reports no leases: the re-read cleared it

    asked = {"mac": "52:54:00:81:00:09", "ip": "10.213.81.109", "version": shown}
    jobs = Job.objects.count()
    refused = bob_client.post(pin, asked)
    assert refused.status_code == 409, refused.content
    words = refused.content.decode()
    assert re.search(r"alice-admin at \d\d:\d\d: a DNS host record 10.213.81.10 was added", words)
    assert "nothing was queued" in words
    htmx = bob_client.post(pin, asked, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="net-leases")
    assert "data-pin-refused" in htmx.content.decode()
    assert Job.objects.count() == jobs

    now, current = hidden(htmx, "version"), Network.objects.get(name=NAME).saved_xml
    assert bob_client.post(pin, {**asked, "version": now}).status_code == 302
    assert run_last_job().params["base_xml"] == current
    assert "10.213.81.109" in [h.ip for h in on_host().ips[0].dhcp_hosts]
    assert dns_ips() == {"10.213.81.10"}
