"""The network list's filter: every choice lives in the URL, so a filtered view can be shared."""

from django import forms
from django.db.models import Q, QuerySet

from networks import subnets
from networks.models import Host, Network

# Sort keys (the URL's `sort`, "-" for descending) and the columns they order by.
SORTS = {
    "name": ("name", "host__name"),
    "host": ("host__name", "name"),
    "mode": ("mode", "host__name", "name"),
    "state": ("-active", "host__name", "name"),
    "autostart": ("-autostart", "host__name", "name"),
    "bridge": ("bridge", "host__name", "name"),
    "ipv4": ("ipv4_lo", "host__name", "name"),
    "ipv6": ("ipv6_lo", "host__name", "name"),
    "dhcp": ("dhcp_ranges", "host__name", "name"),
}
PAGE_SIZES = (50, 100, 250, 500)
# NetBox's default too: a screen or two of rows, cheap to render; 500 for those who scroll.
DEFAULT_PAGE_SIZE = 50
STATES = [
    ("", "Any state"),
    ("active", "Active"),
    ("inactive", "Inactive"),
    ("autostart", "Autostart on"),
    ("transient", "Transient"),
]


class NetworkFilter(forms.Form):
    q = forms.CharField(required=False, label="Search", max_length=200)
    # Any name: one the user cannot see simply matches nothing. The drop-down's hosts are read
    # only when a whole page is drawn (choice_fields), not for each refresh of the table.
    host = forms.CharField(required=False, max_length=64)
    mode = forms.ChoiceField(required=False, choices=[("", "Any mode"), *Network.Mode.choices])
    state = forms.ChoiceField(required=False, choices=STATES)
    subnet = forms.CharField(
        required=False,
        max_length=64,
        help_text="An address or subnet: the networks whose subnet overlaps it.",
    )
    sort = forms.CharField(required=False)
    per = forms.TypedChoiceField(
        required=False, coerce=int, choices=[(str(n), str(n)) for n in PAGE_SIZES]
    )

    def __init__(self, data, hosts: QuerySet[Host]):
        super().__init__(data)
        self.hosts = hosts

    def clean_subnet(self) -> subnets.AnyNetwork | None:
        text = self.cleaned_data["subnet"].strip()
        if not text:
            return None
        network = subnets.parse(text)
        if network is None:
            raise forms.ValidationError(f"{text!r} is not an address or subnet (10.1.0.0/16).")
        return network

    def value(self, name: str, default=None):
        """The cleaned value of a field that validated; `default` for one that did not."""
        if not hasattr(self, "cleaned_data"):
            self.is_valid()
        return self.cleaned_data.get(name) or default

    @property
    def sort_key(self) -> str:
        sort = self.value("sort", "host")
        return sort if sort.lstrip("-") in SORTS else "host"

    def choice_fields(self) -> list[dict]:
        """The drop-downs as plain data for the page (Django's widget templates cost ~2 ms each)."""
        hosts = [("", "Any host")] + [
            (name, name) for name in self.hosts.values_list("name", flat=True)
        ]
        choices = {"host": hosts, "mode": self.fields["mode"].choices, "state": STATES}
        return [
            {
                "name": name,
                "label": self.fields[name].label or name.title(),
                "choices": options,
                "value": self.data.get(name, ""),
            }
            for name, options in choices.items()
        ]

    @property
    def page_size(self) -> int:
        return self.value("per", DEFAULT_PAGE_SIZE)

    @property
    def active(self) -> bool:
        """Whether anything narrows the list."""
        return any(self.value(name) for name in ("q", "host", "mode", "state", "subnet"))

    def apply(self, networks: QuerySet[Network]) -> QuerySet[Network]:
        # Each word in the network's name, bridge, device or addresses (Network.search) or in
        # its host's name. The hosts that match are few and read first: with their ids written
        # out the condition stays on one table, where PostgreSQL may answer it from the search
        # column's trigram index and the host column's (a scan, when many rows match).
        for word in self.value("q", "").lower().split():
            hosts = list(Host.objects.filter(name__icontains=word).values_list("pk", flat=True))
            networks = networks.filter(Q(search__contains=word) | Q(host_id__in=hosts))
        if host := self.value("host"):
            networks = networks.filter(host__name=host)
        if mode := self.value("mode"):
            networks = networks.filter(mode=mode)
        state = self.value("state")
        if state == "active":
            networks = networks.filter(active=True)
        elif state == "inactive":
            networks = networks.filter(active=False)
        elif state == "autostart":
            networks = networks.filter(autostart=True)
        elif state == "transient":
            networks = networks.filter(persistent=False)
        if subnet := self.value("subnet"):
            lo, hi = subnets.bounds(subnet)
            field = "ipv4" if subnet.version == 4 else "ipv6"
            # Overlapping ranges each start before the other ends; "" (no subnet) is never >= lo.
            networks = networks.filter(**{f"{field}_lo__lte": hi, f"{field}_hi__gte": lo})
        return self._sorted(networks)

    def _sorted(self, networks: QuerySet[Network]) -> QuerySet[Network]:
        sort = self.sort_key
        fields = SORTS[sort.lstrip("-")]
        if sort.startswith("-"):
            fields = tuple(f[1:] if f.startswith("-") else f"-{f}" for f in fields)
        return networks.order_by(*fields)
