"""The worker's define, update, restart and undefine, and what a job re-reads afterwards, on
libvirt's test driver (test:///default, whose state lives in this process).

Every network made here is called vnwt-td… and is undefined after the test.
"""

import dataclasses
import uuid

import pytest
from django.utils import timezone

from networks import gateway
from networks.models import Host, Job, Network
from networks.spec import (
    DhcpHost,
    DhcpRange,
    IpSpec,
    NetworkSpec,
    UpdateStep,
    parse,
    plan_update,
    to_xml,
)
from networks.worker import tasks
from networks.worker.sync import record_network
from tests import jobs

URI = "test:///default"
FIXED = DhcpHost(mac="52:54:00:00:07:01", name="one", ip="10.213.7.10")
EXTRA = DhcpHost(mac="52:54:00:00:07:02", name="two", ip="10.213.7.11")


def lab_spec(name: str = "vnwt-td1", **changes) -> NetworkSpec:
    spec = NetworkSpec(
        name=name,
        mode="nat",
        bridge="vnwttd1",
        stp=False,
        ips=[
            IpSpec(
                address="10.213.7.1",
                prefix=24,
                dhcp_ranges=[DhcpRange("10.213.7.100", "10.213.7.150")],
                dhcp_hosts=[FIXED],
            )
        ],
    )
    return dataclasses.replace(spec, **changes)


@pytest.fixture
def cleanup():
    """Names of test-driver networks to undefine after the test, whatever happens."""
    names = ["vnwt-td1"]
    yield names
    for name in names:
        gateway.undefine_network(URI, name)


@pytest.fixture
def lab(test_host, cleanup):
    """Factory: vnwt-td1 defined on the test driver (running unless told) and read into the db."""

    def make(*, start: bool = True) -> Network:
        gateway.define_network(URI, to_xml(lab_spec()), start=start)
        tasks.refresh(test_host)
        return Network.objects.get(host=test_host, name="vnwt-td1")

    return make


def run(host: Host, operation: str, target: str = "vnwt-td1", **params) -> Job:
    return jobs.run(host, operation, target, **params)


def edited(network: Network, hosts: list[DhcpHost] | None = None, **changes) -> NetworkSpec:
    """The network's saved definition with `changes`, as the editor would make it."""
    spec = dataclasses.replace(parse(network.saved_xml), **changes)
    if hosts is not None:
        spec.ips[0].dhcp_hosts = hosts
    return spec


def update_params(network: Network, new: NetworkSpec, *, restart: bool = False) -> dict:
    """What the editor sends: the new XML built on the saved one, and the live plan."""
    base = network.saved_xml
    plan = plan_update(parse(base), new, base=base)
    return {
        "xml": to_xml(new, base=base),
        "base_xml": base,
        "live": [dataclasses.asdict(u) for u in plan.updates],
        "restart": restart,
    }


def live(name: str = "vnwt-td1") -> NetworkSpec:
    return parse(gateway.network_state(URI, name).xml)


# --- define ------------------------------------------------------------------------------------


def test_define_creates_starts_and_turns_autostart_on(test_host, cleanup):
    xml = to_xml(lab_spec())
    job = run(test_host, "define", xml=xml, start=True, autostart=True)
    assert (job.state, job.message) == (
        Job.State.SUCCEEDED,
        "Created vnwt-td1 and started it, autostart on.",
    )
    state = gateway.network_state(URI, "vnwt-td1")
    assert (state.active, state.autostart) == (True, True)
    row = Network.objects.get(host=test_host, name="vnwt-td1")
    assert (row.active, row.autostart, row.ipv4) == (True, True, "10.213.7.1/24")
    assert job.network == row, "the job is linked to the network it created"


def test_defining_the_same_network_again_is_nothing_to_do(test_host, cleanup):
    xml = to_xml(lab_spec())
    assert run(test_host, "define", xml=xml, start=True).state == Job.State.SUCCEEDED
    again = run(test_host, "define", xml=xml, start=True)
    assert again.state == Job.State.SUCCEEDED
    assert again.message == "vnwt-td1 already exists with this definition; nothing to do."


