"""What the worker does for each operation (networks.operations names these functions).

Each takes the claimed Job and returns the message the job ends with. Each first compares with
libvirt's real state and says "nothing to do" when the wanted state already holds, so running a
job twice is harmless. A request that cannot be carried out raises `Refused` (or the gateway's
error) before anything on the host changed.
"""

import ipaddress
import re
from dataclasses import replace

from lxml import etree

from networks import gateway
from networks.models import Job
from networks.spec import (
    DhcpHost,
    IpSpec,
    NetworkSpec,
    SchemaUnavailable,
    SpecXMLError,
    UpdateStep,
    definition_problems,
    live_update_problems,
    parse,
    plan_update,
    schema_errors,
    to_xml,
)
from networks.spec.changes import changes_in_words, describe_changes
from networks.spec.dnsmasq_options import config_problems
from networks.spec.xml_write import write_dhcp_host
from networks.spec_compare import already_defined, comparable, runs_as_saved
from networks.versions import canonical_xml


class Refused(Exception):
    """The job cannot be done as asked; its message says why, in words, and nothing changed."""


# --- lifecycle ---------------------------------------------------------------------------------


def start(job: Job) -> str:
    if gateway.start_network(job.host.uri, job.target):
        return f"Started {job.target}."
    return f"{job.target} was already running; nothing to do."


def stop(job: Job) -> str:
    if gateway.stop_network(job.host.uri, job.target):
        return f"Stopped {job.target}."
    return f"{job.target} was not running; nothing to do."


def restart(job: Job) -> str:
    if gateway.restart_network(job.host.uri, job.target):
        return f"Restarted {job.target}."
    return f"{job.target} was not running; nothing to do."


def _autostart(job: Job, enabled: bool) -> str:
    word = "on" if enabled else "off"
    if gateway.set_autostart(job.host.uri, job.target, enabled):
        return f"Autostart {word} for {job.target}."
    return f"Autostart was already {word} for {job.target}; nothing to do."


def autostart_on(job: Job) -> str:
    return _autostart(job, True)


def autostart_off(job: Job) -> str:
    return _autostart(job, False)


def probe(job: Job) -> str:
    facts = gateway.host_facts(job.host.uri)
    return (
        f"Reached {facts.hostname}: libvirt {facts.libvirt_version}, "
        f"{facts.hypervisor} {facts.hypervisor_version}."
    )


def undefine(job: Job) -> str:
    if gateway.undefine_network(job.host.uri, job.target):
        return f"Deleted {job.target}: stopped and undefined."
    return f"{job.target} was already gone; nothing to do."


# --- definitions -------------------------------------------------------------------------------


def _checked(xml: str) -> NetworkSpec:
    """The spec of `xml` once libvirt's schema accepts it; Refused otherwise."""
    try:
        errors = schema_errors(xml)
    except SchemaUnavailable as exc:
        raise Refused(str(exc)) from exc
    if errors:
        raise Refused("libvirt's schema refuses the definition: " + "; ".join(errors[:3]))
    try:
        return parse(xml)
    except SpecXMLError as exc:
        raise Refused(f"vnetweb cannot read the definition: {exc}") from exc


def _refuse_unsafe(
    xml: str, saved_xml: str | None, updates: list[UpdateStep] | None = None
) -> None:
    """Refused when the definition (or a live update of it) holds a control character or adds
    what vnetweb does not model to `saved_xml`: the same check as the review's, made again here."""
    problems = definition_problems(xml, saved_xml)
    if saved_xml is not None:
        for update in updates or []:
            problems += live_update_problems(update.section, update.xml, saved_xml)
    if problems:
        raise Refused(" ".join(problems[:3]) + " Nothing was changed.")


def _refuse_unsafe_for_dnsmasq(spec: NetworkSpec, kept: NetworkSpec | None = None) -> None:
    """Refused when dnsmasq (root) would be given an option off the allow-list or a TXT value
    that stops it. Options the saved definition `kept` already has stay as the host had them."""
    if problems := config_problems(spec, kept.dnsmasq_options if kept else ()):
        raise Refused(
            "dnsmasq may not be given this: " + "; ".join(problems[:3]) + ". Nothing was changed."
        )


