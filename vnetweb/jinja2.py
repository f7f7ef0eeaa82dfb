"""The site's one template engine: Jinja2, for every page and fragment of ours (templates/jinja2/).

Why Jinja2: on the same rows Django's engine takes four to eight times as long (bench/engines.py:
a page of 50 network rows 8.8 ms against 1.5 ms, 500 lease rows 21.5 ms against 5.3 ms). Views
draw fragments with Django's render_to_string, which finds them here (this engine comes first).
Django's engine stays only for Django's own apps (the admin site).

What Django's template language gave our templates is here, once: the globals `url`, `static`,
`htmx_script` and the network buttons (`panel_buttons`, `fix_restart`, once template tags), and
Django's own filters where Jinja2 has none or another meaning (`date`, `timesince`, `pluralize`,
`yesno`, `floatformat`, `intcomma`), so that the output stays what it was (Django's `|default:x`
is Jinja2's `|default(x, true)`). Undefined names and their attributes are empty, as in Django's
engine: a fragment may name what its page lacks.
"""

from typing import Any

import jinja2
from django.contrib.humanize.templatetags.humanize import intcomma
from django.http import HttpRequest
from django.template import defaultfilters
from django.template.backends import jinja2 as django_jinja2
from django.template.backends.utils import csrf_input_lazy, csrf_token_lazy
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django_htmx.jinja import htmx_script
from markupsafe import Markup

from networks.models import Network
from networks.pages.buttons import fix_button, network_buttons


def url(name: str, *args: Any, **kwargs: Any) -> str:
    """`{% url name a b %}` of Django's engine: `url(name, a, b)`."""
    return reverse(name, args=args or None, kwargs=kwargs or None)


def date(value: Any, format: str | None = None) -> str:
    """Django's `date` filter, in the current time zone as Django's engine shows times."""
    return defaultfilters.date(timezone.template_localtime(value), format)


def _buttons(context: jinja2.runtime.Context, network: Network, buttons: list, **more) -> Markup:
    """networks/_buttons.html for `network`, with the page's CSRF field."""
    template = context.environment.get_template("networks/_buttons.html")
    html = template.render(
        buttons=buttons,
        url=network.get_absolute_url(),
        csrf_input=context.get("csrf_input"),
        **more,
    )
    return Markup(html)  # Jinja2 escaped every value: autoescape is on


@jinja2.pass_context
def panel_buttons(context: jinja2.runtime.Context, network: Network, busy: bool = False) -> Markup:
    """The network page's panel buttons: those that make sense now and the user may use."""
    request = context.get("request")
    user = context.get("user") or getattr(request, "user", None)
    if user is None:
        return Markup("")
    return _buttons(context, network, network_buttons(network, user), busy=busy)


@jinja2.pass_context
def fix_restart(context: jinja2.runtime.Context, network: Network, problem: str) -> Markup:
    """The health verdict's Fix for `problem`: restart the network (the caller checks who may)."""
    return _buttons(context, network, [fix_button(network.name)], fix=problem)


def environment(**options: Any) -> jinja2.Environment:
    """The environment of TEMPLATES' Jinja2 engine (OPTIONS["environment"])."""
    options["undefined"] = jinja2.ChainableUndefined
    options["keep_trailing_newline"] = True  # as Django's engine: a template's text is all output
    env = jinja2.Environment(**options)
    env.globals.update(
        url=url,
        static=static,
        htmx_script=htmx_script,
        panel_buttons=panel_buttons,
        fix_restart=fix_restart,
    )
    env.filters.update(
        date=date,
        timesince=defaultfilters.timesince_filter,
        pluralize=defaultfilters.pluralize,
        yesno=defaultfilters.yesno,
        floatformat=defaultfilters.floatformat,
        intcomma=intcomma,
    )
    return env


class Template(django_jinja2.Template):
    """A template as Django's engine draws one: its own context wins over the context processors'
    (Django's Jinja2 backend lets the processors win; a host's or a network's page puts the role
    on that object in its context, over the global role of networks.context_processors.role), and
    its HTML is safe, so that render_to_string's result shows as HTML in another template."""

    def render(self, context: dict | None = None, request: HttpRequest | None = None) -> SafeString:
        if request is None:
            return mark_safe(super().render(context))  # autoescape is on
        page = {
            "request": request,
            "csrf_input": csrf_input_lazy(request),
            "csrf_token": csrf_token_lazy(request),
        }
        for processor in self.backend.template_context_processors:
            page.update(processor(request))
        page.update(context or {})
        return mark_safe(super().render(page))  # autoescape is on


class Jinja2(django_jinja2.Jinja2):
    """Django's Jinja2 backend, drawing with the Template above."""

    def from_string(self, template_code: str) -> Template:
        return Template(super().from_string(template_code).template, self)

    def get_template(self, template_name: str) -> Template:
        return Template(super().get_template(template_name).template, self)