def test_a_define_left_half_done_is_finished_by_running_it_again(test_host, cleanup):
    xml = to_xml(lab_spec())
    gateway.define_network(URI, xml)  # as if the worker died before starting it
    job = run(test_host, "define", xml=xml, start=True)
    assert job.message == "vnwt-td1 was already defined as asked; started it."
    assert gateway.network_state(URI, "vnwt-td1").active is True


def test_define_refuses_a_name_taken_by_another_definition(test_host, lab):
    lab()
    other = to_xml(lab_spec(bridge="vnwttd9"))
    job = run(test_host, "define", xml=other, start=True)
    assert job.state == Job.State.FAILED
    assert "already exists" in job.message and "another definition" in job.message
    assert live().bridge == "vnwttd1"


def test_define_refuses_xml_that_libvirts_schema_rejects_and_sends_nothing(test_host, cleanup):
    xml = to_xml(lab_spec()).replace('mode="nat"', 'mode="warp"')
    job = run(test_host, "define", xml=xml)
    assert job.state == Job.State.FAILED
    assert job.message.startswith("libvirt's schema refuses the definition")
    assert gateway.find_network(URI, "vnwt-td1") is None
    assert not Network.objects.filter(name="vnwt-td1").exists()


def test_define_refuses_xml_naming_another_network_than_the_job(test_host, cleanup):
    job = run(test_host, "define", target="vnwt-other", xml=to_xml(lab_spec()))
    assert job.state == Job.State.FAILED
    assert "names 'vnwt-td1', not 'vnwt-other'" in job.message
    assert gateway.find_network(URI, "vnwt-td1") is None


# --- update ------------------------------------------------------------------------------------


def test_adding_a_static_host_to_a_running_network_applies_live(test_host, lab):
    network = lab()
    new = edited(network, hosts=[FIXED, EXTRA])
    job = run(test_host, "update", **update_params(network, new))
    assert job.state == Job.State.SUCCEEDED, job.message
    assert job.message == "Changed vnwt-td1 while it runs (1 change), without a restart."
    assert live().ips[0].dhcp_hosts == [FIXED, EXTRA]
    network.refresh_from_db()
    assert network.addresses[0]["dhcp_hosts"] == 2


def test_running_the_same_update_again_is_nothing_to_do(test_host, lab):
    network = lab()
    new = edited(network, hosts=[FIXED, EXTRA])
    params = update_params(network, new)
    assert run(test_host, "update", **params).state == Job.State.SUCCEEDED
    again = run(test_host, "update", **params)
    assert (again.state, again.message) == (
        Job.State.SUCCEEDED,
        "vnwt-td1 already has this definition; nothing to do.",
    )
    assert live().ips[0].dhcp_hosts == [FIXED, EXTRA]


def test_an_update_refuses_when_the_network_changed_since_the_editor_opened(test_host, lab):
    network = lab()
    new = edited(network, hosts=[FIXED, EXTRA])
    params = update_params(network, new)
    # Meanwhile someone runs `virsh net-update … delete ip-dhcp-host` on the host.
    delete = UpdateStep("ip-dhcp-host", "delete", to_host_xml(FIXED), 0)
    gateway.update_network(URI, "vnwt-td1", [delete], live=True)
    job = run(test_host, "update", **params)
    assert job.state == Job.State.FAILED
    assert "changed on the host since the editor was opened" in job.message
    assert live().ips[0].dhcp_hosts == [], "nothing was changed"


def test_an_update_of_a_stopped_network_is_saved_for_its_next_start(test_host, lab):
    network = lab(start=False)
    job = run(test_host, "update", **update_params(network, edited(network, stp=True)))
    assert job.message == "Saved vnwt-td1; it takes effect when vnwt-td1 starts."
    assert live().stp is True
    assert run(
        test_host, "update", **update_params(network, edited(network, stp=True))
    ).message == ("vnwt-td1 already has this definition; nothing to do.")