def define(job: Job) -> str:
    params = job.params
    xml, start_it, autostart = params["xml"], bool(params.get("start")), params.get("autostart")
    spec = _checked(xml)
    _refuse_unsafe(xml, None)  # a new network: nothing it holds can have been there before
    _refuse_unsafe_for_dnsmasq(spec)
    name, uri = spec.name, job.host.uri
    if job.target and name != job.target:
        raise Refused(f"The definition names {name!r}, not {job.target!r}; nothing was created.")
    info = gateway.find_network(uri, name)
    if info is None:
        gateway.define_network(uri, xml, start=start_it, autostart=bool(autostart))
        started = " and started it" if start_it else ""
        return f"Created {name}{started}" + (", autostart on." if autostart else ".")
    if not already_defined(parse(info.config_xml or info.xml), spec):
        raise Refused(
            f"A network named {name} already exists on {job.host.name} with another "
            "definition; nothing was changed."
        )
    done = []
    if start_it and gateway.start_network(uri, name):
        done.append("started it")
    if autostart and gateway.set_autostart(uri, name, True):
        done.append("turned autostart on")
    if done:
        return f"{name} was already defined as asked; {' and '.join(done)}."
    return f"{name} already exists with this definition; nothing to do."


def update(job: Job) -> str:
    params, name, uri = job.params, job.target, job.host.uri
    new_xml = params["xml"]
    new = _checked(new_xml)
    if new.name != name:
        raise Refused(f"The new definition names {new.name!r}: rename by creating a new network.")
    info = gateway.find_network(uri, name)
    if info is None:
        raise Refused(f"{name} is no longer on {job.host.name}; nothing was changed.")
    saved_xml = info.config_xml or info.xml
    _refuse_unsafe(new_xml, saved_xml, _live_updates(params, []))
    saved = parse(saved_xml)
    _refuse_unsafe_for_dnsmasq(new, kept=saved)
    if not new.uuid and saved.uuid:
        # XML without a UUID means this network (libvirt would refuse it as another one).
        new.uuid = saved.uuid
        new_xml = to_xml(new, base=new_xml)
    running_differs = info.active and not runs_as_saved(info.xml, saved_xml)
    if already_defined(saved, new):
        if params.get("restart") and running_differs:
            gateway.restart_network(uri, name)
            return f"{name} already had this definition saved; restarted it to apply it."
        return f"{name} already has this definition; nothing to do."
    _refuse_if_changed_since(job, saved_xml, params.get("base_xml"), "the editor was opened")
    plan = plan_update(comparable(saved), comparable(new), base=saved_xml)
    reasons = list(plan.restart_reasons)
    if _unmodelled_changes(new, new_xml, saved_xml):
        reasons.append("parts of the XML that vnetweb does not model")
    if info.active and not reasons and not running_differs:
        updates = _live_updates(params, plan.updates)
        gateway.update_network(uri, name, updates, live=True)
        return f"Changed {name} while it runs ({_count(updates)}), without a restart."
    return _redefine(job, new_xml, saved_xml, active=info.active, reasons=reasons)


def _refuse_if_changed_since(job: Job, saved_xml: str, base_xml: str | None, since: str) -> None:
    """The edit was made on `base_xml`: applied onto any other saved definition it would undo
    someone's work, made in vnetweb or with virsh, modelled or not (the XML is compared)."""
    if not base_xml:
        raise Refused(
            f"This change of {job.target} does not say which definition it was made on (a job "
            "from an older vnetweb); nothing was changed. Open the page again and review."
        )
    if changes := describe_changes(base_xml, saved_xml):
        raise Refused(
            f"{job.target} was changed on the host since {since} ({changes_in_words(changes)}); "
            "nothing was changed. Review again."
        )


