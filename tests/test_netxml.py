"""libvirt network XML: reading every mode, writing it back, escaping, and libvirt's own schema."""

from pathlib import Path

import pytest
from lxml import etree

from networks.netxml import (
    DNSMASQ_NS,
    DhcpHost,
    DhcpRange,
    IpSpec,
    NetworkSpec,
    NetworkXMLError,
    build_network,
    parse_network,
)

SCHEMA = Path("/usr/share/libvirt/schemas/network.rng")


# --- reading ---------------------------------------------------------------------------------


def test_a_forward_without_mode_is_nat():
    spec = parse_network(
        "<network><name>n</name><forward/><bridge name='virbr5'/>"
        "<ip address='192.168.5.1' prefix='24'/></network>"
    )
    assert spec.mode == "nat"
    assert spec.forward_dev == ""
    assert spec.bridge == "virbr5"


def test_nat_with_an_explicit_mode_and_dev():
    spec = parse_network(
        "<network><name>n</name><forward mode='nat' dev='eth0'/><bridge name='virbr5'/></network>"
    )
    assert (spec.mode, spec.forward_dev) == ("nat", "eth0")


def test_route_mode_keeps_its_device():
    spec = parse_network(
        "<network><name>r</name><forward mode='route' dev='eth0'/>"
        "<bridge name='virbr10' stp='off'/></network>"
    )
    assert spec.mode == "route"
    assert spec.forward_dev == "eth0"
    assert spec.bridge == "virbr10"
    assert spec.stp is False


def test_no_forward_element_means_isolated():
    spec = parse_network(
        "<network><name>iso</name><bridge name='virbr11' stp='on'/>"
        "<ip address='172.30.0.1' prefix='24'/></network>"
    )
    assert spec.mode == "isolated"
    assert spec.forward_dev == ""
    assert spec.stp is True


def test_open_mode():
    spec = parse_network(
        "<network><name>o</name><forward mode='open'/><bridge name='virbr12'/></network>"
    )
    assert spec.mode == "open"


def test_forward_mode_bridge_with_a_bridge_name_is_a_host_bridge():
    spec = parse_network(
        "<network><name>lan</name><forward mode='bridge'/><bridge name='br0'/></network>"
    )
    assert spec.mode == "bridge"
    assert spec.bridge == "br0"
    assert spec.forward_dev == ""


def test_forward_mode_bridge_with_an_interface_is_macvtap():
    spec = parse_network(
        "<network><name>up</name><forward mode='bridge'><interface dev='eth1'/></forward></network>"
    )
    assert spec.mode == "macvtap"
    assert spec.forward_dev == "eth1"
    assert spec.bridge == ""


def test_forward_mode_bridge_with_a_dev_attribute_and_no_bridge_is_macvtap():
    spec = parse_network("<network><name>up</name><forward mode='bridge' dev='eth2'/></network>")
    assert (spec.mode, spec.forward_dev) == ("macvtap", "eth2")


@pytest.mark.parametrize("mode", ["passthrough", "private", "vepa"])
def test_other_macvtap_modes_keep_their_name_and_first_interface(mode):
    spec = parse_network(
        f"<network><name>m</name><forward mode='{mode}'>"
        "<interface dev='eth3'/><interface dev='eth4'/></forward></network>"
    )
    assert (spec.mode, spec.forward_dev) == (mode, "eth3")


def test_name_and_uuid_are_read():
    spec = parse_network(
        "<network><name>default</name><uuid>dd8fe884-6c02-601e-7551-cca97df1c5df</uuid></network>"
    )
    assert spec.name == "default"
    assert spec.uuid == "dd8fe884-6c02-601e-7551-cca97df1c5df"


def test_a_network_without_uuid_has_none():
    assert parse_network("<network><name>x</name></network>").uuid is None


@pytest.mark.parametrize(
    ("netmask", "prefix"),
    [("255.255.255.0", 24), ("255.255.0.0", 16), ("255.255.255.252", 30), ("255.0.0.0", 8)],
)
def test_a_netmask_becomes_a_prefix(netmask, prefix):
    spec = parse_network(
        f"<network><name>n</name><ip address='10.1.2.1' netmask='{netmask}'/></network>"
    )
    assert spec.ips[0].prefix == prefix
    assert spec.ips[0].cidr == f"10.1.2.1/{prefix}"


