"""Settings read from the environment: typed, strict, and with NAME_FILE for secrets."""

import ipaddress

import pytest
from django.core.exceptions import ImproperlyConfigured

from vnetweb.env import env_bool, env_int, env_list, env_networks, env_str

VAR = "VNETWEB_TEST_SETTING"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    monkeypatch.delenv(VAR, raising=False)
    monkeypatch.delenv(f"{VAR}_FILE", raising=False)


@pytest.mark.parametrize("default", [True, False])
def test_env_bool_gives_the_default_when_unset_or_empty(monkeypatch, default):
    assert env_bool(VAR, default) is default
    monkeypatch.setenv(VAR, "")
    assert env_bool(VAR, default) is default


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("true", True), ("false", False), ("TRUE", True), ("False", False), (" true ", True)],
)
def test_env_bool_reads_true_and_false(monkeypatch, raw, expected):
    monkeypatch.setenv(VAR, raw)
    assert env_bool(VAR, not expected) is expected


@pytest.mark.parametrize("raw", ["1", "0", "yes", "no", "on", "off", "y", "t", "truthy"])
def test_env_bool_refuses_anything_but_true_or_false(monkeypatch, raw):
    monkeypatch.setenv(VAR, raw)
    with pytest.raises(ImproperlyConfigured, match=VAR):
        env_bool(VAR, False)


def test_env_int_gives_the_default_when_unset_or_empty(monkeypatch):
    assert env_int(VAR, 7) == 7
    monkeypatch.setenv(VAR, "")
    assert env_int(VAR, 7) == 7


@pytest.mark.parametrize(("raw", "expected"), [("0", 0), ("42", 42), ("-3", -3), (" 5 ", 5)])
def test_env_int_reads_whole_numbers(monkeypatch, raw, expected):
    monkeypatch.setenv(VAR, raw)
    assert env_int(VAR, 99) == expected


@pytest.mark.parametrize("raw", ["five", "1.5", "3s", "0x10"])
def test_env_int_refuses_what_is_not_a_whole_number(monkeypatch, raw):
    monkeypatch.setenv(VAR, raw)
    with pytest.raises(ImproperlyConfigured, match=VAR):
        env_int(VAR, 1)


def test_env_list_gives_the_default_when_unset(monkeypatch):
    assert env_list(VAR, ["a"]) == ["a"]


def test_env_list_splits_on_commas_and_drops_blanks(monkeypatch):
    monkeypatch.setenv(VAR, " kvm1 , kvm2,,kvm3 ,")
    assert env_list(VAR, ["default"]) == ["kvm1", "kvm2", "kvm3"]


def test_env_list_set_but_empty_means_an_empty_list(monkeypatch):
    monkeypatch.setenv(VAR, "")
    assert env_list(VAR, ["default"]) == []


def test_env_str_gives_the_value_or_the_default(monkeypatch):
    assert env_str(VAR, "fallback") == "fallback"
    assert env_str(VAR) == ""
    monkeypatch.setenv(VAR, "value")
    assert env_str(VAR, "fallback") == "value"


def test_env_str_reads_the_file_named_by_name_file(monkeypatch, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("  s3cr3t from a file\n")
    monkeypatch.setenv(f"{VAR}_FILE", str(secret))
    assert env_str(VAR, "fallback") == "s3cr3t from a file"


def test_env_str_prefers_name_file_over_name(monkeypatch, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("from the file")
    monkeypatch.setenv(VAR, "from the variable")
    monkeypatch.setenv(f"{VAR}_FILE", str(secret))
    assert env_str(VAR) == "from the file"


def test_env_str_with_a_missing_name_file_fails_loudly(monkeypatch, tmp_path):
    monkeypatch.setenv(f"{VAR}_FILE", str(tmp_path / "missing"))
    with pytest.raises(FileNotFoundError):
        env_str(VAR, "fallback")


def test_env_networks_reads_addresses_and_networks(monkeypatch):
    assert env_networks(VAR, ["127.0.0.1"]) == (ipaddress.ip_network("127.0.0.1"),)
    monkeypatch.setenv(VAR, "10.0.0.2, 172.16.0.0/12,::1")
    assert env_networks(VAR, []) == tuple(
        ipaddress.ip_network(n) for n in ("10.0.0.2", "172.16.0.0/12", "::1")
    )


@pytest.mark.parametrize("raw", ["proxy.example.org", "10.0.0.300", "10.0.0.1/8"])
def test_env_networks_refuses_what_is_not_an_address_or_a_network(monkeypatch, raw):
    monkeypatch.setenv(VAR, raw)
    with pytest.raises(ImproperlyConfigured, match=VAR):
        env_networks(VAR, [])
