"""The form that adds a port forward to a switch (networks.views.forwards).

It only reads the fields into a `Wanted`; whether the forward may be added is
`port_forwards.refusals`, asked once by networks.forwards_jobs.queue_add (as for the API; the
worker asks again), whose answers the view puts on the fields they name. The guest and the
listen address are plain text behind their widgets, so that a value no longer offered (a lease
gone meanwhile, a hand-made POST) is refused in that rule's words, not Django's.
"""

from django import forms

from networks import port_forwards
from networks.models import Network, PortForward
from networks.port_forwards import PORT_MAX, Wanted

PORT = {"min": 1, "max": PORT_MAX}


def _port(label: str, required: bool = True, help_text: str = "") -> forms.IntegerField:
    widget = forms.NumberInput(attrs=PORT)
    return forms.IntegerField(label=label, required=required, help_text=help_text, widget=widget)


class ForwardForm(forms.Form):
    protocol = forms.ChoiceField(label="Protocol", choices=PortForward.Protocol.choices)
    host_port = _port("Host port")
    host_port_end = _port(
        "Last host port", False, "For a range of ports; leave empty for one port."
    )
    listen = forms.CharField(
        label="Host address",
        required=False,
        max_length=15,
        help_text="An IPv4 address of the host to listen on; leave empty for all of them.",
    )
    guest = forms.CharField(label="Guest", widget=forms.Select)
    guest_port = _port("Guest port")
    guest_port_end = _port(
        "Last guest port", False, "For a range: as many ports as the host's. Empty: as many."
    )

    def __init__(self, *args, network: Network, **kwargs) -> None:
        # Ids of their own: the network page holds other forms.
        super().__init__(*args, auto_id="forward-%s", **kwargs)
        self.network = network
        self.candidates = port_forwards.candidates(network)
        choices = [(c.ip, c.label) for c in self.candidates]
        self.fields["guest"].widget.choices = [("", "— choose a guest —"), *choices]
        self.wanted: Wanted | None = None

    def clean(self) -> dict:
        data = super().clean()
        if self.errors:
            return data  # the rule needs every field it reads; these say what is missing
        self.wanted = Wanted(
            protocol=data["protocol"],
            listen=data["listen"].strip() or None,
            host_port=data["host_port"],
            host_port_end=data["host_port_end"],
            guest_ip=data["guest"].strip(),
            guest_port=data["guest_port"],
            guest_port_end=data["guest_port_end"],
        )
        return data

    def refused(self, errors: dict[str, str]) -> None:
        """`port_forwards.refusals`' answers, each on its field ("" on the whole form)."""
        for field, message in errors.items():
            self.add_error(field if field in self.fields else None, message)

    def dynamic_guest(self) -> port_forwards.Candidate | None:
        """The guest chosen, when only a dynamic lease gives it its address (to pin it first)."""
        chosen = (self.data.get("guest") or "").strip() if self.is_bound else ""
        found = next((c for c in self.candidates if c.ip == chosen), None)
        return found if found is not None and not found.static else None
