"""Tags for the pages still written as Django templates: they draw fragments of the site's
engine, Jinja2 (networks/views/jinja.py), so that a fragment has one template wherever it shows."""

from django import template
from django.utils.safestring import SafeString

from networks.models import Network
from networks.pages.buttons import fix_button, network_buttons
from networks.views import jinja

register = template.Library()


def _buttons(context: template.Context, network: Network, buttons: list, **more) -> SafeString:
    return jinja.render(
        "networks/_buttons.html",
        {"buttons": buttons, "url": network.get_absolute_url(), **more},
        context.get("request"),
    )


@register.simple_tag(takes_context=True)
def panel_buttons(context: template.Context, network: Network, busy: bool = False) -> SafeString:
    """The network page's panel buttons: those that make sense now and the user may use."""
    request = context.get("request")
    user = context.get("user") or getattr(request, "user", None)
    if user is None:
        return SafeString("")
    return _buttons(context, network, network_buttons(network, user), busy=busy)


@register.simple_tag(takes_context=True)
def fix_restart(context: template.Context, network: Network, problem: str) -> SafeString:
    """The health verdict's Fix for `problem`: restart the network (the caller checks who may)."""
    return _buttons(context, network, [fix_button(network.name)], fix=problem)
