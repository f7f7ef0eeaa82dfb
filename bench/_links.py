"""Past one machine: per-host Celery workers each in a network namespace of the bench's own,
reaching Redis and PostgreSQL over a veth, as workers on other machines reach them over a network.

    with stack(tmp) as site:                       # hub bridge, own Redis and PostgreSQL, migrated
        uri = write_test_host(site.hosts_dir, "vnwt-l1")
        worker = site.linked_worker("vnwt-l1")     # namespace vnwtlw1, worker serving vnwt-l1
        worker.cut(); worker.restore()             # the veth's host end down / up

The site (web, beat, this process) is in the host's namespace and reaches both services on
127.0.0.1; a worker in namespace vnwtlwN reaches them at the hub bridge's address 10.213.253.1.
Each worker serves one host on libvirt's test driver (a small host file in the site's
VNETWEB_TEST_HOSTS_DIR): its state lives in that worker process, so what the database shows
after a cut can be checked against the worker's own libvirt by a job. Everything made is
removed on the way out, also on failure.
"""

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import _netns
from _procs import stop
from _services import Postgres, postgres_cluster, redis_server

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
_OVERRIDDEN = ("VNETWEB_", "DATABASE_URL", "REDIS_URL", "DJANGO_")

HOST_XML = """<node>
  <cpu><mhz>2600</mhz><model>vnwt-linked</model><active>2</active><nodes>1</nodes>
    <sockets>1</sockets><cores>2</cores><threads>1</threads></cpu>
  <memory>4194304</memory>
{networks}</node>
"""
NETWORK_XML = """  <network>
    <name>{name}</name>
    <uuid>{uuid}</uuid>
    <forward mode='nat'/>
    <bridge name='{bridge}' stp='off'/>
    <ip address='{net}.1' prefix='24'>
      <dhcp><range start='{net}.10' end='{net}.99'/></dhcp>
    </ip>
  </network>
"""


def write_test_host(folder: Path, name: str, networks: int = 2, number: int = 0) -> str:
    """A test-driver host file FOLDER/NAME.xml with `networks` NAT networks NAME-n0…, all
    running when a worker first opens it (the test driver starts every network of its file);
    returns its test:/// URI. `number` (0…49) keeps subnets apart between hosts: 10.(200+N).i.0/24
    (the test driver makes nothing on the machine)."""
    nets = "".join(
        NETWORK_XML.format(
            name=f"{name}-n{i}",
            uuid=uuid.uuid4(),
            bridge=f"vnwtl{number}b{i}",
            net=f"10.{200 + number}.{i}",
        )
        for i in range(networks)
    )
    path = folder / f"{name}.xml"
    path.write_text(HOST_XML.format(networks=nets))
    return f"test://{path}"


def site_env(tmp: Path, redis_url: str, database_url: str, **more: str) -> dict[str, str]:
    """The environment of the site's processes (and, with other addresses, of the workers)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_OVERRIDDEN)}
    env.update(
        DJANGO_SETTINGS_MODULE="vnetweb.settings",
        VNETWEB_DATA_DIR=str(tmp),
        VNETWEB_TEST_HOSTS_DIR=str(tmp / "hosts"),
        VNETWEB_STATICFILES_STORAGE="django.contrib.staticfiles.storage.StaticFilesStorage",
        VNETWEB_LOG_LEVEL="INFO",
        REDIS_URL=redis_url,
        DATABASE_URL=database_url,
    )
    env.update(more)
    return env


@dataclass
class LinkedWorker:
    """A Celery worker in namespace `ns` serving the one host `host`."""

    host: str
    ns: _netns.Namespace
    process: subprocess.Popen
    log: Path

    def cut(self) -> None:
        """The worker's link to Redis and PostgreSQL goes down (its veth's host end)."""
        self.ns.cut()

    def restore(self) -> None:
        self.ns.restore()


@dataclass
class Site:
    tmp: Path
    hub: _netns.Hub
    redis_port: int
    database: Postgres
    env: dict[str, str]  # the site's own processes: services on 127.0.0.1
    workers: list[LinkedWorker] = field(default_factory=list)

    @property
    def hosts_dir(self) -> Path:
        return self.tmp / "hosts"

    def worker_env(self, host: str, **more: str) -> dict[str, str]:
        """A namespaced worker's environment: the services at the hub's address."""
        address = self.hub.address
        return site_env(
            self.tmp,
            f"redis://{address}:{self.redis_port}/0",
            self.database.url(address),
            VNETWEB_WORKER_HOSTS=host,
            **more,
        )

    def django(self, code: str, timeout: float = 60) -> str:
        """Run `code` in a Python process set up as the site (Django's test client allowed), on
        the site's database and Redis; returns what it printed. For tests and benches whose own
        process is set up on another database."""
        prelude = (
            "import django, sys; django.setup(); "
            "from django.test.utils import setup_test_environment; setup_test_environment(); "
            "exec(sys.stdin.read())"
        )
        done = subprocess.run(
            [sys.executable, "-c", prelude],
            input=code,
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode != 0:
            raise RuntimeError(f"site code failed:\n{code}\n{done.stderr[-3000:]}")
        return done.stdout

    def linked_worker(self, host: str, **env: str) -> LinkedWorker:
        """Namespace vnwtlwN on the hub and a worker in it serving `host` (threads pool, as the
        fleet's workers)."""
        number = len(self.workers) + 1
        ns = self.hub.attach(f"vnwtlw{number}")
        log = self.tmp / f"worker-{number}.log"
        argv = [
            *(str(VENV_BIN / "celery"), "-A", "vnetweb", "worker", "-Q", "vnetweb"),
            *("-n", f"linked{number}@%h", "--pool=threads", "--concurrency=4"),
            *("--without-mingle", "--without-gossip", "--loglevel=INFO"),
        ]
        with open(log, "wb") as out:
            process = ns.exec(
                argv, cwd=REPO, env=self.worker_env(host, **env), stdout=out, stderr=out
            )
        worker = LinkedWorker(host, ns, process, log)
        self.workers.append(worker)
        return worker


@contextmanager
def stack(
    tmp: Path, hub_name: str = "vnwtlbr", hub_network: str = str(_netns.HUB)
) -> Iterator[Site]:
    """The hub bridge, a Redis and a PostgreSQL bound to loopback and to the hub's address, the
    database migrated. Workers made with `site.linked_worker` stop (and their namespaces go)
    on the way out, before the services."""
    (tmp / "hosts").mkdir(parents=True, exist_ok=True)
    (tmp / "static").mkdir(exist_ok=True)
    with ExitStack() as stack_:
        hub = stack_.enter_context(_netns.bridge(hub_name, hub_network))
        binds = ["127.0.0.1", hub.address]
        redis_port = stack_.enter_context(redis_server(tmp, binds)).port
        database = stack_.enter_context(postgres_cluster(tmp, binds, str(hub.network)))
        env = site_env(tmp, f"redis://127.0.0.1:{redis_port}/0", database.url())
        site = Site(tmp, hub, redis_port, database, env)
        stack_.callback(_stop_workers, site)
        migrate = [sys.executable, "manage.py", "migrate", "--verbosity=0"]
        subprocess.run(migrate, cwd=REPO, env=env, check=True)
        yield site


def _stop_workers(site: Site) -> None:
    for worker in site.workers:
        stop(worker.process, grace=10)
