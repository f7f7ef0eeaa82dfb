"""Validation: one test per rule, keyed by the form field, messages that name the value; hostile
input gets errors, never exceptions. Also the defaults for a new network."""

import dataclasses
import ipaddress

import pytest

from networks.spec import (
    Bandwidth,
    DhcpHost,
    DhcpRange,
    DnsForwarder,
    DnsHost,
    DnsSrv,
    DnsTxt,
    HostContext,
    IpSpec,
    NetworkSpec,
    PortGroup,
    RouteSpec,
    default_spec,
    next_free_subnet,
    parse,
    to_xml,
    validate,
)

net = ipaddress.ip_network


def good() -> NetworkSpec:
    return NetworkSpec(
        name="lab",
        mode="nat",
        bridge="virbr42",
        stp=True,
        ips=[
            IpSpec(
                "10.42.0.1",
                24,
                dhcp_ranges=[DhcpRange("10.42.0.100", "10.42.0.199", 60)],
                dhcp_hosts=[DhcpHost("52:54:00:00:00:01", "10.42.0.10", "build01")],
            ),
            IpSpec(
                "fd00:42::1", 64, "ipv6", dhcp_ranges=[DhcpRange("fd00:42::100", "fd00:42::1ff")]
            ),
        ],
    )


def errors(spec: NetworkSpec, context: HostContext | None = None, original=None) -> dict:
    return validate(spec, context or HostContext(), original).errors


def only_error(spec: NetworkSpec, key: str, context: HostContext | None = None) -> str:
    found = errors(spec, context)
    assert list(found) == [key], found
    return " ".join(found[key])


def test_a_good_nat_network_has_no_problems():
    problems = validate(good(), HostContext())
    assert (problems.errors, problems.warnings, problems.ok) == ({}, {}, True)


# --- name -------------------------------------------------------------------------------------


def test_a_name_is_required():
    assert "required" in only_error(dataclasses.replace(good(), name=""), "name")


def test_a_name_longer_than_50_characters_is_refused():
    assert "at most 50" in only_error(dataclasses.replace(good(), name="n" * 51), "name")


@pytest.mark.parametrize("name", ["a/b", "-lab", ".lab", "two words", "lab;ls", "läb"])
def test_a_name_with_characters_libvirt_or_a_shell_dislikes_is_refused(name):
    assert "not a valid network name" in only_error(dataclasses.replace(good(), name=name), "name")


def test_a_name_already_used_on_the_host_is_refused():
    message = only_error(good(), "name", HostContext(network_names=["default", "lab"]))
    assert "already a network called 'lab'" in message


def test_an_edited_network_cannot_be_renamed():
    renamed = dataclasses.replace(good(), name="lab2")
    assert "cannot be renamed" in " ".join(errors(renamed, original=good())["name"])


def test_an_edited_network_keeps_its_name_which_the_host_of_course_has():
    context = HostContext(network_names=["lab"], subnets_here=[("lab", net("10.42.0.0/24"))])
    assert errors(good(), context, original=good()) == {}


# --- mode -------------------------------------------------------------------------------------


def test_an_unknown_mode_is_refused():
    assert "'teleport' is not a mode" in only_error(
        dataclasses.replace(good(), mode="teleport"), "mode"
    )


def test_an_unknown_macvtap_mode_is_refused():
    spec = NetworkSpec(name="m", mode="macvtap", macvtap_mode="hub", forward_interfaces=["eth1"])
    assert "not a macvtap mode" in only_error(spec, "macvtap_mode")


# --- bridge, mtu, mac -------------------------------------------------------------------------


def test_a_bridge_name_longer_than_15_characters_is_refused():
    spec = dataclasses.replace(good(), bridge="virbr0123456789x")
    assert "longer than 15" in only_error(spec, "bridge")


@pytest.mark.parametrize("bridge", ["vir br0", "virbr:0", "vir/br0", "virbr\t0"])
def test_a_bridge_name_linux_would_refuse_is_refused(bridge):
    assert only_error(dataclasses.replace(good(), bridge=bridge), "bridge")


def test_a_bridge_used_by_another_network_is_refused():
    context = HostContext(bridges_in_use={"virbr42": "network other"})
    assert "already used by network other" in only_error(good(), "bridge", context)


