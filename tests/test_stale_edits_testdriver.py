"""An edit carries the saved definition it was made on (`base_xml`); right before it defines or
updates, the worker refuses it when libvirt's saved definition is another one, saying what
changed, so a change made meanwhile (in vnetweb or with `virsh net-define`) is never undone.

On libvirt's test driver (state in this process); the network is vnwt-tdst, undefined after.
"""

import dataclasses

import pytest

from networks import gateway
from networks.models import Job, Network
from networks.spec import (
    DhcpHost,
    DhcpRange,
    DnsHost,
    IpSpec,
    NetworkSpec,
    UpdateStep,
    parse,
    plan_update,
)
from networks.spec import to_xml as spec_xml
from networks.worker import tasks
from tests import jobs

URI = "test:///default"
NAME = "vnwt-tdst"
FIXED = DhcpHost(mac="52:54:00:00:09:01", name="one", ip="10.213.9.10")
EXTRA = DhcpHost(mac="52:54:00:00:09:02", name="two", ip="10.213.9.11")
RECORD = DnsHost("10.213.9.53", ["ns"])
TFTP = "<tftp root='/srv/tftp'/>"


def stale_spec() -> NetworkSpec:
    return NetworkSpec(
        name=NAME,
        mode="nat",
        bridge="vnwttdst",
        stp=False,
        ips=[
            IpSpec(
                address="10.213.9.1",
                prefix=24,
                dhcp_ranges=[DhcpRange("10.213.9.100", "10.213.9.150")],
                dhcp_hosts=[FIXED],
            )
        ],
    )


def _defined(host, *, running: bool):
    gateway.define_network(URI, spec_xml(stale_spec()), start=running)
    tasks.refresh(host)
    yield Network.objects.get(host=host, name=NAME)
    gateway.undefine_network(URI, NAME)


@pytest.fixture
def network(test_host):
    """vnwt-tdst, stopped: the test driver shows a running network's new saved definition only
    once it restarts, unlike a real host."""
    yield from _defined(test_host, running=False)


@pytest.fixture
def running_network(test_host):
    """vnwt-tdst, running (a lease pin needs that)."""
    yield from _defined(test_host, running=True)


def saved() -> str:
    info = gateway.find_network(URI, NAME)
    return info.config_xml or info.xml


def defined_with_virsh(xml: str) -> None:
    """What `virsh net-define` does: a new saved definition, vnetweb not told."""
    gateway.define_network(URI, xml)


def edit(base: str, *, hosts: list[DhcpHost] | None = None, **changes) -> dict:
    """The params of an update made in the editor on `base`, as the web sends them."""
    new = dataclasses.replace(parse(base), **changes)
    if hosts is not None:
        new.ips[0].dhcp_hosts = hosts
    plan = plan_update(parse(base), new, base=base)
    return {
        "xml": spec_xml(new, base=base),
        "base_xml": base,
        "live": [dataclasses.asdict(u) for u in plan.updates],
    }


def edit_live(base: str, **changes) -> list[UpdateStep]:
    """The live updates of such an edit, to make the change on the host directly."""
    return [UpdateStep(**u) for u in edit(base, **changes)["live"]]


def update(network: Network, **params) -> Job:
    return jobs.run(network.host, "update", NAME, **params)


def test_an_edit_on_the_current_definition_goes_through(network):
    job = update(network, **edit(network.saved_xml, hosts=[FIXED, EXTRA]))
    assert job.state == Job.State.SUCCEEDED, job.message
    assert parse(saved()).ips[0].dhcp_hosts == [FIXED, EXTRA]


def test_a_dns_record_added_with_virsh_after_review_is_not_overwritten(network):
    base = network.saved_xml
    params = edit(base, stp=True)  # a define: it would rewrite the whole definition
    theirs = parse(base)
    theirs.dns_hosts = [RECORD]
    defined_with_virsh(spec_xml(theirs, base=base))
    job = update(network, **params)
    assert job.state == Job.State.FAILED
    assert job.message == (
        f"{NAME} was changed on the host since the editor was opened (a DNS host record "
        "10.213.9.53 was added); nothing was changed. Review again."
    )
    assert parse(saved()).dns_hosts == [RECORD], "the virsh change is still there"
    assert parse(saved()).stp is False, "and the refused edit was not applied"


