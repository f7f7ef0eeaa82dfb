"""docs/api.md's examples, run as written, against the real host: each `sh` block in turn, in
bash with curl and jq, against the live server, a real Celery worker and the real libvirtd.

Through the API only: an admin's token creates a NAT switch and waits for it, reads it, lists its
leases (a guest in a network namespace of the test's own asks for one), finds it by subnet, adds
a static host with If-Match, forwards a port of the host to it and removes the forward, is
refused the same If-Match again (412), stops and deletes it; a viewer's token is refused a
change. libvirt itself is asked afterwards, as a witness, and the firewall: the tests' own
forward chains (VNWT_*) are gone once the forward is.
"""

import os
import re
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

from networks import tokens
from networks.gateway import forwards as firewall
from networks.models import AuditEntry, Host, Lease, Network
from tests.real import free_subnet, random_mac, virsh, wait_for
from tests.test_browser import member

pytestmark = [pytest.mark.libvirt, pytest.mark.worker, pytest.mark.postgres]

DOCS = Path(__file__).resolve().parent.parent / "docs" / "api.md"


# The blocks run one after another as in one terminal: the shell variables a block sets (ETAG)
# are there for the next one.
ONE_TERMINAL = """
if [ -f .vars ]; then . ./.vars; fi
{block}
declare -p | grep -E '^declare -- [A-Z_]+=' > .vars || true
"""


def sh_blocks() -> list[str]:
    return re.findall(r"^```sh\n(.*?)^```", DOCS.read_text(), flags=re.S | re.M)


def test_the_docs_have_the_examples_the_issue_asks_for():
    text = "\n".join(sh_blocks())
    needles = ("?wait=60", "/leases/", "If-Match", "/forwards/", "actions/stop/", "-X DELETE")
    for needle in (*needles, "VIEWER"):
        assert needle in text, needle


def test_the_docs_examples_run_as_written_against_the_real_host(
    live_server,
    real_host,
    celery_worker_process,
    switch_names,
    namespace_guest,
    tmp_path,
):
    name = f"vnwt-api{random_mac()[-5:].replace(':', '')}"
    switch_names.append(name)
    subnet = free_subnet()
    _, admin_key = tokens.issue(member("vnwt-api-admin", "admin"), "docs")
    _, viewer_key = tokens.issue(member("vnwt-api-viewer", "viewer"), "docs")
    celery_worker_process(real_host.name)
    # As on any site, the host has been read before anyone draws a switch on it (the worker's
    # monitor reads its hosts when it starts): the free bridge names come from that picture.
    wait_for(
        lambda: Host.objects.filter(pk=real_host.pk, last_seen__isnull=False).exists(),
        timeout=30,
        message="the worker did not read the host within 30 s",
    )
    env = {
        **os.environ,
        "VNETWEB": live_server.url,
        "TOKEN": admin_key,
        "VIEWER_TOKEN": viewer_key,
        "HOST": real_host.name,
        "NAME": name,
        "SUBNET": f"10.213.{subnet}",
    }
    try:
        outputs, guest_mac = _run_blocks(real_host, name, env, namespace_guest, tmp_path)
    finally:
        # Whatever failed, no forward of the test's outlives it in the host's firewall.
        left = firewall.read(settings.VNETWEB_FORWARD_CHAINS)
        if not left.empty:
            firewall.apply([], settings.VNETWEB_FORWARD_CHAINS, left)
    created, detail, leases, found, pinned, forwarded, stale, removed, refused = outputs
    assert '"state": "succeeded"' in created
    assert '"active": true' in detail and f"10.213.{subnet}.1/24" in detail
    assert guest_mac in leases and "vnwt-apiguest" in leases
    assert name in found.split()
    # The static host is in the definition the edit left (the audit trail keeps it: the switch
    # itself is gone by now), and the change names the token it was made with.
    edit = AuditEntry.objects.get(network_name=name, action="update")
    assert "web1" in edit.after and edit.token == "docs" and edit.result == "succeeded", pinned
    assert f"TCP *:8080 -> web1 10.213.{subnet}.10:80" in forwarded
    added = AuditEntry.objects.get(network_name=name, action="forward_add")
    assert added.result == "succeeded" and "8080" in added.after, added.message
    assert left.empty, "the removed forward's rules were still in the host's firewall"
    assert "412" in stale and "static host" in stale
    assert "true" in removed
    assert refused.strip() == "403"
    assert name not in virsh("net-list", "--all", "--name").split()


def _run_blocks(real_host, name: str, env: dict, namespace_guest, tmp_path):
    """Each sh block in turn in one terminal, what the next needs of the host made ready first:
    a guest's lease for the lease list, the worker's first look at the switch's host side (it
    writes the firewall only there) for the port forward. Returns what each printed, and the
    guest's MAC."""
    outputs, guest = [], None
    for block in sh_blocks():
        if "/leases/" in block:
            # A guest on the new switch asks for an address; the worker's monitor sees the lease.
            bridge = Network.objects.get(host=real_host, name=name).bridge
            guest = namespace_guest(bridge, hostname="vnwt-apiguest")
            wait_for(
                lambda mac=guest.mac: Lease.objects.filter(network__name=name, mac=mac).exists(),
                timeout=30,
                message="the guest's lease did not reach the database within 30 s",
            )
        if "/forwards/" in block:
            wait_for(
                lambda: Network.objects.get(host=real_host, name=name).switch.get("local"),
                timeout=30,
                message="the worker did not read the switch's host side within 30 s",
            )
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", ONE_TERMINAL.format(block=block)],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, f"{block}\n--- out:\n{done.stdout}\n--- err:\n{done.stderr}"
        outputs.append(done.stdout)
    return outputs, guest.mac if guest else ""
