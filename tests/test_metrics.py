"""/metrics: the fleet in Prometheus' text format, for a token or an allowed address only, read
from the database in the same few queries whatever its size."""

import ipaddress
import time
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from networks import redis_client, tokens, workers
from networks.models import Host, Job, Lease
from networks.operations import Op

pytestmark = pytest.mark.postgres

URL = "/metrics"
SCRAPER = "10.77.0.9"  # in the allow-list the tests set
RANGE = [{"family": "ipv4", "cidr": "10.0.0.1/24", "dhcp_ranges": [["10.0.0.100", "10.0.0.199"]]}]
COUNTERS = {"rx_bytes": 1000, "tx_bytes": 2000, "rx_packets": 10, "tx_packets": 20, "rx_errors": 0}


@pytest.fixture
def allow(settings):
    settings.VNETWEB_METRICS_ALLOW = (ipaddress.ip_network("10.77.0.0/16"),)


def samples(response) -> dict[tuple, float]:
    """Every sample: (name, ((label, value), ...)) -> value."""
    assert response.status_code == 200, response.content
    found = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def net(host: str, name: str) -> tuple:
    return (("host", host), ("network", name))


def _job(host, network, operation, state, seconds=None):
    started = timezone.now() - timedelta(minutes=5)
    return Job.objects.create(
        username="admin",
        host=host,
        network=network,
        target=network.name if network else "",
        operation=operation,
        state=state,
        started=started if seconds is not None else None,
        finished=started + timedelta(seconds=seconds) if seconds is not None else None,
    )


@pytest.fixture
def fleet(db, make_network):
    """Host a (reachable, seen 30 s ago) with a running switch `lab` (a DHCP range of 100, two
    dynamic leases and a reservation in use, one lease expired, its bridge sampled 5 s ago) and a
    stopped `quiet` (sampled 10 minutes ago); host b unreachable; host c never checked. Jobs: two
    starts that took 2 s and 10 s, a stop that failed after half a second, a start queued."""
    now = timezone.now()
    a = Host.objects.create(
        name="a", uri="test:///default", reachable=True, last_seen=now - timedelta(seconds=30)
    )
    b = Host.objects.create(name="b", uri="test:///default", reachable=False, last_seen=now)
    Host.objects.create(name="c", uri="test:///default")
    lab = make_network(
        a,
        "lab",
        active=True,
        autostart=True,
        bridge="virbr7",
        addresses=RANGE,
        traffic={"t": time.time() - 5, "bridge": COUNTERS, "history": [[1, 2, 3]]},
    )
    quiet = make_network(a, "quiet", traffic={"t": time.time() - 600, "bridge": COUNTERS})
    make_network(b, "lab")
    soon, gone = now + timedelta(hours=1), now - timedelta(minutes=1)
    for last, static, expires in ((101, False, soon), (102, False, None), (5, True, soon)):
        Lease.objects.create(
            network=lab, mac=f"52:54:00:00:00:{last:02x}", ip=f"10.0.0.{last}", static=static,
            expires=expires,
        )  # fmt: skip
    Lease.objects.create(network=lab, mac="52:54:00:00:00:99", ip="10.0.0.150", expires=gone)
    _job(a, lab, Op.START, Job.State.SUCCEEDED, 2)
    _job(a, lab, Op.START, Job.State.SUCCEEDED, 10)
    _job(a, quiet, Op.STOP, Job.State.FAILED, 0.5)
    _job(a, quiet, Op.START, Job.State.QUEUED)
    return {"a": a, "b": b, "lab": lab}


def test_networks_leases_and_free_addresses_are_told_per_network(fleet, allow):
    got = samples(Client(REMOTE_ADDR=SCRAPER).get(URL))
    assert got[("vnetweb_network_active", net("a", "lab"))] == 1
    assert got[("vnetweb_network_active", net("a", "quiet"))] == 0
    assert got[("vnetweb_network_autostart", net("a", "lab"))] == 1
    assert got[("vnetweb_network_autostart", net("b", "lab"))] == 0
    assert got[("vnetweb_network_leases", net("a", "lab"))] == 3  # the expired one is not
    assert got[("vnetweb_network_leases", net("a", "quiet"))] == 0
    assert got[("vnetweb_network_dhcp_addresses", net("a", "lab"))] == 100
    assert got[("vnetweb_network_dhcp_free", net("a", "lab"))] == 98  # less the two dynamic
    assert ("vnetweb_network_dhcp_addresses", net("a", "quiet")) not in got


