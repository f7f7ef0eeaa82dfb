"""Past one machine, at small size: per-host workers in network namespaces of the test's own,
reaching Redis and PostgreSQL over a veth, as workers on other machines do over a network.

One worker serves the real host (qemu:///system, read through libvirtd's socket, which a network
namespace does not hide) and has its link cut; another serves a test-driver host and keeps its
link. While the link is down the cut host's page says no worker serves it, a job asked for then
fails at once in words, and the other host's jobs still run. A network started with virsh
meanwhile, and a job queued just after the cut, are caught up with once the link returns.

The site's processes (bench/_links.py: its own Redis and PostgreSQL cluster, the namespaces
vnwtlw1/2 on the bridge vnwtltbr, 10.213.254.0/24) are stopped and removed afterwards, also
when the test fails. The site runs on its own database, not the tests' one: the test reads it
with psycopg and asks the site's own Django (a subprocess) for pages and jobs.
"""

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.real import LOCAL_URI, wait_for

BENCH = Path(__file__).resolve().parent.parent / "bench"
sys.path.insert(0, str(BENCH))

import _links  # noqa: E402

pytestmark = [pytest.mark.libvirt, pytest.mark.worker]

CUT, KEPT = "vnwt-lt-real", "vnwt-lt-td"
NO_WORKER = f"No live worker serves {CUT}"


@pytest.fixture
def site(tmp_path) -> Iterator[_links.Site]:
    if not Path(_links.__file__).exists() or not shutil.which("redis-server"):
        pytest.fail("redis-server is missing: `make test` installs it (scripts/setup.sh --test)")
    with _links.stack(tmp_path / "site", "vnwtltbr", "10.213.254.0/24") as made:
        yield made


def _query(site: _links.Site, sql: str, *args) -> list[tuple]:
    with psycopg.connect(site.database.url()) as conn:
        return conn.execute(sql, args).fetchall()


def _network_active(site: _links.Site, name: str) -> bool | None:
    rows = _query(
        site,
        "SELECT n.active FROM networks_network n JOIN networks_host h ON n.host_id = h.id"
        " WHERE h.name = %s AND n.name = %s",
        CUT,
        name,
    )
    return rows[0][0] if rows else None


def _job(site: _links.Site, job_id: int) -> tuple[str, str]:
    return _query(site, "SELECT state, message FROM networks_job WHERE id = %s", job_id)[0]


def _ask(site: _links.Site, host: str, operation: str, network: str = "") -> int:
    """A job asked for as the web asks it (networks.jobs.create_job), by the site's admin."""
    code = f"""
from django.contrib.auth.models import User
from networks.jobs import create_job
from networks.models import Host, Network
host = Host.objects.get(name={host!r})
network = Network.objects.get(host=host, name={network!r}) if {network!r} else None
print(create_job(User.objects.get(username="boss"), host, {operation!r}, network=network).pk)
"""
    return int(site.django(code).split()[-1])


def _pages(site: _links.Site) -> dict[str, str]:
    """The two hosts' pages and the host list, as the site's admin sees them now."""
    code = f"""
import json
from django.contrib.auth.models import User
from django.test import Client
client = Client()
client.force_login(User.objects.get(username="boss"))
paths = {{"cut": "/hosts/{CUT}/", "kept": "/hosts/{KEPT}/", "list": "/hosts/"}}
print(json.dumps({{key: client.get(path).content.decode() for key, path in paths.items()}}))
"""
    return json.loads(site.django(code).splitlines()[-1])


def _reachable(site: _links.Site, host: str) -> bool:
    rows = _query(site, "SELECT reachable FROM networks_host WHERE name = %s", host)
    return bool(rows and rows[0][0])


def test_a_cut_worker_shows_unserved_fails_new_jobs_in_words_and_catches_up(site, libvirt_network):
    began = time.monotonic()
    net = libvirt_network(start=False)
    td_uri = _links.write_test_host(site.hosts_dir, KEPT, networks=2, number=41)
    site.django(
        f"""
from django.contrib.auth.models import User
from networks.models import Host
User.objects.create_superuser("boss", password="pw-boss-4711")
Host.objects.create(name={CUT!r}, uri={LOCAL_URI!r})
Host.objects.create(name={KEPT!r}, uri={td_uri!r})
"""
    )
    cut = site.linked_worker(CUT)
    site.linked_worker(KEPT)
    wait_for(
        lambda: _reachable(site, CUT) and _reachable(site, KEPT),
        timeout=40,
        message=f"the namespaced workers did not read their hosts (logs in {site.tmp})",
    )
    wait_for(lambda: _network_active(site, net.name) is False, timeout=20)

    cut.cut()
    queued = _ask(site, CUT, "probe")  # the worker's announcement is still valid: queued
    assert _job(site, queued)[0] == "queued"
    subprocess.run(
        ["virsh", "-c", LOCAL_URI, "net-start", net.name], check=True, capture_output=True
    )
    # The announcement runs out (networks.workers.VALID, 15 s) without its refreshes.
    wait_for(
        lambda: NO_WORKER in _pages(site)["cut"],
        timeout=30,
        interval=1,
        message="the cut host's page never said that no worker serves it",
    )
    pages = _pages(site)
    assert "jobs asked for now fail" in pages["cut"]
    assert "No live worker serves" not in pages["kept"]
    assert pages["list"].count("no worker</span>") == 1
    refused = _ask(site, CUT, "stop", net.name)
    state, message = _job(site, refused)
    assert state == "failed" and f"No worker serves host {CUT}" in message
    # The other host's worker is not held back.
    other = _ask(site, KEPT, "probe")
    wait_for(lambda: _job(site, other)[0] == "succeeded", timeout=20)

    cut.restore()
    # The job queued at the cut ran (or, had beat failed it meanwhile, failed saying so), and the
    # network started while the link was down is recorded: nothing was lost.
    wait_for(
        lambda: _job(site, queued)[0] in ("succeeded", "failed"),
        timeout=40,
        message=f"the job queued at the cut stayed {_job(site, queued)}",
    )
    state, message = _job(site, queued)
    assert state == "succeeded" or message, (state, message)
    wait_for(
        lambda: _network_active(site, net.name) is True,
        timeout=40,
        message="the network started during the cut was never recorded",
    )
    wait_for(lambda: NO_WORKER not in _pages(site)["cut"], timeout=20, interval=1)
    assert _job(site, refused)[0] == "failed"  # and it did nothing: the network still runs
    running = subprocess.run(
        ["virsh", "-c", LOCAL_URI, "net-list", "--name"], capture_output=True, text=True
    ).stdout.split()
    assert net.name in running
    assert not _query(site, "SELECT id FROM networks_job WHERE state = 'running'")
    assert time.monotonic() - began < 90, "the test took longer than its budget"
