"""A throw-away vnetweb site for benchmarks: its environment, sample data and a real web server.

Everything lives in one temporary directory (SQLite database, generated secret key, static root,
server log); nothing touches var/ or the site's own database, and no libvirt is needed. Live
updates are published to Redis database 13 (REDIS_URL below), never the site's database 0.

    tmp = Path(tempfile.mkdtemp(prefix="vnetweb-bench-"))
    _site.configure(tmp)              # before anything imports Django models
    hosts = _site.create_hosts(4)
    _site.populate(hosts, 100)        # 100 networks over the 4 hosts; again with 1000 to grow
    with _site.server(tmp) as base:   # gunicorn + uvicorn workers, as `make run` starts them
        ...

The sample networks follow bench/network_list.py's generator (one /24 with a DHCP range each,
written by networks.worker.sync.record_snapshot as a refresh would), with a mix of modes,
about a third active, a quarter autostarted, some with IPv6, a few queued jobs, and on host h0
one active network (LEASE_NETWORK) holding LEASES DHCP leases.
"""

import ipaddress
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import httpx
from _procs import stop
from _services import free_port

REPO = Path(__file__).resolve().parent.parent
BENCH_REDIS_URL = "redis://127.0.0.1:6379/13"
USERNAME = "bench"
PASSWORD = "bench-password-1"
LEASE_HOST = "h0"
LEASE_NETWORK = "net0-0"
LEASES = 500
MODES = ("nat", "nat", "route", "isolated", "open")
# Caller variables that would change the site under test: dropped, then set as below.
_OVERRIDDEN = ("VNETWEB_", "DATABASE_URL", "REDIS_URL", "DJANGO_")


def site_env(tmp: Path) -> dict[str, str]:
    """The process environment of the throw-away site (for this process and the server)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_OVERRIDDEN)}
    env.update(
        DJANGO_SETTINGS_MODULE="vnetweb.settings",
        VNETWEB_DATA_DIR=str(tmp),
        DATABASE_URL=f"sqlite:///{tmp}/bench.sqlite3",
        VNETWEB_STATICFILES_STORAGE="django.contrib.staticfiles.storage.StaticFilesStorage",
        VNETWEB_LOG_LEVEL="WARNING",
        REDIS_URL=BENCH_REDIS_URL,
    )
    return env


def configure(tmp: Path) -> None:
    """Point this process at the throw-away site, set Django up and migrate its database."""
    (tmp / "static").mkdir(parents=True, exist_ok=True)
    for key in [k for k in os.environ if k.startswith(_OVERRIDDEN)]:
        del os.environ[key]
    os.environ.update(site_env(tmp))
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    import django

    django.setup()
    from django.core.management import call_command
    from django.test.utils import setup_test_environment

    # For django.test.Client (its "testserver" host); the server subprocess is untouched.
    setup_test_environment()
    call_command("migrate", verbosity=0)
    from django.contrib.auth.models import User

    User.objects.create_superuser(USERNAME, password=PASSWORD)


def create_hosts(count: int) -> list:
    from networks.models import Host

    return [Host.objects.create(name=f"h{n}", uri=f"test:///h{n}") for n in range(count)]


def _leases(count: int) -> tuple:
    from django.utils import timezone

    from networks import gateway

    expires = timezone.now() + timedelta(hours=1)
    first = ipaddress.ip_address("172.16.0.10")
    return tuple(
        gateway.LeaseInfo(
            mac=f"52:54:00:{k >> 16 & 0xFF:02x}:{k >> 8 & 0xFF:02x}:{k & 0xFF:02x}",
            ip=str(first + k),
            prefix=22,
            hostname=f"guest{k}",
            client_id="",
            expires=expires,
        )
        for k in range(count)
    )


def _network(host_no: int, i: int):
    from networks import gateway
    from networks.spec import DhcpRange, IpSpec, NetworkSpec, to_xml

    name = f"net{host_no}-{i}"
    active = i % 3 == 0
    if name == LEASE_NETWORK:
        ips = [IpSpec("172.16.0.1", 22, dhcp_ranges=[DhcpRange("172.16.0.10", "172.16.3.250")])]
    else:
        net = f"10.{host_no}.{i % 250}"
        ips = [IpSpec(f"{net}.1", 24, dhcp_ranges=[DhcpRange(f"{net}.10", f"{net}.99")])]
    if i % 5 == 1:
        ips.append(IpSpec(f"fd00:{host_no}:{i}::1", 64, family="ipv6"))
    spec = NetworkSpec(
        name=name,
        uuid=str(uuid.UUID(int=host_no * 100000 + i)),
        mode=MODES[i % len(MODES)],
        bridge=f"vb{host_no}x{i}",
        ips=ips,
    )
    if not active:
        leases = None
    elif name == LEASE_NETWORK:
        leases = _leases(LEASES)
    else:
        leases = ()
    return gateway.NetworkInfo(name, spec.uuid, active, True, i % 4 == 0, to_xml(spec), leases)


def populate(hosts: list, total: int) -> None:
    """Make the hosts hold `total` networks between them (record_snapshot adds and drops rows),
    with a queued job on every 15th network (and at least one)."""
    from networks import gateway
    from networks.models import Job, Network
    from networks.worker.sync import record_snapshot

    facts = gateway.HostFacts("bench", "9.0.0", "QEMU", "7.2.0", "x86_64", 2, 1 << 24)
    for n, host in enumerate(hosts):
        count = total // len(hosts) + (1 if n < total % len(hosts) else 0)
        nets = tuple(_network(n, i) for i in range(count))
        record_snapshot(host, gateway.HostSnapshot(facts=facts, networks=nets))
    Job.objects.exclude(state__in=Job.FINISHED).delete()
    for network in Network.objects.select_related("host").order_by("pk")[1::15]:
        Job.objects.create(
            username=USERNAME,
            host=network.host,
            network=network,
            target=network.name,
            operation="stop" if network.active else "start",
        )


def session_cookies(count: int) -> list[dict[str, str]]:
    """`count` distinct logged-in sessions of the bench user, made in this process (a real session
    row each, as a login makes, without `count` password hashes of ~0.5 s CPU each)."""
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.test import Client

    user = User.objects.get(username=USERNAME)
    cookies = []
    for _ in range(count):
        client = Client()
        client.force_login(user)
        name = settings.SESSION_COOKIE_NAME
        cookies.append({name: client.cookies[name].value})
    return cookies


def login(client: httpx.Client) -> None:
    """Log in over HTTP like a browser: the login form's CSRF cookie and token, then the POST."""
    client.get("/accounts/login/").raise_for_status()
    token = client.cookies["csrftoken"]
    response = client.post(
        "/accounts/login/",
        data={"username": USERNAME, "password": PASSWORD, "csrfmiddlewaretoken": token},
    )
    if response.status_code != 302 or "sessionid" not in client.cookies:
        raise RuntimeError(f"login failed: HTTP {response.status_code}")


