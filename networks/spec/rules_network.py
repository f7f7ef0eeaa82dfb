"""Rules for the network as a whole: name, mode, forwarding, bridge, bandwidth, port groups."""

from networks.spec import modes
from networks.spec.context import HostContext, Problems
from networks.spec.dnsmasq_options import option_problem, repeated
from networks.spec.model import Bandwidth, NetworkSpec
from networks.spec.syntax import (
    NETWORK_NAME,
    int_problem,
    interface_problem,
    ip_problem,
    mac_problem,
    parse_ip,
    pattern_problem,
    shown,
    text_problem,
)

MAX_NAME = 50
MAX_SPEED = 2**32 - 1  # libvirt stores kB/s in an unsigned int
# Names every Linux host has, or keeps, though the host's inventory leaves them out.
ALWAYS_ON_LINUX = {
    "lo": "lo is the host's loopback interface",
    "all": "Linux keeps the name all for the settings of every interface",
    "default": "Linux keeps the name default for the settings of new interfaces",
    "bonding_masters": "Linux keeps the name bonding_masters for the bonding driver",
}


def check_name(
    spec: NetworkSpec, context: HostContext, problems: Problems, original: NetworkSpec | None
) -> None:
    if original is not None:
        if spec.name != original.name:
            problems.error("name", f"a network cannot be renamed; keep {shown(original.name)}")
        return
    problem = pattern_problem(spec.name, NETWORK_NAME, "network name", MAX_NAME)
    if spec.name == "":
        problem = "a name is required"
    elif problem and not text_problem(spec.name, MAX_NAME):
        problem = (
            f"{shown(spec.name)} is not a valid network name: use letters, digits, '-', '_' "
            "and '.', and do not start with '-' or '.'"
        )
    if problem:
        problems.error("name", problem)
    elif spec.name in context.network_names:
        problems.error("name", f"there is already a network called {shown(spec.name)} here")


def check_mode(spec: NetworkSpec, problems: Problems) -> bool:
    if spec.mode not in modes.EDITABLE + modes.READ_ONLY:
        use = ", ".join(modes.EDITABLE)
        problems.error("mode", f"{shown(spec.mode)} is not a mode: use one of {use}")
        return False
    if spec.mode == "macvtap" and spec.macvtap_mode not in modes.MACVTAP_MODES:
        problems.error(
            "macvtap_mode",
            f"{shown(spec.macvtap_mode)} is not a macvtap mode: "
            f"use {', '.join(modes.MACVTAP_MODES)}",
        )
    return True


def _check_host_interface(name: str, path: str, context: HostContext, problems: Problems) -> None:
    problem = interface_problem(name)
    if problem:
        problems.error(path, problem)
    elif context.host_interfaces and name not in context.host_interfaces:
        problems.error(path, f"there is no interface {shown(name)} on this host")


def check_forward(spec: NetworkSpec, context: HostContext, problems: Problems) -> None:
    if spec.forward_dev:
        if spec.mode in modes.FORWARDING:
            _check_host_interface(spec.forward_dev, "forward_dev", context, problems)
        else:
            problems.error(
                "forward_dev", "only NAT and routed networks send traffic out through one device"
            )
    if spec.mode == "macvtap":
        if not spec.forward_interfaces:
            problems.error("forward_interfaces", "a macvtap network needs at least one host NIC")
        seen: set[str] = set()
        for index, name in enumerate(spec.forward_interfaces):
            path = f"forward_interfaces.{index}"
            if name in seen:
                problems.error(path, f"{shown(name)} is listed twice")
            seen.add(name)
            _check_host_interface(name, path, context, problems)
    elif spec.forward_interfaces and spec.mode not in modes.NIC_POOLS:
        problems.error("forward_interfaces", "only macvtap networks attach guests to host NICs")
    check_nat(spec, problems)


def check_nat(spec: NetworkSpec, problems: Problems) -> None:
    addresses = (spec.nat_address_start, spec.nat_address_end)
    ports = (spec.nat_port_start, spec.nat_port_end)
    if spec.mode != "nat":
        if any(addresses) or any(port is not None for port in ports):
            problems.error("nat_address_start", "NAT addresses and ports are for NAT networks")
        return
    if any(addresses):
        for side, value in zip(("start", "end"), addresses, strict=True):
            problem = ip_problem(value, "ipv4")
            if problem:
                problems.error(f"nat_address_{side}", problem)
        start, end = (parse_ip(value, "ipv4") for value in addresses)
        if start and end and start > end:
            problems.error("nat_address_end", f"the NAT range ends ({end}) before it starts")
    if any(port is not None for port in ports):
        for side, value in zip(("start", "end"), ports, strict=True):
            problem = int_problem(value, 1, 65535, "port")
            if problem:
                problems.error(f"nat_port_{side}", problem)
        if all(isinstance(port, int) for port in ports) and ports[0] > ports[1]:
            problems.error("nat_port_end", f"the port range ends ({ports[1]}) before it starts")


