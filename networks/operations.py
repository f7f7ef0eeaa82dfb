"""Every operation a job can carry out, declared once: its label, the role it needs, when it makes
sense, whether it is a button on a network, and the worker function that does it.

Views, templates, the Job model's choices and the worker all read this table, so a new verb is
one entry here plus its worker function. Importing it loads neither libvirt nor the gateway: the
worker function is named by its dotted path and imported only in the worker.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from django.core.exceptions import PermissionDenied

from networks.permissions import Role, role_on


def _always(_network) -> bool:
    return True


@dataclass(frozen=True)
class Operation:
    key: str  # stored in Job.operation
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


def _op(key: str, label: str, role: Role, target: str = "network", **options) -> Operation:
    runner = options.pop("runner", f"networks.worker_ops.{key}")
    return Operation(key, label, role, target, runner=runner, **options)


def _nic(key: str, label: str, role: Role, **options) -> Operation:
    return _op(key, label, role, runner=f"networks.worker_nics.{key}", **options)


# The order is the order of the buttons.
OPERATIONS: tuple[Operation, ...] = (
    _op(
        "start", "Start", Role.OPERATOR, available=lambda n: not n.active, button=True, css="start"
    ),
    _op("stop", "Stop", Role.OPERATOR, available=lambda n: n.active, button=True, css="stop"),
    _op(
        "restart",
        "Restart",
        Role.OPERATOR,
        # A transient network is gone once stopped: it cannot be restarted.
        available=lambda n: n.active and n.persistent,
        button=True,
        confirm="Restart {name}? Its guests lose the network for a moment.",
    ),
    _op(
        "autostart_on",
        "Autostart on",
        Role.OPERATOR,
        available=lambda n: n.persistent and not n.autostart,
        button=True,
    ),
    _op(
        "autostart_off",
        "Autostart off",
        Role.OPERATOR,
        available=lambda n: n.persistent and n.autostart,
        button=True,
    ),
    _op("define", "Create", Role.ADMIN, target="host"),
    # Operators may change static hosts and DNS records (live); the editor view asks for ADMIN
    # when the change reaches further.
    _op("update", "Edit", Role.OPERATOR, available=lambda n: n.persistent),
    _op(
        "undefine",
        "Delete",
        Role.ADMIN,
        confirm="Delete {name}? It is stopped and its definition removed from the host.",
    ),
    _op("probe", "Check host", Role.OPERATOR, target="host"),
    # A lease becomes a DHCP reservation of the running network (a button of its lease's row).
    _op("pin_lease", "Make permanent", Role.OPERATOR, available=lambda n: n.active),
    # A guest's NICs (networks.worker_nics): live on a running guest and kept in its definition.
    _nic("nic_attach", "Attach NIC", Role.OPERATOR, target="guest"),
    _nic("nic_move", "Move NIC", Role.OPERATOR, target="guest"),
    _nic("nic_detach", "Detach NIC", Role.OPERATOR, target="guest"),
    _nic("nic_link", "Set NIC link", Role.OPERATOR, target="guest"),
)
REGISTRY: dict[str, Operation] = {op.key: op for op in OPERATIONS}
_BY_SLUG: dict[str, Operation] = {op.slug: op for op in OPERATIONS}


def get(key: str) -> Operation:
    """The operation stored as `key`; KeyError for an unknown one."""
    return REGISTRY[key]


def by_slug(slug: str) -> Operation | None:
    return _BY_SLUG.get(slug)


def choices() -> list[tuple[str, str]]:
    """Job.operation's choices (a callable, so the model never imports this module early)."""
    return [(op.key, op.label) for op in OPERATIONS]


def allowed(user, op: Operation, obj=None, role: Role | None = None) -> bool:
    """Whether the user's role on `obj` (a network, host or guest; None: the global role)
    reaches `role` (by default the operation's own)."""
    return role_on(user, obj) >= (role if role is not None else op.role)


def require(user, op: Operation, obj=None, role: Role | None = None) -> None:
    """PermissionDenied unless the user's role on `obj` reaches `role` (or the operation's)."""
    if not allowed(user, op, obj, role):
        raise PermissionDenied(f"Your role may not {op.label.lower()} here.")


def buttons(network, user) -> list[Operation]:
    """The buttons for this network (a Network, or a row with host_id and name): operations that
    make sense now and that the user's role on this network allows."""
    role = role_on(user, network)
    return [op for op in OPERATIONS if op.button and role >= op.role and op.available(network)]
