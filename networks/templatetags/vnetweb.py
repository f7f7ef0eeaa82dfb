from typing import NamedTuple

from django import template

from networks import permissions
from networks.models import Network

register = template.Library()


class Button(NamedTuple):
    action: str  # the network-action URL word
    label: str
    css: str
    confirm: str


@register.simple_tag(takes_context=True)
def network_buttons(context: template.Context, network: Network) -> list[Button]:
    """The operation buttons for this network that make sense now and that the user may use."""
    request = context.get("request")
    user = context.get("user") or getattr(request, "user", None)
    if user is None:
        return []
    return [
        Button(op.slug, op.label, op.css, op.confirm_for(network))
        for op in permissions.buttons(network, user)
    ]
