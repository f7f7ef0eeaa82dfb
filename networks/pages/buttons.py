"""A network's operation buttons as data, for the one template that draws them
(templates/jinja2/networks/_buttons.html): on its row of the network table, on its page's panel,
and as the health verdict's Fix on its switch part. Which buttons a user gets is decided here."""

from typing import NamedTuple

from networks import operations, permissions
from networks.operations import Op


class Button(NamedTuple):
    slug: str  # the network-action URL word
    label: str
    css: str
    confirm: str  # asked before it posts ("" for none)

    @classmethod
    def of(cls, op: operations.Operation, name: str) -> "Button":
        """The button of `op` for the network called `name`."""
        return cls(op.slug, op.label, op.css, op.confirm.format(name=name) if op.confirm else "")


def network_buttons(network, user) -> list[Button]:
    """The buttons for this network (a Network, or a row with host_id, name and the flags) that
    make sense now and that the user's role on it allows."""
    return [Button.of(op, network.name) for op in permissions.buttons(network, user)]


# The health Fix restarts the network; it says more than Restart does about what that rebuilds.
FIX_CONFIRM = (
    "Restart {name}? libvirt builds its bridge, firewall rules and dnsmasq again; guests lose"
    " the network for a moment."
)


def fix_button(name: str) -> Button:
    """The button that fixes a health problem by restarting the network called `name`."""
    restart = operations.get(Op.RESTART)
    return Button(restart.slug, "Fix: restart the network", "", FIX_CONFIRM.format(name=name))