def test_an_ip_without_prefix_or_netmask_gets_the_family_default():
    spec = parse_network(
        "<network><name>n</name><ip address='10.0.0.1'/>"
        "<ip family='ipv6' address='fd00::1'/></network>"
    )
    assert [ip.prefix for ip in spec.ips] == [24, 64]


def test_ipv6_addresses_are_kept_apart_from_ipv4():
    spec = parse_network(
        "<network><name>dual</name><forward mode='route' dev='eth0'/>"
        "<ip address='10.20.0.1' prefix='24'/>"
        "<ip family='ipv6' address='fd00:20::1' prefix='64'>"
        "<dhcp><range start='fd00:20::100' end='fd00:20::1ff'/></dhcp></ip>"
        "</network>"
    )
    assert [ip.family for ip in spec.ips] == ["ipv4", "ipv6"]
    assert spec.addresses("ipv4") == ["10.20.0.1/24"]
    assert spec.addresses("ipv6") == ["fd00:20::1/64"]
    assert spec.ips[1].dhcp_ranges == [DhcpRange("fd00:20::100", "fd00:20::1ff")]


def test_dhcp_ranges_and_hosts_are_read_with_lease_times():
    spec = parse_network(
        """<network>
          <name>lab</name>
          <ip address='10.20.0.1' prefix='24'>
            <dhcp>
              <range start='10.20.0.100' end='10.20.0.149'><lease expiry='2' unit='hours'/></range>
              <range start='10.20.0.150' end='10.20.0.199'><lease expiry='30'/></range>
              <range start='10.20.0.200' end='10.20.0.209'/>
              <host mac='52:54:00:de:00:10' name='build01' ip='10.20.0.10'/>
              <host name='db01' ip='10.20.0.11'/>
            </dhcp>
          </ip>
        </network>"""
    )
    ip = spec.ips[0]
    assert ip.dhcp_ranges == [
        DhcpRange("10.20.0.100", "10.20.0.149", 120),
        DhcpRange("10.20.0.150", "10.20.0.199", 30),
        DhcpRange("10.20.0.200", "10.20.0.209", None),
    ]
    assert ip.dhcp_hosts == [
        DhcpHost(mac="52:54:00:de:00:10", ip="10.20.0.10", name="build01"),
        DhcpHost(mac="", ip="10.20.0.11", name="db01"),
    ]
    assert spec.has_dhcp is True


def test_a_network_without_dhcp_says_so():
    spec = parse_network("<network><name>n</name><ip address='10.0.0.1' prefix='24'/></network>")
    assert spec.has_dhcp is False
    assert spec.ips[0].dhcp_ranges == []


def test_dnsmasq_options_are_read_from_their_namespace():
    spec = parse_network(
        f"<network xmlns:dnsmasq='{DNSMASQ_NS}'><name>n</name>"
        "<dnsmasq:options><dnsmasq:option value='no-ping'/>"
        "<dnsmasq:option value='dhcp-authoritative'/></dnsmasq:options></network>"
    )
    assert spec.dnsmasq_options == ["no-ping", "dhcp-authoritative"]


def test_options_in_another_namespace_are_not_dnsmasq_options():
    spec = parse_network(
        "<network xmlns:x='urn:other'><name>n</name>"
        "<x:options><x:option value='no-ping'/></x:options></network>"
    )
    assert spec.dnsmasq_options == []


def test_the_test_drivers_default_network_reads_as_nat():
    spec = parse_network(
        """<network>
          <name>default</name>
          <uuid>dd8fe884-6c02-601e-7551-cca97df1c5df</uuid>
          <forward mode='nat'/>
          <bridge name='virbr0' stp='on' delay='0'/>
          <ip address='192.168.122.1' netmask='255.255.255.0'>
            <dhcp><range start='192.168.122.2' end='192.168.122.254'/></dhcp>
          </ip>
        </network>"""
    )
    assert spec.mode == "nat"
    assert spec.bridge == "virbr0"
    assert spec.addresses("ipv4") == ["192.168.122.1/24"]
    assert spec.ips[0].dhcp_ranges == [DhcpRange("192.168.122.2", "192.168.122.254")]


# --- refusing what is not a network ----------------------------------------------------------