def test_a_change_that_needs_a_restart_is_saved_and_says_so(test_host, lab):
    network = lab()
    job = run(test_host, "update", **update_params(network, edited(network, stp=True)))
    assert job.state == Job.State.SUCCEEDED, job.message
    assert job.message.startswith("Saved vnwt-td1; restart needed")
    assert "the bridge's STP setting" in job.message


def test_a_change_applied_with_a_restart_says_it_restarted(test_host, lab):
    network = lab()
    job = run(
        test_host, "update", **update_params(network, edited(network, stp=True), restart=True)
    )
    assert (job.state, job.message) == (Job.State.SUCCEEDED, "Saved and restarted vnwt-td1.")
    assert gateway.network_state(URI, "vnwt-td1").active is True


def test_a_live_update_that_fails_half_way_is_undone_and_fails_in_words(test_host, lab):
    network = lab()
    new = edited(network, hosts=[FIXED, EXTRA])
    params = update_params(network, new)
    # The second update adds a host that is there already: libvirt refuses it.
    params["live"].append({**params["live"][0], "xml": to_host_xml(FIXED)})
    job = run(test_host, "update", **params)
    assert job.state == Job.State.FAILED
    assert "existing dhcp host entry" in job.message
    assert live().ips[0].dhcp_hosts == [FIXED], "the first update was undone"


def to_host_xml(host: DhcpHost) -> str:
    return f"<host mac='{host.mac}' name='{host.name}' ip='{host.ip}'/>"


TFTP_NEWLINE = "<tftp root='/srv&#10;conf-script=id &gt;/tmp/x'/>"


def saved(name: str = "vnwt-td1") -> str:
    info = gateway.find_network(URI, name)
    return info.config_xml or info.xml


def test_the_worker_refuses_a_crafted_update_adding_a_tftp_root_with_a_newline(test_host, lab):
    network = lab()
    before = saved()
    params = update_params(network, edited(network, hosts=[FIXED, EXTRA]), restart=True)
    params["xml"] = params["xml"].replace("<dhcp>", TFTP_NEWLINE + "<dhcp>")
    job = run(test_host, "update", **params)
    assert job.state == Job.State.FAILED
    assert "the root= attribute of <tftp> ('/srv\\x0aconf-script=id >/tmp/x') holds a control" in (
        job.message
    )
    assert "vnetweb does not edit <tftp> in <ip>" in job.message
    assert job.message.endswith("Nothing was changed.")
    assert saved() == before and live().ips[0].dhcp_hosts == [FIXED]


def test_the_worker_refuses_a_crafted_define_holding_what_vnetweb_does_not_model(
    test_host, cleanup
):
    xml = to_xml(lab_spec()).replace("<dhcp>", "<tftp root='/srv/tftp'/><dhcp>")
    job = run(test_host, "define", xml=xml, start=True)
    assert job.state == Job.State.FAILED
    assert job.message.startswith("vnetweb does not edit <tftp> in <ip>")
    assert gateway.find_network(URI, "vnwt-td1") is None


def test_the_worker_refuses_a_crafted_live_update_with_a_newline(test_host, lab):
    network = lab()
    params = update_params(network, edited(network, hosts=[FIXED, EXTRA]))
    params["live"][0]["xml"] = params["live"][0]["xml"].replace(
        'name="two"', 'name="two&#10;dhcp-script=/bin/sh"'
    )
    assert "&#10;" in params["live"][0]["xml"]
    job = run(test_host, "update", **params)
    assert job.state == Job.State.FAILED
    assert job.message.startswith("the name= attribute of <host> ('two\\x0adhcp-script=/bin/sh')")
    assert live().ips[0].dhcp_hosts == [FIXED]


