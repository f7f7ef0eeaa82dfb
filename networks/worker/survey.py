"""The host-side view of each switch, read by the worker on the KVM host and kept in the database:
`Network.switch` (bridge link, ports, firewall rules, dnsmasq, health verdict) and
`Network.traffic` (counters and their recent history): at every look for the networks whose page
someone has open, and every VNETWEB_COUNTERS_SECONDS for the other running ones (for /metrics).

`survey(host)` reads the whole machine once (one netlink dump, one `nft -j` ruleset) and writes
only what changed; counters change all the time, so they are written at every look only while
someone looks.
A host the worker reaches over the network gets {"local": False, "reason": …}: the page says what
it cannot see there.
"""

import logging
import time
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from networks import gateway, live
from networks.gateway import firewall, forward_rules, hostside
from networks.models import Host, Network, PortForward
from networks.port_forwards import libvirt_nftables, libvirt_own_tables
from networks.spec import NetworkSpec, SpecXMLError, modes, parse
from networks.worker import forwards, health

log = logging.getLogger(__name__)

# Counter samples kept for the chart: 3 minutes at one every 2 s.
HISTORY = 90
# After a pause longer than this (nobody looked), the chart starts afresh instead of drawing a line
# across the gap.
GAP_SECONDS = 10.0


def remote_reason(uri: str) -> str:
    """Why this worker cannot see the host's own side of its switches, in words."""
    parts = urlsplit(uri)
    driver, _, transport = parts.scheme.partition("+")
    if driver == "test":
        return "This is a simulated host (libvirt's test driver): it has no bridges to look at."
    if parts.hostname or transport not in ("", "unix"):
        return (
            f"This host is reached over {transport or 'the network'} ({parts.hostname or uri}): "
            "bridge counters, ports, firewall rules and dnsmasq can only be read by a worker "
            "running on the host itself. Shown here is what libvirt reports."
        )
    if not settings.VNETWEB_HOST_NETLINK:
        return (
            "This host's worker runs in a container of its own network namespace "
            "(VNETWEB_HOST_NETLINK=false), where the host's links are not visible. Shown here "
            "is what libvirt reports."
        )
    return "The host's side of its switches cannot be read here."


def _link(link: hostside.Link | None) -> dict | None:
    if link is None:
        return None
    return {
        "name": link.name,
        "kind": link.kind,
        "mac": link.mac,
        "mtu": link.mtu,
        "up": link.up,
        "operstate": link.operstate,
        "addresses": list(link.addresses),
    }


def switch_link_name(spec) -> str:
    """The device a switch is: its bridge, or for macvtap the host NIC guests attach to."""
    if modes.of(spec.mode).attaches == "nics":
        return spec.forward_dev or next(iter(spec.forward_interfaces), "")
    return spec.bridge


# Parsed definitions by network id, kept while the XML stays the same: the survey runs every few
# seconds and a definition rarely changes.
_specs: dict[int, tuple[str, NetworkSpec]] = {}


def _spec(net: Network) -> NetworkSpec:
    cached = _specs.get(net.pk)
    if cached is None or cached[0] != net.xml:
        cached = _specs[net.pk] = (net.xml, parse(net.xml))
    return cached[1]


def describe(
    net: Network,
    host: hostside.HostNetworking,
    ruleset: firewall.Ruleset | None = None,
    port_forwards: list[dict] | None = None,
    forwards_blocked: str = "",
) -> dict:
    """What `Network.switch` holds for a running network on this machine; `forwards_blocked`:
    why no port forward can work on this machine (its libvirt's nftables backend), if so."""
    try:
        spec = _spec(net)
    except SpecXMLError as exc:
        return {"local": True, "error": f"vnetweb cannot read the network's XML: {exc}"}
    name = switch_link_name(spec)
    link = host.links.get(name) if name else None
    if ruleset is None and host.ruleset is not None:
        ruleset = firewall.Ruleset(host.ruleset)
    rules = None
    if ruleset is not None and spec.bridge:
        rules = ruleset.rules_for(
            bridge=spec.bridge, subnets=[str(s) for s in health.subnets(spec)]
        )
    expected = health.dnsmasq_expected(spec)
    pid = hostside.dnsmasq_pid(spec.name) if expected else None
    problems = health.verdict(
        spec,
        host,
        rules=rules,
        dnsmasq_pid=pid,
        persistent=net.persistent,
        forwards_missing=[f["text"] for f in port_forwards or [] if not f["in_place"]],
        forwards_blocked=forwards_blocked if port_forwards else "",
    )
    state = {
        "local": True,
        "device": name,
        "link": _link(link),
        "ports": [_link(port) for port in host.ports(name)] if name else [],
        "dnsmasq": {"expected": expected, "pid": pid},
        "forwarding": host.forwarding,
        "firewall": None
        if rules is None
        else [
            {"table": f"{rule.family} {rule.table}", "chain": rule.chain, "text": rule.text}
            for rule in rules
        ],
        "problems": [problem.as_dict() for problem in problems],
    }
    if port_forwards:
        state["forwards"] = port_forwards
    return state


