"""Guests on a switch, on the real host: read from the domains' definitions, whether their NIC
names the network or sits straight on its bridge."""

import random
import subprocess
from collections.abc import Iterator

import pytest

from networks.models import Network
from networks.worker.tasks import refresh
from tests.real import LOCAL_URI

pytestmark = pytest.mark.libvirt

DOMAIN = """<domain type='qemu'>
  <name>{name}</name>
  <memory unit='MiB'>96</memory>
  <os><type arch='x86_64'>hvm</type></os>
  <devices>
    <interface type='network'><source network='{network}'/><mac address='{mac1}'/>
      <model type='virtio'/></interface>
    <interface type='bridge'><source bridge='{bridge}'/><mac address='{mac2}'/></interface>
  </devices>
</domain>"""


@pytest.fixture
def defined_domain(tmp_path) -> Iterator:
    names: list[str] = []

    def define(network: str, bridge: str) -> tuple[str, str, str]:
        name = f"vnwt-dom-{random.randrange(16**6):06x}"
        mac1, mac2 = (
            "52:54:00:" + ":".join(f"{random.randrange(256):02x}" for _ in range(3))
            for _ in range(2)
        )
        path = tmp_path / f"{name}.xml"
        path.write_text(
            DOMAIN.format(name=name, network=network, bridge=bridge, mac1=mac1, mac2=mac2)
        )
        subprocess.run(
            ["virsh", "-c", LOCAL_URI, "define", str(path)], check=True, capture_output=True
        )
        names.append(name)
        return name, mac1, mac2

    yield define
    for name in names:
        subprocess.run(["virsh", "-c", LOCAL_URI, "undefine", name], capture_output=True)


def test_a_defined_guest_shows_on_its_switch_through_the_network_and_on_the_bridge(
    real_host, libvirt_network, defined_domain
):
    net = libvirt_network(start=True)
    domain, mac1, mac2 = defined_domain(net.name, net.bridge)
    assert refresh(real_host) is None
    guests = Network.objects.get(host=real_host, name=net.name).guests
    assert [(g["domain"], g["mac"], g["attached"], g["state"]) for g in guests] == [
        (domain, mac1, "network", "shut off"),
        (domain, mac2, "bridge", "shut off"),
    ]
    assert all(g["device"] == "" and not g["running"] for g in guests)
    assert guests[0]["model"] == "virtio"
