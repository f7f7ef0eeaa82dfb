"""Fixtures on the real libvirt host (`qemu:///system`, started by `make test`).

The machine is shared: everything made here is named vnwt…, lives in 10.213.0.0/16, and is
removed again, also when the test fails. Guests are network namespaces running udhcpc with our own
script, or QEMU domains booting the guest kit (scripts/guest-kit.sh), so no DHCP client ever runs
on the host's own interfaces.
"""

import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection
from lxml import etree

from networks import gateway
from networks.models import Host
from networks.spec import DhcpRange, IpSpec, NetworkSpec, to_xml

LOCAL_URI = "qemu:///system"
REPO = Path(__file__).resolve().parent.parent
# Built by scripts/guest-kit.sh (which reads the same variable), where QEMU's user can read it.
GUEST_KIT = Path(os.environ.get("VNWT_GUEST_KIT_DIR", "/var/lib/libvirt/images/vnwt-guest-kit"))


def random_mac() -> str:
    return "52:54:00:" + ":".join(f"{random.randrange(256):02x}" for _ in range(3))


def _used_subnets() -> set[int]:
    out = subprocess.run(["ip", "-4", "-o", "addr"], capture_output=True, text=True).stdout
    return {int(part.split(".")[2]) for part in out.split() if part.startswith("10.213.")}


@dataclass
class TestNetwork:
    name: str
    bridge: str
    subnet: int  # the third octet: 10.213.<subnet>.0/24

    @property
    def gateway_ip(self) -> str:
        return f"10.213.{self.subnet}.1"


def fast_network_spec(name: str, bridge: str, subnet: int, mode: str = "nat") -> NetworkSpec:
    """DHCP that answers in ~0.15 s: no STP delay, no ping check, short leases."""
    return NetworkSpec(
        name=name,
        mode=mode,
        bridge=bridge,
        stp=False,
        ips=[
            IpSpec(
                address=f"10.213.{subnet}.1",
                prefix=24,
                dhcp_ranges=[
                    DhcpRange(f"10.213.{subnet}.100", f"10.213.{subnet}.150", lease_minutes=2)
                ],
            )
        ],
        dnsmasq_options=["no-ping"],
    )


@pytest.fixture
def libvirt_network() -> Iterator:
    """Factory: define (and optionally start) vnwt networks on the real host; all removed after."""
    made: list[str] = []

    def make(*, start: bool = False, mode: str = "nat") -> TestNetwork:
        tag = f"{random.randrange(16**6):06x}"
        used = _used_subnets()
        subnet = random.choice([n for n in range(100, 250) if n not in used])
        net = TestNetwork(name=f"vnwt-{tag}", bridge=f"vnwt{tag}", subnet=subnet)
        made.append(net.name)
        gateway.define_network(
            LOCAL_URI,
            to_xml(fast_network_spec(net.name, net.bridge, subnet, mode)),
            start=start,
        )
        return net

    yield make
    for name in made:
        gateway.undefine_network(LOCAL_URI, name)


@pytest.fixture
def switch_names() -> Iterator[list[str]]:
    """Names of switches a test makes through the site: undefined afterwards, whatever happens."""
    names: list[str] = []
    yield names
    for name in names:
        gateway.undefine_network(LOCAL_URI, name)


@pytest.fixture
def host_links() -> Iterator:
    """Make Linux bridges and veth pairs on the host (vnwt… names), for host-bridge and macvtap
    switches; all deleted afterwards."""
    made: list[str] = []

    class Links:
        def bridge(self) -> str:
            name = f"vnwtbr{random.randrange(16**6):06x}"
            subprocess.run(["ip", "link", "add", name, "type", "bridge"], check=True)
            made.append(name)
            subprocess.run(["ip", "link", "set", name, "up"], check=True)
            return name

        def veth(self) -> str:
            tag = f"{random.randrange(16**6):06x}"
            end, peer = f"vnwtva{tag}", f"vnwtvb{tag}"
            subprocess.run(
                ["ip", "link", "add", end, "type", "veth", "peer", "name", peer], check=True
            )
            made.append(end)
            subprocess.run(["ip", "link", "set", end, "up"], check=True)
            return end

    yield Links()
    for name in made:
        subprocess.run(["ip", "link", "del", name], capture_output=True)


