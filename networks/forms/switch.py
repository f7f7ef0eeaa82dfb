"""The switch editor: one form for every mode, read from and applied onto a NetworkSpec.

The form edits a copy of the network's spec: fields it shows replace what they model, and all
else (a second IPv4 address, <dnsmasq:options>, whatever `virsh net-edit` added) stays, because the
XML is written by applying the spec onto the existing XML. Validation is the spec package's; its
messages, keyed by spec paths ("ipv4.dhcp_hosts.2"), are put next to the field they are about.
"""

import copy
import dataclasses
import ipaddress
from collections.abc import Callable

from django import forms

from networks.forms import lines
from networks.forms.follow import follow_network
from networks.forms.inside import gateway_problem, outside_problems
from networks.spec import Bandwidth, IpSpec, NetworkSpec, Problems, modes
from networks.spec.defaults import suggested_gateway
from networks.spec.model import AnyNetwork
from networks.spec_compare import same_spec

MODE_CHOICES = [(mode.key, mode.choice) for mode in modes.MODES if mode.offered]
MACVTAP_CHOICES = [(mode.key, mode.choice) for mode in modes.MACVTAP]
# What an operator may change; everything else needs an admin.
OPERATOR_FIELDS = ("ipv4_hosts", "ipv6_hosts", "dns_hosts", "dns_txts", "dns_srvs")
# OPERATOR_FIELDS in the spec: the DNS records, and the static hosts of each address.
OPERATOR_RECORDS = ("dns_hosts", "dns_txts", "dns_srvs")
FAMILIES = ("ipv4", "ipv6")

LIST_FIELDS: dict[str, tuple[Callable, Callable]] = {
    # form field: (parse one line, spec list back to text)
    "ipv4_ranges": (lines.range_from, lines.ranges_text),
    "ipv4_hosts": (lines.host_from, lines.hosts_text),
    "ipv6_ranges": (lines.range_from, lines.ranges_text),
    "ipv6_hosts": (lines.host_from, lines.hosts_text),
    "dns_forwarders": (lines.forwarder_from, lines.forwarders_text),
    "dns_hosts": (lines.dns_host_from, lines.dns_hosts_text),
    "dns_txts": (lines.txt_from, lines.txts_text),
    "dns_srvs": (lines.srv_from, lines.srvs_text),
    "routes": (lines.route_from, lines.routes_text),
    "portgroups": (lines.portgroup_from, lines.portgroups_text),
}
# Spec paths (their first part) that land on another field than their own name.
PATH_FIELDS = {
    "ipv4.address": "ipv4_gateway",
    "ipv4.prefix": "ipv4_network",
    "ipv4.dhcp_ranges": "ipv4_ranges",
    "ipv4.dhcp_hosts": "ipv4_hosts",
    "ipv6.address": "ipv6_gateway",
    "ipv6.prefix": "ipv6_network",
    "ipv6.dhcp_ranges": "ipv6_ranges",
    "ipv6.dhcp_hosts": "ipv6_hosts",
    "inbound": "inbound_average",
    "outbound": "outbound_average",
    "delay": "stp",
}


def _text(label: str, help_text: str = "", placeholder: str = "") -> forms.CharField:
    attrs = {"rows": 3, "spellcheck": "false"}
    if placeholder:
        attrs["placeholder"] = placeholder
    return forms.CharField(
        label=label, required=False, help_text=help_text, widget=forms.Textarea(attrs=attrs)
    )


def _short(label: str, help_text: str = "", placeholder: str = "") -> forms.CharField:
    attrs = {"placeholder": placeholder} if placeholder else {}
    return forms.CharField(
        label=label,
        required=False,
        max_length=10_000,
        help_text=help_text,
        widget=forms.TextInput(attrs=attrs),
    )


def _number(label: str, low: int, high: int, help_text: str = "") -> forms.IntegerField:
    return forms.IntegerField(
        label=label, required=False, min_value=low, max_value=high, help_text=help_text
    )


