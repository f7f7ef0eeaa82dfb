"""Every operation a job can carry out, declared once: its label, the role it needs, when it makes
sense, whether it is a button on a network, and the worker function that does it.

Views, templates, the Job model's choices and the worker all read this table, so a new verb is
one entry here plus its worker function. Importing it loads neither libvirt nor the gateway: the
worker function is named by its dotted path and imported only in the worker. Who may ask for an
operation is decided in networks.permissions (`allowed`, `require`, `buttons`), beside the roles.
Code names an operation by its key here (`Op.START`), never by a bare string.
"""

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from networks.roles import Role


class Op(StrEnum):
    """Every operation's key, as stored in Job.operation and AuditEntry.action."""

    START = "start"
    STOP = "stop"
    RESTART = "restart"
    AUTOSTART_ON = "autostart_on"
    AUTOSTART_OFF = "autostart_off"
    DEFINE = "define"
    UPDATE = "update"
    UNDEFINE = "undefine"
    PROBE = "probe"
    PIN_LEASE = "pin_lease"
    NIC_ATTACH = "nic_attach"
    NIC_MOVE = "nic_move"
    NIC_DETACH = "nic_detach"
    NIC_LINK = "nic_link"
    FORWARD_ADD = "forward_add"
    FORWARD_REMOVE = "forward_remove"
    FORWARDS_APPLY = "forwards_apply"


def _always(_network) -> bool:
    return True


@dataclass(frozen=True)
class Operation:
    key: Op  # stored in Job.operation
    label: str
    role: Role  # the least role that may ask for it (a view may demand more, see `require`)
    target: Literal["network", "host", "guest"]
    runner: str  # dotted path of the worker function: (job) -> message
    # Whether it makes sense for a network row as the database shows it (False hides the button).
    available: Callable[..., bool] = _always
    button: bool = False  # a button on the network's row and panel
    css: str = ""
    confirm: str = ""  # asked before a button sends it; {name} is the network's name

    @property
    def slug(self) -> str:
        """The URL word (network-action's <action>): autostart_on -> autostart-on."""
        return self.key.replace("_", "-")

    def confirm_for(self, network) -> str:
        return self.confirm.format(name=network.name) if self.confirm else ""


def _op(key: Op, label: str, role: Role, target: str = "network", **options) -> Operation:
    runner = options.pop("runner", f"networks.worker.ops.{key}")
    return Operation(key, label, role, target, runner=runner, **options)


def _nic(key: Op, label: str, role: Role, **options) -> Operation:
    return _op(key, label, role, runner=f"networks.worker.nics.{key}", **options)


def _forward(key: Op, label: str, **options) -> Operation:
    return _op(key, label, Role.OPERATOR, runner=f"networks.worker.forwards.{key}", **options)


# The order is the order of the buttons.
OPERATIONS: tuple[Operation, ...] = (
    _op(
        Op.START, "Start", Role.OPERATOR, available=lambda n: not n.active, button=True, css="start"
    ),
    _op(Op.STOP, "Stop", Role.OPERATOR, available=lambda n: n.active, button=True, css="stop"),
    _op(
        Op.RESTART,
        "Restart",
        Role.OPERATOR,
        # A transient network is gone once stopped: it cannot be restarted.
        available=lambda n: n.active and n.persistent,
        button=True,
        confirm="Restart {name}? Its guests lose the network for a moment.",
    ),
    _op(
        Op.AUTOSTART_ON,
        "Autostart on",
        Role.OPERATOR,
        available=lambda n: n.persistent and not n.autostart,
        button=True,
    ),
    _op(
        Op.AUTOSTART_OFF,
        "Autostart off",
        Role.OPERATOR,
        available=lambda n: n.persistent and n.autostart,
        button=True,
    ),
    _op(Op.DEFINE, "Create", Role.ADMIN, target="host"),
    # Operators may change static hosts and DNS records (live); the editor view asks for ADMIN
    # when the change reaches further.
    _op(Op.UPDATE, "Edit", Role.OPERATOR, available=lambda n: n.persistent),
    _op(
        Op.UNDEFINE,
        "Delete",
        Role.ADMIN,
        confirm="Delete {name}? It is stopped and its definition removed from the host.",
    ),
    _op(Op.PROBE, "Check host", Role.OPERATOR, target="host"),
    # A lease becomes a DHCP reservation of the running network (a button of its lease's row).
    _op(Op.PIN_LEASE, "Make permanent", Role.OPERATOR, available=lambda n: n.active),
    # A guest's NICs (networks.worker.nics): live on a running guest and kept in its definition.
    _nic(Op.NIC_ATTACH, "Attach NIC", Role.OPERATOR, target="guest"),
    _nic(Op.NIC_MOVE, "Move NIC", Role.OPERATOR, target="guest"),
    _nic(Op.NIC_DETACH, "Detach NIC", Role.OPERATOR, target="guest"),
    _nic(Op.NIC_LINK, "Set NIC link", Role.OPERATOR, target="guest"),
    # A switch's port forwards (networks.worker.forwards): the host's firewall, at once, without
    # restarting the switch or the guest. APPLY writes them all again (the health verdict's Fix).
    _forward(Op.FORWARD_ADD, "Add port forward", available=lambda n: n.mode_info.forwards),
    _forward(Op.FORWARD_REMOVE, "Remove port forward"),
    _forward(Op.FORWARDS_APPLY, "Put port forwards back", available=lambda n: n.active),
)
REGISTRY: dict[str, Operation] = {op.key: op for op in OPERATIONS}
_BY_SLUG: dict[str, Operation] = {op.slug: op for op in OPERATIONS}


def get(key: str) -> Operation:
    """The operation stored as `key`; KeyError for an unknown one."""
    return REGISTRY[key]


def by_slug(slug: str) -> Operation | None:
    return _BY_SLUG.get(slug)


def choices() -> list[tuple[str, str]]:
    """Job.operation's choices."""
    return [(op.key, op.label) for op in OPERATIONS]
