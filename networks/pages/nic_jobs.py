"""A guest's NIC changes as jobs: what each asks of the worker, and the queueing that checks the
version of the guest's NICs again with its row locked.

One source for the guest's page and the canvas (networks.views.guest_nics) and the API
(networks.api.guests): the forms (networks.forms.nics) validate, these build and queue.
"""

from django.db import transaction

from networks import permissions
from networks.forms.nics import AttachForm, MoveForm
from networks.jobs import create_job
from networks.models import Guest, Job, Network
from networks.operations import Op
from networks.stale import nics as versions


def switches(user, guest: Guest) -> list[Network]:
    """The networks a NIC of the guest may go to: those of its host the user sees (a guest's role
    is its host's, so all of them for whoever sees the guest)."""
    networks = permissions.visible_networks(user).filter(host_id=guest.host_id)
    return list(networks.order_by("name"))


def switch_of(user, guest: Guest, nic: dict) -> Network | None:
    """The network the NIC is on (for its page's jobs), if the user sees it."""
    networks = permissions.visible_networks(user)
    return networks.filter(host_id=guest.host_id, name=nic.get("network")).first()


def attach(form: AttachForm) -> tuple[Network, dict]:
    """The network and the job's params of a valid attach form."""
    data = form.cleaned_data
    network = form.networks[data["network"]]
    return network, {"network": network.name, "model": data["model"], "mac": data["mac"]}


def move(form: MoveForm) -> tuple[Network, dict]:
    """The network and the job's params of a valid move form."""
    network = form.networks[form.cleaned_data["network"]]
    return network, {"network": network.name, "mac": form.mac}


def no_nic(guest: Guest, mac: str) -> str:
    return f"{guest.name} has no NIC {mac}; nothing was queued."


def detach_refusal(guest: Guest, mac: str) -> str:
    """Why the NIC cannot be detached ("" when it can be asked)."""
    if guest.nic(mac) is None:
        return no_nic(guest, mac)
    if guest.running and not guest.hotplug:
        return (
            f"{guest.name} runs on a machine that cannot drop a NIC while running (no ACPI). "
            "Shut it down first."
        )
    return ""


def _what_was_seen(guest: Guest, key: Op, seen: str, params: dict) -> dict:
    """For the worker (networks.worker.nics): where the person saw the NIC (move, detach), or
    which NICs the guest had (attach). Only a change that names a version says what it saw."""
    if not seen:
        return {}
    if key == Op.NIC_ATTACH:
        return {"seen_macs": " ".join(nic.get("mac", "").lower() for nic in guest.nics)}
    nic = guest.nic(params["mac"]) or {}
    return {"seen_type": nic.get("type", ""), "seen_source": nic.get("source", "")}


def queue(
    user, guest: Guest, key: Op, switch: Network | None, seen: str, params: dict
) -> Job | str:
    """The job (`switch`: the network the NIC is on or goes to, for its page's jobs), or why a
    change asked on NICs version `seen` is refused. The version is checked again with the
    guest's row locked: of two changes made at once on the same version, the second is refused."""
    with transaction.atomic():
        guest = Guest.objects.select_for_update().select_related("host").get(pk=guest.pk)
        if why := versions.refusal(guest, seen):
            return why
        params = params | _what_was_seen(guest, key, seen, params)
        return create_job(user, guest.host, key, network=switch, params=params, guest=guest)
