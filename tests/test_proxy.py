"""Behind the site's reverse proxy, X-Forwarded-For and X-Forwarded-Proto count only on connections
from the proxy's own address (VNETWEB_TRUSTED_PROXIES): a client that reaches the app port directly
cannot choose its address (audit trail, login lockout) nor claim it came over TLS."""

import ipaddress

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse

from vnetweb.proxy import client_address


@pytest.fixture
def behind_proxy(settings):
    settings.VNETWEB_BEHIND_PROXY = True
    settings.VNETWEB_TRUSTED_PROXIES = (
        ipaddress.ip_network("127.0.0.1"),
        ipaddress.ip_network("::1"),
        ipaddress.ip_network("172.16.0.0/12"),
    )


def request_from(peer: str, forwarded: str = "192.0.2.5"):
    return RequestFactory().get("/", REMOTE_ADDR=peer, HTTP_X_FORWARDED_FOR=forwarded)


@pytest.mark.parametrize("proxy", ["127.0.0.1", "::1", "172.18.0.1", "::ffff:127.0.0.1"])
def test_the_address_a_trusted_proxy_forwarded_is_the_client_s(behind_proxy, proxy):
    assert client_address(request_from(proxy, "198.51.100.1, 192.0.2.5")) == "192.0.2.5"


@pytest.mark.parametrize("peer", ["198.51.100.7", "10.0.0.2", "192.168.1.1", "not-an-address"])
def test_any_other_peer_is_taken_at_its_connection_s_address(behind_proxy, peer):
    assert client_address(request_from(peer)) == peer


def test_without_a_proxy_the_forwarded_address_counts_from_nobody(settings):
    settings.VNETWEB_BEHIND_PROXY = False
    assert client_address(request_from("127.0.0.1")) == "127.0.0.1"


@pytest.fixture
def https_behind_proxy(behind_proxy, settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_SSL_REDIRECT = True


def test_a_direct_client_cannot_claim_it_came_over_tls(https_behind_proxy, db):
    client = Client(REMOTE_ADDR="198.51.100.7", headers={"x-forwarded-proto": "https"})
    response = client.get(reverse("login"))
    assert response.status_code == 301
    assert response["Location"].startswith("https://")


def test_the_proxy_says_whether_the_request_came_over_tls(https_behind_proxy, db):
    client = Client(REMOTE_ADDR="127.0.0.1", headers={"x-forwarded-proto": "https"})
    assert client.get(reverse("login")).status_code == 200