def test_a_bridge_that_is_already_a_host_interface_is_refused():
    context = HostContext(host_interfaces=["eth0", "virbr42"])
    assert "already an interface" in only_error(good(), "bridge", context)


@pytest.mark.parametrize(
    ("bridge", "words"),
    [
        ("lo", "lo is the host's loopback interface"),
        ("all", "Linux keeps the name all"),
        ("default", "Linux keeps the name default"),
        ("bonding_masters", "bonding driver"),
    ],
)
def test_a_bridge_named_as_every_linux_host_has_is_refused_though_the_inventory_omits_it(
    bridge, words
):
    context = HostContext(host_interfaces=["eth0"], host_bridges=["br0"])
    assert words in only_error(dataclasses.replace(good(), bridge=bridge), "bridge", context)
    assert words in only_error(dataclasses.replace(good(), bridge=bridge), "bridge")


def test_an_edited_network_keeps_its_own_bridge():
    context = HostContext(bridges_in_use={"virbr42": "network lab"}, host_interfaces=["virbr42"])
    assert errors(good(), context, original=good()) == {}


def test_a_host_bridge_network_needs_a_bridge_the_host_has():
    spec = NetworkSpec(name="lan", mode="bridge", bridge="br9")
    assert "no bridge 'br9' here (br0)" in only_error(
        spec, "bridge", HostContext(host_bridges=["br0"])
    )
    assert "required" in only_error(dataclasses.replace(spec, bridge=""), "bridge")


def test_a_host_bridge_is_not_checked_when_the_hosts_bridges_are_unknown():
    assert errors(NetworkSpec(name="lan", mode="bridge", bridge="br9")) == {}


def test_a_host_bridge_network_cannot_set_stp():
    spec = NetworkSpec(name="lan", mode="bridge", bridge="br0", stp=True)
    assert only_error(spec, "stp")


@pytest.mark.parametrize("mtu", [67, 65536, -1, "9000", True])
def test_an_mtu_outside_68_to_65535_is_refused(mtu):
    assert only_error(dataclasses.replace(good(), mtu=mtu), "mtu")


def test_an_mtu_on_a_macvtap_network_is_refused():
    spec = NetworkSpec(name="m", mode="macvtap", forward_interfaces=["eth1"], mtu=9000)
    assert only_error(spec, "mtu")


def test_a_multicast_mac_is_refused():
    assert "multicast" in only_error(dataclasses.replace(good(), mac="01:00:5e:00:00:01"), "mac")


# --- addresses --------------------------------------------------------------------------------


def with_ip(address: str = "10.42.0.1", prefix=24, **changes) -> NetworkSpec:
    return dataclasses.replace(good(), ips=[IpSpec(address, prefix, **changes)])


@pytest.mark.parametrize("address", ["10.42.0.300", "fe80::1%eth0", "hello", "10.42.0.1/24"])
def test_an_invalid_address_is_refused(address):
    assert "not a valid IPv4 address" in only_error(with_ip(address), "ipv4.address")


def test_an_ipv6_address_in_an_ipv4_field_is_refused():
    assert only_error(with_ip("fd00::1"), "ipv4.address")


def test_a_prefix_out_of_range_is_refused():
    assert "prefix 33 is out of range" in only_error(with_ip(prefix=33), "ipv4.prefix")


def test_the_network_address_cannot_be_the_hosts_address():
    message = only_error(with_ip("10.42.0.0"), "ipv4.address")
    assert "10.42.0.0 is the network address of 10.42.0.0/24" in message


def test_the_broadcast_address_cannot_be_the_hosts_address():
    assert "broadcast" in only_error(with_ip("10.42.0.255"), "ipv4.address")


def test_a_slash_31_may_use_either_address():
    assert errors(with_ip("10.42.0.0", 31)) == {}


def test_a_second_ipv4_address_has_its_own_field_path():
    spec = good()
    spec.ips.append(IpSpec("10.43.0.0", 24))
    assert list(errors(spec)) == ["ipv4.1.address"]


# --- DHCP ranges ------------------------------------------------------------------------------


def with_ranges(*ranges: DhcpRange) -> NetworkSpec:
    return with_ip(dhcp_ranges=list(ranges))


