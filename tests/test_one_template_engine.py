"""One template engine for the site: every template of ours is Jinja2 (templates/jinja2/, drawn
with vnetweb/jinja2.py's environment); Django's engine is left to Django's own apps (the admin).

A Django template of ours would not fail loudly: Django's engine would still find it by name, and
the page would cost four to eight times as much to draw (bench/engines.py).
"""

from pathlib import Path

import jinja2
import pytest
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.template import TemplateDoesNotExist, engines
from django.urls import reverse
from django.views import defaults

REPO = Path(__file__).resolve().parent.parent
TEMPLATES = REPO / "templates"
JINJA2 = TEMPLATES / "jinja2"
OURS = sorted(str(p.relative_to(JINJA2)) for p in JINJA2.rglob("*.html"))


def test_every_template_of_ours_is_under_templates_jinja2():
    elsewhere = [
        str(p.relative_to(REPO))
        for p in TEMPLATES.rglob("*")
        if p.is_file() and JINJA2 not in p.parents
    ]
    assert elsewhere == []
    assert "base.html" in OURS and "networks/detail.html" in OURS  # the glob finds them
    assert not (REPO / "networks" / "templatetags").exists()


def test_the_jinja2_engine_comes_first_and_the_django_engine_has_no_folder_of_ours():
    jinja, django = settings.TEMPLATES
    assert jinja["BACKEND"] == "vnetweb.jinja2.Jinja2"
    assert [Path(d) for d in jinja["DIRS"]] == [JINJA2]
    assert django["BACKEND"] == "django.template.backends.django.DjangoTemplates"
    assert django["DIRS"] == []
    with pytest.raises(TemplateDoesNotExist):
        engines["django"].get_template("base.html")


def jinja2_syntax_errors(source: str) -> str | None:
    """Why `source` is no Jinja2 template of ours, or None."""
    if "{% load" in source:
        return "{% load %} of a Django template library"
    try:
        engines["jinja2"].env.parse(source)
    except jinja2.TemplateSyntaxError as error:
        return str(error)
    return None


@pytest.mark.parametrize(
    "django_source",
    [
        "{% load static %}<p>x</p>",
        "<a href=\"{% url 'home' %}\">home</a>",
        '<form method="post">{% csrf_token %}</form>',
        "{{ when|date:'Y-m-d' }}",
        "{% for x in xs %}{{ x }}{% empty %}none{% endfor %}",
    ],
)
def test_the_check_below_refuses_django_syntax(django_source):
    assert jinja2_syntax_errors(django_source)


@pytest.mark.parametrize("name", OURS)
def test_every_template_is_jinja2(name):
    assert jinja2_syntax_errors((JINJA2 / name).read_text()) is None


def test_a_page_context_wins_over_the_context_processors(rf):
    """As in Django's engine: a host's page puts the role on the host over the global role."""
    request = rf.get("/")
    request.user = AnonymousUser()
    template = engines["jinja2"].from_string("{{ role }} {{ can_operate }} {{ site_admin }}")
    assert template.render({"role": "operator", "can_operate": True}, request) == (
        "operator True False"
    )


def test_undefined_names_and_their_attributes_are_empty_as_in_django():
    template = engines["jinja2"].from_string("[{{ missing }}{{ missing.attribute.deeper }}]")
    assert template.render({}) == "[]"
    assert isinstance(engines["jinja2"].env.undefined(), jinja2.ChainableUndefined)


# --- Django's error pages, drawn by name through the engines: ours, in Jinja2 -------------------


def test_the_server_error_page_renders_without_a_context(rf):
    response = defaults.server_error(rf.get("/"))
    assert response.status_code == 500
    assert "<h1>Something went wrong</h1>" in response.content.decode()


@pytest.mark.django_db
def test_the_not_found_and_not_allowed_pages_are_ours_with_the_site_header(rf):
    request = rf.get("/nowhere/")
    request.user = AnonymousUser()
    not_found = defaults.page_not_found(request, Http404("no such thing"))
    assert not_found.status_code == 404
    assert "<h1>Not found</h1>" in not_found.content.decode()
    assert '<a class="brand" href="/">vnetweb</a>' in not_found.content.decode()
    refused = defaults.permission_denied(request, PermissionDenied("Operators only, O'Brien."))
    assert refused.status_code == 403
    assert "<p>Operators only, O&#39;Brien.</p>" in refused.content.decode()
    empty = defaults.permission_denied(request, PermissionDenied())
    assert "<p>Your role does not allow this.</p>" in empty.content.decode()


# --- Django's auth views, which render by name: ours, in Jinja2 ------------------------------


def test_the_login_page_is_ours(client):
    page = client.get(reverse("login")).content.decode()
    assert "<h1>Log in</h1>" in page
    assert 'name="csrfmiddlewaretoken"' in page


def test_the_password_pages_are_ours(viewer, client_as):
    client = client_as(viewer)
    form = client.get(reverse("password_change")).content.decode()
    assert "<h1>Change password</h1>" in form
    assert 'name="old_password"' in form and 'name="csrfmiddlewaretoken"' in form
    assert '<span class="user">' + viewer.username + "</span>" in form  # the site's header
    done = client.get(reverse("password_change_done")).content.decode()
    assert "<h1>Password changed</h1>" in done
