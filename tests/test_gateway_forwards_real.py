"""networks/gateway/forwards.py against this machine's real firewall (iptables on nf_tables): the
lines it writes are the lines iptables-save prints back, a range goes port for port, a listen
address takes that address alone, removing every forward leaves nothing of ours, and a restore
iptables refuses raises in words and leaves the rules as they were.

Only chains named VNWT_* (the tests' prefix) are ever written; a site's VNETWEB_* chains are
checked to be untouched. Traffic stays between the host and a namespace of the test's own.
"""

import subprocess

import pytest

from networks.gateway import GatewayError
from networks.gateway import forward_rules as fr
from networks.gateway import forwards as fw
from tests.forward_traffic import linked_namespace, reach, remove_namespace, serve, stop
from tests.real import free_subnet

pytestmark = pytest.mark.libvirt

PREFIX = "VNWT"
HOLD = "VNWT_HOLD"  # a chain of the test's own that jumps to one of ours


def forward(id: int, **fields) -> fr.Forward:
    values = {
        "protocol": "tcp",
        "listen": None,
        "host_ports": (8080, 8080),
        "guest_ip": "10.213.99.10",
        "guest_ports": (80, 80),
        "bridge": "vnwtpfgw",
        "subnet": "10.213.99.0/24",
    } | fields
    return fr.Forward(id, **values)


WEB = forward(1)
DNS = forward(
    2, protocol="udp", listen="10.213.99.1", host_ports=(9000, 9002), guest_ports=(7000, 7002)
)


def saved(table: str, word: str = PREFIX) -> list[str]:
    """The lines of `iptables-save -t TABLE` that name `word`: the test's own reading."""
    out = subprocess.run(
        ["iptables-save", "-t", table], check=True, capture_output=True, text=True
    ).stdout
    return [line for line in out.splitlines() if word in line]


def site_lines() -> list[str]:
    return saved("nat", "VNETWEB") + saved("filter", "VNETWEB")


@pytest.fixture
def firewall():
    """Whatever a test does, nothing of ours stays in the firewall; a site's chains are as
    they were."""
    site = site_lines()
    try:
        yield
    finally:
        for table in fr.TABLES:
            subprocess.run(["iptables", "-t", table, "-F", HOLD], capture_output=True)
            subprocess.run(["iptables", "-t", table, "-X", HOLD], capture_output=True)
        fw.apply([], PREFIX)
        assert site_lines() == site


def test_the_lines_written_are_the_lines_iptables_save_prints_back(firewall):
    installed = fw.apply([WEB, DNS], PREFIX)

    for table, lines in fr.wanted_rules([WEB, DNS], PREFIX).items():
        ours = [line for line in saved(table) if line.startswith(f"-A {PREFIX}_")]
        assert sorted(ours) == sorted(lines)
        assert installed.rules[table] == ours
    for table, pairs in fr.jumps(PREFIX).items():
        for parent, chain in pairs:
            first = next(line for line in saved(table, "") if line.startswith(f"-A {parent} "))
            assert first == f"-A {parent} -j {chain}"
    assert fr.in_place([WEB, DNS], fw.read(PREFIX), PREFIX)
    assert fr.missing([WEB, DNS], fw.read(PREFIX), PREFIX) == []
    # A forward left over (removed elsewhere) is not "in place" either.
    assert not fr.in_place([WEB], fw.read(PREFIX), PREFIX)

    before = saved("nat") + saved("filter")
    assert fw.apply([WEB, DNS], PREFIX).rules == installed.rules
    assert saved("nat") + saved("filter") == before


def test_a_range_goes_port_for_port_and_a_listen_address_is_the_only_one_taken(
    firewall, host_links
):
    subnet = free_subnet()
    net = f"10.213.{subnet}"
    bridge = host_links.bridge()
    for address in (f"{net}.1/24", f"{net}.2/24"):
        subprocess.run(["ip", "addr", "add", address, "dev", bridge], check=True)
    namespace, host_end = linked_namespace(f"{net}.10/24", f"{net}.1", bridge=bridge)
    server = None
    try:
        server = serve(namespace, "guest", 7000, 7001, 7002)
        ranged = forward(
            3,
            listen=f"{net}.1",
            host_ports=(9000, 9002),
            guest_ip=f"{net}.10",
            guest_ports=(7000, 7002),
            bridge=bridge,
            subnet=f"{net}.0/24",
        )
        assert reach("tcp", f"{net}.1", 9001) is None  # nothing listens there before
        fw.apply([ranged], PREFIX)

        for port in (9000, 9001, 9002):
            answer = reach("tcp", f"{net}.1", port)
            assert answer is not None, port
            assert (answer.server, answer.port) == ("guest", port - 2000)
        assert reach("tcp", f"{net}.2", 9001) is None  # another address of the host: not taken
        assert fw.read(PREFIX).connections[3] == 3
    finally:
        stop(server)
        remove_namespace(namespace, host_end)


def test_removing_every_forward_leaves_nothing_of_ours(firewall):
    fw.apply([WEB, DNS], PREFIX)
    assert saved("nat") and saved("filter")

    installed = fw.apply([], PREFIX)

    assert installed.empty
    assert saved("nat") == [] and saved("filter") == []
    assert fw.read(PREFIX).empty and fr.in_place([], fw.read(PREFIX), PREFIX)


@pytest.mark.parametrize(("table", "chain"), [("nat", "VNWT_PRE"), ("filter", "VNWT_FWD")])
def test_a_restore_iptables_refuses_raises_in_words_and_leaves_the_rules_as_they_were(
    firewall, table, chain
):
    fw.apply([WEB, DNS], PREFIX)
    before = {name: saved(name) for name in fr.TABLES}
    # Another program's chain jumps to one of ours: iptables refuses to delete it (busy). The
    # nat table is written first, so a refusal in the filter table comes after nat's commit.
    subprocess.run(["iptables", "-t", table, "-N", HOLD], check=True)
    subprocess.run(["iptables", "-t", table, "-A", HOLD, "-j", chain], check=True)

    with pytest.raises(GatewayError) as refused:
        fw.apply([], PREFIX)

    message = refused.value.message
    assert "iptables-restore" in message and "busy" in message and chain in message, message
    assert "\n" not in message
    after = {name: [line for line in saved(name) if HOLD not in line] for name in fr.TABLES}
    assert after == before
    assert fr.in_place([WEB, DNS], fw.read(PREFIX), PREFIX)