def test_a_range_outside_its_subnet_is_refused():
    message = only_error(with_ranges(DhcpRange("10.43.0.10", "10.43.0.20")), "ipv4.dhcp_ranges.0")
    assert "10.43.0.10 is outside 10.42.0.0/24" in message


def test_a_range_that_ends_before_it_starts_is_refused():
    spec = with_ranges(DhcpRange("10.42.0.50", "10.42.0.20"))
    assert "ends (10.42.0.20) before it starts" in only_error(spec, "ipv4.dhcp_ranges.0")


def test_a_range_containing_the_gateway_is_refused():
    spec = with_ranges(DhcpRange("10.42.0.1", "10.42.0.20"))
    assert "host's own address 10.42.0.1" in only_error(spec, "ipv4.dhcp_ranges.0")


def test_overlapping_ranges_are_refused():
    spec = with_ranges(DhcpRange("10.42.0.10", "10.42.0.20"), DhcpRange("10.42.0.20", "10.42.0.30"))
    assert "overlaps 10.42.0.10-10.42.0.20" in only_error(spec, "ipv4.dhcp_ranges.1")


def test_a_range_reaching_the_broadcast_address_is_refused():
    spec = with_ranges(DhcpRange("10.42.0.10", "10.42.0.255"))
    assert "broadcast" in only_error(spec, "ipv4.dhcp_ranges.0")


@pytest.mark.parametrize("lease", [1, -5, "60"])
def test_a_lease_shorter_than_libvirts_two_minutes_or_not_a_number_is_refused(lease):
    assert only_error(
        with_ranges(DhcpRange("10.42.0.10", "10.42.0.20", lease)), "ipv4.dhcp_ranges.0"
    )


def test_a_lease_of_zero_means_forever_and_is_fine():
    assert errors(with_ranges(DhcpRange("10.42.0.10", "10.42.0.20", 0))) == {}


# --- DHCP static hosts ------------------------------------------------------------------------


def with_hosts(*hosts: DhcpHost, family: str = "ipv4") -> NetworkSpec:
    if family == "ipv6":
        return dataclasses.replace(
            good(), ips=[IpSpec("fd00:42::1", 64, "ipv6", dhcp_hosts=list(hosts))]
        )
    return with_ip(dhcp_hosts=list(hosts))


def test_a_static_host_outside_the_subnet_is_refused():
    spec = with_hosts(DhcpHost("52:54:00:00:00:01", "10.99.0.5", "a"))
    assert "10.99.0.5 is outside" in only_error(spec, "ipv4.dhcp_hosts.0")


def test_a_static_host_on_the_gateway_address_is_refused():
    spec = with_hosts(DhcpHost("52:54:00:00:00:01", "10.42.0.1", "a"))
    assert "host's own address" in only_error(spec, "ipv4.dhcp_hosts.0")


@pytest.mark.parametrize(
    ("second", "kind"),
    [
        (DhcpHost("52:54:00:00:00:01", "10.42.0.6", "b"), "MAC"),
        (DhcpHost("52:54:00:00:00:02", "10.42.0.6", "a"), "name"),
        (DhcpHost("52:54:00:00:00:02", "10.42.0.5", "b"), "IP"),
    ],
)
def test_two_static_hosts_may_not_share_a_mac_a_name_or_an_ip(second, kind):
    spec = with_hosts(DhcpHost("52:54:00:00:00:01", "10.42.0.5", "a"), second)
    assert f"{kind} " in only_error(spec, "ipv4.dhcp_hosts.1")


def test_the_same_mac_in_other_letters_is_the_same_mac():
    spec = with_hosts(
        DhcpHost("52:54:00:00:00:aa", "10.42.0.5"), DhcpHost("52:54:00:00:00:AA", "10.42.0.6")
    )
    assert "MAC" in only_error(spec, "ipv4.dhcp_hosts.1")


@pytest.mark.parametrize("mac", ["52:54:00:00:00", "52-54-00-00-00-01", "01:54:00:00:00:01"])
def test_an_invalid_or_multicast_host_mac_is_refused(mac):
    assert only_error(with_hosts(DhcpHost(mac, "10.42.0.5")), "ipv4.dhcp_hosts.0")


