from django import template

from networks.models import Network

register = template.Library()


@register.filter
def available_actions(network: Network) -> list[tuple[str, str, str]]:
    """(action, label, css class) for the buttons that make sense in the network's current state."""
    actions = [("stop", "Stop", "stop")] if network.active else [("start", "Start", "start")]
    # A transient network has no config to autostart from.
    if network.persistent:
        if network.autostart:
            actions.append(("autostart-off", "Autostart off", ""))
        else:
            actions.append(("autostart-on", "Autostart on", ""))
    return actions
