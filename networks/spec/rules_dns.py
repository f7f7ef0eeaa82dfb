"""Rules for the DNS side: the domain, forwarders and the host, TXT and SRV records."""

from networks.spec import modes
from networks.spec.context import Problems
from networks.spec.dnsmasq_options import txt_value_note, txt_value_problem
from networks.spec.model import DnsSrv, NetworkSpec
from networks.spec.syntax import (
    SRV_SERVICE,
    TXT_NAME,
    hostname_problem,
    int_problem,
    ip_problem,
    pattern_problem,
    text_problem,
)

RECORD_LISTS = ("dns_forwarders", "dns_hosts", "dns_txts", "dns_srvs")


def check_dns(spec: NetworkSpec, problems: Problems) -> None:
    used = [name for name in RECORD_LISTS if getattr(spec, name)]
    if spec.mode in modes.NO_ADDRESS:
        # Guests of these modes use the LAN's DNS: libvirt runs no dnsmasq for them.
        for name in used + (["domain_name"] if spec.domain_name else []):
            problems.error(name, f"a {spec.mode} network has no DNS server of its own")
        return
    if not spec.dns_enabled and used:
        problems.error("dns_enabled", "DNS is off: remove its records and forwarders first")
    if spec.domain_name and (problem := hostname_problem(spec.domain_name)):
        problems.error("domain_name", problem)
    if spec.domain_local_only and not spec.domain_name:
        problems.error("domain_local_only", "set a domain name to keep it local")
    _check_forwarders(spec, problems)
    _check_hosts(spec, problems)
    _check_txts(spec, problems)
    for index, srv in enumerate(spec.dns_srvs):
        for problem in srv_problems(srv):
            problems.error(f"dns_srvs.{index}", problem)


def _check_forwarders(spec: NetworkSpec, problems: Problems) -> None:
    for index, forwarder in enumerate(spec.dns_forwarders):
        path = f"dns_forwarders.{index}"
        if not forwarder.addr and not forwarder.domain:
            problems.error(path, "a forwarder needs a server address, a domain, or both")
        if forwarder.addr and (problem := ip_problem(forwarder.addr)):
            problems.error(path, problem)
        if forwarder.domain and (problem := hostname_problem(forwarder.domain)):
            problems.error(path, problem)


def _check_hosts(spec: NetworkSpec, problems: Problems) -> None:
    for index, host in enumerate(spec.dns_hosts):
        path = f"dns_hosts.{index}"
        if problem := ip_problem(host.ip):
            problems.error(path, problem)
        if not host.hostnames:
            problems.error(path, "a DNS host needs at least one host name")
        for name in host.hostnames:
            if problem := hostname_problem(name):
                problems.error(path, problem)


def _check_txts(spec: NetworkSpec, problems: Problems) -> None:
    names: set[str] = set()
    for index, txt in enumerate(spec.dns_txts):
        path = f"dns_txts.{index}"
        what = "TXT record name (letters, digits, '-' and dots; no spaces)"
        if problem := pattern_problem(txt.name, TXT_NAME, what, 253):
            problems.error(path, "a TXT record needs a name" if not txt.name else problem)
        elif txt.name in names:
            problems.error(path, f"there is already a TXT record called {txt.name}")
        names.add(txt.name)
        # lxml escapes <, & and quotes in the XML, but libvirt writes the value into dnsmasq's
        # config unquoted: what that reader changes is refused or pointed out.
        if problem := text_problem(txt.value) or txt_value_problem(txt.value):
            problems.error(path, problem)
        elif note := txt_value_note(txt.value):
            problems.warn(path, note)


def srv_problems(srv: DnsSrv) -> list[str]:
    found = []
    what = "service name (letters, digits, '_' and '-')"
    if not srv.service:
        found.append("an SRV record needs a service name")
    elif problem := pattern_problem(srv.service, SRV_SERVICE, what, 63):
        found.append(problem)
    if srv.protocol not in ("tcp", "udp"):
        found.append("the protocol is tcp or udp")
    # A target of "." says the service is not offered here (RFC 2782).
    for value in (srv.domain, "" if srv.target == "." else srv.target):
        if value and (problem := hostname_problem(value)):
            found.append(problem)
    for name in ("port", "priority", "weight"):
        value = getattr(srv, name)
        if value is not None and (problem := int_problem(value, 0, 65535, name)):
            found.append(problem)
    numbers = (srv.port, srv.priority, srv.weight)
    if not srv.target and any(value is not None for value in numbers):
        found.append("port, priority and weight need a target host")
    return found
