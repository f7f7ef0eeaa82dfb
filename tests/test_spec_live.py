"""Planning a change to a running network: what libvirt can update live, in a safe order, and
what needs a restart, said in words."""

import copy
import shutil
import subprocess

import pytest
from lxml import etree

from networks.spec import (
    DhcpHost,
    DhcpRange,
    DnsHost,
    DnsSrv,
    DnsTxt,
    IpSpec,
    NetworkSpec,
    PortGroup,
    UpdateStep,
    parse,
    plan_update,
    to_xml,
)


def running() -> NetworkSpec:
    return NetworkSpec(
        name="lab",
        mode="nat",
        bridge="virbr42",
        stp=True,
        ips=[
            IpSpec("fd00:42::1", 64, "ipv6", dhcp_hosts=[DhcpHost(ip="fd00:42::5", name="v6")]),
            IpSpec(
                "10.42.0.1",
                24,
                dhcp_ranges=[DhcpRange("10.42.0.100", "10.42.0.149")],
                dhcp_hosts=[
                    DhcpHost("52:54:00:00:00:01", "10.42.0.10", "one"),
                    DhcpHost("52:54:00:00:00:02", "10.42.0.11", "two"),
                ],
            ),
        ],
        portgroups=[PortGroup("eng", default=True)],
    )


def attrs(update: UpdateStep) -> dict:
    return dict(etree.fromstring(update.xml).attrib)


def test_a_no_op_edit_plans_nothing():
    plan = plan_update(running(), running())
    assert (plan.updates, plan.restart_reasons, plan.needs_restart) == ([], [], False)
    assert plan.is_empty


def test_adding_a_static_host_is_one_live_add_on_the_right_ip():
    new = running()
    new.ips[1].dhcp_hosts.append(DhcpHost("52:54:00:00:00:03", "10.42.0.12", "three"))
    plan = plan_update(running(), new)
    assert not plan.needs_restart
    [update] = plan.updates
    assert (update.section, update.command, update.parent_index) == ("ip-dhcp-host", "add-last", 1)
    assert attrs(update) == {"mac": "52:54:00:00:00:03", "name": "three", "ip": "10.42.0.12"}


def test_changing_a_hosts_ip_modifies_it_by_mac():
    new = running()
    new.ips[1].dhcp_hosts[0].ip = "10.42.0.20"
    [update] = plan_update(running(), new).updates
    assert (update.section, update.command) == ("ip-dhcp-host", "modify")
    assert attrs(update) == {"mac": "52:54:00:00:00:01", "name": "one", "ip": "10.42.0.20"}


def test_a_host_taking_over_a_removed_hosts_ip_is_planned_after_the_delete():
    new = running()
    del new.ips[1].dhcp_hosts[1]
    new.ips[1].dhcp_hosts[0].ip = "10.42.0.11"
    new.ips[1].dhcp_hosts.append(DhcpHost("52:54:00:00:00:09", "10.42.0.10", "nine"))
    plan = plan_update(running(), new)
    assert [(u.command, attrs(u)["mac"]) for u in plan.updates] == [
        ("delete", "52:54:00:00:00:02"),
        ("modify", "52:54:00:00:00:01"),
        ("add-last", "52:54:00:00:00:09"),
    ]


def test_removing_a_range_is_a_live_delete():
    new = running()
    new.ips[1].dhcp_ranges = []
    [update] = plan_update(running(), new).updates
    assert (update.section, update.command, update.parent_index) == ("ip-dhcp-range", "delete", 1)
    assert attrs(update) == {"start": "10.42.0.100", "end": "10.42.0.149"}


def test_a_changed_range_is_deleted_and_added_because_libvirt_cannot_modify_ranges():
    new = running()
    new.ips[1].dhcp_ranges = [DhcpRange("10.42.0.100", "10.42.0.199", lease_minutes=30)]
    plan = plan_update(running(), new)
    assert [(u.section, u.command) for u in plan.updates] == [
        ("ip-dhcp-range", "delete"),
        ("ip-dhcp-range", "add-last"),
    ]
    added = etree.fromstring(plan.updates[1].xml)
    assert added.get("end") == "10.42.0.199"
    assert added.find("lease").attrib == {"expiry": "30", "unit": "minutes"}


def test_an_ipv6_host_is_found_by_name_on_the_first_ip():
    new = running()
    new.ips[0].dhcp_hosts[0].ip = "fd00:42::6"
    [update] = plan_update(running(), new).updates
    assert (update.command, update.parent_index) == ("modify", 0)
    assert attrs(update) == {"name": "v6", "ip": "fd00:42::6"}


def test_dns_records_are_deleted_and_added_because_libvirt_cannot_modify_them():
    old = running()
    old.dns_hosts = [DnsHost("10.42.0.10", ["one"])]
    old.dns_txts = [DnsTxt("info", "old")]
    new = copy.deepcopy(old)
    new.dns_hosts[0].hostnames.append("uno")
    new.dns_txts[0].value = "new"
    new.dns_srvs = [DnsSrv("ldap", "tcp", target="one.lab", port=389)]
    plan = plan_update(old, new)
    assert not plan.needs_restart
    assert [(u.section, u.command) for u in plan.updates] == [
        ("dns-host", "delete"),
        ("dns-txt", "delete"),
        ("dns-host", "add-last"),
        ("dns-txt", "add-last"),
        ("dns-srv", "add-last"),
    ]
    assert [h.text for h in etree.fromstring(plan.updates[2].xml)] == ["one", "uno"]


