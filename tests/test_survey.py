"""What the worker stores of a switch's host side (networks.worker.survey), without a real host."""

from networks.gateway.hostside import Link
from networks.models import Host, Network
from networks.worker.survey import (
    GAP_SECONDS,
    HISTORY,
    _traffic,
    remote_reason,
    survey,
    survey_remote,
)


def link(rx: int, tx: int) -> Link:
    counters = dict.fromkeys(("rx_packets", "tx_packets", "rx_errors", "tx_errors"), 0)
    counters |= {"rx_bytes": rx, "tx_bytes": tx, "rx_dropped": 0, "tx_dropped": 0}
    return Link("virbr9", 9, "bridge", "52:54:00:00:00:09", 1500, True, "UP", "", (), counters)


def test_a_simulated_or_remote_host_says_why_its_switches_cannot_be_seen(settings):
    assert "test driver" in remote_reason("test:///default")
    ssh = remote_reason("qemu+ssh://root@kvm2/system")
    assert "over ssh (kvm2)" in ssh and "what libvirt reports" in ssh
    settings.VNETWEB_HOST_NETLINK = False
    assert "VNETWEB_HOST_NETLINK=false" in remote_reason("qemu:///system")


def test_a_survey_of_a_host_seen_only_through_libvirt_is_written_once(
    transactional_db, test_host, make_network, listener
):
    net = make_network(test_host, "lab", active=True)
    assert survey(test_host) == [net.pk]
    assert Network.objects.get(pk=net.pk).switch == {
        "local": False,
        "reason": remote_reason(test_host.uri),
    }
    assert survey(test_host) == []  # nothing changed: nothing written, nothing published
    [change] = listener.settle()
    assert change["networks"] == [net.pk] and change["topic"] == "switch"


def test_hosts_seen_only_through_libvirt_are_surveyed_together_in_one_query(
    test_host, make_network, django_assert_num_queries
):
    far = Host.objects.create(name="far", uri="qemu+ssh://root@kvm2/system")
    lab, wan = make_network(test_host, "lab", active=True), make_network(far, "wan")
    assert sorted(survey_remote([test_host, far])) == sorted([lab.pk, wan.pk])
    assert Network.objects.get(pk=wan.pk).switch["reason"] == remote_reason(far.uri)
    assert Network.objects.get(pk=lab.pk).switch["reason"] == remote_reason(test_host.uri)
    with django_assert_num_queries(1):  # a fleet's idle worker: one look, nothing written
        assert survey_remote([test_host, far]) == []


def test_counters_keep_a_short_history_and_the_previous_sample_for_rates():
    sample = _traffic({}, link(0, 0), [], now=100.0)
    assert sample["prev"] is None and sample["history"] == [[100.0, 0, 0]]
    sample = _traffic(sample, link(500, 700), [], now=102.0)
    assert sample["prev"]["t"] == 100.0 and sample["prev"]["bridge"]["rx_bytes"] == 0
    assert sample["history"] == [[100.0, 0, 0], [102.0, 500, 700]]
    for step in range(HISTORY + 5):
        sample = _traffic(sample, link(step, step), [], now=104.0 + 2 * step)
    assert len(sample["history"]) == HISTORY


def test_after_a_pause_the_history_starts_afresh():
    sample = _traffic({}, link(0, 0), [], now=100.0)
    later = _traffic(sample, link(9, 9), [], now=100.0 + GAP_SECONDS + 1)
    assert later["prev"] is None
    assert later["history"] == [[111.0, 9, 9]]


def test_a_bridge_nobody_looks_at_is_due_its_counters_every_so_often(settings):
    from networks.worker.survey import _counters_due

    settings.VNETWEB_COUNTERS_SECONDS = 30
    assert _counters_due(None, 1000.0)
    assert not _counters_due({"t": 990.0}, 1000.0)
    assert _counters_due({"t": 970.0}, 1000.0)
    settings.VNETWEB_COUNTERS_SECONDS = 0
    assert not _counters_due(None, 1000.0)