class SwitchForm(forms.Form):
    # The editor shows a part only while a mode it is about is chosen (static/vnetweb/editor.js).
    forwarding_modes = " ".join(modes.FORWARDING)
    own_bridge_modes = " ".join(modes.OWN_BRIDGE)

    name = forms.CharField(
        max_length=10_000,
        help_text="Letters, digits, - _ . ; fixed once the switch exists.",
    )
    mode = forms.ChoiceField(choices=MODE_CHOICES, initial="nat")
    macvtap_mode = forms.ChoiceField(
        label="Macvtap mode", choices=MACVTAP_CHOICES, initial="bridge", required=False
    )
    forward_interfaces = _short(
        "Host interfaces", "One or more host NICs, separated by commas.", "eth0, eth1"
    )
    forward_dev = _short(
        "Outbound device", "Only this host NIC carries the traffic out; empty: any.", "eth0"
    )
    nat_address_start = _short("NAT addresses from", placeholder="the host's address")
    nat_address_end = _short("NAT addresses to")
    nat_port_start = _number("NAT ports from", 1, 65535, "libvirt's default: 1024-65535")
    nat_port_end = _number("NAT ports to", 1, 65535)
    host_bridge = _short("Host bridge", "An existing Linux bridge on the host.", "br0")

    bridge = _short("Bridge name", "At most 15 characters; empty: a free virbrN.", "virbr1")
    stp = forms.BooleanField(label="STP", required=False, help_text="Spanning tree protocol.")
    mtu = _number("MTU", 68, 65535, "Empty: the host's default (1500).")
    autostart = forms.BooleanField(required=False, initial=True, help_text="Start with the host.")
    start = forms.BooleanField(label="Start now", required=False, initial=True)

    ipv4_network = _short("IPv4 network", "As CIDR.", "192.168.100.0/24")
    ipv4_gateway = _short("Gateway (the host)", "Empty: the first address.", "192.168.100.1")
    ipv4_dhcp = forms.BooleanField(label="DHCP", required=False, initial=True)
    ipv4_ranges = _text("DHCP ranges", "One per line: first last.", "192.168.100.2 192.168.100.254")
    ipv4_lease = _number("Lease time (minutes)", 0, 525_600, "Empty: 1 hour; 0: never expires.")
    ipv4_hosts = _text(
        "Static hosts", "One per line: MAC, name, IP.", "52:54:00:12:34:56 web1 192.168.100.10"
    )
    ipv6_network = _short("IPv6 network", "As CIDR; /64 for DHCPv6.", "fd00:100::/64")
    ipv6_gateway = _short("Gateway (the host)", "Empty: the first address.", "fd00:100::1")
    ipv6_dhcp = forms.BooleanField(label="DHCPv6", required=False)
    ipv6_ranges = _text("DHCPv6 ranges", "One per line: first last.", "fd00:100::100 fd00:100::1ff")
    ipv6_lease = _number("Lease time (minutes)", 0, 525_600)
    ipv6_hosts = _text("Static hosts", "One per line: name or DUID, IP.", "web1 fd00:100::10")
    # The network the gateway and range were suggested for (forms/follow.py, vnetweb/follow.js).
    ipv4_suggested_for = forms.CharField(required=False, widget=forms.HiddenInput)
    ipv6_suggested_for = forms.CharField(required=False, widget=forms.HiddenInput)

    dns_enabled = forms.BooleanField(label="DNS", required=False, initial=True)
    domain_name = _short("Domain", "Guests' names resolve under it.", "lab.example")
    domain_local_only = forms.BooleanField(
        label="Local only", required=False, help_text="Never forward the domain upstream."
    )
    dns_forwarders = _text("Forwarders", "One per line: server, domain, or both.", "192.0.2.53")
    dns_hosts = _text("Host records", "One per line: IP and names.", "192.168.100.5 nas nas.lab")
    dns_txts = _text("TXT records", "One per line: name, value.", "info some text")
    dns_srvs = _text(
        "SRV records",
        "One per line: service protocol target= port= priority= weight= domain=",
        "ldap tcp target=ldap.lab port=389",
    )
    routes = _text("Static routes", "One per line.", "10.9.0.0/16 via 192.168.100.5")
    inbound_average = _number("Inbound average (kB/s)", 1, 2**32)
    inbound_peak = _number("Inbound peak (kB/s)", 1, 2**32)
    inbound_burst = _number("Inbound burst (kB)", 1, 2**32)
    outbound_average = _number("Outbound average (kB/s)", 1, 2**32)
    outbound_peak = _number("Outbound peak (kB/s)", 1, 2**32)
    outbound_burst = _number("Outbound burst (kB)", 1, 2**32)
    portgroups = _text(
        "Port groups",
        "One per line: name [default] [vlan=10,20] [trunk]; VLANs need an Open vSwitch bridge.",
        "web default",
    )

    def __init__(self, data=None, *args, creating: bool, operator_only: bool = False, **kwargs):
        # What moved with the network, in words; the page says so above the review.
        self.followed: list[str] = []
        if data is not None:
            data, self.followed = follow_network(data)
        super().__init__(data, *args, **kwargs)
        self.creating = creating
        self.parsed: dict[str, lines.Parsed] = {}
        self.typed_networks: dict[str, AnyNetwork] = {}
        self.gateway_outside = False
        if not creating:
            self.fields["name"].disabled = True
            del self.fields["autostart"], self.fields["start"]
        if operator_only:
            for name, field in self.fields.items():
                field.disabled = field.disabled or name not in OPERATOR_FIELDS

    # --- reading -------------------------------------------------------------------------------

    def clean(self) -> dict:
        data = super().clean()
        for name, (parse_one, _) in LIST_FIELDS.items():
            if name in self.fields and not self.fields[name].disabled:
                parsed = lines.parse_lines(data.get(name) or "", parse_one)
                self.parsed[name] = parsed
                for message in parsed.errors:
                    self.add_error(name, message)
        for family in FAMILIES:
            self._clean_addresses(data, family)
        if self.gateway_outside:
            # No review runs now: say here too what else lies outside, all in one go.
            dhcp = [family for family in FAMILIES if data.get(f"{family}_dhcp")]
            for field, message in outside_problems(self.typed_networks, dhcp, self.parsed):
                self.add_error(field, message)
        return data

    def _clean_addresses(self, data: dict, family: str) -> None:
        if self.fields[f"{family}_network"].disabled:
            return
        text = (data.get(f"{family}_network") or "").strip()
        if not text:
            data[f"{family}_network"] = None
            return
        try:
            interface = ipaddress.ip_interface(text)
        except ValueError:
            self.add_error(f"{family}_network", f"{text[:60]!r} is not a network like 10.1.2.0/24")
            return
        if f"ipv{interface.version}" != family:
            self.add_error(f"{family}_network", f"{text[:60]} is not an {family.upper()} network")
            return
        data[f"{family}_network"] = interface.network
        self.typed_networks[family] = interface.network
        # "192.168.100.1/24" names the gateway too, unless one is given.
        if not (data.get(f"{family}_gateway") or "").strip() and interface.ip not in (
            interface.network.network_address,
        ):
            data[f"{family}_gateway"] = str(interface.ip)
        if data.get("mode") in modes.NO_ADDRESS:
            return  # the mode takes no addresses: what the fields hold is ignored
        if problem := gateway_problem(data.get(f"{family}_gateway") or "", interface.network):
            self.gateway_outside = True
            self.add_error(f"{family}_gateway", problem)

    def _editable(self, name: str) -> bool:
        return name in self.fields and not self.fields[name].disabled

    def _items(self, name: str) -> list:
        return self.parsed[name].items if name in self.parsed else []

    # --- applying -------------------------------------------------------------------------------

    def apply_to(self, base: NetworkSpec, free_bridge: str = "") -> NetworkSpec:
        """A copy of `base` with this form's fields applied; call after is_valid()."""
        spec = copy.deepcopy(base)
        data = self.cleaned_data
        if self._editable("name"):
            spec.name = data["name"]
        if self._editable("mode"):
            self._apply_mode(spec, data, free_bridge)
        for family in FAMILIES:
            self._apply_ip(spec, family)
        if spec.mode in modes.NO_ADDRESS:
            spec.ips = []
        if self._editable("dns_enabled"):
            self._apply_dns_settings(spec, data)
        for name in ("dns_hosts", "dns_txts", "dns_srvs"):
            if self._editable(name):
                setattr(spec, name, self._items(name))
        if self._editable("routes"):
            spec.routes = self._items("routes")
        if self._editable("portgroups"):
            spec.portgroups = self._items("portgroups")
        if self._editable("inbound_average"):
            spec.inbound = _bandwidth(data, "inbound")
            spec.outbound = _bandwidth(data, "outbound")
        return spec

    def _apply_mode(self, spec: NetworkSpec, data: dict, free_bridge: str) -> None:
        spec.mode = data["mode"]
        spec.macvtap_mode = data.get("macvtap_mode") or "bridge"
        spec.forward_interfaces = []
        spec.forward_dev = ""
        if spec.mode == "macvtap":
            raw = data.get("forward_interfaces") or ""
            spec.forward_interfaces = [n for n in raw.replace(",", " ").split() if n]
        elif spec.mode in modes.FORWARDING:
            spec.forward_dev = (data.get("forward_dev") or "").strip()
        is_nat = spec.mode == "nat"
        spec.nat_address_start = (data.get("nat_address_start") or "").strip() if is_nat else ""
        spec.nat_address_end = (data.get("nat_address_end") or "").strip() if is_nat else ""
        spec.nat_port_start = data.get("nat_port_start") if is_nat else None
        spec.nat_port_end = data.get("nat_port_end") if is_nat else None
        if spec.mode in modes.OWN_BRIDGE:
            spec.bridge = (data.get("bridge") or "").strip() or free_bridge
            spec.stp = bool(data.get("stp"))
            spec.mtu = data.get("mtu")
        else:
            spec.bridge = (data.get("host_bridge") or "").strip() if spec.mode == "bridge" else ""
            spec.stp = spec.delay = spec.mtu = None
        if spec.mode in modes.NO_ADDRESS:
            spec.dns_enabled, spec.domain_name, spec.domain_local_only = True, "", False
            spec.dns_forwarders, spec.dns_hosts, spec.dns_txts, spec.dns_srvs = [], [], [], []
            spec.routes = []

    def _apply_ip(self, spec: NetworkSpec, family: str) -> None:
        existing = spec.ips_of(family)
        current = existing[0] if existing else None
        if self._editable(f"{family}_network"):
            network = self.cleaned_data.get(f"{family}_network")
            if network is None:
                if current is not None:
                    spec.ips.remove(current)
                return
            gateway = (self.cleaned_data.get(f"{family}_gateway") or "").strip()
            if not gateway:
                gateway = suggested_gateway(network)
            if current is None:
                current = IpSpec(address=gateway, prefix=network.prefixlen, family=family)
                spec.ips.append(current)
            current.address, current.prefix = gateway, network.prefixlen
            if self.cleaned_data.get(f"{family}_dhcp"):
                lease = self.cleaned_data.get(f"{family}_lease")
                current.dhcp_ranges = self._items(f"{family}_ranges")
                for rng in current.dhcp_ranges:
                    rng.lease_minutes = lease
            else:
                current.dhcp_ranges, current.dhcp_hosts = [], []
                return
        if self._editable(f"{family}_hosts") and current is not None:
            current.dhcp_hosts = self._items(f"{family}_hosts")
        elif self._editable(f"{family}_hosts") and self._items(f"{family}_hosts"):
            self.add_error(f"{family}_hosts", f"this switch has no {family.upper()} network")

    def _apply_dns_settings(self, spec: NetworkSpec, data: dict) -> None:
        spec.dns_enabled = bool(data.get("dns_enabled"))
        spec.domain_name = (data.get("domain_name") or "").strip()
        spec.domain_local_only = bool(data.get("domain_local_only")) and bool(spec.domain_name)
        spec.dns_forwarders = self._items("dns_forwarders")

    # --- problems back onto fields -------------------------------------------------------------

    def add_problems(self, problems: Problems, spec: NetworkSpec) -> None:
        for path, messages in problems.errors.items():
            field, line = self._field_for(path, spec)
            for message in messages:
                self.add_error(field, f"line {line}: {message}" if line else message)

    def warnings_for(self, problems: Problems, spec: NetworkSpec) -> list[str]:
        found = []
        for path, messages in problems.warnings.items():
            field, _ = self._field_for(path, spec)
            label = self.fields[field].label if field else "Switch"
            found += [f"{label}: {message}" for message in messages]
        return found

    def _field_for(self, path: str, spec: NetworkSpec) -> tuple[str | None, int | None]:
        """The form field a spec path is about, and the line of a list field, if any."""
        parts = path.split(".")
        index = int(parts[-1]) if parts[-1].isdigit() else None
        key = ".".join(parts[:-1]) if index is not None else path
        field = PATH_FIELDS.get(key, key.replace(".", "_"))
        if field == "bridge" and spec.mode == "bridge":
            field = "host_bridge"
        if field not in self.fields:
            return None, None  # e.g. a second IPv4 address: only the raw XML editor shows it
        parsed = self.parsed.get(field)
        if index is not None and parsed is not None and index < len(parsed.lines):
            return field, parsed.lines[index]
        return field, None


