"""What /metrics tells Prometheus (networks.views.metrics): the fleet as the database has it.

Read from the rows the workers write, never from libvirt, in a fixed number of queries whatever
the fleet's size (one each for hosts, networks, leases, jobs and job durations) and one Redis
round trip for the workers' presence. A value nobody knows is left out rather than made up: a
host never checked has no reachability, the workers' presence is absent when it cannot be told,
and a bridge's counters only while their sample is fresh (see traffic_fresh).
"""

import ipaddress
import time
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, Sum
from django.utils import timezone
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector, CollectorRegistry

from networks import workers
from networks.models import Host, Job, Lease, Network

# Job durations (started to finished), in seconds: the histogram's upper bounds.
DURATION_BUCKETS = (1, 5, 15, 60, 300)


# A running bridge's counters are sampled every VNETWEB_COUNTERS_SECONDS (every look while its page
# is open; networks.worker.survey) on a host whose worker runs there; an older sample (a remote
# host, a worker away) is left out, so that a rate is never drawn across a time nobody sampled.
# Fresh: within three such periods (one missed look is not a gap).
def traffic_fresh() -> float:
    return 3.0 * max(settings.VNETWEB_COUNTERS_SECONDS, 20)


NETWORK = ["host", "network"]


class FleetCollector(Collector):
    """Every family, made anew at each scrape from what the database holds now."""

    def collect(self) -> Iterator[Metric]:
        now = timezone.now()
        yield from hosts(now)
        yield from networks(now)
        yield from jobs()


def registry() -> CollectorRegistry:
    """A registry of this collector alone (not the process' default one, whose process and
    platform metrics would differ between the web's processes)."""
    found = CollectorRegistry(auto_describe=False)
    found.register(FleetCollector())
    return found


# --- hosts -----------------------------------------------------------------------------------


def hosts(now: datetime) -> Iterator[Metric]:
    rows = list(Host.objects.only("pk", "name", "reachable", "last_seen"))
    reachable = GaugeMetricFamily(
        "vnetweb_host_reachable",
        "Whether the host's worker reached its libvirt at the last check (1) or not (0); "
        "absent for a host never checked.",
        labels=["host"],
    )
    seen = GaugeMetricFamily(
        "vnetweb_host_last_seen_age_seconds",
        "Seconds since the host's worker last read the host.",
        labels=["host"],
    )
    for host in rows:
        if host.reachable is not None:
            reachable.add_metric([host.name], int(host.reachable))
        if host.last_seen is not None:
            seen.add_metric([host.name], (now - host.last_seen).total_seconds())
    yield reachable
    yield seen
    yield from _workers(rows)


def _workers(rows: list[Host]) -> Iterator[Metric]:
    """As the host page tells it (networks.workers.unserved, one Redis round trip): absent when
    it cannot be told (Redis away, presence off, tasks run in the web process)."""
    unserved = workers.unserved(rows) if rows else None
    known = GaugeMetricFamily(
        "vnetweb_worker_presence_known",
        "Whether the web can tell which hosts a live worker serves (Redis reachable, presence on).",
        value=int(unserved is not None),
    )
    serving = GaugeMetricFamily(
        "vnetweb_host_worker",
        "Whether a live worker serves the host's queue (1) or none does (0).",
        labels=["host"],
    )
    if unserved is not None:
        for host in rows:
            serving.add_metric([host.name], int(host.pk not in unserved))
    yield known
    yield serving


# --- networks, their leases and bridges ------------------------------------------------------


def dhcp_size(addresses: list[dict]) -> int:
    """How many addresses the network's DHCP ranges hold (as the worker summarized its spec)."""
    total = 0
    for address in addresses or ():
        for start, end in address.get("dhcp_ranges") or ():
            try:
                size = int(ipaddress.ip_address(end)) - int(ipaddress.ip_address(start)) + 1
            except ValueError:
                continue
            total += max(size, 0)
    return total


def _leases(now: datetime) -> dict[int, dict]:
    """Leases in use (not expired) per network id, and how many of them are dynamic (not a
    reservation of the network's DHCP hosts), which are the ones taken from its ranges."""
    current = Lease.objects.filter(Q(expires__isnull=True) | Q(expires__gt=now))
    counted = current.values("network_id").annotate(
        used=Count("pk"), dynamic=Count("pk", filter=Q(static=False))
    )
    return {row["network_id"]: row for row in counted}