def forwards_state(host: Host, machine: hostside.HostNetworking) -> dict[int, list[dict]]:
    """Each switch's forwards as the host's firewall holds them, by network id: put back first
    where they are not in place (networks.worker.forwards.ensure), so a flush by hand is mended
    within one survey; the verdict says it when they could not be."""
    mine = forward_rules.chains(forwards.chain_prefix())
    ours = any(item.get("chain", {}).get("name") in mine for item in machine.ruleset or [])
    if not ours and not PortForward.objects.filter(network__host=host).exists():
        return {}
    checked = forwards.ensure(host)
    rows, installed, missing = checked.rows, checked.installed, checked.missing()
    found: dict[int, list[dict]] = {}
    for row in rows:
        found.setdefault(row.network_id, []).append(
            {
                "id": row.pk,
                "text": row.text,
                "in_place": row.pk not in missing,
                "connections": installed.connections.get(row.pk, 0) if installed else None,
            }
        )
    return found


def _side(host: Host, machine: hostside.HostNetworking) -> None:
    """Host.side: the machine's addresses, listening ports and whether libvirt has nftables
    tables of its own, written when they changed."""
    side = hostside.side(machine)
    if side != host.side:
        Host.objects.filter(pk=host.pk).update(side=side)
        host.side = side


def _traffic(previous: dict, link: hostside.Link, ports: list[hostside.Link], now: float) -> dict:
    history = list(previous.get("history") or [])
    if history and now - history[-1][0] > GAP_SECONDS:
        history = []
    counters = link.counters
    history.append([round(now, 3), counters["rx_bytes"], counters["tx_bytes"]])
    last = previous if previous.get("t") and now - previous["t"] <= GAP_SECONDS else {}
    return {
        "t": round(now, 3),
        "bridge": counters,
        "ports": {port.name: port.counters for port in ports},
        "prev": {"t": last["t"], "bridge": last["bridge"], "ports": last.get("ports", {})}
        if last
        else None,
        "history": history[-HISTORY:],
    }


def _counters_due(traffic: dict | None, now: float) -> bool:
    """Whether a running bridge nobody looks at is due a sample of its counters (/metrics)."""
    every = settings.VNETWEB_COUNTERS_SECONDS
    return bool(every) and now - (traffic or {}).get("t", 0) >= every


def survey(host: Host) -> list[int]:
    """Read this machine's side of the host's switches into the database; returns the ids of
    the networks whose row changed (a page showing them has been told)."""
    if not gateway.is_local(host.uri):
        return survey_remote([host])
    networks = list(
        Network.objects.filter(host=host).only(
            "pk", "name", "active", "persistent", "xml", "switch", "traffic"
        )
    )
    try:
        machine = hostside.read()
    except OSError as exc:
        log.warning("cannot read this machine's links over netlink: %s", exc)
        failed = {"local": True, "error": f"The host's links could not be read: {exc}"}
        return _write(host, {net: failed for net in networks if net.switch != failed}, {})
    now = time.time()
    looked_at = live.watched(net.pk for net in networks if net.active)
    ruleset = firewall.Ruleset(machine.ruleset) if machine.ruleset is not None else None
    _side(host, machine)
    by_network = forwards_state(host, machine)
    blocked = libvirt_nftables(host.name) if libvirt_own_tables(host) else ""
    switches, traffic = {}, {}
    for net in networks:
        state = (
            describe(net, machine, ruleset, by_network.get(net.pk), blocked) if net.active else {}
        )
        if state != net.switch:
            switches[net] = state
        link = machine.links.get(state.get("device", "")) if state else None
        if link is not None and (net.pk in looked_at or _counters_due(net.traffic, now)):
            traffic[net] = _traffic(net.traffic or {}, link, machine.ports(link.name), now)
    return _write(host, switches, traffic)


def survey_remote(hosts: list[Host]) -> list[int]:
    """`survey` of hosts whose side this worker cannot see: each switch says why (remote_reason),
    written where it does not yet. One query for all of them, of the switch states alone: one
    query per host with every network's definition, every VNETWEB_SWITCH_SECONDS, was most of
    an idle fleet's worker CPU (bench/fleet.py: 25 hosts a worker, 200 hosts)."""
    by_id = {host.pk: host for host in hosts}
    if not by_id:
        return []
    wanted = {pk: {"local": False, "reason": remote_reason(host.uri)} for pk, host in by_id.items()}
    stale: dict[int, dict[Network, dict]] = {}
    rows = Network.objects.filter(host__in=by_id).values_list("pk", "host_id", "switch")
    for pk, host_id, switch in rows:
        if switch != wanted[host_id]:
            stale.setdefault(host_id, {})[Network(pk=pk, host_id=host_id)] = wanted[host_id]
    return [
        pk for host_id, switches in stale.items() for pk in _write(by_id[host_id], switches, {})
    ]


def _write(host: Host, switches: dict[Network, dict], traffic: dict[Network, dict]) -> list[int]:
    if not switches and not traffic:
        return []
    now = timezone.now()
    with transaction.atomic():
        for net, state in switches.items():
            fields = {"switch": state, "switch_seen": now}
            if net in traffic:
                fields["traffic"] = traffic.pop(net)
            Network.objects.filter(pk=net.pk).update(**fields)
        for net, sample in traffic.items():
            Network.objects.filter(pk=net.pk).update(traffic=sample)
        changed = sorted({net.pk for net in switches} | {net.pk for net in traffic})
        live.publish(host.pk, networks=changed, topic="switch")
    return changed
