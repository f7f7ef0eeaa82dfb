"""A fragment's HTML from the site's one template engine, Jinja2 (vnetweb/jinja2.py).

Why Jinja2, measured by bench/engines.py on the same rows: Django's engine takes about five times
as long (a page of 50 network rows 8.8 ms against 1.5 ms, 500 lease rows 21.5 ms against 5.3 ms),
which the list's and the network page's figures in docs/performance.md cannot absorb. Views draw
rows here that a page then shows in place (`{{ rows }}`).
"""

from django.http import HttpRequest
from django.template import engines
from django.utils.safestring import SafeString, mark_safe


def render(template: str, context: dict, request: HttpRequest | None = None) -> SafeString:
    """The template's HTML; with `request`, the template has csrf_input and csrf_token too."""
    html = engines["jinja2"].get_template(template).render(context, request)
    return mark_safe(html)  # Jinja2 escaped every value: autoescape is on