def networks(now: datetime) -> Iterator[Metric]:
    rows = Network.objects.order_by("host__name", "name").values_list(
        "pk",
        "host__name",
        "name",
        "active",
        "autostart",
        "bridge",
        "addresses",
        "traffic__t",
        "traffic__bridge",
    )
    leases = _leases(now)
    active = GaugeMetricFamily(
        "vnetweb_network_active", "Whether the network runs (1) or not (0).", labels=NETWORK
    )
    autostart = GaugeMetricFamily(
        "vnetweb_network_autostart",
        "Whether the network starts with its host (1) or not (0).",
        labels=NETWORK,
    )
    used = GaugeMetricFamily(
        "vnetweb_network_leases", "DHCP leases in use (not expired).", labels=NETWORK
    )
    size = GaugeMetricFamily(
        "vnetweb_network_dhcp_addresses",
        "Addresses in the network's DHCP ranges; absent for a network without ranges.",
        labels=NETWORK,
    )
    free = GaugeMetricFamily(
        "vnetweb_network_dhcp_free",
        "Addresses of the DHCP ranges not leased: the ranges' size less the dynamic leases in use.",
        labels=NETWORK,
    )
    traffic = _Traffic(time.time())
    for pk, host, name, is_active, is_autostart, bridge, addresses, sampled, counters in rows:
        labels = [host, name]
        active.add_metric(labels, int(is_active))
        autostart.add_metric(labels, int(is_autostart))
        counted = leases.get(pk, {"used": 0, "dynamic": 0})
        used.add_metric(labels, counted["used"])
        if ranges := dhcp_size(addresses):
            size.add_metric(labels, ranges)
            free.add_metric(labels, max(ranges - counted["dynamic"], 0))
        traffic.add([host, name, bridge], sampled, counters)
    yield from (active, autostart, used, size, free)
    yield from traffic.families()


class _Traffic:
    """Bridges' byte and packet counters, from the samples fresh enough to be true now."""

    LABELS = ["host", "network", "bridge", "direction"]

    def __init__(self, now: float) -> None:
        self.now = now
        self.bytes = CounterMetricFamily(
            "vnetweb_bridge_bytes",
            "Bytes through the network's bridge as the kernel counts them (rx: from the guests); "
            "present while its worker samples it (on the host itself, every "
            "VNETWEB_COUNTERS_SECONDS).",
            labels=self.LABELS,
        )
        self.packets = CounterMetricFamily(
            "vnetweb_bridge_packets",
            "Packets through the network's bridge; present only while the network is sampled.",
            labels=self.LABELS,
        )
        self.age = GaugeMetricFamily(
            "vnetweb_bridge_sample_age_seconds",
            "Seconds since the bridge's counters were sampled.",
            labels=self.LABELS[:-1],
        )

    def add(self, labels: list[str], sampled, counters) -> None:
        if not isinstance(counters, dict) or not isinstance(sampled, int | float):
            return
        age = max(self.now - sampled, 0.0)
        if age > traffic_fresh():
            return
        self.age.add_metric(labels, age)
        for direction in ("rx", "tx"):
            if (value := counters.get(f"{direction}_bytes")) is not None:
                self.bytes.add_metric([*labels, direction], value)
            if (value := counters.get(f"{direction}_packets")) is not None:
                self.packets.add_metric([*labels, direction], value)

    def families(self) -> Iterable[Metric]:
        return (self.bytes, self.packets, self.age)


# --- jobs ------------------------------------------------------------------------------------


def jobs() -> Iterator[Metric]:
    ended = CounterMetricFamily(
        "vnetweb_jobs",
        "Jobs ended, by operation and result (jobs go with their host when it is removed).",
        labels=["operation", "result"],
    )
    pending = GaugeMetricFamily(
        "vnetweb_jobs_pending",
        "Jobs not ended yet, by operation and state (queued, running).",
        labels=["operation", "state"],
    )
    for row in Job.objects.values("operation", "state").annotate(n=Count("pk")).order_by():
        family = ended if row["state"] in Job.FINISHED else pending
        family.add_metric([row["operation"], row["state"]], row["n"])
    yield ended
    yield pending
    yield _durations()


def _durations() -> Metric:
    """Started to finished, per operation, as a histogram: the buckets counted by the database
    in the same one query as the sum."""
    took = ExpressionWrapper(F("finished") - F("started"), output_field=DurationField())
    buckets = {
        f"le_{bound}": Count("pk", filter=Q(took__lte=timedelta(seconds=bound)))
        for bound in DURATION_BUCKETS
    }
    rows = (
        Job.objects.filter(state__in=Job.FINISHED, started__isnull=False, finished__isnull=False)
        .alias(took=took)
        .values("operation")
        .annotate(n=Count("pk"), total=Sum("took"), **buckets)
        .order_by("operation")
    )
    family = HistogramMetricFamily(
        "vnetweb_job_duration_seconds",
        "Seconds from a job's start by its worker to its end, per operation.",
        labels=["operation"],
    )
    for row in rows:
        counts = [(str(float(bound)), row[f"le_{bound}"]) for bound in DURATION_BUCKETS]
        total = row["total"].total_seconds() if row["total"] else 0.0
        family.add_metric([row["operation"]], [*counts, ("+Inf", row["n"])], total)
    return family
