"""A host whose libvirt writes its switches' firewall with its nftables backend (libvirt 10.4 and
later, firewall_backend = "nftables"): its own table `libvirt_network` rejects new connections to
guests whatever iptables' tables accept, so port forwards cannot work there. The survey finds the
table in the real `nft -j` ruleset, Host.side says so, the form refuses in words, and a switch
that has forwards says in its health verdict that they are rejected.

libvirt here is 9 (it writes through iptables-nft), so the test makes a real table of its own,
named vnwt…, and tells this process that this is libvirt's table's name; the survey runs in this
process against the real host, the real switch and the real firewall.
"""

import contextlib
import random
import subprocess

import pytest

from networks import gateway
from networks.gateway import firewall
from networks.models import PortForward
from networks.port_forwards import Wanted, refusals
from networks.worker.survey import survey
from networks.worker.sync import record_network
from tests.forwards_world import keep_firewall_clean, switch
from tests.real import LOCAL_URI, random_mac

pytestmark = pytest.mark.libvirt
BLOCKED = "forwards-blocked"  # the health verdict's problem
TABLE = f"vnwt_libvirt_{random.randrange(16**4):04x}"


def nft(*words: str) -> None:
    subprocess.run(["nft", *words], check=True, capture_output=True, text=True)


def drop_table() -> None:
    """Gone even when the test fails half-way (and no error when it is gone already)."""
    subprocess.run(["nft", "delete", "table", "ip", TABLE], capture_output=True, check=False)


def problems(network) -> list[dict]:
    network.refresh_from_db()
    return network.switch.get("problems", [])


def test_libvirts_nftables_table_refuses_forwards_and_the_verdict_says_why(real_host, monkeypatch):
    monkeypatch.setattr(firewall, "LIBVIRT_TABLE", TABLE)
    with contextlib.ExitStack() as stack:
        keep_firewall_clean(stack)
        net = switch(stack, random_mac())
        network = record_network(real_host, net.name, gateway.find_network(LOCAL_URI, net.name))
        guest = f"10.213.{net.subnet}.10"  # the switch's reservation
        port = random.randrange(40000, 50000)
        PortForward.objects.create(
            network=network, protocol="tcp", host_port=port, host_port_end=port,
            guest_ip=guest, guest_port=80, guest_name="vnwt-web",
        )  # fmt: skip
        another = Wanted("tcp", None, port + 1, None, guest, 81)

        survey(real_host)  # writes the forward (VNWT chains) and reads the host's side
        real_host.refresh_from_db()
        assert real_host.side["libvirt_nftables"] is False, "libvirt 9: no table of its own"
        assert BLOCKED not in [problem["code"] for problem in problems(network)]
        assert network.switch["forwards"][0]["in_place"]
        assert refusals(network, another) == {}

        nft("add", "table", "ip", TABLE)
        stack.callback(drop_table)
        survey(real_host)
        real_host.refresh_from_db()
        assert real_host.side["libvirt_nftables"] is True
        [blocked] = [p for p in problems(network) if p["code"] == BLOCKED]
        assert "writes its switches' firewall with nftables" in blocked["text"]
        assert 'firewall_backend = "iptables"' in blocked["text"] and blocked["fix"] == ""
        network.host.refresh_from_db()
        [why] = refusals(network, another).values()
        assert why == blocked["text"], "the form refuses in the verdict's words"

        nft("delete", "table", "ip", TABLE)
        survey(real_host)
        real_host.refresh_from_db()
        assert real_host.side["libvirt_nftables"] is False
        assert BLOCKED not in [problem["code"] for problem in problems(network)]
