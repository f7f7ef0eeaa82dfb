"""The gateway against the real libvirtd that `make test` runs (qemu:///system)."""

import subprocess
import time

import pytest

from networks import gateway
from tests.real import LOCAL_URI, wait_for

pytestmark = pytest.mark.libvirt


def virsh_state(name: str) -> tuple[str, str]:
    """(state, autostart) as `virsh net-info` reports them: an independent witness."""
    out = subprocess.run(
        ["virsh", "-c", LOCAL_URI, "net-info", name], capture_output=True, text=True, check=True
    ).stdout
    info = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
    active = info["Active"].strip()
    return ("active" if active == "yes" else "inactive", info["Autostart"].strip())


def test_snapshot_lists_a_new_network_with_its_xml(libvirt_network):
    net = libvirt_network()
    snap = gateway.snapshot(LOCAL_URI)
    mine = next(n for n in snap.networks if n.name == net.name)
    assert mine.active is False
    assert mine.persistent is True
    assert f"name='{net.bridge}'" in mine.xml or f'name="{net.bridge}"' in mine.xml
    assert mine.leases is None  # not running: no lease table
    assert snap.facts.hypervisor == "QEMU"
    assert snap.facts.libvirt_version.count(".") == 2
    assert snap.facts.cpus >= 1


def test_start_and_stop_change_the_host_and_report_no_ops(libvirt_network):
    net = libvirt_network()
    assert gateway.start_network(LOCAL_URI, net.name) is True
    assert virsh_state(net.name)[0] == "active"
    assert gateway.start_network(LOCAL_URI, net.name) is False
    assert gateway.stop_network(LOCAL_URI, net.name) is True
    assert virsh_state(net.name)[0] == "inactive"
    assert gateway.stop_network(LOCAL_URI, net.name) is False


def test_autostart_is_switched_on_and_off(libvirt_network):
    net = libvirt_network()
    assert gateway.set_autostart(LOCAL_URI, net.name, True) is True
    assert virsh_state(net.name)[1] == "yes"
    assert gateway.set_autostart(LOCAL_URI, net.name, True) is False
    assert gateway.set_autostart(LOCAL_URI, net.name, False) is True
    assert virsh_state(net.name)[1] == "no"


def test_a_running_network_with_dhcp_reports_an_empty_lease_table(libvirt_network):
    net = libvirt_network(start=True)
    info = gateway.network_state(LOCAL_URI, net.name)
    assert info.active is True
    assert info.leases == ()


def test_an_unknown_network_is_a_permanent_not_found_error():
    with pytest.raises(gateway.NetworkNotFound) as caught:
        gateway.start_network(LOCAL_URI, "vnwt-does-not-exist")
    assert caught.value.transient is False
    assert "vnwt-does-not-exist" in caught.value.message


def test_a_mistyped_uri_is_a_permanent_error_in_words():
    with pytest.raises(gateway.GatewayError) as caught:
        gateway.snapshot("qemu:///sytem")
    assert caught.value.transient is False
    assert "qemu:///system" in caught.value.message  # libvirt suggests the right path


def test_a_refused_connection_is_transient():
    with pytest.raises(gateway.HostUnreachable) as caught:
        gateway.snapshot("qemu+tcp://127.0.0.1:1/system")
    assert caught.value.transient is True
    assert "refused" in caught.value.message.lower()


def test_the_gateway_reconnects_after_libvirtd_restarts(libvirt_network):
    net = libvirt_network()
    gateway.snapshot(LOCAL_URI)  # opens and caches the connection
    subprocess.run(["pkill", "-x", "libvirtd"], check=True)
    wait_for(
        lambda: subprocess.run(["pgrep", "-x", "libvirtd"], capture_output=True).returncode != 0,
        message="libvirtd did not stop",
    )
    subprocess.run(["libvirtd", "-d"], check=True)
    started = time.monotonic()
    snap = wait_for(lambda: _try_snapshot(), timeout=30, message="no reconnection to libvirtd")
    assert net.name in {n.name for n in snap.networks}
    assert time.monotonic() - started < 30


def _try_snapshot():
    try:
        return gateway.snapshot(LOCAL_URI)
    except gateway.HostUnreachable:
        return None
