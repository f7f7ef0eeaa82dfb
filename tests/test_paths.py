"""One quoting helper for names in URL paths (networks.views.paths.segment): a name is one path
segment, quoted as reverse() quotes it, and a "/" in it is data, not a delimiter."""

import pytest
from django.urls import reverse

from networks.views.paths import NetworkPaths, segment

# Characters reverse() leaves as they are (sub-delimiters, ":", "@", "~") and ones it encodes.
NAMES = ["web-1", "lab net", "a+b=c", "x:y@z", "semi;colon,comma", "tilde~", "100%", "ünï", "q?#"]


@pytest.mark.parametrize("name", NAMES)
def test_a_name_is_quoted_as_reverse_quotes_it(name):
    paths = NetworkPaths()  # host names are slugs (the URL pattern says so): nothing to quote
    assert paths.network("kvm-1", name) == reverse("network-detail", args=["kvm-1", name])
    assert paths.host("kvm-1") == reverse("host-detail", args=["kvm-1"])


def test_a_slash_in_a_name_stays_inside_its_segment():
    # The one character the two helpers of old quoted differently: the topology left it bare.
    assert segment("a/b") == "a%2Fb"
    assert NetworkPaths().network("h", "a/b").endswith("/a%2Fb/")


def test_the_topology_and_the_list_link_a_switch_with_a_slash_in_its_name_alike(
    test_host, make_network, viewer, client_as
):
    make_network(test_host, "lab/1", mode="nat", active=True)
    href = f'href="{NetworkPaths().network(test_host.name, "lab/1")}"'
    client = client_as(viewer)
    assert href in client.get(reverse("host-topology", args=[test_host.name])).content.decode()
    assert href in client.get(reverse("network-list")).content.decode()
