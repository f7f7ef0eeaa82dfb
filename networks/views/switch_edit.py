"""Drawing switches: create a network, edit one through the form; both reviewed before sending.

A POST with "review" validates and shows the XML (or its diff against the saved config) and how
the change would apply; only a POST with "apply" and the token of that very review queues the
job. Nothing reaches libvirt until then, and bad input only ever comes back as field errors.
"""

from dataclasses import asdict

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from networks import permissions
from networks.forms.rebase import rebase
from networks.forms.switch import SwitchForm, initial_from
from networks.jobs import create_job
from networks.models import Host, Job, Network
from networks.operations import Op
from networks.pages.host_context import host_context
from networks.pages.review import Review, review
from networks.spec import HostContext, NetworkSpec, SpecXMLError, default_spec, parse, to_xml
from networks.spec.defaults import free_bridge_name
from networks.views.edit_base import (
    UNKNOWN_BASE,
    Stale,
    base_fields,
    stale,
    unknown_base,
    unsign_base,
)

# What the editor says, and the API too (networks.api.switches): one wording for both.
NOTHING_CHANGED = "Nothing changed; nothing was sent."
OPERATORS_ONLY_LIVE = "Only admins may change more than static hosts and DNS records."


def saved_xml(network: Network) -> str:
    """The persistent config the editor starts from (the live XML for a transient network)."""
    return network.saved_xml


def _inventory(context: HostContext) -> dict:
    """What the form offers: the host's own bridges (not libvirt's) and its NICs."""
    libvirt_bridges = set(context.bridges_in_use)
    return {
        "host_bridges": [b for b in context.host_bridges if b not in libvirt_bridges],
        "host_interfaces": context.host_interfaces,
    }


def _render(request, template: str, context: dict) -> HttpResponse:
    return render(request, template, context, status=422 if context.get("invalid") else 200)


def _render_stale(
    request: HttpRequest, template: str, page: dict, changed: Stale, both: list[str]
) -> HttpResponse:
    """The refusal of an edit made on an older definition: what changed since, both
    differences, and the form again on top of the current definition (409 Conflict)."""
    context = {**page, "stale": changed, "both_changed": both}
    return render(request, template, context, status=409)


@require_http_methods(["GET", "POST"])
def switch_create(request: HttpRequest, host: str) -> HttpResponse:
    host_obj = permissions.get_host(request.user, host)
    permissions.require_administer(request.user, host_obj)
    context = host_context(host_obj, visible=permissions.seen_network_ids(request.user))
    # Drawn from the host's topology: back there once the switch exists, to see it appear.
    topology = reverse("host-topology", args=[host_obj.name])
    back = topology if request.GET.get("from") == "topology" else ""
    page = {"host": host_obj, "creating": True, "back": back, **_inventory(context)}
    if request.method == "GET":
        form = SwitchForm(initial=initial_from(default_spec(context)), creating=True)
        return render(request, "networks/editor.html", {**page, "form": form})

    form = SwitchForm(request.POST, creating=True)
    result = _checked(form, NetworkSpec(name=""), context, None, free_bridge_name(context))
    extra = {}
    if result is not None and result.ok:
        extra = {"start": form.cleaned_data["start"], "autostart": form.cleaned_data["autostart"]}
    if result is None or not result.ok or not confirmed(request, result, extra):
        return _render(request, "networks/editor.html", _page(page, form, result, extra))
    job = queue_create(request.user, host_obj, result, **extra, return_to=topology if back else "")
    messages.info(request, f"Creating {result.spec.name} on {host_obj.name}…")
    return redirect("job-detail", job.pk)