@pytest.mark.parametrize("name", ["build_01", "-build", "a..b", "büld", "x" * 64])
def test_a_host_name_that_is_no_hostname_is_refused(name):
    spec = with_hosts(DhcpHost("52:54:00:00:00:01", "10.42.0.5", name))
    assert only_error(spec, "ipv4.dhcp_hosts.0")


def test_an_ipv4_static_host_needs_a_mac_or_a_name():
    assert "MAC address or a name" in only_error(
        with_hosts(DhcpHost(ip="10.42.0.5")), "ipv4.dhcp_hosts.0"
    )


def test_an_ipv6_static_host_may_not_use_a_mac():
    spec = with_hosts(DhcpHost("52:54:00:00:00:01", "fd00:42::5", "a"), family="ipv6")
    assert "not by MAC" in only_error(spec, "ipv6.dhcp_hosts.0")


def test_an_ipv6_static_host_with_a_name_or_duid_is_fine():
    spec = with_hosts(
        DhcpHost(ip="fd00:42::5", name="a"),
        DhcpHost(ip="fd00:42::6", id="0:3:0:1:52:54:0:0:0:2"),
        family="ipv6",
    )
    assert errors(spec) == {}


def test_dhcpv6_needs_a_slash_64():
    spec = dataclasses.replace(
        good(),
        ips=[
            IpSpec("fd00:42::1", 48, "ipv6", dhcp_ranges=[DhcpRange("fd00:42::10", "fd00:42::20")])
        ],
    )
    assert "/64" in only_error(spec, "ipv6.prefix")


def test_only_one_ipv4_address_may_have_dhcp():
    spec = good()
    spec.ips.append(IpSpec("10.43.0.1", 24, dhcp_ranges=[DhcpRange("10.43.0.10", "10.43.0.20")]))
    assert "only one IPv4 address" in only_error(spec, "ipv4.1.dhcp_ranges")


# --- what each mode takes ---------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["bridge", "macvtap"])
def test_modes_without_their_own_addresses_refuse_ips_dhcp_dns_and_a_domain(mode):
    spec = dataclasses.replace(
        good(),
        mode=mode,
        bridge="br0" if mode == "bridge" else "",
        stp=None,
        forward_interfaces=["eth1"] if mode == "macvtap" else [],
        domain_name="lab.example",
        dns_hosts=[DnsHost("10.42.0.5", ["a"])],
        routes=[RouteSpec("10.50.0.0", 24, "10.42.0.2")],
    )
    assert set(errors(spec)) == {
        "ipv4.address",
        "ipv6.address",
        "domain_name",
        "dns_hosts",
        "routes.0",
    }


def test_a_macvtap_network_needs_a_host_interface():
    spec = NetworkSpec(name="m", mode="macvtap")
    assert "at least one host NIC" in only_error(spec, "forward_interfaces")


def test_a_macvtap_interface_the_host_does_not_have_is_refused():
    spec = NetworkSpec(name="m", mode="macvtap", forward_interfaces=["eth0", "eth7"])
    context = HostContext(host_interfaces=["eth0", "eth1"])
    assert "no interface 'eth7'" in only_error(spec, "forward_interfaces.1", context)


def test_macvtap_interfaces_are_not_checked_when_the_hosts_nics_are_unknown():
    assert errors(NetworkSpec(name="m", mode="macvtap", forward_interfaces=["eth7"])) == {}


def test_a_macvtap_interface_listed_twice_is_refused():
    spec = NetworkSpec(name="m", mode="macvtap", forward_interfaces=["eth1", "eth1"])
    assert "listed twice" in only_error(spec, "forward_interfaces.1")


@pytest.mark.parametrize("mode", ["nat", "route", "open"])
def test_nat_routed_and_open_networks_need_an_address(mode):
    spec = NetworkSpec(name="n", mode=mode, bridge="virbr9")
    assert "needs an IP address" in only_error(spec, "ipv4.address")


def test_an_isolated_network_without_addresses_is_fine():
    assert errors(NetworkSpec(name="n", mode="isolated")) == {}