def test_a_bridge_s_counters_are_told_while_they_are_sampled(fleet, allow):
    got = samples(Client(REMOTE_ADDR=SCRAPER).get(URL))
    bridge = (("bridge", "virbr7"), ("host", "a"), ("network", "lab"))

    def counter(name: str, direction: str) -> float:
        return got[(name, tuple(sorted([*bridge, ("direction", direction)])))]

    assert counter("vnetweb_bridge_bytes_total", "rx") == 1000
    assert counter("vnetweb_bridge_bytes_total", "tx") == 2000
    assert counter("vnetweb_bridge_packets_total", "rx") == 10
    assert counter("vnetweb_bridge_packets_total", "tx") == 20
    assert 4 <= got[("vnetweb_bridge_sample_age_seconds", bridge)] < 30
    # quiet's sample is ten minutes old: a rate across that gap would be made up.
    assert not [key for key in got if key[0].startswith("vnetweb_bridge") and "quiet" in str(key)]


def test_hosts_reachability_and_last_seen_age(fleet, allow):
    got = samples(Client(REMOTE_ADDR=SCRAPER).get(URL))
    assert got[("vnetweb_host_reachable", (("host", "a"),))] == 1
    assert got[("vnetweb_host_reachable", (("host", "b"),))] == 0
    assert ("vnetweb_host_reachable", (("host", "c"),)) not in got  # never checked
    assert 30 <= got[("vnetweb_host_last_seen_age_seconds", (("host", "a"),))] < 60
    assert ("vnetweb_host_last_seen_age_seconds", (("host", "c"),)) not in got


def test_jobs_by_operation_and_result_and_their_durations(fleet, allow):
    got = samples(Client(REMOTE_ADDR=SCRAPER).get(URL))
    start, stop = (("operation", "start"),), (("operation", "stop"),)
    assert got[("vnetweb_jobs_total", (*start, ("result", "succeeded")))] == 2
    assert got[("vnetweb_jobs_total", (*stop, ("result", "failed")))] == 1
    assert got[("vnetweb_jobs_pending", (*start, ("state", "queued")))] == 1
    buckets = {
        le: got[("vnetweb_job_duration_seconds_bucket", (("le", le), *start))]
        for le in ("1.0", "5.0", "15.0", "60.0", "300.0", "+Inf")
    }
    assert buckets == {"1.0": 0, "5.0": 1, "15.0": 2, "60.0": 2, "300.0": 2, "+Inf": 2}
    assert got[("vnetweb_job_duration_seconds_count", start)] == 2
    assert got[("vnetweb_job_duration_seconds_sum", start)] == pytest.approx(12)
    assert got[("vnetweb_job_duration_seconds_sum", stop)] == pytest.approx(0.5)
    assert got[("vnetweb_job_duration_seconds_bucket", (("le", "1.0"), *stop))] == 1


def test_worker_presence_per_host_as_the_host_page_tells_it(fleet, allow, settings, monkeypatch):
    settings.VNETWEB_WORKER_PRESENCE = True
    announced = {"queues": ["host.a"], "hosts": [], "exclude": [], "until": time.time() + 10}
    monkeypatch.setattr(workers, "live", lambda: {"hosts@a": announced})
    got = samples(Client(REMOTE_ADDR=SCRAPER).get(URL))
    assert got[("vnetweb_worker_presence_known", ())] == 1
    assert got[("vnetweb_host_worker", (("host", "a"),))] == 1
    assert got[("vnetweb_host_worker", (("host", "b"),))] == 0
    assert got[("vnetweb_host_worker", (("host", "c"),))] == 0


def test_worker_presence_that_cannot_be_told_is_left_out(fleet, allow, settings, monkeypatch):
    settings.VNETWEB_WORKER_PRESENCE = True
    monkeypatch.setattr(workers, "live", lambda: None)  # Redis away
    got = samples(Client(REMOTE_ADDR=SCRAPER).get(URL))
    assert got[("vnetweb_worker_presence_known", ())] == 0
    assert not [key for key in got if key[0] == "vnetweb_host_worker"]
    assert got[("vnetweb_network_active", net("a", "lab"))] == 1