def check_bridge(
    spec: NetworkSpec, context: HostContext, problems: Problems, original: NetworkSpec | None
) -> None:
    if spec.mode not in modes.OWN_BRIDGE:
        for field in ("stp", "delay", "mtu"):
            if getattr(spec, field) is not None:
                problems.error(field, f"a {spec.mode} network cannot set this: the host does")
    if spec.mode == "bridge":
        if not spec.bridge:
            problems.error("bridge", "the name of an existing host bridge is required")
        elif problem := interface_problem(spec.bridge):
            problems.error("bridge", problem)
        elif context.host_bridges and spec.bridge not in context.host_bridges:
            known = ", ".join(context.host_bridges)
            problems.error("bridge", f"there is no bridge {shown(spec.bridge)} here ({known})")
        return
    if spec.mode not in modes.OWN_BRIDGE:
        if spec.bridge:
            problems.error("bridge", f"a {spec.mode} network has no bridge of its own")
        return
    if spec.bridge:
        _check_own_bridge(spec, context, problems, original)
    if spec.delay is not None and (problem := int_problem(spec.delay, 0, 600, "delay")):
        problems.error("delay", problem)
    if spec.mtu is not None and (problem := int_problem(spec.mtu, 68, 65535, "MTU")):
        problems.error("mtu", problem)


def _check_own_bridge(
    spec: NetworkSpec, context: HostContext, problems: Problems, original: NetworkSpec | None
) -> None:
    if problem := interface_problem(spec.bridge):
        problems.error("bridge", problem)
    elif reserved := ALWAYS_ON_LINUX.get(spec.bridge):
        problems.error("bridge", f"{reserved}; choose another bridge name")
    elif original is not None and original.bridge == spec.bridge:
        return  # its own bridge, which the host of course already has
    elif user := context.bridges_in_use.get(spec.bridge):
        problems.error("bridge", f"bridge {spec.bridge} is already used by {user}")
    elif spec.bridge in context.host_interfaces + context.host_bridges:
        problems.error("bridge", f"{spec.bridge} is already an interface on this host")


def check_mac(spec: NetworkSpec, problems: Problems) -> None:
    if spec.mac and (problem := mac_problem(spec.mac)):
        problems.error("mac", problem)


def check_switches(spec: NetworkSpec, problems: Problems) -> None:
    # Forms hand over booleans; anything else would be written as a surprise "on".
    for name, allow_none in (("stp", True), ("dns_enabled", False), ("domain_local_only", False)):
        value = getattr(spec, name)
        if not isinstance(value, bool) and not (allow_none and value is None):
            problems.error(name, f"{shown(value)} is not on or off")


def check_bandwidth(path: str, value: Bandwidth | None, problems: Problems) -> None:
    if value is None:
        return
    for name in ("average", "peak", "burst"):
        number = getattr(value, name)
        if number is not None and (problem := int_problem(number, 1, MAX_SPEED, name)):
            problems.error(path, problem)
    if value.average is None:
        problems.error(path, "an average rate is required (kB/s)")


def check_network_bandwidth(spec: NetworkSpec, problems: Problems) -> None:
    for path in ("inbound", "outbound"):
        value = getattr(spec, path)
        if value is not None and spec.mode in modes.NIC_POOLS:
            problems.error(path, f"libvirt cannot limit a {spec.mode} network as a whole")
        check_bandwidth(path, value, problems)


def check_portgroups(spec: NetworkSpec, problems: Problems) -> None:
    names: set[str] = set()
    default = None
    for index, group in enumerate(spec.portgroups):
        path = f"portgroups.{index}"
        if problem := pattern_problem(group.name, NETWORK_NAME, "port group name", 64):
            problems.error(path, "a port group needs a name" if not group.name else problem)
        elif group.name in names:
            problems.error(path, f"there is already a port group called {group.name}")
        names.add(group.name)
        if group.default and default is not None:
            problems.error(path, f"only one port group can be the default; {default} already is")
        default = group.name if group.default and default is None else default
        _check_vlan(spec, group.vlan_tags, group.trunk, path, problems)
        check_bandwidth(path, group.inbound, problems)
        check_bandwidth(path, group.outbound, problems)


def _check_vlan(spec: NetworkSpec, tags: list[int], trunk: bool, path: str, problems: Problems):
    if not tags:
        return
    if spec.mode not in ("bridge", "hostdev"):
        problems.error(
            path, f"VLAN tags need an Open vSwitch host bridge; libvirt refuses them on {spec.mode}"
        )
    elif spec.mode == "bridge":
        problems.warn(path, "VLAN tags work only if the host bridge is an Open vSwitch bridge")
    for tag in tags:
        if problem := int_problem(tag, 0, 4095, "VLAN tag"):
            problems.error(path, problem)
    if len(set(tags)) != len(tags):
        problems.error(path, "a VLAN tag is listed twice")
    if len(tags) > 1 and not trunk:
        problems.error(path, "several VLAN tags need trunk mode")


def check_dnsmasq_options(
    spec: NetworkSpec, problems: Problems, original: NetworkSpec | None = None
) -> None:
    """Only allow-listed options (networks.spec.dnsmasq_options). One the saved definition
    already has is kept as the host had it, with a warning: vnetweb never adds or changes one."""
    if spec.dnsmasq_options and spec.mode in modes.NO_ADDRESS:
        problems.error("dnsmasq_options", f"a {spec.mode} network runs no dnsmasq")
    kept = original.dnsmasq_options if original is not None else []
    for index, option in enumerate(spec.dnsmasq_options):
        path = f"dnsmasq_options.{index}"
        if not (problem := option_problem(option)):
            continue
        if option in kept:
            problems.warn(
                path,
                f"{shown(option)} is kept as this host has it, but vnetweb would not accept "
                f"it today ({problem}): remove it when you can",
            )
        else:
            problems.error(path, problem)
    for name in repeated(spec.dnsmasq_options):
        problems.error("dnsmasq_options", f"{name} is given twice; dnsmasq refuses that")