def free_subnet() -> int:
    """A third octet of 10.213.x.0/24 that no address on the host uses."""
    return random.choice([n for n in range(100, 250) if n not in _used_subnets()])


SSHD = Path("/usr/sbin/sshd")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (sshd's per-connection children and their sessions)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


@dataclass
class SshServer:
    """An sshd of the test's own on 127.0.0.1:`port`, letting in root with one throwaway key.

    Its host key, config, authorized keys, known_hosts and the client's ssh config all live in
    `directory`; neither /root/.ssh nor /etc/ssh is read or written. libvirt runs `ssh` from
    PATH: `env` puts a wrapper first that uses our config (strict host key checking against our
    known_hosts), so the URI needs neither no_verify nor command=.
    """

    directory: Path
    port: int
    process: subprocess.Popen | None = None

    @property
    def key(self) -> Path:
        return self.directory / "client_key"

    def uri(self, path: str = "/system") -> str:
        return f"qemu+ssh://root@127.0.0.1:{self.port}{path}?keyfile={self.key}&no_tty=1"

    @property
    def env(self) -> dict[str, str]:
        # The URI's keyfile= is in `directory`: the worker's VNETWEB_SSH_DIR (networks.host_uri).
        return {
            "PATH": f"{self.directory / 'bin'}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            "VNETWEB_SSH_DIR": str(self.directory),
        }

    def start(self) -> None:
        config = self.directory / "sshd_config"
        self.process = subprocess.Popen(
            [str(SSHD), "-D", "-f", str(config), "-E", str(self.directory / "sshd.log")]
        )
        deadline = time.monotonic() + 10
        while True:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            if self.process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"sshd did not listen: {(self.directory / 'sshd.log').read_text()}")
            time.sleep(0.05)

    def stop(self) -> None:
        """The listener and every connection it serves, as when the host goes away."""
        if self.process is None:
            return
        for pid in [self.process.pid, *descendants(self.process.pid)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None


def _write_ssh_files(directory: Path, port: int) -> None:
    def keygen(name: str) -> str:
        path = directory / name
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "vnwt", "-f", str(path)],
            check=True,
        )
        return path.with_suffix(".pub").read_text().strip()

    host_key, client_key = keygen("host_key"), keygen("client_key")
    (directory / "authorized_keys").write_text(client_key + "\n")
    (directory / "known_hosts").write_text(f"[127.0.0.1]:{port} {' '.join(host_key.split()[:2])}\n")
    (directory / "sshd_config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {directory / 'host_key'}\n"
        f"PidFile {directory / 'sshd.pid'}\n"
        f"AuthorizedKeysFile {directory / 'authorized_keys'}\n"
        "PermitRootLogin prohibit-password\nPasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n"
        "AllowUsers root\nX11Forwarding no\nAllowTcpForwarding no\n"
    )
    (directory / "ssh_config").write_text(
        f"UserKnownHostsFile {directory / 'known_hosts'}\nGlobalKnownHostsFile /dev/null\n"
        "StrictHostKeyChecking yes\nBatchMode yes\nConnectTimeout 5\n"
    )
    wrapper = directory / "bin" / "ssh"
    wrapper.parent.mkdir()
    wrapper.write_text(f'#!/bin/sh\nexec /usr/bin/ssh -F {directory / "ssh_config"} "$@"\n')
    wrapper.chmod(0o755)


@pytest.fixture
def sshd(settings) -> Iterator[SshServer]:
    """This machine's libvirtd over qemu+ssh://, through an sshd of the test's own (started;
    `stop()` and `start()` it to take the host away and bring it back). Everything it made is
    removed afterwards, also when the test fails."""
    if not SSHD.exists():
        pytest.fail("no sshd: `make test` installs openssh-server (scripts/setup.sh --test)")
    directory = Path(tempfile.mkdtemp(prefix="vnwt-sshd-"))
    directory.chmod(0o700)
    # sshd insists on its privilege separation directory (made by systemd's unit on Debian).
    privsep = Path("/run/sshd")
    made_privsep = not privsep.exists()
    privsep.mkdir(mode=0o755, exist_ok=True)
    server = SshServer(directory, free_port())
    settings.VNETWEB_SSH_DIR = str(directory)
    try:
        _write_ssh_files(directory, server.port)
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)
        if made_privsep:
            with contextlib.suppress(OSError):
                privsep.rmdir()


