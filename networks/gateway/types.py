"""Plain values the gateway hands out: nothing here refers to libvirt objects."""

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class HostFacts:
    hostname: str
    libvirt_version: str
    hypervisor: str
    hypervisor_version: str
    cpu_model: str
    cpus: int
    memory_kib: int


@dataclass(frozen=True)
class LeaseInfo:
    mac: str
    ip: str
    prefix: int | None
    hostname: str
    client_id: str
    expires: datetime | None


@dataclass(frozen=True)
class NetworkInfo:
    name: str
    uuid: str
    active: bool
    persistent: bool
    autostart: bool
    xml: str
    # None when the network has no libvirt-run DHCP server or is not running.
    leases: tuple[LeaseInfo, ...] | None = None


@dataclass(frozen=True)
class HostSnapshot:
    facts: HostFacts
    networks: tuple[NetworkInfo, ...]
