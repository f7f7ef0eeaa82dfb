"""Generated specs of every mode: written XML passes libvirt's schema and reads back the same,
also when applied onto another network's XML; validation never raises, whatever it is fed."""

import dataclasses
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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
    parse,
    schema_errors,
    to_xml,
    validate,
)

SCHEMA = Path("/usr/share/libvirt/schemas/network.rng")
pytestmark = pytest.mark.skipif(not SCHEMA.exists(), reason=f"{SCHEMA} is not installed")
FAST = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)

# Text XML can hold, markup and shell characters included: lxml must escape them. Drawn from a
# fixed alphabet: hypothesis's regex and unicode strategies make a run ten times slower.
text = st.text("aZ09 .-_<>&\"';$`/é€😀", min_size=1, max_size=12)
label = st.text("abcxyz0189", min_size=1, max_size=6)
iface = label.map(lambda s: "e" + s)
dns_name = st.lists(label, min_size=1, max_size=3).map(".".join)
small = st.integers(0, 65535)
speed = st.integers(1, 2**32 - 1)
mac = st.lists(st.integers(0, 255), min_size=6, max_size=6).map(
    lambda b: ":".join(f"{x:02x}" for x in [b[0] & 0xFE, *b[1:]])
)
duid = st.lists(st.integers(0, 255), min_size=6, max_size=6).map(
    lambda b: "0:3:0:1:" + ":".join(f"{x:02x}" for x in b)
)
ipv4 = st.ip_addresses(v=4).map(str)
ipv6 = st.ip_addresses(v=6).map(str)
bandwidth = st.none() | st.builds(
    Bandwidth, st.none() | speed, st.none() | speed, st.none() | speed
)


# Strategies are built once, at import: building them inside each draw costs most of the run.
def _ips(family: str) -> st.SearchStrategy[IpSpec]:
    ip = ipv4 if family == "ipv4" else ipv6
    hosts = st.one_of(
        st.builds(DhcpHost, mac=mac, ip=ip, name=st.just("") | text),
        st.builds(DhcpHost, id=duid, ip=ip, name=st.just("") | text),
        st.builds(DhcpHost, ip=ip, name=text),
    )
    return st.builds(
        IpSpec,
        address=ip,
        prefix=st.integers(0, 32 if family == "ipv4" else 128),
        family=st.just(family),
        dhcp_ranges=st.lists(
            st.builds(DhcpRange, ip, ip, st.none() | st.integers(0, 10**6)), max_size=3
        ),
        dhcp_hosts=st.lists(hosts, max_size=3),
    )


def _routes(family: str) -> st.SearchStrategy[RouteSpec]:
    ip = ipv4 if family == "ipv4" else ipv6
    return st.builds(
        RouteSpec,
        address=ip,
        prefix=st.integers(0, 32 if family == "ipv4" else 128),
        gateway=ip,
        family=st.just(family),
        metric=st.none() | st.integers(1, 2**32 - 1),
    )