@pytest.fixture
def real_host(db) -> Host:
    return Host.objects.create(name="vnwt-local", uri=LOCAL_URI, description="the real host")


@dataclass
class NamespaceGuest:
    namespace: str
    mac: str
    hostname: str
    process: subprocess.Popen
    host_end: str = ""  # its veth end on the bridge

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # udhcpc -R releases the lease on SIGTERM
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()


UDHCPC_SCRIPT = """#!/bin/sh
# udhcpc event script for vnetweb's test guests: configure eth0 inside the namespace only.
case "$1" in
  deconfig) ip addr flush dev "$interface" ;;
  bound|renew) ip addr flush dev "$interface"; ip addr add "$ip/${mask:-24}" dev "$interface" ;;
esac
exit 0
"""


def start_namespace_guest(
    bridge: str, script: Path, hostname: str = "vnwt-guest", mac: str = "", udhcpc_args=()
) -> NamespaceGuest:
    """A guest in its own network namespace (vnwt…), plugged into `bridge`, asking for a lease
    with udhcpc and our own event `script`; `udhcpc_args`: more of udhcpc's arguments.
    Remove it with `remove_namespace_guest`."""

    def run(*args: str) -> None:
        subprocess.run(args, check=True, capture_output=True)

    tag = f"{random.randrange(16**6):06x}"
    ns, host_end = f"vnwt{tag}", f"vnwth{tag}"
    mac = mac or random_mac()
    run("ip", "netns", "add", ns)
    guest = NamespaceGuest(ns, mac, hostname, process=None, host_end=host_end)  # type: ignore[arg-type]
    try:
        run("ip", "link", "add", host_end, "type", "veth", "peer", "name", f"vnwtg{tag}")
        run("ip", "link", "set", f"vnwtg{tag}", "netns", ns)
        run("ip", "-n", ns, "link", "set", f"vnwtg{tag}", "name", "eth0")
        run("ip", "-n", ns, "link", "set", "eth0", "address", mac)
        run("ip", "-n", ns, "link", "set", "eth0", "up")
        run("ip", "link", "set", host_end, "master", bridge, "up")
        udhcpc = ["udhcpc", "-f", "-R", "-i", "eth0", "-s", str(script)]
        guest.process = subprocess.Popen(
            [
                "ip",
                "netns",
                "exec",
                ns,
                *udhcpc,
                "-x",
                f"hostname:{hostname}",
                *udhcpc_args,
                "-t",
                "20",
                "-T",
                "1",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    except BaseException:
        remove_namespace_guest(guest)
        raise
    return guest


def remove_namespace_guest(guest: NamespaceGuest) -> None:
    if guest.process is not None:
        guest.stop()
    # Deleting the namespace deletes its veth end, and so the pair.
    subprocess.run(["ip", "netns", "del", guest.namespace], capture_output=True)


def guest_script(directory: Path) -> Path:
    script = directory / "udhcpc.sh"
    script.write_text(UDHCPC_SCRIPT)
    script.chmod(0o755)
    return script


@pytest.fixture
def namespace_guest(tmp_path) -> Iterator:
    """Factory: a guest in its own network namespace, plugged into a bridge, asking for a lease."""
    if not shutil.which("udhcpc"):
        pytest.fail("udhcpc is missing: `make test` installs it (scripts/setup.sh --test)")
    script = guest_script(tmp_path)
    guests: list[NamespaceGuest] = []

    def make(
        bridge: str, hostname: str = "vnwt-guest", mac: str = "", udhcpc_args=()
    ) -> NamespaceGuest:
        guest = start_namespace_guest(bridge, script, hostname, mac, udhcpc_args)
        guests.append(guest)
        return guest

    yield make
    for guest in guests:
        remove_namespace_guest(guest)


def virsh(*args: str, check: bool = True) -> str:
    """`virsh -c qemu:///system ARGS`: an independent witness of what libvirt holds."""
    done = subprocess.run(["virsh", "-c", LOCAL_URI, *args], capture_output=True, text=True)
    if check and done.returncode != 0:
        raise AssertionError(f"virsh {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


def _table(output: str) -> list[list[str]]:
    """The rows of a virsh table (below its line of dashes), split into columns."""
    lines = output.splitlines()
    start = next((i + 1 for i, line in enumerate(lines) if line.startswith("---")), len(lines))
    return [line.split() for line in lines[start:] if line.strip()]


def domiflist(name: str, *, inactive: bool = False) -> list[dict]:
    """The NICs `virsh domiflist` shows for domain `name` (its next boot's, with `inactive`)."""
    args = ["domiflist", name, *(["--inactive"] if inactive else [])]
    keys = ("interface", "type", "source", "model", "mac")
    return [dict(zip(keys, row, strict=True)) for row in _table(virsh(*args))]


def lease_for(network: str, mac: str) -> str | None:
    """The IPv4 address dnsmasq leased to `mac` on `network`, as `virsh net-dhcp-leases` tells."""
    # Columns: expiry date, expiry time, MAC, protocol, address/prefix, hostname, client id.
    for row in _table(virsh("net-dhcp-leases", network, "--mac", mac)):
        if row[2] == mac and row[3] == "ipv4":
            return row[4].split("/")[0]
    return None


@dataclass
class QemuGuest:
    name: str
    macs: list[str]  # its NICs' MACs when defined, one per network given, in that order
    console_log: Path  # the serial console: the kit's /init and udhcpc report there

    def console(self) -> str:
        """What the guest printed so far: worth putting in a failing assertion's message."""
        return self.console_log.read_text(errors="replace") if self.console_log.exists() else ""


def qemu_guest_xml(
    name: str, networks: list[str], macs: list[str], hostname: str, log: Path, *, acpi: bool = True
):
    """A TCG guest booting the kit straight from its kernel: one virtio NIC per network, no disk.
    Machine `pc` (i440fx) with ACPI, so NICs hot-plug and unplug on its root PCI bus (without
    ACPI, they cannot)."""
    domain = etree.Element("domain", type="qemu")
    etree.SubElement(domain, "name").text = name
    etree.SubElement(domain, "memory", unit="MiB").text = "96"  # 64 does not boot the kernel
    etree.SubElement(domain, "vcpu").text = "1"
    os_ = etree.SubElement(domain, "os")
    etree.SubElement(os_, "type", arch="x86_64", machine="pc").text = "hvm"
    etree.SubElement(os_, "kernel").text = str(GUEST_KIT / "vmlinuz")
    etree.SubElement(os_, "initrd").text = str(GUEST_KIT / "initrd.img")
    etree.SubElement(os_, "cmdline").text = f"console=ttyS0 quiet vnwt.hostname={hostname}"
    if acpi:
        etree.SubElement(etree.SubElement(domain, "features"), "acpi")
    devices = etree.SubElement(domain, "devices")
    for network, mac in zip(networks, macs, strict=True):
        nic = etree.SubElement(devices, "interface", type="network")
        etree.SubElement(nic, "source", network=network)
        etree.SubElement(nic, "mac", address=mac)
        etree.SubElement(nic, "model", type="virtio")
    # libvirt (root) opens the file and hands QEMU the descriptor: any path root can write works.
    serial = etree.SubElement(devices, "serial", type="file")
    etree.SubElement(serial, "source", path=str(log))
    return etree.tostring(domain, encoding="unicode")


def remove_qemu_guest(name: str) -> None:
    virsh("destroy", name, check=False)
    virsh("undefine", name, "--nvram", check=False)
    Path(f"/var/log/libvirt/qemu/{name}.log").unlink(missing_ok=True)


@pytest.fixture
def qemu_guest(tmp_path) -> Iterator:
    """Factory: a real QEMU guest (TCG) booting the guest kit, a virtio NIC on each network named.
    Its /init keeps a DHCP client on every NIC, hot-plugged ones too, and asks again after a link
    down/up. Every guest made is destroyed and undefined afterwards, also when the test fails; its
    console log stays in the test's tmp_path."""
    if not (GUEST_KIT / "stamp").exists():
        pytest.fail(f"no guest kit in {GUEST_KIT}: run scripts/guest-kit.sh (make test does)")
    made: list[str] = []

    def make(
        networks: list[str],
        *,
        hostname: str = "vnwt-vm",
        macs: list[str] | None = None,
        start: bool = True,
        acpi: bool = True,
    ) -> QemuGuest:
        name = f"vnwt-vm-{random.randrange(16**6):06x}"
        macs = list(macs) if macs else [random_mac() for _ in networks]
        guest = QemuGuest(name, macs, tmp_path / f"{name}.console.log")
        path = tmp_path / f"{name}.xml"
        xml = qemu_guest_xml(name, networks, macs, hostname, guest.console_log, acpi=acpi)
        path.write_text(xml)
        virsh("define", str(path))
        made.append(name)
        if start:
            virsh("start", name)
        return guest

    yield make
    for name in made:
        remove_qemu_guest(name)


def wait_for(predicate, timeout: float = 20.0, interval: float = 0.2, message: str = ""):
    """Poll until predicate() is truthy; fail the test with `message` otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(message or f"timed out after {timeout} s")
        time.sleep(interval)


def _test_database_url() -> str:
    """The test database (not the site's) as a DATABASE_URL for another process."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = f"{quote(db['USER'])}:{quote(db['PASSWORD'], safe='')}@" if db["USER"] else ""
    host = quote(db["HOST"] or "localhost", safe="")  # a socket folder is a host too, quoted
    return f"postgresql://{auth}{host}:{db['PORT'] or 5432}/{quote(db['NAME'], safe='')}"


def database_env() -> dict[str, str]:
    """The environment that opens the test database in another process on tests.settings: the
    site's settings read DATABASE_URL (with SQLite's options), and VNETWEB_TEST_DATABASE_URL, which
    would win over it, is emptied."""
    return {"DATABASE_URL": _test_database_url(), "VNETWEB_TEST_DATABASE_URL": ""}


@pytest.fixture
def celery_processes(transactional_db, settings) -> Iterator:
    """Factory: `celery -A vnetweb <args>` in another process, on the test database and Redis.

    It opens the same test database as the test (SQLite's file, PostgreSQL's test_…), so tests
    must use `transactional_db` (committed rows) to share data with it. Output goes to
    var/test-<log>.log.
    """
    procs: list[subprocess.Popen] = []

    def start(args: list[str], log_name: str, **env_extra: str) -> subprocess.Popen:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            **database_env(),
            "VNETWEB_TEST_REDIS_URL": settings.CELERY_BROKER_URL,
            **env_extra,
        }
        log = open(REPO / "var" / f"test-{log_name}.log", "w")  # noqa: SIM115
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "vnetweb", *args, "--loglevel=INFO"],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture
def celery_worker_process(celery_processes):
    """Factory: a real Celery worker over the real Redis, serving the hosts matching `hosts`."""
    count = 0

    def start(hosts: str, *, pool: str = "solo", **env: str) -> subprocess.Popen:
        nonlocal count
        count += 1
        name = f"vnwt-{os.getpid()}-{count}@%h"
        args = ["worker", "-Q", "vnetweb", "-n", name, f"--pool={pool}", "--without-mingle"]
        return celery_processes(
            [*args, "--without-gossip"], f"worker-{count}", VNETWEB_WORKER_HOSTS=hosts, **env
        )

    return start


@pytest.fixture
def celery_beat_process(celery_processes, tmp_path):
    """Factory: a real Celery beat sending the refresh fan-out every `seconds` to the test Redis."""

    def start(seconds: int = 1) -> subprocess.Popen:
        args = ["beat", "--schedule", str(tmp_path / "beat-schedule")]
        return celery_processes(args, "beat", VNETWEB_REFRESH_SECONDS=str(seconds))

    return start