@pytest.mark.parametrize(
    "xml",
    [
        "",
        "not xml at all",
        "<network><name>x</name>",
        "<network><name>x</nam></network>",
        "<network><name>a & b</name></network>",
    ],
)
def test_malformed_xml_raises_network_xml_error(xml):
    with pytest.raises(NetworkXMLError):
        parse_network(xml)


@pytest.mark.parametrize(
    "xml",
    [
        "<domain type='kvm'><name>vm</name></domain>",
        "<networks><network><name>x</name></network></networks>",
        "<n:network xmlns:n='urn:x'><name>x</name></n:network>",
    ],
)
def test_a_root_other_than_network_raises_network_xml_error(xml):
    with pytest.raises(NetworkXMLError, match="network"):
        parse_network(xml)


def test_network_xml_error_is_a_value_error():
    # Callers that only know ValueError (forms, sync) still catch it.
    with pytest.raises(ValueError):
        parse_network("<pool/>")


def test_external_entities_are_not_read_from_disk(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    xml = (
        f'<!DOCTYPE network [<!ENTITY x SYSTEM "file://{secret}">]>'
        "<network><name>&x;</name></network>"
    )
    try:
        spec = parse_network(xml)
    except NetworkXMLError:
        return  # refusing the document is fine too
    assert "TOP-SECRET" not in spec.name


# --- writing -----------------------------------------------------------------------------------


def _full_nat() -> NetworkSpec:
    return NetworkSpec(
        name="lab",
        uuid="5d1f0e0c-7c8c-4a57-9c59-0d3b6a1a0002",
        mode="nat",
        bridge="virbr42",
        stp=False,
        ips=[
            IpSpec(
                address="10.42.0.1",
                prefix=24,
                dhcp_ranges=[
                    DhcpRange("10.42.0.100", "10.42.0.149", lease_minutes=90),
                    DhcpRange("10.42.0.150", "10.42.0.199"),
                ],
                dhcp_hosts=[
                    DhcpHost(mac="52:54:00:00:00:01", ip="10.42.0.10", name="one"),
                    DhcpHost(mac="52:54:00:00:00:02", ip="10.42.0.11"),
                ],
            ),
            IpSpec(address="fd00:42::1", prefix=64, family="ipv6"),
        ],
        dnsmasq_options=["no-ping", "dhcp-authoritative"],
    )


SPECS = {
    "nat": _full_nat(),
    "nat-minimal": NetworkSpec(name="plain", mode="nat"),
    "route": NetworkSpec(
        name="routed",
        mode="route",
        forward_dev="eth0",
        bridge="virbr10",
        ips=[IpSpec(address="10.20.0.1", prefix=24)],
    ),
    "isolated": NetworkSpec(
        name="iso",
        mode="isolated",
        bridge="virbr11",
        stp=True,
        ips=[
            IpSpec(
                address="172.30.0.1",
                prefix=16,
                dhcp_ranges=[DhcpRange("172.30.1.1", "172.30.1.254", lease_minutes=5)],
            )
        ],
    ),
    "open": NetworkSpec(
        name="dmz", mode="open", bridge="virbr12", ips=[IpSpec(address="10.40.0.1", prefix=24)]
    ),
    "bridge": NetworkSpec(name="lan", mode="bridge", bridge="br0"),
    "macvtap": NetworkSpec(name="uplink", mode="macvtap", forward_dev="eth1"),
    "vepa": NetworkSpec(name="vepa-net", mode="vepa", forward_dev="eth2"),
}


@pytest.mark.parametrize("key", SPECS)
def test_build_then_parse_gives_back_the_same_spec(key):
    spec = SPECS[key]
    assert parse_network(build_network(spec)) == spec


@pytest.mark.parametrize("key", SPECS)
def test_built_xml_parses_to_the_same_xml_again(key):
    xml = build_network(SPECS[key])
    assert build_network(parse_network(xml)) == xml


def test_macvtap_is_written_as_forward_mode_bridge_with_an_interface_and_no_bridge():
    root = etree.fromstring(build_network(SPECS["macvtap"]))
    forward = root.find("forward")
    assert forward.get("mode") == "bridge"
    assert [el.get("dev") for el in forward.findall("interface")] == ["eth1"]
    assert forward.get("dev") is None
    assert root.find("bridge") is None


def test_a_host_bridge_is_written_as_forward_mode_bridge_with_the_bridge_name():
    root = etree.fromstring(build_network(SPECS["bridge"]))
    assert root.find("forward").get("mode") == "bridge"
    assert root.find("bridge").get("name") == "br0"


def test_route_is_written_with_a_dev_attribute():
    root = etree.fromstring(build_network(SPECS["route"]))
    assert root.find("forward").attrib == {"mode": "route", "dev": "eth0"}


def test_isolated_is_written_without_a_forward_element():
    root = etree.fromstring(build_network(SPECS["isolated"]))
    assert root.find("forward") is None
    assert root.find("bridge").get("stp") == "on"


def test_ipv6_is_written_with_its_family_and_ipv4_without():
    root = etree.fromstring(build_network(SPECS["nat"]))
    ips = root.findall("ip")
    assert [ip.get("family") for ip in ips] == [None, "ipv6"]
    assert [ip.get("prefix") for ip in ips] == ["24", "64"]


def test_dnsmasq_options_are_written_in_the_dnsmasq_namespace():
    root = etree.fromstring(build_network(SPECS["nat"]))
    values = [el.get("value") for el in root.iter(f"{{{DNSMASQ_NS}}}option")]
    assert values == ["no-ping", "dhcp-authoritative"]
    assert root.nsmap.get("dnsmasq") == DNSMASQ_NS


def test_no_dnsmasq_namespace_without_options():
    xml = build_network(SPECS["route"])
    assert DNSMASQ_NS not in xml


def test_lease_times_are_written_in_minutes():
    root = etree.fromstring(build_network(SPECS["nat"]))
    lease = root.find("ip/dhcp/range/lease")
    assert lease.attrib == {"expiry": "90", "unit": "minutes"}
    assert root.findall("ip/dhcp/range")[1].find("lease") is None


NASTY = "a<b & c\"d'e>f"


def test_values_with_markup_characters_are_escaped():
    spec = NetworkSpec(
        name=NASTY,
        mode="isolated",
        ips=[
            IpSpec(
                address="10.0.0.1",
                prefix=24,
                dhcp_hosts=[DhcpHost(mac="52:54:00:00:00:01", ip="10.0.0.2", name=NASTY)],
            )
        ],
        dnsmasq_options=[NASTY],
    )
    xml = build_network(spec)
    assert "a<b" not in xml
    assert " & " not in xml
    assert "&lt;" in xml
    assert "&amp;" in xml
    # Inside attribute values the double quote must be escaped as well.
    assert 'value="a&lt;b &amp; c&quot;d\'e&gt;f"' in xml
    back = parse_network(xml)
    assert back.name == NASTY
    assert back.dnsmasq_options == [NASTY]
    assert back.ips[0].dhcp_hosts[0].name == NASTY


def test_a_value_cannot_inject_elements():
    spec = NetworkSpec(name='x</name><forward mode="open"/><name>y', mode="isolated")
    back = parse_network(build_network(spec))
    assert back.name == spec.name
    assert back.mode == "isolated"
    assert etree.fromstring(build_network(spec)).find("forward") is None


# --- libvirt's own schema ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def relaxng():
    if not SCHEMA.exists():
        pytest.skip(f"{SCHEMA} is not installed")
    return etree.RelaxNG(etree.parse(str(SCHEMA)))


def test_the_schema_is_strict_enough_to_reject_a_bad_network(relaxng):
    # Guards the next test: a schema that accepted anything would prove nothing.
    bad = etree.fromstring("<network><name>x</name><forward mode='teleport'/></network>")
    assert not relaxng.validate(bad)


@pytest.mark.parametrize("key", SPECS)
def test_built_xml_is_valid_against_libvirts_schema(relaxng, key):
    root = etree.fromstring(build_network(SPECS[key]))
    assert relaxng.validate(root), str(relaxng.error_log)


def test_the_demo_hosts_networks_read_as_valid_built_xml(relaxng):
    # Every network of the demo host survives parse -> build and stays valid for libvirt.
    node = etree.parse(str(Path(__file__).resolve().parent.parent / "networks/demo/demo-host.xml"))
    networks = node.getroot().findall("network")
    assert len(networks) == 6
    for element in networks:
        spec = parse_network(etree.tostring(element, encoding="unicode"))
        built = etree.fromstring(build_network(spec))
        assert relaxng.validate(built), f"{spec.name}: {relaxng.error_log}"