def _grow(hosts: int, make_network) -> None:
    for index in range(hosts):
        host = Host.objects.create(name=f"grown{index}", uri="test:///default", reachable=True)
        for number in range(5):
            network = make_network(host, f"n{number}", addresses=RANGE, traffic={})
            Lease.objects.create(network=network, mac="52:54:00:00:01:01", ip="10.0.0.101")
            _job(host, network, Op.START, Job.State.SUCCEEDED, number)


@pytest.mark.parametrize("hosts", [1, 8])
def test_a_scrape_asks_the_database_the_same_few_queries_whatever_the_fleet_s_size(
    db, make_network, allow, django_assert_num_queries, hosts
):
    _grow(hosts, make_network)
    client = Client(REMOTE_ADDR=SCRAPER)
    # Hosts, networks, leases, jobs, job durations.
    with django_assert_num_queries(5):
        got = samples(client.get(URL))
    assert sum(1 for key in got if key[0] == "vnetweb_network_active") == hosts * 5


# --- who may read them ---------------------------------------------------------------------------


def test_without_a_token_or_an_allowed_address_it_is_refused_in_words(fleet, allow):
    response = Client(REMOTE_ADDR="10.78.0.1").get(URL)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="vnetweb"'
    assert "VNETWEB_METRICS_ALLOW" in response.content.decode()
    assert b"vnetweb_" not in response.content


def test_a_logged_in_session_is_not_enough(fleet, admin, client_as):
    assert client_as(admin).get(URL).status_code == 401


def test_a_wrong_token_is_refused(fleet):
    response = Client().get(URL, HTTP_AUTHORIZATION="Bearer vnw_not-a-real-key")
    assert response.status_code == 401
    assert "not valid" in response.content.decode()


def test_any_user_s_token_read_only_too_is_enough(fleet, outsider):
    _, key = tokens.issue(outsider, "prometheus", read_only=True)
    response = Client().get(URL, HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    assert samples(response)[("vnetweb_network_active", net("a", "lab"))] == 1


def test_an_address_of_the_allow_list_needs_no_token(fleet, allow):
    assert Client(REMOTE_ADDR=SCRAPER).get(URL).status_code == 200
    assert Client(REMOTE_ADDR="10.78.0.1").get(URL).status_code == 401


def test_behind_the_proxy_the_forwarded_client_address_is_the_one_allowed(fleet, allow, settings):
    settings.VNETWEB_BEHIND_PROXY = True  # the proxy: 127.0.0.1 (VNETWEB_TRUSTED_PROXIES)
    proxied = Client(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=SCRAPER)
    assert proxied.get(URL).status_code == 200
    forged = Client(REMOTE_ADDR="10.78.0.1", HTTP_X_FORWARDED_FOR=SCRAPER)
    assert forged.get(URL).status_code == 401
    # And an allowed proxy does not make its other clients allowed.
    assert (
        Client(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="10.78.0.1").get(URL).status_code
        == 401
    )


def test_only_get_is_answered(fleet, allow):
    assert Client(REMOTE_ADDR=SCRAPER).post(URL).status_code == 405


GUESSER = "192.0.2.79"  # the tests' own address for this brake


@pytest.fixture
def guesses_forgotten():
    redis_client.client().delete(tokens._key(GUESSER))
    yield
    redis_client.client().delete(tokens._key(GUESSER))


def test_wrong_keys_brake_the_address_as_on_the_api(fleet, viewer, settings, guesses_forgotten):
    settings.VNETWEB_API_FAILURE_LIMIT = 2
    _, key = tokens.issue(viewer, "prometheus")
    client = Client(REMOTE_ADDR=GUESSER)
    for _ in range(2):
        assert client.get(URL, HTTP_AUTHORIZATION="Bearer vnw_guess").status_code == 401
    response = client.get(URL, HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 429
    assert response["Retry-After"] == str(tokens.retry_after())
    # The API counts the same guesses.
    assert (
        client.get(reverse("api-v1:networks"), HTTP_AUTHORIZATION=f"Bearer {key}").status_code
        == 429
    )
