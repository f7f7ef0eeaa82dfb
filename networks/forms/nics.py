"""The NIC forms of a guest's page (and the canvas): attach, move, set link. Each checks what the
database knows, so a request that cannot work gets a field error and queues nothing; the worker
checks again against libvirt."""

import re

from django import forms

from networks.models import Guest, Network

# What QEMU offers on x86 and guests commonly drive; virtio first (the fast one).
MODELS = [
    ("virtio", "virtio (paravirtual, fastest)"),
    ("e1000e", "e1000e (Intel 82574)"),
    ("e1000", "e1000 (Intel 82540)"),
    ("rtl8139", "rtl8139 (Realtek)"),
]
MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")


def _macs_on(network: Network) -> dict[str, str]:
    """{MAC: guest} of the NICs the database knows on this network."""
    found = {}
    for name, nics in Guest.objects.filter(host_id=network.host_id).values_list("name", "nics"):
        for nic in nics:
            if nic.get("network") == network.name:
                found[nic.get("mac", "").lower()] = name
    return found


class _NicForm(forms.Form):
    def __init__(self, *args, guest: Guest, networks: list[Network], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.guest = guest
        self.networks = {net.name: net for net in networks}
        if "network" in self.fields:
            self.fields["network"].choices = [("", "— choose a switch —")] + [
                (
                    net.name,
                    f"{net.name} ({net.get_mode_display()}"
                    f"{', ' + net.ipv4 if net.ipv4 else ''}{'' if net.active else ', stopped'})",
                )
                for net in networks
            ]

    def _network(self) -> Network | None:
        network = self.networks.get(self.cleaned_data.get("network", ""))
        if network is None:
            return None
        if self.guest.running and not self.guest.hotplug:
            raise forms.ValidationError(
                f"{self.guest.name} runs on a machine that cannot take a NIC while running (no "
                "ACPI). Shut it down first; the change then goes into its definition."
            )
        if self.guest.running and not network.active:
            self.add_error(
                "network",
                f"{network.name} is not running, and {self.guest.name} is: start {network.name} "
                "first.",
            )
        return network


class AttachForm(_NicForm):
    network = forms.ChoiceField(label="Switch")
    # Optional: the canvas sends only the switch, and virtio is what a new NIC should be.
    model = forms.ChoiceField(choices=MODELS, initial="virtio", required=False)
    mac = forms.CharField(
        label="MAC address",
        required=False,
        help_text="Leave empty and libvirt's 52:54:00 prefix with a free address is used.",
    )

    def clean_model(self) -> str:
        return self.cleaned_data["model"] or "virtio"

    def clean_mac(self) -> str:
        mac = self.cleaned_data["mac"].strip().lower().replace("-", ":")
        if not mac:
            return ""
        if not MAC.match(mac):
            raise forms.ValidationError("Write a MAC address as six pairs: 52:54:00:12:34:56.")
        if int(mac[:2], 16) & 1:
            raise forms.ValidationError("That is a multicast address; a NIC needs a unicast one.")
        if self.guest.nic(mac) is not None:
            raise forms.ValidationError(f"{self.guest.name} already has a NIC with this MAC.")
        return mac

    def clean(self) -> dict:
        data = super().clean()
        network = self._network()
        mac = data.get("mac")
        if network is not None and mac:
            owner = _macs_on(network).get(mac)
            if owner:
                self.add_error("mac", f"{mac} is already on {network.name}, on guest {owner}.")
        return data


class MoveForm(_NicForm):
    network = forms.ChoiceField(label="Move to")

    def __init__(self, *args, mac: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.mac = mac.lower()

    def clean(self) -> dict:
        data = super().clean()
        network = self._network()
        nic = self.guest.nic(self.mac)
        if nic is None:
            raise forms.ValidationError(f"{self.guest.name} has no NIC {self.mac}.")
        if network is not None and nic.get("network") == network.name and nic["type"] == "network":
            self.add_error("network", f"The NIC is on {network.name} already.")
        elif network is not None:
            owner = _macs_on(network).get(self.mac)
            if owner and owner != self.guest.name:
                self.add_error("network", f"{self.mac} is already on {network.name}, on {owner}.")
        return data


class LinkForm(forms.Form):
    state = forms.ChoiceField(choices=[("up", "up"), ("down", "down")])