def _bandwidth(data: dict, direction: str) -> Bandwidth | None:
    values = {k: data.get(f"{direction}_{k}") for k in ("average", "peak", "burst")}
    return Bandwidth(**values) if any(v is not None for v in values.values()) else None


def initial_from(spec: NetworkSpec) -> dict:
    """The form's values for an existing (or default) spec."""
    initial = {
        "name": spec.name,
        "mode": spec.mode if spec.mode not in modes.READ_ONLY else "macvtap",
        "macvtap_mode": spec.macvtap_mode if spec.macvtap_mode in modes.MACVTAP_MODES else "bridge",
        "forward_interfaces": ", ".join(spec.forward_interfaces),
        "forward_dev": spec.forward_dev,
        "nat_address_start": spec.nat_address_start,
        "nat_address_end": spec.nat_address_end,
        "nat_port_start": spec.nat_port_start,
        "nat_port_end": spec.nat_port_end,
        "host_bridge": spec.bridge if spec.mode == "bridge" else "",
        "bridge": spec.bridge if spec.mode != "bridge" else "",
        "stp": bool(spec.stp) if spec.stp is not None else spec.mode in modes.OWN_BRIDGE,
        "mtu": spec.mtu,
        "dns_enabled": spec.dns_enabled,
        "domain_name": spec.domain_name,
        "domain_local_only": spec.domain_local_only,
    }
    for family in FAMILIES:
        ips = spec.ips_of(family)
        ip = ips[0] if ips else None
        initial[f"{family}_network"] = str(ip.network) if ip else ""
        initial[f"{family}_suggested_for"] = initial[f"{family}_network"]
        initial[f"{family}_gateway"] = ip.address if ip else ""
        initial[f"{family}_dhcp"] = bool(ip and ip.dhcp_ranges) or (ip is None and family == "ipv4")
        initial[f"{family}_ranges"] = lines.ranges_text(ip.dhcp_ranges) if ip else ""
        leases = {r.lease_minutes for r in ip.dhcp_ranges} if ip else set()
        initial[f"{family}_lease"] = leases.pop() if len(leases) == 1 else None
        initial[f"{family}_hosts"] = lines.hosts_text(ip.dhcp_hosts) if ip else ""
    for name in ("dns_forwarders", "dns_hosts", "dns_txts", "dns_srvs", "routes", "portgroups"):
        initial[name] = LIST_FIELDS[name][1](getattr(spec, name))
    for direction in ("inbound", "outbound"):
        value = getattr(spec, direction)
        for key in ("average", "peak", "burst"):
            initial[f"{direction}_{key}"] = getattr(value, key) if value else None
    return initial


def operator_may_send(current: NetworkSpec, spec: NetworkSpec) -> bool:
    """Whether `spec` differs from `current` only where an operator may change a switch (what
    OPERATOR_FIELDS are in the spec): for a whole spec sent by the API, where no disabled
    field keeps the rest as it is."""
    if len(spec.ips) != len(current.ips):
        return False
    ips = [
        dataclasses.replace(ip, dhcp_hosts=old.dhcp_hosts)
        for ip, old in zip(spec.ips, current.ips, strict=True)
    ]
    records = {name: getattr(current, name) for name in OPERATOR_RECORDS}
    return same_spec(dataclasses.replace(spec, ips=ips, **records), current)