def test_the_worker_keeps_a_tftp_root_the_host_already_had(test_host, cleanup):
    xml = to_xml(lab_spec()).replace("<dhcp>", "<tftp root='/srv/tftp'/><dhcp>")
    gateway.define_network(URI, xml)  # set on the host itself, as its owner may
    tasks.refresh(test_host)
    network = Network.objects.get(host=test_host, name="vnwt-td1")
    job = run(test_host, "update", **update_params(network, edited(network, stp=True)))
    assert job.state == Job.State.SUCCEEDED, job.message
    assert "<tftp root='/srv/tftp'/>" in saved() and live().stp is True


def test_an_update_of_a_network_that_is_gone_fails_and_drops_its_row(test_host, lab):
    network = lab()
    params = update_params(network, edited(network, stp=True))
    gateway.undefine_network(URI, "vnwt-td1")
    job = run(test_host, "update", **params)
    assert job.state == Job.State.FAILED
    assert "no longer on testdrv" in job.message
    assert not Network.objects.filter(pk=network.pk).exists()


# --- gateway.update_network directly -----------------------------------------------------------


def test_a_failed_modify_is_undone_with_the_element_it_replaced(lab):
    lab()
    renamed = dataclasses.replace(FIXED, name="uno")
    new = lab_spec(ips=[dataclasses.replace(lab_spec().ips[0], dhcp_hosts=[renamed])])
    modify = plan_update(lab_spec(), new).updates
    assert [u.command for u in modify] == ["modify"]
    bad = dataclasses.replace(modify[0], command="add-last", xml=to_host_xml(renamed))
    with pytest.raises(gateway.GatewayError):
        gateway.update_network(URI, "vnwt-td1", [modify[0], bad], live=True)
    assert live().ips[0].dhcp_hosts == [FIXED]


def test_update_network_refuses_what_libvirt_cannot_change_in_place_before_touching_anything(lab):
    lab()
    fine = UpdateStep("ip-dhcp-host", "delete", to_host_xml(FIXED), 0)
    bogus = UpdateStep("bridge", "modify", "<bridge name='vnwttd2'/>")
    with pytest.raises(gateway.GatewayError, match="cannot modify a bridge in place"):
        gateway.update_network(URI, "vnwt-td1", [fine, bogus], live=True)
    assert live().ips[0].dhcp_hosts == [FIXED]


# --- restart and undefine ----------------------------------------------------------------------


def test_restart_restarts_a_running_network_and_skips_a_stopped_one(test_host, lab):
    lab()
    assert run(test_host, "restart").message == "Restarted vnwt-td1."
    assert gateway.network_state(URI, "vnwt-td1").active is True
    gateway.stop_network(URI, "vnwt-td1")
    job = run(test_host, "restart")
    assert (job.state, job.message) == (
        Job.State.SUCCEEDED,
        "vnwt-td1 was not running; nothing to do.",
    )
    assert gateway.network_state(URI, "vnwt-td1").active is False


def test_undefine_stops_and_removes_the_network_and_its_row(test_host, lab):
    network = lab()
    job = run(test_host, "undefine")
    assert (job.state, job.message) == (
        Job.State.SUCCEEDED,
        "Deleted vnwt-td1: stopped and undefined.",
    )
    assert gateway.find_network(URI, "vnwt-td1") is None
    assert not Network.objects.filter(pk=network.pk).exists()
    job.refresh_from_db()
    assert (job.network, job.target) == (None, "vnwt-td1")
    again = run(test_host, "undefine")
    assert again.message == "vnwt-td1 was already gone; nothing to do."


# --- what a job re-reads -----------------------------------------------------------------------


def test_a_job_rereads_only_its_own_network(test_host, lab):
    network = lab(start=False)
    default = Network.objects.get(host=test_host, name="default")
    Network.objects.filter(pk=default.pk).update(bridge="stale")
    Host.objects.filter(pk=test_host.pk).update(hostname="stale")
    run(test_host, "start")
    network.refresh_from_db()
    assert network.active is True
    assert Network.objects.get(pk=default.pk).bridge == "stale"
    assert Host.objects.get(pk=test_host.pk).hostname == "stale"


