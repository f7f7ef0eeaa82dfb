"""What validation knows about the host, and what it found: plain data, no database, no libvirt."""

from dataclasses import dataclass, field

from networks.spec.model import AnyNetwork


@dataclass
class HostContext:
    """The host a network is defined on, as the caller read it (from the database or libvirt).

    host_bridges and host_interfaces: an empty list means "not known", not "none", so checks
    against them are skipped rather than refusing everything.
    """

    network_names: list[str] = field(default_factory=list)
    # bridge name -> who uses it ("network default", "interface eth0")
    bridges_in_use: dict[str, str] = field(default_factory=dict)
    subnets_here: list[tuple[str, AnyNetwork]] = field(default_factory=list)
    # (host name, network name, subnet) on the other hosts this console knows
    subnets_elsewhere: list[tuple[str, str, AnyNetwork]] = field(default_factory=list)
    host_bridges: list[str] = field(default_factory=list)
    host_interfaces: list[str] = field(default_factory=list)
    # The host's routing table, without the routes of this network itself.
    routes: list[AnyNetwork] = field(default_factory=list)


@dataclass
class Problems:
    """Messages for people, keyed by the form field they are about ("ipv4.dhcp_ranges.0")."""

    errors: dict[str, list[str]] = field(default_factory=dict)
    warnings: dict[str, list[str]] = field(default_factory=dict)

    def error(self, path: str, message: str) -> None:
        self.errors.setdefault(path, []).append(message)

    def warn(self, path: str, message: str) -> None:
        self.warnings.setdefault(path, []).append(message)

    @property
    def ok(self) -> bool:
        return not self.errors
