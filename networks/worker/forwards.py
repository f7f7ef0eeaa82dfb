"""What the worker does for port forwards (networks.operations names these functions), and how
it keeps them in the host's firewall.

The database's PortForward rows are what the host's firewall must hold: `ensure(host)` writes
them all at once (networks.gateway.forwards) when the firewall holds anything else. It runs when
the worker starts (a host that rebooted), after libvirt's events the monitor follows (a switch
started, libvirtd back), at every survey of the host's side (someone flushed the rules by hand:
they are back within one survey, VNETWEB_SWITCH_SECONDS), and after each forward job.

A forward job checks the forward again (networks.port_forwards.refusals, under the host's row
lock, so two jobs cannot both take a port), writes the firewall with it, and only then keeps the
row: a forward the firewall refused is not kept, and the firewall is as before.

Jobs and `ensure` read the rows and write the firewall under one lock of the machine's
(networks.gateway.forwards.held), which a job keeps until its row is committed: a survey that
read the rows just before would write the firewall back without the job's change (measured
with surveys back to back: 7 of 50 add and remove jobs failed, and the survey rewrote the rules
27 times; none with the lock).
"""

import ipaddress
import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from networks import gateway, port_forwards
from networks.gateway import forward_rules
from networks.gateway import forwards as firewall
from networks.models import Host, Job, Network, PortForward
from networks.port_forwards import Wanted
from networks.worker.ops import Refused

log = logging.getLogger(__name__)


def chain_prefix() -> str:
    """The site's chain names' first word (settings.VNETWEB_FORWARD_CHAINS)."""
    return settings.VNETWEB_FORWARD_CHAINS


def writes_here(host: Host) -> bool:
    """Whether this worker runs on the host itself, so it can write its firewall."""
    return gateway.is_local(host.uri) and settings.VNETWEB_HOST_NETLINK


def _subnet(network: Network, guest_ip: str) -> str:
    spec = port_forwards.spec_of(network)
    address = ipaddress.IPv4Address(guest_ip)
    for subnet in port_forwards.subnets(spec) if spec else []:
        if address in subnet:
            return str(subnet)
    return f"{guest_ip}/32"


def as_firewall(row: PortForward) -> forward_rules.Forward:
    return forward_rules.Forward(
        id=row.pk,
        protocol=row.protocol,
        listen=row.listen or None,
        host_ports=(row.host_port, row.host_port_end),
        guest_ip=row.guest_ip,
        guest_ports=(row.guest_port, row.guest_port_end),
        bridge=row.network.bridge,
        subnet=_subnet(row.network, row.guest_ip),
    )


def _rows(host: Host) -> list[PortForward]:
    rows = PortForward.objects.filter(network__host=host).select_related("network")
    return [row for row in rows if row.network.bridge]


def wanted(host: Host) -> list[forward_rules.Forward]:
    """Every forward of the host's switches, as its firewall must hold them."""
    return [as_firewall(row) for row in _rows(host)]


# The last failure logged per host: a survey every 2 s would repeat it endlessly.
_told: dict[int, str] = {}


@dataclass(frozen=True)
class Checked:
    """What `ensure` found: the rows it went by, and the firewall after (None: not readable or
    not writable here)."""

    rows: list[PortForward]
    installed: forward_rules.Installed | None

    def missing(self) -> set[int]:
        """The ids of the rows whose rules are not all in place."""
        if self.installed is None:
            return {row.pk for row in self.rows}
        forwards = [as_firewall(row) for row in self.rows]
        return {f.id for f in forward_rules.missing(forwards, self.installed, chain_prefix())}


