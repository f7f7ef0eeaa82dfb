"""Reading a domain's NICs: hot-plug capability from its machine, addresses from a guest agent,
NICs plugged in live only."""

from lxml import etree

from networks.gateway import guests

libvirt = guests.libvirt  # only the gateway imports libvirt (tests/test_architecture.py)


def _root(xml: str):
    return etree.fromstring(xml.encode())


def test_an_x86_machine_takes_nics_while_running_only_with_acpi_or_pcie():
    def can(features: str, machine: str = "pc") -> bool:
        xml = (
            f"<domain><os><type arch='x86_64' machine='{machine}'>hvm</type></os>"
            f"<features>{features}</features></domain>"
        )
        return guests._can_hotplug(_root(xml))

    assert can("<acpi/>")
    assert not can("")
    assert can("", machine="pc-q35-7.2")
    assert guests._can_hotplug(_root("<domain><os><type arch='aarch64'>hvm</type></os></domain>"))


class _AgentDomain:
    def __init__(self, answer=None, error: bool = False) -> None:
        self.answer, self.error = answer, error

    def interfaceAddresses(self, source, flags):
        assert source == libvirt.VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_AGENT
        if self.error:
            raise libvirt.libvirtError("Guest agent is not responding")
        return self.answer


def test_guest_agent_addresses_are_keyed_by_mac_without_loopback_or_link_local():
    answer = {
        "lo": {
            "hwaddr": "00:00:00:00:00:00",
            "addrs": [{"type": 0, "addr": "127.0.0.1", "prefix": 8}],
        },
        "eth0": {
            "hwaddr": "52:54:00:AA:BB:CC",
            "addrs": [
                {"type": 0, "addr": "10.213.5.20", "prefix": 24},
                {"type": 1, "addr": "fe80::1", "prefix": 64},
                {"type": 1, "addr": "fd00::20", "prefix": 64},
            ],
        },
    }
    found = guests._agent_addresses(_AgentDomain(answer))
    assert found["52:54:00:aa:bb:cc"] == ("10.213.5.20/24", "fd00::20/64")
    assert found["00:00:00:00:00:00"] == ()
    assert guests._agent_addresses(_AgentDomain(error=True)) is None


def test_nics_say_whether_the_saved_definition_has_them():
    xml = """<domain><devices>
      <interface type='network'><mac address='52:54:00:00:00:01'/><source network='a'/>
        <target dev='vnet1'/><model type='virtio'/><link state='down'/></interface>
      <interface type='bridge'><mac address='52:54:00:00:00:02'/><source bridge='br0'/></interface>
      <interface type='direct'><mac address='52:54:00:00:00:03'/>
        <source dev='eth1' mode='bridge'/></interface>
    </devices></domain>"""
    nics = guests._nics(_root(xml), "running", {"52:54:00:00:00:01"})
    assert [(n.type, n.source, n.device, n.link, n.config) for n in nics] == [
        ("network", "a", "vnet1", "down", True),
        ("bridge", "br0", "", "up", False),
        ("direct", "eth1", "", "up", False),
    ]
    assert guests._nics(_root(xml), "shut off", None)[0].device == ""