def _redefine(job: Job, new_xml: str, old_xml: str, *, active: bool, reasons: list[str]) -> str:
    """Save the new definition; a running network takes it at a restart (now, if asked)."""
    name, uri = job.target, job.host.uri
    gateway.define_network(uri, new_xml)
    if not active:
        return f"Saved {name}; it takes effect when {name} starts."
    if job.params.get("restart"):
        try:
            gateway.restart_network(uri, name)
        except gateway.GatewayError as exc:
            _put_back(job, old_xml, exc)
        return f"Saved and restarted {name}."
    why = ", ".join(reasons) or "it still runs an older definition"
    return f"Saved {name}; restart needed: it runs with its old settings until then ({why})."


def _put_back(job: Job, old_xml: str, error: gateway.GatewayError) -> None:
    """The new definition did not start: bring back the old one, running, and say so."""
    name, uri = job.target, job.host.uri
    gateway.define_network(uri, old_xml)
    try:
        gateway.start_network(uri, name)
    except gateway.GatewayError as again:
        raise gateway.GatewayError(
            f"{error.message} The previous definition was saved again, but {name} did not "
            f"start with it either: {again.message}"
        ) from error
    raise gateway.GatewayError(
        f"{error.message} The previous definition was put back and {name} runs with it."
    ) from error


def _live_updates(params: dict, planned: list[UpdateStep]) -> list[UpdateStep]:
    """The updates the person reviewed (the job's "live" list), else those planned here."""
    if not params.get("live"):
        return planned
    return [
        UpdateStep(u["section"], u["command"], u["xml"], int(u.get("parent_index", -1)))
        for u in params["live"]
    ]


def _count(updates: list[UpdateStep]) -> str:
    return "1 change" if len(updates) == 1 else f"{len(updates)} changes"


def _unmodelled_changes(new: NetworkSpec, new_xml: str, saved_xml: str) -> bool:
    """Whether `new_xml` changes more than the spec models (say a <tftp> typed in the XML
    editor): only a define saves that, and only a restart is sure to apply it."""
    try:
        return canonical_xml(to_xml(new, base=saved_xml)) != canonical_xml(new_xml)
    except (etree.XMLSyntaxError, SpecXMLError):
        return True


# --- leases ------------------------------------------------------------------------------------

# The name a reservation may carry: one DNS label (a guest may call itself anything).
_DNS_LABEL = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\Z")
_MAC = re.compile(r"[0-9a-f]{2}(:[0-9a-f]{2}){5}\Z")


def pin_lease(job: Job) -> str:
    """Make a lease permanent: a <host> of the network's DHCP gives this client this address
    from now on. libvirt applies it to the running network (it rewrites dnsmasq's hosts file and
    signals dnsmasq) and saves it in a persistent network's definition: nobody loses a lease."""
    name, uri = job.target, job.host.uri
    wanted = _reservation(job.params)
    info = gateway.find_network(uri, name)
    if info is None:
        raise Refused(f"{name} is no longer on {job.host.name}; nothing was changed.")
    if not info.active:
        raise Refused(f"{name} is not running, so it has no leases; nothing was changed.")
    # libvirt adds the <host> to the running network and to the saved definition: both must
    # take it at the same place (parent_index counts every <ip> in document order).
    definitions = [_spec(info.xml)] + ([_spec(info.config_xml)] if info.config_xml else [])
    index = _subnet_index(definitions, wanted.ip, name)
    subnets = [spec.ips[index] for spec in definitions]
    done = [_reserved(subnet, wanted, name) for subnet in subnets]
    client = _client(wanted)
    if all(done):
        return f"{wanted.ip} is already reserved for {client} on {name}; nothing to do."
    if any(done):
        raise Refused(
            f"{wanted.ip} is reserved for {client} in only one of the running network and the "
            f"saved definition of {name}; nothing was changed. Edit the switch to settle it."
        )
    if "base_xml" in job.params:
        # Pins asked for before jobs carried a version only ever add, after the checks above.
        saved_xml = info.config_xml or info.xml
        _refuse_if_changed_since(job, saved_xml, job.params["base_xml"], "its leases were shown")
    note = ""
    if wanted.name and any(h.name == wanted.name for s in subnets for h in s.dhcp_hosts):
        # libvirt refuses a second <host> of the same name; the address matters more.
        note = f" (without the name {wanted.name}: another reservation has it)"
        wanted = replace(wanted, name="")
    host = etree.Element("host")
    write_dhcp_host(host, wanted)
    update = UpdateStep("ip-dhcp-host", "add-last", etree.tostring(host, encoding="unicode"), index)
    gateway.update_network(uri, name, [update], live=True)
    named = f" ({wanted.name})" if wanted.name else ""
    return f"{wanted.ip} is now reserved for {client}{named} on {name}{note}, without a restart."


