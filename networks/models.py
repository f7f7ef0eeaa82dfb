"""What the database knows of each host: written by workers, read by pages.

Pages never ask libvirt; they show these rows and say how old they are (`last_seen`).
"""

from django.conf import settings
from django.db import models
from django.db.models.functions import Concat, Lower
from django.urls import reverse
from django.utils import timezone

from networks import roles
from networks.operations import choices as operation_choices
from networks.spec import modes


def _search_words(*fields: str) -> models.GeneratedField:
    """A column of a row's words for free-text search: `fields` lower-cased and joined by spaces,
    kept by the database itself (a stored generated column; trigram-indexed on PostgreSQL,
    migration 0015). Looked for with `search__contains=word.lower()`."""
    parts: list = []
    for field in fields:
        parts += [models.Value(" "), field] if parts else [field]
    return models.GeneratedField(
        expression=Lower(Concat(*parts)), output_field=models.TextField(), db_persist=True
    )


class Host(models.Model):
    name = models.SlugField(max_length=64, unique=True, help_text="Short name, e.g. kvm1.")
    # Not unique: a URI is resolved by the worker serving the host, so two hosts each with a worker
    # of their own on the machine itself are both qemu:///system.
    uri = models.CharField(
        "libvirt URI",
        max_length=512,
        help_text="qemu:///system, qemu+ssh://root@kvm1/system, qemu+tls://kvm1/system, test:///…",
    )
    description = models.CharField(max_length=200, blank=True)

    # Filled in by the worker's probe.
    reachable = models.BooleanField(null=True, default=None)
    last_error = models.TextField(blank=True)
    hostname = models.CharField(max_length=255, blank=True)
    libvirt_version = models.CharField(max_length=32, blank=True)
    hypervisor = models.CharField(max_length=64, blank=True)
    hypervisor_version = models.CharField(max_length=32, blank=True)
    cpu_model = models.CharField(max_length=64, blank=True)
    cpus = models.PositiveIntegerField(null=True, blank=True)
    memory_kib = models.PositiveBigIntegerField(null=True, blank=True)
    last_checked = models.DateTimeField(null=True, blank=True)
    last_seen = models.DateTimeField(null=True, blank=True)
    # The host's own links and routes, for the create form; [] means "not known" (see
    # networks.gateway.inventory): [{"name", "ports", "addresses", "up"}], [{"name", "kind",
    # "mac", "up", "master", "addresses"}], [{"dst", "gateway", "dev"}].
    bridges = models.JSONField(default=list, blank=True)
    interfaces = models.JSONField(default=list, blank=True)
    routes = models.JSONField(default=list, blank=True)
    # Its own addresses and the ports it listens on, read by a worker running on it (networks.
    # worker.survey): {"addresses": [...], "listening": [{"protocol", "address", "port"}, ...]};
    # None when unknown (a host reached over the network). Port forwards may not take those ports.
    side = models.JSONField(null=True, blank=True, default=None)

    # What the probe fills in, of what the host pages show: read only but to a worker.
    PROBED = (
        "reachable",
        "last_error",
        "hostname",
        "libvirt_version",
        "hypervisor",
        "hypervisor_version",
        "cpu_model",
        "cpus",
        "memory_kib",
        "last_checked",
        "last_seen",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("host-detail", args=[self.name])

    @property
    def queue(self) -> str:
        # One Celery queue per host: a slow host never holds up another, and a worker on the KVM
        # host itself can serve just its own queue.
        return f"host.{self.name}"

    @property
    def memory_gib(self) -> float | None:
        return None if self.memory_kib is None else round(self.memory_kib / 1024 / 1024, 1)


class Network(models.Model):
    # The modes' keys and labels come from their one table (networks.spec.modes); a mode added
    # there changes these choices, and so needs a migration like any change of choices.
    Mode = models.TextChoices("Mode", [(m.key.upper(), (m.key, m.label)) for m in modes.MODES])

    host = models.ForeignKey(Host, on_delete=models.CASCADE, related_name="networks")
    name = models.CharField(max_length=255)
    uuid = models.UUIDField()
    active = models.BooleanField(default=False)
    persistent = models.BooleanField(default=True)
    autostart = models.BooleanField(default=False)
    bridge = models.CharField(max_length=64, blank=True)
    mode = models.CharField(max_length=16, choices=Mode.choices, default=Mode.ISOLATED)
    forward_dev = models.CharField(max_length=64, blank=True)
    # Sortable one-line summaries ("192.168.122.1/24"), and the full list for the detail page.
    ipv4 = models.CharField(max_length=255, blank=True)
    ipv6 = models.CharField(max_length=255, blank=True)
    dhcp_ranges = models.CharField(max_length=512, blank=True)
    # The first IPv4 and IPv6 subnet as fixed-width hex bounds (8 and 32 digits), so that SQL can
    # sort by address and find the networks a subnet overlaps with plain string comparisons.
    ipv4_lo = models.CharField(max_length=8, blank=True, db_index=True)
    ipv4_hi = models.CharField(max_length=8, blank=True)
    ipv6_lo = models.CharField(max_length=32, blank=True, db_index=True)
    ipv6_hi = models.CharField(max_length=32, blank=True)
    # What the list's free text is looked for in (networks.forms.filters); the host's name is
    # matched apart. One indexed column instead of seven upper-cased (docs/performance.md, A fleet).
    search = _search_words("name", "bridge", "forward_dev", "ipv4", "ipv6", "dhcp_ranges")
    addresses = models.JSONField(default=list)
    xml = models.TextField()
    # The saved definition, only while the network runs with settings that differ from it (a
    # change saved without a restart); "" when they agree or the network is stopped, for then
    # `xml` is the saved definition. Compared as parsed specs, not as text.
    config_xml = models.TextField(blank=True)
    # Guest NICs configured on this network: [{"domain", "mac", "running"}].
    guests = models.JSONField(default=list, blank=True)
    last_seen = models.DateTimeField()
    leases_seen = models.DateTimeField(null=True, blank=True)
    # Counts changes to the lease rows: the network page keeps its rendered lease table per version.
    leases_version = models.PositiveIntegerField(default=0)
    # The switch as the machine of the host's worker sees it (networks.worker.survey): bridge link,
    # ports, firewall rules, dnsmasq, forwarding and the health verdict; {} when never read.
    # {"local": False, ...} for a host the worker reaches over the network (libvirt's view only).
    switch = models.JSONField(default=dict, blank=True)
    switch_seen = models.DateTimeField(null=True, blank=True)
    # Counters of the bridge and its ports, sampled every few seconds while someone has the
    # network's page open: {"t": epoch, "bridge": {...}, "ports": {name: {...}}, "history":
    # [[t, rx_bytes, tx_bytes], ...]} (the last few minutes, for the chart and the rates).
    traffic = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["host__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["host", "name"], name="network_unique_name_per_host")
        ]

    def __str__(self) -> str:
        return f"{self.name} on {self.host_id and self.host.name}"

    def get_absolute_url(self) -> str:
        return reverse("network-detail", args=[self.host.name, self.name])

    @property
    def mode_info(self) -> modes.Mode:
        """What its mode has of its own (a bridge of libvirt's, forwarding...), for pages."""
        return modes.of(self.mode)

    @property
    def config_differs(self) -> bool:
        """Running with settings other than the saved ones: a restart would change it."""
        return bool(self.config_xml)

    @property
    def saved_xml(self) -> str:
        """The saved definition, what an edit starts from (the live XML of a transient one)."""
        return self.config_xml or self.xml


class PortForward(models.Model):
    """A port of the host forwarded to a guest of one of its NAT or routed switches: what the
    host's worker keeps in its firewall (networks.worker.forwards). A row exists once the worker
    wrote its rules; it goes with its switch, and with the guest's NIC."""

    class Protocol(models.TextChoices):
        TCP = "tcp", "TCP"
        UDP = "udp", "UDP"

    network = models.ForeignKey(Network, on_delete=models.CASCADE, related_name="forwards")
    protocol = models.CharField(max_length=3, choices=Protocol.choices, default=Protocol.TCP)
    # The host address it listens on; None: every address of the host.
    listen = models.GenericIPAddressField(protocol="IPv4", null=True, blank=True)
    host_port = models.PositiveIntegerField()
    host_port_end = models.PositiveIntegerField()  # == host_port for a single port
    guest_ip = models.GenericIPAddressField(protocol="IPv4")
    guest_port = models.PositiveIntegerField()  # the first of as many ports as the host's
    # Who it reaches: the guest's or the reservation's name, and the NIC's MAC when known (a
    # forward goes when that NIC leaves the switch).
    guest_name = models.CharField(max_length=255, blank=True)
    guest_mac = models.CharField(max_length=32, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    username = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["protocol", "host_port", "pk"]

    def __str__(self) -> str:
        return self.text

    @property
    def guest_port_end(self) -> int:
        return self.guest_port + self.host_port_end - self.host_port

    @staticmethod
    def ports(first: int, last: int) -> str:
        return str(first) if first == last else f"{first}-{last}"

    @property
    def text(self) -> str:
        """One line, as the audit trail and the pages say it:
        "TCP *:8080 -> web 10.213.5.10:80"."""
        guest = f"{self.guest_name} " if self.guest_name else ""
        return (
            f"{self.get_protocol_display()} {self.listen or '*'}:"
            f"{self.ports(self.host_port, self.host_port_end)} -> {guest}{self.guest_ip}:"
            f"{self.ports(self.guest_port, self.guest_port_end)}"
        )


class Guest(models.Model):
    """A libvirt domain on a host and its NICs, as the host's worker last read them."""

    host = models.ForeignKey(Host, on_delete=models.CASCADE, related_name="guests")
    name = models.CharField(max_length=255)
    uuid = models.UUIDField()
    # libvirt's words: running, paused, shut off, crashed, suspended, shutting down.
    state = models.CharField(max_length=32)
    persistent = models.BooleanField(default=True)
    autostart = models.BooleanField(default=False)
    vcpus = models.PositiveIntegerField(null=True, blank=True)
    memory_kib = models.PositiveBigIntegerField(null=True, blank=True)
    # Each <interface> of the live definition, in order: [{"mac", "type" (network, bridge,
    # direct, ...), "source" (the network's name, bridge or host NIC), "network" (the name of
    # the host's libvirt network it is on, also for a NIC put straight onto a network's bridge
    # or NIC; "" for none), "model", "device" (vnet3 while running), "link" ("up"/"down"),
    # "agent" (addresses the guest agent reported: ["10.0.0.5/24", ...]), "config" (False:
    # plugged live only, gone at the next boot)}]. Lease addresses are joined in by pages.
    nics = models.JSONField(default=list, blank=True)
    # Whether a guest agent answered at the last reading.
    agent = models.BooleanField(default=False)
    # Whether the machine can take NICs while it runs (ACPI on x86), as the definition says.
    hotplug = models.BooleanField(default=True)
    xml = models.TextField(blank=True)
    last_seen = models.DateTimeField()

    class Meta:
        ordering = ["host__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["host", "name"], name="guest_unique_name_per_host")
        ]

    def __str__(self) -> str:
        return f"{self.name} on {self.host_id and self.host.name}"

    def get_absolute_url(self) -> str:
        return reverse("guest-detail", args=[self.host.name, self.name])

    @property
    def running(self) -> bool:
        return self.state in ("running", "paused")

    def nic(self, mac: str) -> dict | None:
        mac = mac.lower()
        return next((nic for nic in self.nics if nic.get("mac", "").lower() == mac), None)


class Lease(models.Model):
    """One DHCP lease as dnsmasq reported it through libvirt at the network's `leases_seen`."""

    network = models.ForeignKey(Network, on_delete=models.CASCADE, related_name="leases")
    mac = models.CharField(max_length=32)
    ip = models.GenericIPAddressField()
    prefix = models.PositiveSmallIntegerField(null=True)
    hostname = models.CharField(max_length=255, blank=True)
    client_id = models.CharField(max_length=255, blank=True)
    expires = models.DateTimeField(null=True)
    # A <host> of the network's DHCP names this MAC (or client ID) with this address.
    static = models.BooleanField(default=False)
    # The guest whose NIC has this MAC (from the domains' definitions), "" for none known.
    guest = models.CharField(max_length=255, blank=True)
    # What the lease search looks for (networks.pages.lease_table.text_match); the address as
    # the database writes it as text (PostgreSQL: 10.0.0.5/32).
    search = _search_words("ip", "mac", "hostname", "client_id", "guest")

    class Meta:
        ordering = ["ip"]
        indexes = [
            # The search across every host: by address, MAC or hostname.
            models.Index(fields=["mac"]),
            models.Index(fields=["hostname"]),
        ]

    def __str__(self) -> str:
        return f"{self.ip} {self.mac}"

    # A guest chooses its client ID, hardware address and hostname: a value longer than its
    # column is kept cut and ends with this mark, so one guest cannot fail its host's refresh.
    CUT = "…"

    @classmethod
    def fit(cls, field: str, value: str) -> str:
        """`value` as it can be stored in `field`: no NUL (PostgreSQL refuses it), cut to length."""
        value = value.replace("\x00", "")
        limit = cls._meta.get_field(field).max_length
        return value if len(value) <= limit else value[: limit - 1] + cls.CUT

    @classmethod
    def was_cut(cls, mac: str, client_id: str) -> bool:
        """Whether the identity a reservation would name was cut to fit (so cannot be named)."""
        return mac.endswith(cls.CUT) or client_id.endswith(cls.CUT)


class Job(models.Model):
    """A user's request for a libvirt operation, carried out by the worker of the job's host."""

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    FINISHED = (State.SUCCEEDED, State.FAILED)

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    # Kept as text too so the history survives a deleted user.
    username = models.CharField(max_length=150)
    host = models.ForeignKey(Host, on_delete=models.CASCADE, related_name="jobs")
    network = models.ForeignKey(
        Network, null=True, blank=True, on_delete=models.SET_NULL, related_name="jobs"
    )
    # The guest a NIC job changes (its network, if any, is the switch the NIC goes to).
    guest = models.ForeignKey(
        Guest, null=True, blank=True, on_delete=models.SET_NULL, related_name="jobs"
    )
    target = models.CharField(
        max_length=255, blank=True, help_text="Network or guest name, if any."
    )
    operation = models.CharField(max_length=32, choices=operation_choices)
    params = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)
    message = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # The Celery node (e.g. hosts@kvm1) that claimed it: when that node starts again, a job it
    # left "running" was lost with the process that ran it.
    worker = models.CharField(max_length=255, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]
        # (created): the list's rows show each network's jobs of the last minutes.
        indexes = [models.Index(fields=["state", "host"]), models.Index(fields=["created"])]

    def __str__(self) -> str:
        return f"{self.get_operation_display()} {self.target or self.host.name}"

    @property
    def is_finished(self) -> bool:
        return self.state in self.FINISHED

    @property
    def is_pending(self) -> bool:
        return not self.is_finished


class AuditEntry(models.Model):
    """One change made through vnetweb (a job, a host's administration) or noticed by a worker
    (a network defined, changed, started, stopped or removed outside vnetweb).

    Names are kept as text beside the links, so an entry outlives its user, host and network.
    Written by networks.audit only: neither the site nor the admin edits or deletes entries; a
    periodic task prunes those older than VNETWEB_AUDIT_DAYS.
    """

    class Result(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        DONE = "done", "Done"  # a change that needs no job (a host added) or was seen happen

    created = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    # "" with outside=True: seen by a worker, made by someone outside vnetweb (virsh, another tool).
    username = models.CharField(max_length=150, blank=True)
    address = models.GenericIPAddressField(null=True, blank=True)
    # The name of the API token the change was asked with ("" for the browser and the workers).
    token = models.CharField(max_length=64, blank=True)
    outside = models.BooleanField(default=False)
    action = models.CharField(max_length=64)  # an operation key (networks.operations) or a word
    host = models.ForeignKey(Host, null=True, blank=True, on_delete=models.SET_NULL)
    host_name = models.CharField(max_length=64, blank=True)
    network_name = models.CharField(max_length=255, blank=True)
    guest_name = models.CharField(max_length=255, blank=True)
    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL)
    result = models.CharField(max_length=16, choices=Result.choices, default=Result.DONE)
    message = models.TextField(blank=True)
    # The libvirt object's saved definition before and after (a network's, or a guest's), or
    # the host's settings as text; "" where there was none (created, removed).
    before = models.TextField(blank=True)
    after = models.TextField(blank=True)

    class Meta:
        ordering = ["-created", "-pk"]
        indexes = [
            models.Index(fields=["host_name", "network_name"]),
            models.Index(fields=["username"]),
        ]

    def __str__(self) -> str:
        return f"{self.created:%Y-%m-%d %H:%M:%S} {self.username or 'outside'} {self.action}"


class Grant(models.Model):
    """A role on one host, or on the networks of a host whose names match a pattern.

    Global roles stay Django groups; a grant only ever adds to them (networks.permissions takes
    the highest role that applies). `networks` blank means the whole host, guests included; else
    shell-style patterns of network names (`lab-*`, `web?`), several separated by commas.
    networks.permissions reads them (`grant_patterns`, for the form too): one it cannot read,
    `,` included, gives nothing, never the whole host.
    """

    # The roles a grant can give, as declared in networks.roles (stored by their group's name).
    Role = models.TextChoices("Role", [(r.name, (r.group, r.label)) for r in roles.GRANTED])

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="grants"
    )
    role = models.CharField(max_length=16, choices=Role.choices)
    host = models.ForeignKey(Host, on_delete=models.CASCADE, related_name="grants")
    networks = models.CharField(
        max_length=255, blank=True, help_text="Blank: the whole host. Else e.g. lab-*, web?"
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["user__username", "host__name", "networks"]

    def __str__(self) -> str:
        return f"{self.role} on {self.host.name}" + (f" ({self.networks})" if self.networks else "")


class ApiToken(models.Model):
    """A user's key to the API (networks.tokens): shown once when made, stored as its SHA-256
    (a random 256-bit key needs no slow hash), with an optional expiry and a read-only flag.
    Acts with its user's roles, never more; revoking deletes it."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=64, help_text="What it is for, e.g. ansible or ci.")
    digest = models.CharField(max_length=64, unique=True)  # sha256 of the key, hex
    prefix = models.CharField(max_length=12)  # the key's first characters, to tell keys apart
    read_only = models.BooleanField(default=False)
    expires = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    last_used = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["user__username", "name"]
        constraints = [
            models.UniqueConstraint(fields=["user", "name"], name="token_name_unique_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def expired(self) -> bool:
        return self.expires is not None and self.expires <= timezone.now()