def test_an_outbound_device_only_fits_nat_and_routed_networks():
    spec = dataclasses.replace(good(), mode="open", forward_dev="eth0")
    assert only_error(spec, "forward_dev")


def test_an_outbound_device_the_host_does_not_have_is_refused():
    spec = dataclasses.replace(good(), forward_dev="eth9")
    assert only_error(spec, "forward_dev", HostContext(host_interfaces=["eth0"]))


def test_forward_interfaces_on_a_nat_network_are_refused():
    assert only_error(
        dataclasses.replace(good(), forward_interfaces=["eth0"]), "forward_interfaces"
    )


@pytest.mark.parametrize(
    ("start", "end", "key"),
    [(0, 100, "nat_port_start"), (1024, 70000, "nat_port_end"), (2000, 1000, "nat_port_end")],
)
def test_a_nat_port_range_is_1_to_65535_and_in_order(start, end, key):
    spec = dataclasses.replace(good(), nat_port_start=start, nat_port_end=end)
    assert only_error(spec, key)


def test_nat_addresses_are_ipv4_and_in_order():
    spec = dataclasses.replace(good(), nat_address_start="1.2.3.10", nat_address_end="1.2.3.4")
    assert "ends (1.2.3.4) before it starts" in only_error(spec, "nat_address_end")
    spec = dataclasses.replace(good(), nat_address_start="fd00::1", nat_address_end="")
    assert set(errors(spec)) == {"nat_address_start", "nat_address_end"}


def test_nat_options_on_a_routed_network_are_refused():
    spec = dataclasses.replace(good(), mode="route", nat_port_start=1024, nat_port_end=2048)
    assert only_error(spec, "nat_address_start")


# --- routes -----------------------------------------------------------------------------------


def with_route(route: RouteSpec) -> NetworkSpec:
    return dataclasses.replace(good(), routes=[route])


def test_a_route_through_a_gateway_on_the_networks_own_subnet_is_fine():
    assert errors(with_route(RouteSpec("10.50.0.0", 16, "10.42.0.2", metric=5))) == {}


def test_a_route_whose_gateway_is_outside_the_networks_subnets_is_refused():
    spec = with_route(RouteSpec("10.50.0.0", 16, "10.99.0.2"))
    assert "gateway 10.99.0.2 is not inside" in only_error(spec, "routes.0")


def test_a_route_with_host_bits_set_is_refused():
    spec = with_route(RouteSpec("10.50.0.7", 16, "10.42.0.2"))
    assert "did you mean 10.50.0.0/16" in only_error(spec, "routes.0")


def test_a_route_with_metric_zero_is_refused():
    assert only_error(with_route(RouteSpec("10.50.0.0", 16, "10.42.0.2", metric=0)), "routes.0")


def test_a_route_mixing_families_is_refused():
    assert only_error(with_route(RouteSpec("10.50.0.0", 16, "fd00:42::2")), "routes.0")


# --- bandwidth and port groups ----------------------------------------------------------------


@pytest.mark.parametrize("value", [0, -1, 2**32, "fast"])
def test_bandwidth_values_are_positive_whole_numbers(value):
    assert only_error(dataclasses.replace(good(), inbound=Bandwidth(value)), "inbound")


def test_bandwidth_needs_an_average():
    spec = dataclasses.replace(good(), outbound=Bandwidth(peak=1000))
    assert "average" in only_error(spec, "outbound")


def test_network_wide_bandwidth_on_macvtap_is_refused():
    spec = NetworkSpec(
        name="m", mode="macvtap", forward_interfaces=["eth1"], inbound=Bandwidth(1000)
    )
    assert only_error(spec, "inbound")


def test_two_port_groups_with_the_same_name_are_refused():
    spec = dataclasses.replace(good(), portgroups=[PortGroup("eng"), PortGroup("eng")])
    assert "already a port group called eng" in only_error(spec, "portgroups.1")


def test_only_one_port_group_may_be_the_default():
    spec = dataclasses.replace(
        good(), portgroups=[PortGroup("a", default=True), PortGroup("b", default=True)]
    )
    assert "a already is" in only_error(spec, "portgroups.1")


def host_bridge_with(group: PortGroup) -> NetworkSpec:
    return NetworkSpec(name="ovs", mode="bridge", bridge="ovsbr0", portgroups=[group])