def test_a_change_vnetweb_does_not_model_made_with_virsh_is_not_overwritten(network):
    base = network.saved_xml
    params = edit(base, stp=True)
    defined_with_virsh(base.replace("<dhcp>", TFTP + "<dhcp>"))
    job = update(network, **params)
    assert job.state == Job.State.FAILED
    assert "since the editor was opened (<tftp> in <ip> was added); nothing was changed." in (
        job.message
    )
    assert TFTP in saved() and parse(saved()).stp is False


def test_a_live_update_on_a_stale_definition_is_refused_too(network):
    base = network.saved_xml
    params = edit(base, hosts=[FIXED, EXTRA])
    theirs = parse(base)
    theirs.dns_hosts = [RECORD]
    defined_with_virsh(spec_xml(theirs, base=base))
    job = update(network, **params)
    assert job.state == Job.State.FAILED
    assert "a DNS host record 10.213.9.53 was added" in job.message
    assert parse(saved()).ips[0].dhcp_hosts == [FIXED]


def test_after_reviewing_again_the_edit_goes_through_and_both_changes_are_there(network):
    base = network.saved_xml
    theirs = parse(base)
    theirs.dns_hosts = [RECORD]
    defined_with_virsh(spec_xml(theirs, base=base))
    assert update(network, **edit(base, stp=True)).state == Job.State.FAILED
    job = update(network, **edit(saved(), stp=True))  # the editor opened again
    assert job.state == Job.State.SUCCEEDED, job.message
    assert parse(saved()).dns_hosts == [RECORD] and parse(saved()).stp is True


def test_an_edit_without_the_definition_it_was_made_on_is_refused(network):
    params = edit(network.saved_xml, stp=True)
    del params["base_xml"]
    job = update(network, **params)
    assert job.state == Job.State.FAILED
    assert job.message.startswith(f"This change of {NAME} does not say which definition")
    assert parse(saved()).stp is False


def test_running_the_same_edit_twice_is_still_nothing_to_do(network):
    params = edit(network.saved_xml, hosts=[FIXED, EXTRA])
    assert update(network, **params).state == Job.State.SUCCEEDED
    again = update(network, **params)
    assert (again.state, again.message) == (
        Job.State.SUCCEEDED,
        f"{NAME} already has this definition; nothing to do.",
    )


def pin(network: Network, **params) -> Job:
    lease = {"mac": "52:54:00:aa:09:01", "ip": "10.213.9.120", "hostname": "web"}
    return jobs.run(network.host, "pin_lease", NAME, **lease, **params)


def test_a_lease_pinned_on_a_stale_definition_is_refused(running_network):
    base = running_network.saved_xml
    gateway.update_network(URI, NAME, edit_live(base, hosts=[FIXED, EXTRA]), live=True)
    job = pin(running_network, base_xml=base)
    assert job.state == Job.State.FAILED
    assert job.message == (
        f"{NAME} was changed on the host since its leases were shown (a static host "
        "10.213.9.11 (52:54:00:00:09:02) was added); nothing was changed. Review again."
    )
    assert [h.ip for h in parse(saved()).ips[0].dhcp_hosts] == [FIXED.ip, EXTRA.ip]


def test_a_lease_pinned_on_the_current_definition_goes_through(running_network):
    job = pin(running_network, base_xml=running_network.saved_xml)
    assert job.state == Job.State.SUCCEEDED, job.message
    assert "10.213.9.120" in [h.ip for h in parse(saved()).ips[0].dhcp_hosts]


def test_a_pin_asked_before_jobs_carried_a_version_still_only_adds_its_host(running_network):
    gateway.update_network(
        URI, NAME, edit_live(running_network.saved_xml, hosts=[FIXED, EXTRA]), live=True
    )
    job = pin(running_network)  # no base_xml: a job queued by an older vnetweb
    assert job.state == Job.State.SUCCEEDED, job.message
    assert [h.ip for h in parse(saved()).ips[0].dhcp_hosts] == [FIXED.ip, EXTRA.ip, "10.213.9.120"]
