"""The raw XML editor (admins): any network XML libvirt accepts, reviewed like the form's edits."""

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from networks import permissions
from networks.editor import review
from networks.host_context import host_context
from networks.spec import SpecXMLError, parse
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
    base_xml = saved_xml(network)
    page = {"network": network, "host": network.host}
    if request.method == "GET":
        return render(
            request,
            "networks/xml_editor.html",
            {**page, "form": XmlForm(initial={"xml": base_xml})},
        )

    form = XmlForm(request.POST)
    result = None
    if form.is_valid():
        result = _review_xml(form, network, base_xml, request.user)
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


def _review_xml(form: XmlForm, network, base_xml: str, user):
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