def ensure(host: Host) -> Checked:
    """Make the host's firewall hold its forwards (nothing when it holds them already). Reads
    the rows under the machine's lock (firewall.held). Logs, never raises: the survey's verdict
    says it."""
    if not writes_here(host):
        return Checked(_rows(host), None)
    try:
        with firewall.held(chain_prefix()):
            rows = _rows(host)
            forwards = [as_firewall(row) for row in rows]
            installed = firewall.read(chain_prefix())
            if not forward_rules.in_place(forwards, installed, chain_prefix()):
                log.warning("port forwards of %s were not in place: writing them again", host.name)
                installed = firewall.apply(forwards, chain_prefix(), installed)
        _told.pop(host.pk, None)
        return Checked(rows, installed)
    except gateway.GatewayError as exc:
        if _told.get(host.pk) != exc.message:
            log.warning("cannot put the port forwards of %s in place: %s", host.name, exc)
            _told[host.pk] = exc.message
        return Checked(_rows(host), None)


def _network(job: Job) -> Network:
    network = Network.objects.filter(host=job.host, name=job.target).select_related("host").first()
    if network is None:
        raise Refused(f"{job.target} is no longer on {job.host.name}; nothing was changed.")
    if not writes_here(job.host):
        raise Refused(
            f"Port forwards are written into the firewall of {job.host.name} by a worker running "
            "on that host; this worker reaches it over the network. Nothing was changed."
        )
    return network


def _write(host: Host, forwards: list[forward_rules.Forward]) -> None:
    try:
        firewall.apply(forwards, chain_prefix())
    except gateway.GatewayError as exc:
        raise Refused(
            f"The host's firewall refused the change: {str(exc).rstrip('.')}. Nothing was changed."
        ) from exc


def forward_add(job: Job) -> str:
    params = job.params
    wanted_forward = Wanted(
        protocol=params["protocol"],
        listen=params.get("listen") or None,
        host_port=int(params["host_port"]),
        host_port_end=int(params.get("host_port_end") or params["host_port"]),
        guest_ip=params["guest_ip"],
        guest_port=int(params["guest_port"]),
        guest_port_end=params.get("guest_port_end"),
    )
    fields = {
        "protocol": wanted_forward.protocol,
        "listen": wanted_forward.listen,
        "host_port": wanted_forward.host_port,
        "host_port_end": wanted_forward.last_host_port,
        "guest_ip": wanted_forward.guest_ip,
        "guest_port": wanted_forward.guest_port,
    }
    # The lock outside the transaction: released only once the row is committed (firewall.held).
    with firewall.held(chain_prefix()), transaction.atomic():
        list(Host.objects.select_for_update().filter(pk=job.host_id).values_list("pk"))
        network = _network(job)
        same = network.forwards.filter(**fields).first()
        if same is not None:
            ensure(job.host)
            return f"{same.text} is already forwarded; nothing to do."
        if errors := port_forwards.refusals(network, wanted_forward):
            raise Refused(" ".join(errors.values()) + " Nothing was changed.")
        guest = port_forwards.guest_of(network, wanted_forward.guest_ip)
        row = PortForward.objects.create(
            network=network,
            **fields,
            guest_name=guest.name if guest else "",
            guest_mac=guest.mac if guest else "",
            username=job.username,
        )
        # Written while the row is not yet committed: a refusal rolls the row back too.
        _write(job.host, wanted(job.host))
    return f"{row.text} now forwarded on {job.host.name}, without a restart."


def forward_remove(job: Job) -> str:
    with firewall.held(chain_prefix()), transaction.atomic():
        list(Host.objects.select_for_update().filter(pk=job.host_id).values_list("pk"))
        network = _network(job)
        row = network.forwards.filter(pk=job.params.get("forward")).first()
        if row is None:
            ensure(job.host)
            return f"That forward is no longer on {network.name}; nothing to do."
        text = row.text
        row.delete()
        _write(job.host, wanted(job.host))
    return f"{text} no longer forwarded on {job.host.name}."


def forwards_apply(job: Job) -> str:
    network = _network(job)
    with firewall.held(chain_prefix()):
        forwards = wanted(job.host)
        _write(job.host, forwards)
    mine = sum(1 for forward in forwards if forward.bridge == network.bridge)
    return f"The port forwards of {job.host.name} are in place ({mine} of {network.name})."