def _reservation(params: dict) -> DhcpHost:
    """The <host> the job asks for: by MAC for IPv4, by DUID (the lease's client ID) for IPv6."""
    try:
        address = ipaddress.ip_address(params.get("ip", ""))
    except ValueError:
        raise Refused(f"{params.get('ip')!r} is not an IP address; nothing was changed.") from None
    hostname = params.get("hostname", "")
    name = hostname if _DNS_LABEL.match(hostname) else ""
    if address.version == 6:
        duid = params.get("client_id", "")
        if not duid:
            raise Refused(
                f"An IPv6 reservation names its client by DUID, and the lease of {address} has "
                "no client ID; nothing was changed."
            )
        return DhcpHost(id=duid, ip=str(address), name=name)
    mac = params.get("mac", "").lower()
    if not _MAC.match(mac):
        raise Refused(f"{mac!r} is not a MAC address; nothing was changed.")
    return DhcpHost(mac=mac, ip=str(address), name=name)


def _spec(xml: str) -> NetworkSpec:
    try:
        return parse(xml)
    except SpecXMLError as exc:
        raise Refused(f"vnetweb cannot read the definition: {exc}") from exc


def _subnet_index(definitions: list[NetworkSpec], ip: str, name: str) -> int:
    """The <ip> with DHCP whose subnet holds `ip`, counted among all of them (libvirt's
    parent_index), at the same place in every definition."""
    address = ipaddress.ip_address(ip)
    running, *saved = definitions
    for index, subnet in enumerate(running.ips):
        try:
            holds = subnet.has_dhcp and address in subnet.network
        except ValueError:
            continue
        if holds:
            if any(index >= len(s.ips) or s.ips[index].cidr != subnet.cidr for s in saved):
                raise Refused(
                    f"The saved definition of {name} has other addresses than the running "
                    "network; nothing was changed. Restart it to apply them, then try again."
                )
            return index
    raise Refused(f"No subnet of {name} with DHCP holds {ip}; nothing was changed.")


def _reserved(subnet: IpSpec, wanted: DhcpHost, name: str) -> bool:
    """Whether `subnet` already has this very reservation; Refused if another one stands in its
    way (the client has another address, or another client has this one)."""
    address = ipaddress.ip_address(wanted.ip)
    for host in subnet.dhcp_hosts:
        same_client = host.key == wanted.key
        try:
            same_address = bool(host.ip) and ipaddress.ip_address(host.ip) == address
        except ValueError:
            same_address = False
        if same_client and same_address:
            return True
        if same_client:
            elsewhere = host.ip or "no fixed address"
            raise Refused(
                f"{_client(wanted)} already has a reservation on {name}, for {elsewhere}; "
                "nothing was changed. Edit the switch's static hosts to move it."
            )
        if same_address:
            raise Refused(
                f"{wanted.ip} is already reserved on {name} for {_client(host, named=True)}; "
                "nothing was changed."
            )
    return False


def _client(host: DhcpHost, named: bool = False) -> str:
    who = host.mac or (f"DUID {host.id}" if host.id else host.name)
    return f"{who} ({host.name})" if named and host.name and who != host.name else who