ip_spec = _ips("ipv4") | _ips("ipv6")
route = _routes("ipv4") | _routes("ipv6")
portgroup = st.builds(
    PortGroup,
    name=iface,
    default=st.booleans(),
    vlan_tags=st.lists(st.integers(0, 4095), max_size=3),
    trunk=st.booleans(),
    inbound=bandwidth,
    outbound=bandwidth,
).map(lambda g: dataclasses.replace(g, trunk=g.trunk and bool(g.vlan_tags)))
srv = st.builds(
    DnsSrv,
    service=text,
    protocol=st.sampled_from(["tcp", "udp"]),
    domain=st.just("") | dns_name,
    target=st.just("") | text,
    port=st.none() | small,
    priority=st.none() | small,
    weight=st.none() | small,
)
forwarders = st.lists(
    st.builds(DnsForwarder, st.just("") | ipv4, st.just("") | dns_name), max_size=2
)
dns_hosts = st.lists(
    st.builds(DnsHost, ipv4 | ipv6, st.lists(dns_name, min_size=1, max_size=2)), max_size=2
)
common = st.builds(
    NetworkSpec,
    name=text,
    uuid=st.none() | st.uuids().map(str),
    mtu=st.none() | small,
    mac=st.just("") | mac,
    domain_name=st.just("") | dns_name,
    domain_local_only=st.booleans(),
    dns_enabled=st.booleans(),
    dns_forwarders=forwarders,
    dns_hosts=dns_hosts,
    dns_txts=st.lists(st.builds(DnsTxt, dns_name, text), max_size=2),
    dns_srvs=st.lists(srv, max_size=2),
    ips=st.lists(ip_spec, max_size=3),
    routes=st.lists(route, max_size=2),
    inbound=bandwidth,
    outbound=bandwidth,
    portgroups=st.lists(portgroup, max_size=2),
    dnsmasq_options=st.lists(text, max_size=2),
)
MODE = st.sampled_from(["nat", "route", "isolated", "open", "bridge", "macvtap"])
MACVTAP_MODE = st.sampled_from(["bridge", "private", "vepa", "passthrough"])
INTERFACES = st.lists(iface, max_size=3)
MAYBE_IFACE = st.just("") | iface
STP = st.none() | st.booleans()
DELAY = st.none() | st.integers(0, 2**32)
NAT_PART = st.none() | st.tuples(ipv4, ipv4)
PORTS = st.none() | st.tuples(st.integers(1, 65535), st.integers(1, 65535))


@st.composite
def specs(draw) -> NetworkSpec:
    spec = draw(common)
    spec.mode = mode = draw(MODE)
    spec.domain_local_only = spec.domain_local_only and bool(spec.domain_name)
    if mode == "macvtap":
        spec.macvtap_mode = draw(MACVTAP_MODE)
        spec.forward_interfaces = draw(INTERFACES)
        return spec
    spec.bridge = draw(iface if mode == "bridge" else MAYBE_IFACE)
    spec.stp, spec.delay = draw(STP), draw(DELAY)
    if mode in ("nat", "route"):
        spec.forward_dev = draw(MAYBE_IFACE)
    if mode == "nat":
        spec.nat_address_start, spec.nat_address_end = draw(NAT_PART) or ("", "")
        spec.nat_port_start, spec.nat_port_end = draw(PORTS) or (None, None)
    return spec
    spec.bridge = draw(iface if mode == "bridge" else st.just("") | iface)
    spec.stp = draw(st.none() | st.booleans())
    spec.delay = draw(st.none() | st.integers(0, 2**32))
    if mode in ("nat", "route"):
        spec.forward_dev = draw(st.just("") | iface)
    if mode == "nat" and draw(st.booleans()):
        spec.nat_address_start, spec.nat_address_end = draw(ipv4), draw(ipv4)
    if mode == "nat" and draw(st.booleans()):
        spec.nat_port_start, spec.nat_port_end = (
            draw(st.integers(1, 65535)),
            draw(st.integers(1, 65535)),
        )
    return spec


@FAST
@given(specs())
def test_every_generated_spec_is_valid_xml_for_libvirt_and_reads_back_the_same(spec):
    xml = to_xml(spec)
    assert schema_errors(xml) == []
    assert parse(xml) == spec
    assert to_xml(parse(xml), base=xml) == xml  # applying it onto its own XML changes nothing


@FAST
@given(specs(), specs())
def test_a_spec_applied_onto_another_networks_xml_reads_back_as_that_spec(spec, other):
    xml = to_xml(spec, base=to_xml(other))
    assert schema_errors(xml) == []
    assert parse(xml) == spec


junk = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=30))


@FAST
@given(
    specs(),
    st.dictionaries(
        st.sampled_from(["name", "mode", "bridge", "mtu", "stp", "mac", "forward_dev", "delay"]),
        junk,
    ),
)
def test_validation_never_raises_whatever_it_is_fed(spec, overrides):
    for name, value in overrides.items():
        setattr(spec, name, value)
    context = HostContext(network_names=["default"], host_interfaces=["eth0"])
    problems = validate(spec, context)
    assert isinstance(problems.errors, dict)
    assert validate(spec, context, original=spec) is not None