async def alogin(client: httpx.AsyncClient) -> None:
    """`login` for an httpx.AsyncClient."""
    (await client.get("/accounts/login/")).raise_for_status()
    token = client.cookies["csrftoken"]
    response = await client.post(
        "/accounts/login/",
        data={"username": USERNAME, "password": PASSWORD, "csrfmiddlewaretoken": token},
    )
    if response.status_code != 302 or "sessionid" not in client.cookies:
        raise RuntimeError(f"login failed: HTTP {response.status_code}")


@contextmanager
def server(
    tmp: Path,
    workers: int = 2,
    timeout: float = 60,
    app: str = "vnetweb.asgi:application",
    env: dict[str, str] | None = None,
) -> Iterator[str]:
    """Run the production web server on a free loopback port, as `make run` starts it; yields its
    base URL once /healthz/ answers, and stops its whole process group on the way out. `app` and
    `env` (added to the site's): another ASGI application to compare (bench/asgi_bridge.py)."""
    port = free_port()
    gunicorn = Path(sys.executable).parent / "gunicorn"
    command = [
        str(gunicorn),
        app,  # the rest from gunicorn.conf.py, as `make run`
        "--workers",
        str(workers),
        "--bind",
        f"127.0.0.1:{port}",
    ]
    log_path = tmp / "server.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            command,
            cwd=REPO,
            env={**site_env(tmp), **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped with all its workers
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base, proc, log_path, timeout)
        yield base
    finally:
        stop(proc, 15)  # gunicorn stops its workers


def _wait_healthy(base: str, proc: subprocess.Popen, log_path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log_path.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"web server exited ({proc.returncode}):\n{tail}")
        try:
            if httpx.get(f"{base}/healthz/", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"web server did not answer {base}/healthz/ within {timeout:.0f} s")