def test_port_groups_are_added_modified_and_deleted_live():
    new = running()
    new.portgroups = [PortGroup("eng"), PortGroup("ops", default=True)]
    plan = plan_update(running(), new)
    assert [(u.section, u.command, attrs(u)) for u in plan.updates] == [
        ("portgroup", "modify", {"name": "eng"}),
        ("portgroup", "add-last", {"name": "ops", "default": "yes"}),
    ]


def test_a_modified_port_group_keeps_what_the_spec_does_not_model_when_given_the_xml():
    base = to_xml(running()).replace(
        '<portgroup name="eng" default="yes"/>',
        '<portgroup name="eng" default="yes"><virtualport type="802.1Qbh"/></portgroup>',
    )
    new = running()
    new.portgroups[0].default = False
    [update] = plan_update(running(), new, base=base).updates
    fragment = etree.fromstring(update.xml)
    assert fragment.get("default") is None
    assert fragment.find("virtualport").get("type") == "802.1Qbh"


def test_macvtap_interfaces_are_added_and_removed_live():
    old = NetworkSpec(name="up", mode="macvtap", forward_interfaces=["eth1", "eth2"])
    new = NetworkSpec(name="up", mode="macvtap", forward_interfaces=["eth2", "eth3"])
    plan = plan_update(old, new)
    assert [(u.section, u.command, u.xml) for u in plan.updates] == [
        ("forward-interface", "delete", '<interface dev="eth1"/>'),
        ("forward-interface", "add-last", '<interface dev="eth3"/>'),
    ]
    assert not plan.needs_restart


def test_a_bridge_name_change_needs_a_restart():
    new = running()
    new.bridge = "virbr43"
    plan = plan_update(running(), new)
    assert (plan.updates, plan.needs_restart, plan.restart_reasons) == (
        [],
        True,
        ["the bridge name"],
    )


def test_every_restart_reason_is_named_once_in_words():
    new = running()
    new.stp = False
    new.mtu = 9000
    new.nat_port_start, new.nat_port_end = 1024, 65535
    new.ips[1] = IpSpec("10.43.0.1", 24)
    new.dnsmasq_options = ["no-ping"]
    plan = plan_update(running(), new)
    assert plan.restart_reasons == [
        "the NAT port range",
        "the bridge's STP setting",
        "the MTU",
        "the dnsmasq options",
        "the IPv4 address",
    ]
    assert plan.updates == []  # the old IPv4 address's DHCP is gone with the restart


def test_live_and_restart_changes_are_both_planned():
    new = running()
    new.mode = "route"
    new.portgroups = []
    plan = plan_update(running(), new)
    assert plan.restart_reasons == ["the forward mode"]
    assert [(u.section, u.command) for u in plan.updates] == [("portgroup", "delete")]


@pytest.mark.skipif(shutil.which("virsh") is None, reason="virsh is not installed")
def test_libvirts_test_driver_applies_the_plan_and_ends_at_the_new_spec(tmp_path):
    # libvirt's own parser and update code, in a throw-away test:///default inside one virsh.
    old = running()
    new = copy.deepcopy(old)
    new.delay = 0  # libvirt fills in the default; the spec keeps what it was given
    del new.ips[1].dhcp_hosts[1]
    new.ips[1].dhcp_hosts[0].ip = "10.42.0.11"
    new.ips[1].dhcp_hosts.append(DhcpHost("52:54:00:00:00:09", "10.42.0.10", "nine"))
    new.ips[1].dhcp_ranges = [DhcpRange("10.42.0.100", "10.42.0.199", lease_minutes=30)]
    new.ips[0].dhcp_hosts[0].ip = "fd00:42::6"
    new.dns_txts = [DnsTxt("info", "x<&>")]
    new.dns_srvs = [DnsSrv("ldap", "tcp", target="one.lab", port=389)]
    new.portgroups = [PortGroup("eng"), PortGroup("ops", default=True)]
    (tmp_path / "old.xml").write_text(to_xml(old))
    commands = [f"net-define {tmp_path / 'old.xml'}", "net-start lab"]
    for index, update in enumerate(plan_update(old, new).updates):
        fragment = tmp_path / f"update{index}.xml"
        fragment.write_text(update.xml)
        commands.append(
            f"net-update lab {update.command} {update.section} {fragment} "
            f"--parent-index {update.parent_index} --live --config"
        )
    commands.append("net-dumpxml lab")
    result = subprocess.run(
        ["virsh", "-c", "test:///default", "; ".join(commands)],
        capture_output=True,
        text=True,
        check=True,
    )
    final = parse(result.stdout[result.stdout.index("<network") :])
    final.uuid = None
    assert final == new
