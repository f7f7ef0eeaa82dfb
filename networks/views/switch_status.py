"""The network page's "switch on the host" part: link, counters and traffic chart, ports, health
verdict with its fixes, firewall rules, and for routed networks the route the LAN needs.

Everything comes from the rows the host's worker fills (networks.worker.survey): no libvirt call,
no shell. The part refreshes itself on the live channel's "switch" topic while the page is open,
and the page's stream tells the worker someone is looking (so counters are sampled).
"""

import ipaddress
import time
from itertools import pairwise

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from networks import operations, permissions
from networks.models import Host, Network
from networks.operations import Op
from networks.port_forwards import libvirt_own_tables
from networks.views.gone import gone_is_empty

CHART_WIDTH, CHART_HEIGHT = 320, 64
# Counters older than this are shown as they were, without rates: nobody was sampling them.
FRESH_SECONDS = 10


def _size(count: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if count < 1024 or unit == "TiB":
            return f"{count:.1f} {unit}" if unit != "B" else f"{int(count)} B"
        count /= 1024
    return f"{count:.1f} TiB"


def _rate(now: dict, before: dict | None, seconds: float, key: str) -> float | None:
    if not before or seconds <= 0 or key not in now or key not in before:
        return None
    return max(0.0, (now[key] - before[key]) / seconds)


def ifconfig(link: dict, counters: dict | None) -> str:
    """The link as `ifconfig` prints it (how libvirt's documentation shows a bridge)."""
    flags = ["UP"] if link["up"] else []
    if link["operstate"] in ("UP", "UNKNOWN") and link["up"]:
        flags.append("RUNNING")
    lines = [f"{link['name']}: flags=<{','.join(flags) or 'DOWN'}>  mtu {link['mtu']}"]
    for cidr in link["addresses"]:
        iface = ipaddress.ip_interface(cidr)
        if iface.version == 4:
            lines.append(
                f"        inet {iface.ip}  netmask {iface.netmask}  "
                f"broadcast {iface.network.broadcast_address}"
            )
        else:
            lines.append(f"        inet6 {iface.ip}  prefixlen {iface.network.prefixlen}")
    lines.append(f"        ether {link['mac']}  ({link['kind'] or 'ethernet'})")
    if counters:
        c = counters
        lines += [
            f"        RX packets {c['rx_packets']}  bytes {c['rx_bytes']} ({_size(c['rx_bytes'])})",
            f"        RX errors {c['rx_errors']}  dropped {c['rx_dropped']}",
            f"        TX packets {c['tx_packets']}  bytes {c['tx_bytes']} ({_size(c['tx_bytes'])})",
            f"        TX errors {c['tx_errors']}  dropped {c['tx_dropped']}",
        ]
    return "\n".join(lines)


def chart(history: list[list[float]]) -> dict | None:
    """SVG polylines of the receive and send rates over the samples kept (bytes per second)."""
    rates = []
    for (t0, rx0, tx0), (t1, rx1, tx1) in pairwise(history):
        if t1 > t0:
            rates.append((t1, max(0, rx1 - rx0) / (t1 - t0), max(0, tx1 - tx0) / (t1 - t0)))
    if len(rates) < 2:
        return None
    start, end = rates[0][0], rates[-1][0]
    peak = max(max(rx, tx) for _t, rx, tx in rates) or 1.0

    def line(index: int) -> str:
        return " ".join(
            f"{(t - start) / (end - start) * CHART_WIDTH:.1f},"
            f"{CHART_HEIGHT - sample[index] / peak * (CHART_HEIGHT - 2) - 1:.1f}"
            for t, *sample in [(r[0], r[1], r[2]) for r in rates]
        )

    return {
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "rx": line(0),
        "tx": line(1),
        "peak": _size(peak) + "/s",
        "seconds": round(end - start),
    }


def route_hint(network: Network, host: Host) -> list[dict]:
    """For a routed network: what the LAN's router needs, since nothing else knows the subnet.
    The next hop is this host's address on the NIC traffic leaves through (the forward device,
    or the default route's)."""
    if network.mode != "route":
        return []
    device = network.forward_dev
    if not device:
        default = next((r for r in host.routes or [] if r.get("dst") == "0.0.0.0/0"), None)
        device = default.get("dev", "") if default else ""
    addresses = next(
        (i.get("addresses", []) for i in host.interfaces or [] if i.get("name") == device), []
    )
    via = next((a.split("/")[0] for a in addresses if ":" not in a), "")
    hints = []
    for address in network.addresses or []:
        if address.get("family") != "ipv4":
            continue
        subnet = str(ipaddress.ip_interface(address["cidr"]).network)
        hints.append({"subnet": subnet, "via": via, "device": device})
    return hints


def _ports(switch: dict, traffic: dict, guests: list[dict], seconds: float) -> list[dict]:
    by_mac = {g.get("mac", "").lower()[3:]: g for g in guests if g.get("mac")}
    by_device = {g.get("device"): g for g in guests if g.get("device")}
    now = traffic.get("ports", {})
    before = (traffic.get("prev") or {}).get("ports", {})
    ports = []
    for port in switch.get("ports", []):
        # A tap's MAC is the guest's with fe: in front (libvirt's convention): matched either way.
        guest = by_device.get(port["name"]) or by_mac.get(port["mac"].lower()[3:])
        counters = now.get(port["name"])
        ports.append(
            {
                **port,
                "guest": guest.get("domain") if guest else "",
                "counters": counters,
                "rx_rate": _rate(counters or {}, before.get(port["name"]), seconds, "rx_bytes"),
                "tx_rate": _rate(counters or {}, before.get(port["name"]), seconds, "tx_bytes"),
            }
        )
    return ports


def switch_context(network: Network, user) -> dict:
    switch = network.switch or {}
    traffic = network.traffic or {}
    fresh = bool(traffic.get("t")) and time.time() - traffic["t"] < FRESH_SECONDS
    prev = traffic.get("prev") if fresh else None
    seconds = traffic["t"] - prev["t"] if prev else 0.0
    bridge = traffic.get("bridge") if traffic else None
    link = switch.get("link")
    restart = operations.get(Op.RESTART)
    reapply = operations.get(Op.FORWARDS_APPLY)
    forwards = switch.get("forwards") or []
    rates = {
        key: _size(rate) + "/s"
        for key in ("rx_bytes", "tx_bytes")
        if (rate := _rate(bridge or {}, (prev or {}).get("bridge"), seconds, key)) is not None
    }
    return {
        "switch": switch,
        "ifconfig": ifconfig(link, bridge) if link else "",
        "counters_fresh": fresh,
        "counters_sampled": traffic.get("t"),
        "rates": rates,
        "chart": chart(traffic.get("history") or []) if fresh else None,
        "ports": _ports(switch, traffic, network.guests or [], seconds),
        "can_fix": permissions.allowed(user, restart, network) and restart.available(network),
        # The verdict's other Fix: the worker writes the port forwards again (views/forwards.py).
        "forwards_fix": reapply.key,
        "can_fix_forwards": permissions.allowed(user, reapply, network)
        and reapply.available(network),
        "forwards_in_place": len(forwards)
        if all(f.get("in_place") for f in forwards) and not libvirt_own_tables(network.host)
        else 0,
        "firewall": _chains(switch.get("firewall")),
        "route_hints": route_hint(network, network.host),
    }


def _chains(rules: list[dict] | None) -> list[dict] | None:
    """The rules grouped as `nft list ruleset` prints them: by table, then chain."""
    if rules is None:
        return None
    tables: dict[str, dict[str, list[str]]] = {}
    for rule in rules:
        tables.setdefault(rule["table"], {}).setdefault(rule["chain"], []).append(rule["text"])
    return [
        {"table": table, "chains": [{"name": n, "rules": texts} for n, texts in chains.items()]}
        for table, chains in tables.items()
    ]


@require_GET
@gone_is_empty
def network_switch(request: HttpRequest, host: str, name: str) -> HttpResponse:
    network = permissions.get_network(request.user, host, name)
    context = {"network": network, **switch_context(network, request.user)}
    return render(request, "networks/_switch_live.html", context)