def test_a_vlan_tag_above_4095_is_refused():
    assert "4096" in only_error(host_bridge_with(PortGroup("v", vlan_tags=[4096])), "portgroups.0")


def test_several_vlan_tags_need_trunk_mode():
    spec = host_bridge_with(PortGroup("v", vlan_tags=[4, 5]))
    assert "trunk" in only_error(spec, "portgroups.0")
    assert errors(host_bridge_with(PortGroup("v", vlan_tags=[4, 5], trunk=True))) == {}


def test_vlan_tags_on_a_host_bridge_warn_that_it_must_be_open_vswitch():
    problems = validate(host_bridge_with(PortGroup("v", vlan_tags=[42])), HostContext())
    assert "Open vSwitch" in problems.warnings["portgroups.0"][0]


def test_vlan_tags_on_a_nat_network_are_refused():
    spec = dataclasses.replace(good(), portgroups=[PortGroup("v", vlan_tags=[42])])
    assert "libvirt refuses them on nat" in only_error(spec, "portgroups.0")


def test_port_group_bandwidth_is_checked_too():
    spec = dataclasses.replace(good(), portgroups=[PortGroup("q", inbound=Bandwidth(0))])
    assert only_error(spec, "portgroups.0")


# --- DNS --------------------------------------------------------------------------------------


def test_a_dns_host_needs_a_valid_ip_and_hostnames():
    spec = dataclasses.replace(good(), dns_hosts=[DnsHost("10.42.0.300", [])])
    assert len(errors(spec)["dns_hosts.0"]) == 2
    spec = dataclasses.replace(good(), dns_hosts=[DnsHost("10.42.0.5", ["ok", "not ok"])])
    assert "'not ok'" in only_error(spec, "dns_hosts.0")


def test_a_forwarder_needs_a_valid_address_or_domain():
    for forwarder in (DnsForwarder(), DnsForwarder("8.8.8"), DnsForwarder(domain="bad domain")):
        assert only_error(
            dataclasses.replace(good(), dns_forwarders=[forwarder]), "dns_forwarders.0"
        )
    fine = [DnsForwarder("8.8.8.8"), DnsForwarder(domain="corp.example")]
    assert errors(dataclasses.replace(good(), dns_forwarders=fine)) == {}


def test_a_txt_value_with_markup_is_fine_and_kept_exactly():
    spec = dataclasses.replace(good(), dns_txts=[DnsTxt("info", "<script>&'")])
    assert errors(spec) == {}
    assert parse(to_xml(spec)).dns_txts == spec.dns_txts


def test_a_txt_value_with_a_double_quote_is_refused_because_it_stops_dnsmasq():
    spec = dataclasses.replace(good(), dns_txts=[DnsTxt("info", 'say "hi')])
    assert "stops the network's dnsmasq" in only_error(spec, "dns_txts.0")


def test_a_txt_value_with_a_comment_sign_after_a_space_is_a_warning_naming_what_guests_get():
    problems = validate(
        dataclasses.replace(good(), dns_txts=[DnsTxt("t", "red #1")]), HostContext()
    )
    assert problems.errors == {}
    assert problems.warnings == {
        "dns_txts.0": ["dnsmasq reads ' #' as the start of a comment: guests get only 'red'"]
    }


def test_a_txt_name_with_a_space_is_refused():
    spec = dataclasses.replace(good(), dns_txts=[DnsTxt("my info", "x")])
    assert only_error(spec, "dns_txts.0")


@pytest.mark.parametrize(
    "srv",
    [
        DnsSrv("a.b", "tcp"),
        DnsSrv("ldap", "sctp"),
        DnsSrv("ldap", "tcp", port=389),
        DnsSrv("ldap", "tcp", target="ldap server", port=389),
        DnsSrv("ldap", "tcp", target="ldap", port=70000),
    ],
)
def test_an_srv_record_libvirt_would_refuse_is_refused(srv):
    assert only_error(dataclasses.replace(good(), dns_srvs=[srv]), "dns_srvs.0")


def test_a_complete_srv_record_is_fine():
    srv = DnsSrv("ldap", "tcp", "lab.example", "ldap.lab.example", 389, 10, 10)
    assert errors(dataclasses.replace(good(), dns_srvs=[srv])) == {}