def test_a_probe_still_reads_the_whole_host(test_host, lab):
    lab()
    Network.objects.filter(host=test_host, name="default").update(bridge="stale")
    run(test_host, "probe", target="")
    assert Network.objects.get(host=test_host, name="default").bridge == "virbr0"


# --- what a refresh records --------------------------------------------------------------------


def test_a_refresh_records_the_demo_hosts_guests_bridges_and_nics(db, settings):
    path = settings.BASE_DIR / "networks" / "demo" / "demo-host.xml"
    demo = Host.objects.create(name="demo", uri=f"test://{path}")
    assert tasks.refresh(demo) is None
    guests = {n.name: n.guests for n in Network.objects.filter(host=demo)}
    assert guests["default"] == [
        {
            "domain": "web01",
            "mac": "52:54:00:de:00:01",
            "running": True,
            "state": "running",
            "device": "testnet0",  # the test driver's name for the guest's tap
            "model": "",
            "attached": "network",
            "plugged": None,  # the test driver lists no network ports
        }
    ]
    assert [g["domain"] for g in guests["storage-isolated"]] == ["build01", "db01"]
    assert guests["uplink-macvtap"] == []
    demo.refresh_from_db()
    assert [(b["name"], b["ports"]) for b in demo.bridges] == [("br0", ["eth3"])]
    assert [i["name"] for i in demo.interfaces] == ["eth0", "eth1", "eth2", "eth3"]


def test_a_refresh_records_the_interfaces_libvirt_reports(test_host):
    assert tasks.refresh(test_host) is None
    test_host.refresh_from_db()
    assert [i["name"] for i in test_host.interfaces] == ["eth1"]
    assert test_host.interfaces[0]["addresses"] == ["192.168.0.5/24"]
    assert (test_host.bridges, test_host.routes) == ([], [])


def info(name: str, xml: str, config_xml: str = "", **fields) -> gateway.NetworkInfo:
    values = {
        "name": name,
        "uuid": str(uuid.UUID(int=7)),
        "active": True,
        "persistent": True,
        "autostart": False,
        "xml": xml,
        "config_xml": config_xml,
    }
    return gateway.NetworkInfo(**(values | fields))


def test_the_saved_definition_is_kept_only_when_it_differs_from_the_running_one(test_host):
    saved = to_xml(lab_spec())
    # A running NAT network reports libvirt's default port range: not a difference.
    running = to_xml(lab_spec(nat_port_start=1024, nat_port_end=65535))
    row = record_network(test_host, "vnwt-td1", info("vnwt-td1", running, saved))
    assert (row.config_xml, row.config_differs, row.saved_xml) == ("", False, running)
    changed = to_xml(lab_spec(stp=True))
    row = record_network(test_host, "vnwt-td1", info("vnwt-td1", running, changed))
    assert (row.config_xml, row.config_differs, row.saved_xml) == (changed, True, changed)


def test_record_network_writes_one_network_and_deletes_it_when_gone(test_host, make_network):
    other = make_network(test_host, "other", bridge="keep")
    guests = (gateway.GuestInfo("vm1", "52:54:00:00:00:01", False),)
    row = record_network(test_host, "vnwt-td1", info("vnwt-td1", to_xml(lab_spec()), guests=guests))
    assert row.guests == [
        {
            "domain": "vm1",
            "mac": "52:54:00:00:00:01",
            "running": False,
            "state": "",
            "device": "",
            "model": "",
            "attached": "network",
            "plugged": None,
        }
    ]
    assert row.last_seen <= timezone.now()
    assert record_network(test_host, "vnwt-td1", None) is None
    assert not Network.objects.filter(name="vnwt-td1").exists()
    assert Network.objects.get(pk=other.pk).bridge == "keep"
