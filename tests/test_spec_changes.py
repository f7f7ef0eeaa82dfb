"""What changed between two definitions, in the words of a refused edit (networks.spec.changes)."""

import dataclasses

from networks.spec import DhcpHost, DnsHost, DnsTxt, to_xml
from networks.spec.changes import changes_in_words, describe_changes
from tests.real import fast_network_spec

BASE_SPEC = fast_network_spec("vnwt-chg", "vnwtchg", 81)
BASE = to_xml(BASE_SPEC)


def changed(**changes) -> str:
    return to_xml(dataclasses.replace(BASE_SPEC, **changes), base=BASE)


def test_the_same_definition_however_indented_has_no_changes():
    assert describe_changes(BASE, BASE.replace("\n  ", "")) == []


def test_an_added_dns_host_record_is_named_by_its_address():
    new = changed(dns_hosts=[DnsHost("10.213.81.10", ["web"])])
    assert describe_changes(BASE, new) == ["a DNS host record 10.213.81.10 was added"]
    assert describe_changes(new, BASE) == ["a DNS host record 10.213.81.10 was removed"]


def test_a_dns_host_record_given_another_name_was_changed_not_removed_and_added():
    old = changed(dns_hosts=[DnsHost("10.213.81.10", ["web"])])
    new = changed(dns_hosts=[DnsHost("10.213.81.10", ["www"])])
    assert describe_changes(old, new) == ["a DNS host record 10.213.81.10 was changed"]


def test_static_hosts_txt_records_and_restart_fields_each_get_words():
    host = DhcpHost(mac="52:54:00:00:81:01", ip="10.213.81.20", name="db")
    new = to_xml(
        dataclasses.replace(
            BASE_SPEC,
            mtu=9000,
            dns_txts=[DnsTxt("spf", "v=spf1")],
            ips=[dataclasses.replace(BASE_SPEC.ips[0], dhcp_hosts=[host])],
        ),
        base=BASE,
    )
    assert describe_changes(BASE, new) == [
        "a static host 10.213.81.20 (52:54:00:00:81:01) was added",
        "a DNS TXT record spf was added",
        "the MTU changed",
    ]


def test_a_change_the_spec_does_not_model_is_named_by_its_element():
    new = BASE.replace("<dhcp>", "<tftp root='/srv/tftp'/><dhcp>")
    assert describe_changes(BASE, new) == ["<tftp> in <ip> was added"]
    assert describe_changes(new, BASE) == ["<tftp> in <ip> was removed"]


def test_modelled_and_unmodelled_changes_are_both_named():
    new = changed(dns_hosts=[DnsHost("10.213.81.10", ["web"])])
    new = new.replace("<dhcp>", "<tftp root='/srv/tftp'/><dhcp>")
    assert describe_changes(BASE, new) == [
        "a DNS host record 10.213.81.10 was added",
        "<tftp> in <ip> was added",
    ]


def test_an_attribute_of_the_network_element_is_a_change_too():
    new = BASE.replace("<network", "<network trustGuestRxFilters='yes'", 1)
    assert describe_changes(BASE, new) == ["attributes of <network> changed"]


def test_an_unreadable_definition_is_a_change_in_itself():
    assert describe_changes(BASE, "<network") == [
        "the definition changed (vnetweb cannot read one of them)"
    ]


def test_changes_read_as_one_phrase_and_long_lists_are_cut():
    assert changes_in_words(["a"]) == "a"
    assert changes_in_words(["a", "b", "c"]) == "a, b and c"
    assert changes_in_words(["a", "b", "c", "d", "e", "f"]) == "a, b, c, d and 2 more"


def test_the_nat_port_range_libvirt_reports_by_default_is_no_change():
    running = BASE.replace(
        '<forward mode="nat"/>',
        '<forward mode="nat"><nat><port start="1024" end="65535"/></nat></forward>',
    )
    assert running != BASE
    assert describe_changes(running, BASE) == []
    tftp = BASE.replace("<dhcp>", "<tftp root='/srv/tftp'/><dhcp>")
    assert describe_changes(running, tftp) == ["<tftp> in <ip> was added"]