def test_dns_switched_off_with_records_is_refused():
    spec = dataclasses.replace(good(), dns_enabled=False, dns_txts=[DnsTxt("a", "b")])
    assert only_error(spec, "dns_enabled")


def test_a_local_only_domain_needs_a_domain_name():
    assert only_error(dataclasses.replace(good(), domain_local_only=True), "domain_local_only")


def test_a_domain_name_with_bad_characters_is_refused():
    assert only_error(dataclasses.replace(good(), domain_name="lab example"), "domain_name")


# --- overlaps ---------------------------------------------------------------------------------


def test_a_subnet_overlapping_another_network_on_this_host_is_an_error():
    context = HostContext(subnets_here=[("default", net("10.42.0.0/16"))])
    message = only_error(good(), "ipv4.address", context)
    assert "10.42.0.0/24 overlaps 10.42.0.0/16 of network default on this host" in message


def test_a_subnet_overlapping_a_network_on_another_host_is_a_warning():
    context = HostContext(subnets_elsewhere=[("kvm2", "lab", net("10.42.0.0/24"))])
    problems = validate(good(), context)
    assert problems.errors == {}
    assert problems.warnings["ipv4.address"] == [
        "10.42.0.0/24 overlaps 10.42.0.0/24 of network lab on host kvm2"
    ]


def test_a_subnet_overlapping_a_host_route_is_a_warning():
    problems = validate(good(), HostContext(routes=[net("10.0.0.0/8")]))
    assert problems.warnings == {
        "ipv4.address": ["10.42.0.0/24 overlaps the host's route to 10.0.0.0/8"]
    }


def test_the_default_route_is_no_overlap():
    assert validate(good(), HostContext(routes=[net("0.0.0.0/0"), net("::/0")])).warnings == {}


def test_an_edited_network_does_not_overlap_itself():
    context = HostContext(subnets_here=[("lab", net("10.42.0.0/24"))])
    assert errors(good(), context, original=good()) == {}


def test_two_subnets_of_one_network_may_not_overlap():
    spec = good()
    spec.ips.append(IpSpec("10.42.0.129", 25))
    assert "overlaps 10.42.0.0/24, another subnet" in only_error(spec, "ipv4.1.address")


# --- dnsmasq options --------------------------------------------------------------------------


@pytest.mark.parametrize("option", ["dhcp-script=/bin/sh", "conf-file=/etc/shadow", " user=root"])
def test_a_dnsmasq_option_that_runs_programs_or_reads_host_files_is_refused(option):
    spec = dataclasses.replace(good(), dnsmasq_options=[option])
    assert "not allowed" in only_error(spec, "dnsmasq_options.0")


def test_a_dnsmasq_option_with_a_newline_cannot_smuggle_in_a_second_option():
    spec = dataclasses.replace(good(), dnsmasq_options=["no-ping\ndhcp-script=/bin/sh"])
    assert "control character" in only_error(spec, "dnsmasq_options.0")


def test_ordinary_dnsmasq_options_are_fine():
    assert errors(dataclasses.replace(good(), dnsmasq_options=["no-ping", "log-dhcp"])) == {}


# --- hostile input ----------------------------------------------------------------------------

HOSTILE = [
    "<script>alert(1)</script>",
    "'; rm -rf / #",
    "$(reboot)",
    "a\x00b",
    "\x1b[2J",
    "x" * 10_000,
]
TEXT_FIELDS = {
    "name": lambda s, v: setattr(s, "name", v),
    "bridge": lambda s, v: setattr(s, "bridge", v),
    "forward_dev": lambda s, v: setattr(s, "forward_dev", v),
    "mac": lambda s, v: setattr(s, "mac", v),
    "domain_name": lambda s, v: setattr(s, "domain_name", v),
    "ipv4.address": lambda s, v: setattr(s.ips[0], "address", v),
    "ipv4.dhcp_ranges.0": lambda s, v: setattr(s.ips[0].dhcp_ranges[0], "start", v),
    "ipv4.dhcp_hosts.0": lambda s, v: setattr(s.ips[0].dhcp_hosts[0], "name", v),
    "dns_hosts.0": lambda s, v: s.dns_hosts.append(DnsHost("10.42.0.5", [v])),
    "dns_txts.0": lambda s, v: s.dns_txts.append(DnsTxt(v, "value")),
    "dns_srvs.0": lambda s, v: s.dns_srvs.append(DnsSrv(v, "tcp")),
    "dns_forwarders.0": lambda s, v: s.dns_forwarders.append(DnsForwarder(v)),
    "routes.0": lambda s, v: s.routes.append(RouteSpec("10.50.0.0", 16, v)),
    "portgroups.0": lambda s, v: s.portgroups.append(PortGroup(v)),
    "dnsmasq_options.0": lambda s, v: s.dnsmasq_options.append(v),
}


