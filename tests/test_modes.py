"""The network modes' one table (networks.spec.modes): every mode it names is one the XML can
hold and read back, and the tables that used to list modes by hand now follow it."""

import pytest

from networks.forms.switch import MACVTAP_CHOICES, MODE_CHOICES
from networks.models import Network
from networks.pages import topology
from networks.spec import NetworkSpec, modes, parse, to_xml, validate
from networks.spec.context import HostContext


def _spec(key: str, macvtap_mode: str = "bridge") -> NetworkSpec:
    spec = NetworkSpec(name="t", mode=key, macvtap_mode=macvtap_mode)
    if modes.of(key).attaches == "bridge":
        spec.bridge = "br0"
    elif modes.of(key).attaches == "nics":
        spec.forward_interfaces = ["eth0"]
    else:
        spec.bridge = "virbr9"
    return spec


@pytest.mark.parametrize("key", modes.EDITABLE + modes.READ_ONLY)
def test_each_mode_of_the_spec_is_written_and_read_back_as_itself(key):
    read = parse(to_xml(_spec(key)))
    assert (read.mode, read.macvtap_mode) == (key, "bridge")


@pytest.mark.parametrize("macvtap_mode", modes.MACVTAP_MODES)
def test_each_macvtap_mode_is_read_back_and_listed_by_a_key_of_the_table(macvtap_mode):
    read = parse(to_xml(_spec("macvtap", macvtap_mode)))
    assert read.macvtap_mode == macvtap_mode
    assert modes.listed(read.mode, read.macvtap_mode) in modes.BY_KEY


def test_the_list_and_its_filter_offer_every_mode_of_the_table_with_its_label():
    assert Network.Mode.choices == [(mode.key, mode.label) for mode in modes.MODES]


def test_the_editor_offers_the_modes_the_spec_accepts_from_it():
    assert [key for key, _ in MODE_CHOICES] == list(modes.EDITABLE)
    assert MODE_CHOICES[0] == ("nat", "NAT — guests reach out through the host's address")
    assert [key for key, _ in MACVTAP_CHOICES] == list(modes.MACVTAP_MODES)


def test_a_mode_outside_the_table_is_refused_by_the_rules():
    problems = validate(_spec("tunnel"), HostContext())
    assert "mode" in problems.errors


def test_no_mode_both_needs_and_refuses_addresses_and_forwarding_ones_have_a_bridge():
    assert set(modes.NO_ADDRESS).isdisjoint(modes.NEEDS_ADDRESS)
    assert set(modes.FORWARDING) <= set(modes.OWN_BRIDGE)


@pytest.mark.parametrize(
    ("mode", "forward_dev", "expected"),
    [
        ("nat", "", ("NAT via eth0", True)),
        ("route", "eth1", ("routed via eth1", True)),
        ("open", "", ("open", True)),
        ("isolated", "", ("no way out", False)),
        ("private", "eth1", ("macvtap private on eth1", False)),
        ("macvtap", "eth0", ("macvtap on eth0", True)),
        ("bridge", "", ("host bridge br0", False)),
        ("tunnel", "eth1", ("tunnel on eth1", False)),
    ],
)
def test_the_topology_draws_each_modes_way_out_from_the_table(mode, forward_dev, expected):
    switch = topology.SwitchIn("s", mode, True, bridge="br0", forward_dev=forward_dev)
    assert topology.way_out(switch, topology.Uplink("eth0"), {}) == expected
