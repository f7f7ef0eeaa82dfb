"""The raw XML editor (admins): any network XML libvirt accepts, reviewed like the form's edits."""

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from networks import permissions
from networks.forms.rebase import merge_text
from networks.pages.host_context import host_context
from networks.pages.review import review
from networks.spec import SchemaUnavailable, SpecXMLError, parse, schema_errors
from networks.views.edit_base import (
    UNKNOWN_BASE,
    Stale,
    base_fields,
    stale,
    unknown_base,
    unsign_base,
)
from networks.views.switch_edit import apply_edit, confirmed, saved_xml

MAX_XML = 1_000_000


class XmlForm(forms.Form):
    xml = forms.CharField(
        label="Network XML",
        max_length=MAX_XML,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 30, "spellcheck": "false", "class": "xml"}),
    )


@require_http_methods(["GET", "POST"])
def switch_xml(request: HttpRequest, host: str, name: str) -> HttpResponse:
    network = permissions.get_network(request.user, host, name)
    permissions.require_administer(request.user, network)
    current_xml = saved_xml(network)
    # The definition the text was edited from; a review without one starts from the current one.
    base_xml = unsign_base(network, request.POST.get("base")) or current_xml
    page = {"network": network, "host": network.host, **base_fields(network, current_xml)}
    if request.method == "GET":
        return render(
            request,
            "networks/xml_editor.html",
            {**page, "form": XmlForm(initial={"xml": current_xml})},
        )

    form = XmlForm(request.POST)
    if unknown_base(request, network):
        form.add_error(None, UNKNOWN_BASE)
        return render(request, "networks/xml_editor.html", {**page, "form": form}, status=422)
    yours = form.cleaned_data.get("xml", "") if form.is_valid() else ""
    if yours and (changed := stale(network, base_xml, lambda: yours)):
        return _stale(request, page, changed, base_xml, yours)
    result = None
    if form.is_valid():
        result = review_xml(form, network, base_xml, request.user)
    ok = result is not None and result.ok and not form.errors
    if ok and confirmed(request, result, {}):
        return apply_edit(request, network, result, base_xml)
    context = {
        **page,
        "form": form,
        "review": result if ok else None,
        "token": result.token() if ok else "",
        "warnings": [m for ms in result.problems.warnings.values() for m in ms] if result else [],
    }
    return render(request, "networks/xml_editor.html", context, status=200 if ok else 422)


def _stale(request: HttpRequest, page: dict, changed: Stale, base_xml: str, yours: str):
    """The text was edited from an older definition: refused (409), and the editor holds the
    person's changes merged by lines onto the current definition, or, where both changed the
    same lines, the current definition for them to make their change again."""
    current = page["network"].saved_xml
    merged = merge_text(base_xml, current, yours)
    if merged is not None and not _schema_accepts(merged):
        merged = None  # say both added the first record of a list: two <dns> elements
    form = XmlForm(initial={"xml": merged if merged is not None else current})
    context = {**page, "form": form, "stale": changed, "merged": merged is not None}
    return render(request, "networks/xml_editor.html", context, status=409)


def _schema_accepts(xml: str) -> bool:
    try:
        return not schema_errors(xml)
    except SchemaUnavailable:
        return False


def review_xml(form: XmlForm, network, base_xml: str, user):
    """The review of the XML typed in `form`, made on `base_xml`; what refuses it is put on the
    form's "xml" field (None when it cannot even be read)."""
    text = form.cleaned_data["xml"]
    try:
        spec, original = parse(text), parse(base_xml)
    except SpecXMLError as exc:
        form.add_error("xml", str(exc))
        return None
    if spec.name != network.name:
        form.add_error(
            "xml", f"the name must stay {network.name!r}: rename by creating a new switch"
        )
    if spec.uuid and original.uuid and spec.uuid != original.uuid:
        form.add_error("xml", f"the UUID must stay {original.uuid}")
    if form.errors:
        return None
    result = review(
        spec,
        host_context(network.host, editing=network, visible=permissions.seen_network_ids(user)),
        original=original,
        base_xml=base_xml,
        xml=text,
    )
    for message in result.schema:
        form.add_error("xml", f"libvirt's schema refuses it: {message}")
    for message in result.refused:
        form.add_error("xml", message)
    for path, messages in result.problems.errors.items():
        for message in messages:
            form.add_error("xml", f"{path}: {message}")
    return result