@pytest.mark.parametrize(
    "value", HOSTILE, ids=["markup", "shell", "subshell", "nul", "esc", "10kB"]
)
@pytest.mark.parametrize("field", TEXT_FIELDS)
def test_hostile_text_in_any_field_is_an_error_on_that_field_never_an_exception(field, value):
    spec = good()
    TEXT_FIELDS[field](spec, value)
    found = errors(spec)
    assert list(found) == [field], found
    assert all(len(message) < 200 for message in found[field])  # 10 kB is not echoed back


def test_hostile_text_in_a_txt_value_is_stored_exactly_when_printable():
    for value in HOSTILE[:3]:
        spec = dataclasses.replace(good(), dns_txts=[DnsTxt("t", value)])
        assert errors(spec) == {}
        assert parse(to_xml(spec)).dns_txts[0].value == value
    for value in HOSTILE[3:]:
        assert only_error(dataclasses.replace(good(), dns_txts=[DnsTxt("t", value)]), "dns_txts.0")


def test_wrong_types_give_errors_not_exceptions():
    spec = dataclasses.replace(good(), name=None, bridge=7, mtu="big", stp="yes")
    spec.ips[0].prefix = "24"
    found = errors(spec)
    assert set(found) == {"name", "bridge", "mtu", "stp", "ipv4.prefix"}


# --- defaults for a new network ---------------------------------------------------------------


def test_the_next_free_subnet_starts_at_192_168_100():
    assert next_free_subnet(HostContext()) == net("192.168.100.0/24")


def test_the_next_free_subnet_skips_what_any_host_uses_and_host_routes():
    context = HostContext(
        subnets_here=[("a", net("192.168.100.0/24"))],
        subnets_elsewhere=[("kvm2", "b", net("192.168.101.0/24"))],
        routes=[net("192.168.102.0/23"), net("0.0.0.0/0")],
    )
    assert next_free_subnet(context) == net("192.168.104.0/24")


def test_the_next_free_subnet_falls_back_to_10_x_when_192_168_is_full():
    context = HostContext(subnets_here=[("big", net("192.168.0.0/16"))])
    assert next_free_subnet(context) == net("10.0.0.0/24")


def test_no_free_subnet_in_a_full_pool_is_none():
    context = HostContext(routes=[net("10.213.0.0/16")])
    assert next_free_subnet(context, pool=net("10.213.0.0/16")) is None
    assert next_free_subnet(HostContext(), pool=net("10.213.0.0/16"), prefix=26) == net(
        "10.213.0.0/26"
    )


def test_the_default_spec_is_nat_on_the_next_free_subnet_with_a_free_bridge():
    context = HostContext(
        subnets_here=[("default", net("192.168.100.0/24"))],
        bridges_in_use={"virbr0": "network default"},
        host_interfaces=["eth0", "virbr1"],
    )
    spec = default_spec(context)
    assert (spec.mode, spec.bridge, spec.stp) == ("nat", "virbr2", True)
    assert spec.ips == [
        IpSpec("192.168.101.1", 24, dhcp_ranges=[DhcpRange("192.168.101.2", "192.168.101.254")])
    ]


def test_the_default_spec_needs_only_a_name_to_be_valid():
    context = HostContext(network_names=["default"], bridges_in_use={"virbr0": "network default"})
    spec = default_spec(context)
    assert list(errors(spec, context)) == ["name"]
    spec.name = "new"
    assert errors(spec, context) == {}