@require_http_methods(["GET", "POST"])
def switch_edit(request: HttpRequest, host: str, name: str) -> HttpResponse:
    network = permissions.get_network(request.user, host, name)
    permissions.require_operate(request.user, network)
    operator_only = not permissions.can_administer(request.user, network)
    current_xml = saved_xml(network)
    # The definition the form was opened on; a review without one starts from the current one.
    base_xml = unsign_base(network, request.POST.get("base")) or current_xml
    try:
        current, original = parse(current_xml), parse(base_xml)
    except SpecXMLError as exc:
        messages.error(
            request, f"vnetweb cannot read this network's XML ({exc}); use the XML editor."
        )
        return redirect(network)
    seen = permissions.seen_network_ids(request.user)
    context = host_context(network.host, editing=network, visible=seen)
    page = {
        "host": network.host,
        "network": network,
        "creating": False,
        "operator_only": operator_only,
        **base_fields(network, current_xml),
        **_inventory(context),
    }
    if request.method == "GET":
        form = SwitchForm(
            initial=initial_from(current), creating=False, operator_only=operator_only
        )
        return render(request, "networks/editor.html", {**page, "form": form})

    form = SwitchForm(
        request.POST, initial=initial_from(original), creating=False, operator_only=operator_only
    )
    if unknown_base(request, network):
        form.add_error(None, UNKNOWN_BASE)
        return _render(request, "networks/editor.html", {**page, "form": form, "invalid": True})
    if changed := stale(network, base_xml, lambda: _yours(form, original, base_xml)):
        values, both = rebase(form, initial_from(current))
        form = SwitchForm(initial=values, creating=False, operator_only=operator_only)
        return _render_stale(request, "networks/editor.html", {**page, "form": form}, changed, both)
    result = _checked(form, original, context, base_xml)
    if result is None or not result.ok or not confirmed(request, result, {}):
        return _render(request, "networks/editor.html", _page(page, form, result, {}))
    if operator_only and result.plan is not None and result.plan.needs_restart:
        # The form lets operators touch only what applies live; anything else is an admin's.
        raise PermissionDenied(OPERATORS_ONLY_LIVE)
    return apply_edit(request, network, result, base_xml)


def _yours(form: SwitchForm, original: NetworkSpec, base_xml: str) -> str:
    """The definition the form makes of its base, for the review of a stale edit ("" if the
    form has errors)."""
    if not form.is_valid():
        return ""
    spec = form.apply_to(original)
    return "" if form.errors else to_xml(spec, base=base_xml)


def _checked(
    form: SwitchForm,
    original: NetworkSpec,
    context,
    base_xml: str | None,
    free_bridge: str = "",
) -> Review | None:
    """The review of the form's switch; None when the form itself has errors."""
    if not form.is_valid():
        return None
    spec = form.apply_to(original, free_bridge=free_bridge)
    if form.errors:
        return None
    editing = original if base_xml is not None else None
    result = review(spec, context, original=editing, base_xml=base_xml)
    form.add_problems(result.problems, spec)
    for message in refusals(result):
        form.add_error(None, message)
    return result


def refusals(result: Review) -> list[str]:
    """What keeps a reviewed switch from being sent besides its fields' problems: libvirt's
    schema and what vnetweb never sends, in the editor's words."""
    schema = [f"libvirt's schema refuses the result: {message}" for message in result.schema]
    return schema + list(result.refused)


def confirmed(request: HttpRequest, result: Review, extra: dict) -> bool:
    asked = "apply" in request.POST or "restart" in request.POST
    return asked and request.POST.get("token") == result.token(**extra)


def _page(page: dict, form: SwitchForm, result: Review | None, extra: dict) -> dict:
    ok = result is not None and result.ok and not form.errors
    return {
        **page,
        "form": form,
        "review": result if ok else None,
        "token": result.token(**extra) if ok else "",
        "warnings": form.warnings_for(result.problems, result.spec) if result else [],
        "invalid": not ok,
    }


def queue_create(
    user, host: Host, result: Review, *, start: bool, autostart: bool, return_to: str = ""
) -> Job:
    """Queue the define of a reviewed new switch (and its start and autostart if asked)."""
    params = {"xml": result.xml, "start": start, "autostart": autostart}
    return create_job(
        user,
        host,
        Op.DEFINE,
        target=result.spec.name,
        params={**params, **({"return_to": return_to} if return_to else {})},
    )


def queue_edit(
    user, network: Network, result: Review, base_xml: str, *, restart: bool
) -> Job | None:
    """Queue a reviewed edit made on `base_xml`: live where libvirt allows it, else a define
    (and a restart if asked). None when it changes nothing: nothing is sent then."""
    plan = result.plan
    if plan is None or plan.is_empty:
        return None
    return create_job(
        user,
        network.host,
        Op.UPDATE,
        network=network,
        params={
            "xml": result.xml,
            "base_xml": base_xml,
            "live": [asdict(update) for update in plan.updates],
            "restart": restart,
        },
    )


def apply_edit(
    request: HttpRequest, network: Network, result: Review, base_xml: str
) -> HttpResponse:
    """Queue the edit and say how it will apply."""
    restart = "restart" in request.POST
    job = queue_edit(request.user, network, result, base_xml, restart=restart)
    plan = result.plan
    if job is None or plan is None:
        messages.info(request, NOTHING_CHANGED)
        return redirect(network)
    if not network.active or not plan.needs_restart:
        messages.info(request, f"Applying the change to {network.name}…")
    elif restart:
        messages.info(request, f"Saving and restarting {network.name}…")
    else:
        reasons = ", ".join(plan.restart_reasons)
        messages.warning(
            request,
            f"Saving {network.name}; it runs the old settings until restarted ({reasons}).",
        )
    return redirect(network)
