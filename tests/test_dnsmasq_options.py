"""dnsmasq options and TXT values: what the allow-list accepts, judged by the real dnsmasq.

dnsmasq runs as root and reads the lines libvirt writes from `<dnsmasq:option value>` and
`<dns><txt value>`. Here the real `dnsmasq --test` (it parses a config and exits) decides whether
what vnetweb accepts is read as meant; the editor and the worker are driven as an attacker would.
Values given to dnsmasq point at /nonexistent/…, so nothing it is given can run or write anything.
"""

import dataclasses
import ipaddress
import random
import shutil
import subprocess
from pathlib import Path

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from networks import gateway
from networks.models import Job
from networks.spec import (
    DhcpRange,
    DnsTxt,
    HostContext,
    IpSpec,
    NetworkSpec,
    parse,
    to_xml,
    validate,
)
from networks.spec.dnsmasq_options import ALLOWED, DHCP_OPTIONS, option_problem, txt_value_problem
from networks.worker import tasks
from tests import jobs
from tests.real import LOCAL_URI

DNSMASQ = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"
needs_dnsmasq = pytest.mark.skipif(not Path(DNSMASQ).exists(), reason="dnsmasq is not installed")
PAYLOAD = 'co"n"f-script=id >/tmp/x'  # the issue's, word for word
# What libvirt 9.0 writes before the options (checked on this machine), minus its own files.
LIBVIRT_PREAMBLE = [
    "strict-order",
    "except-interface=lo",
    "bind-dynamic",
    "interface=vnwtdq1",
    "dhcp-option=3",
    "no-resolv",
    "dhcp-range=10.213.250.10,10.213.250.20,255.255.255.0",
    "dhcp-no-override",
    "dhcp-authoritative",
    "dhcp-lease-max=11",
]
# Options that run programs, touch files or listen beyond the bridge (the issue's list and more),
# each with a harmless value.
DANGEROUS = [
    "conf-script=/nonexistent/vnwt",
    "conf-file=/nonexistent/vnwt",
    "conf-dir=/nonexistent/vnwt",
    "dhcp-script=/nonexistent/vnwt",
    "dhcp-luascript=/nonexistent/vnwt",
    "dhcp-leasefile=/nonexistent/vnwt",
    "dhcp-lease=/nonexistent/vnwt",
    "dhcp-hostsfile=/nonexistent/vnwt",
    "dhcp-optsfile=/nonexistent/vnwt",
    "addn-hosts=/nonexistent/vnwt",
    "resolv-file=/nonexistent/vnwt",
    "servers-file=/nonexistent/vnwt",
    "dumpfile=/nonexistent/vnwt",
    "dnssec-timestamp=/nonexistent/vnwt",
    "log-facility=/nonexistent/vnwt",
    "pid-file=/nonexistent/vnwt",
    "tftp-root=/nonexistent/vnwt",
    "enable-tftp",
    "interface=vnwtnone",
    "listen-address=10.213.250.1",
    "except-interface=vnwtnone",
    "nftset=/vnwt.example/4#inet#fw#vnwt",
    "ipset=/vnwt.example/vnwt",
    "dhcp-relay=10.213.250.1,10.213.251.1",
    "enable-dbus",
    "user=vnwt-none",
    "port=5353",
]


def dnsmasq_says(*lines: str, tmp: Path) -> str:
    """What `dnsmasq --test` answers for a config of `lines`."""
    config = tmp / "vnwt-test.conf"
    config.write_text("\n".join(lines) + "\n")
    done = subprocess.run(
        [DNSMASQ, "--test", f"--conf-file={config}"],
        capture_output=True,
        text=True,
        timeout=10,
        cwd=tmp,
    )
    return (done.stdout + done.stderr).strip()


def parses(*lines: str, tmp: Path) -> bool:
    return "syntax check OK" in dnsmasq_says(*LIBVIRT_PREAMBLE, *lines, tmp=tmp)


# --- a representative set of what the allow-list accepts ------------------------------------------

DHCP_SAMPLES = {
    "router": ["", ",10.213.250.1", ",0.0.0.0", ",10.213.250.1,10.213.250.2"],
    "dns-server": ["", ",10.213.250.1,192.0.2.53"],
    "ntp-server": [",192.0.2.123"],
    "netbios-ns": [",10.213.250.1"],
    "domain-name": [",lab.example"],
    "domain-search": [",lab.example", ",a.example,b"],
    "mtu": [",68", ",1400", ",65535"],
    "T1": [",1", ",1800"],
    "T2": [",3150", ",2147483647"],
    "classless-static-route": [
        ",0.0.0.0/0,10.213.250.1",
        ",10.1.0.0/16,10.213.250.2,10.2.0.0/24,0.0.0.0",
    ],
    "bootfile-name": [",pxelinux.0", ",efi/grubx64.efi"],
    "tzdb-timezone": [",Europe/Berlin", ",UTC"],
}
DHCP6_SAMPLES = {
    "dns-server": ["", ",[fd00::1]", ",[fd00::1],[::]"],
    "sntp-server": [",[fd00::123]"],
    "domain-search": [",lab.example"],
}
OTHER_SAMPLES = {
    "address": [
        "/vnwt.example/10.213.250.5",
        "/a.vnwt.example/b.vnwt.example/fd00::5",
        "/ads.example/",
    ],
    "cache-size": ["0", "150", "10000"],
    "dns-forward-max": ["1", "10000"],
    "edns-packet-max": ["512", "4096"],
    "local-ttl": ["0", "604800"],
    "neg-ttl": ["60"],
    "max-ttl": ["3600"],
    "max-cache-ttl": ["604800"],
    "min-cache-ttl": ["0", "3600"],
    "log-queries": [None, "extra"],
}


def _line(name: str, value: str | None) -> str:
    return name if value is None else f"{name}={value}"


def accepted_samples() -> list[str]:
    lines = []
    for name, grammar in ALLOWED.items():
        if name.startswith("dhcp-option"):
            for kind, number, option, _ in DHCP_OPTIONS:
                samples = (DHCP_SAMPLES if kind == "option" else DHCP6_SAMPLES)[option]
                heads = [f"{kind}:{option}"] + ([str(number)] if number else [])
                lines += [f"{name}={head}{value}" for head in heads for value in samples]
        elif grammar.what == "no value":
            lines.append(name)
        else:
            lines += [_line(name, value) for value in OTHER_SAMPLES[name]]
    return lines


SAMPLES = accepted_samples()


def test_every_allowed_option_has_samples_and_the_check_accepts_them_all():
    assert {line.split("=", 1)[0] for line in SAMPLES} == set(ALLOWED)
    assert [line for line in SAMPLES if option_problem(line)] == []


def test_no_ping_which_the_fast_test_networks_use_stays_allowed():
    assert option_problem("no-ping") is None


@pytest.mark.parametrize(
    "line",
    [
        "cache-size=10001",
        "cache-size=-1",
        "min-cache-ttl=3601",
        "edns-packet-max=511",
        "no-ping=1",
        "log-queries=proto",
        "dhcp-option=option:router,",
        "dhcp-option=option:router,vnwt.example",
        "dhcp-option=option:mtu,67",
        "dhcp-option=option:domain-name",
        "dhcp-option=option:classless-static-route,10.0.0.0/8",
        "dhcp-option=option6:dns-server,fd00::1",
        "dhcp-option=tag:x,option:router,10.213.250.1",
        "dhcp-option=option:vendor-class,x",
        "dhcp-option=252,http://x/wpad.dat",
        "address=/vnwt.example/not-an-address",
        "address=vnwt.example",
    ],
)
def test_a_value_outside_the_options_grammar_is_refused_naming_the_option(line):
    assert option_problem(line).startswith(line.split("=", 1)[0] + " takes ")


@pytest.mark.parametrize("line", DANGEROUS)
def test_options_that_run_programs_touch_files_or_listen_elsewhere_are_refused(line):
    assert "is not allowed" in option_problem(line)


def test_the_issues_payload_is_refused_saying_what_dnsmasq_would_read():
    problem = option_problem(PAYLOAD)
    assert "is not allowed: it contains '\"'" in problem
    assert "dnsmasq would read the option name as 'conf-script'" in problem


def test_an_option_given_twice_that_dnsmasq_takes_once_is_refused():
    spec = _spec(dnsmasq_options=["cache-size=100", "cache-size=200"])
    assert validate(spec, HostContext()).errors == {
        "dnsmasq_options": ["cache-size is given twice; dnsmasq refuses that"]
    }


def test_dhcp_lease_max_is_left_to_libvirt_which_writes_it_itself():
    assert "is not allowed" in option_problem("dhcp-lease-max=100")


# --- the real dnsmasq judges ---------------------------------------------------------------------


@needs_dnsmasq
@pytest.mark.parametrize("line", SAMPLES)
def test_the_real_dnsmasq_parses_every_sample_the_check_accepts(line, tmp_path):
    assert parses(line, tmp=tmp_path), dnsmasq_says(*LIBVIRT_PREAMBLE, line, tmp=tmp_path)


@needs_dnsmasq
def test_the_real_dnsmasq_parses_all_samples_together_one_of_each_once_option(tmp_path):
    seen: set[str] = set()
    lines = []
    for line in SAMPLES:
        name = line.split("=", 1)[0]
        if not (ALLOWED[name].once and name in seen):
            lines.append(line)
        seen.add(name)
    assert parses(*lines, tmp=tmp_path), dnsmasq_says(*LIBVIRT_PREAMBLE, *lines, tmp=tmp_path)


def _numbers() -> st.SearchStrategy[str]:
    once = [name for name, grammar in ALLOWED.items() if grammar.once]
    return st.builds(lambda name, n: f"{name}={n}", st.sampled_from(once), st.integers(0, 700_000))


def _dhcp_lists() -> st.SearchStrategy[str]:
    v4 = st.ip_addresses(v=4).map(str)
    v6 = st.ip_addresses(v=6).map(lambda a: f"[{a}]")
    name = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?(\.[a-z0-9]{1,8}){0,2}", fullmatch=True)
    route = st.builds(
        lambda address, prefix, gw: f"{ipaddress.ip_network((address, prefix), strict=False)},{gw}",
        st.ip_addresses(v=4),
        st.integers(0, 32),
        st.ip_addresses(v=4),
    )
    return st.one_of(
        st.lists(v4, min_size=1, max_size=4).map(lambda a: "option:router," + ",".join(a)),
        st.lists(v4, min_size=1, max_size=4).map(lambda a: "6," + ",".join(a)),
        st.lists(v6, min_size=1, max_size=3).map(lambda a: "option6:dns-server," + ",".join(a)),
        st.lists(name, min_size=1, max_size=3).map(lambda n: "option:domain-search," + ",".join(n)),
        st.lists(route, min_size=1, max_size=3).map(
            lambda r: "option:classless-static-route," + ",".join(r)
        ),
        st.integers(68, 65535).map(lambda n: f"option:mtu,{n}"),
    ).map(lambda value: f"dhcp-option={value}")


@needs_dnsmasq
@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(line=st.one_of(_numbers(), _dhcp_lists()))
def test_generated_values_the_check_accepts_are_parsed_by_the_real_dnsmasq(line, tmp_path):
    if option_problem(line) is None:
        assert parses(line, tmp=tmp_path), dnsmasq_says(*LIBVIRT_PREAMBLE, line, tmp=tmp_path)


# --- quotes, escapes, case and whitespace: nothing accepted is read as another keyword ----------

TRICKS = ['"', '""', "'", "\\", '\\"', " ", "\t", "#", " #", "="]
BASES = DANGEROUS * 3 + SAMPLES  # about as many dangerous lines as allowed ones
NO_KEYWORD = ("bad option", 'missing "')


@st.composite
def mangled(draw) -> str:
    """A line made from an option by inserting quotes, escapes, blanks or '#' anywhere, and by
    changing the case of some letters."""
    line = draw(st.sampled_from(BASES))
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(line)))
        line = line[:at] + draw(st.sampled_from(TRICKS)) + line[at:]
    if draw(st.booleans()):
        at = draw(st.integers(0, len(line) - 1))
        line = line[:at] + line[at].upper() + line[at + 1 :]
    return line


@needs_dnsmasq
@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(line=mangled())
def test_nothing_the_check_accepts_is_read_by_dnsmasq_as_a_keyword_outside_the_list(line, tmp_path):
    answer = dnsmasq_says(line, tmp=tmp_path)
    read_a_keyword = not any(words in answer for words in NO_KEYWORD)
    if option_problem(line) is not None:
        event("refused; dnsmasq would have read a keyword" if read_a_keyword else "refused")
        return  # it never reaches dnsmasq
    event("accepted")
    # Accepted lines hold nothing dnsmasq's reader changes, so the name before '=' is the
    # keyword it reads; dnsmasq must know it (no "bad option") and it must be on the list.
    assert read_a_keyword and "syntax check OK" in answer, (line, answer)
    assert line.split("=", 1)[0] in ALLOWED
    assert not any(c in line for c in "\"'\\# \t")


@needs_dnsmasq
@pytest.mark.parametrize(
    ("line", "dnsmasq_read"),
    [
        ('co"n"f-file=/nonexistent/vnwt', "cannot read /nonexistent/vnwt"),
        ('conf-fi""le=/nonexistent/vnwt', "cannot read /nonexistent/vnwt"),
        (" conf-file = /nonexistent/vnwt # note", "cannot read /nonexistent/vnwt"),
        ('co"n"f-script=/nonexistent/vnwt', "returns non-zero error code"),
        ('dhcp-sc"r"ipt=/nonexistent/vnwt', "syntax check OK"),
    ],
)
def test_the_issues_tricks_are_read_by_dnsmasq_as_the_dangerous_option_and_refused_by_the_check(
    line, dnsmasq_read, tmp_path
):
    assert dnsmasq_read in dnsmasq_says(line, tmp=tmp_path)  # dnsmasq itself reads the keyword
    assert "is not allowed" in option_problem(line)


# --- TXT values: libvirt writes txt-record=NAME,VALUE without quotes ------------------------------


@needs_dnsmasq
@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    value=st.text(
        st.characters(min_codepoint=0x20, max_codepoint=0x17F, exclude_characters="\x7f"),
        max_size=40,
    )
)
def test_every_txt_value_the_check_accepts_is_parsed_by_the_real_dnsmasq(value, tmp_path):
    spec = _spec(dns_txts=[DnsTxt("info", value)])
    if validate(spec, HostContext()).errors:
        assert '"' in value  # the only printable character refused
        return
    line = f"txt-record=info,{value}"  # what libvirt writes
    assert parses(line, tmp=tmp_path), dnsmasq_says(*LIBVIRT_PREAMBLE, line, tmp=tmp_path)


@needs_dnsmasq
def test_a_txt_value_with_a_double_quote_stops_dnsmasq_and_is_refused_with_words(tmp_path):
    assert 'missing "' in dnsmasq_says('txt-record=info,say "hi', tmp=tmp_path)
    assert "stops the network's dnsmasq" in txt_value_problem('say "hi')


def _spec(**fields) -> NetworkSpec:
    spec = NetworkSpec(
        name="vnwt-dq",
        mode="nat",
        bridge="vnwtdq1",
        ips=[IpSpec("10.213.250.1", 24, dhcp_ranges=[DhcpRange("10.213.250.10", "10.213.250.20")])],
    )
    return dataclasses.replace(spec, **fields)


# --- the raw XML editor: the issue's steps, as the admin of one network --------------------------

OPTIONS = "<dnsmasq:options><dnsmasq:option value='no-ping'/></dnsmasq:options>"
NS = "xmlns:dnsmasq='http://libvirt.org/schemas/network/dnsmasq/1.0'"


def _with_options(*values: str, name: str = "vnwt-dq") -> str:
    """The network's XML with `<dnsmasq:options>` as typed in the raw editor (quoted with ')."""
    options = "".join(f"<dnsmasq:option value='{v}'/>" for v in values)
    uuid = "0b0e5c2a-4d1c-4a8e-9a53-3f1d2f3b4c5e" if name == "vnwt-dq" else None
    bridge = "vnwt" + name.removeprefix("vnwt-")
    xml = to_xml(_spec(name=name, uuid=uuid, bridge=bridge))
    return xml.replace("<network>", f"<network {NS}>").replace(
        "</network>", f"<dnsmasq:options>{options}</dnsmasq:options></network>"
    )


@pytest.fixture
def dq(test_host, make_network):
    """A running network whose saved definition has `<dnsmasq:options>` with no-ping."""
    return make_network(
        test_host, "vnwt-dq", active=True, bridge="vnwtdq1", xml=_with_options("no-ping")
    )


def xml_url(network) -> str:
    return reverse("switch-xml", args=[network.host.name, network.name])


def test_the_xml_editor_refuses_the_issues_payload_in_words_and_sends_nothing(dq, admin, client_as):
    client = client_as(admin)
    xml = _with_options("no-ping", 'co"n"f-script=id &gt;/tmp/x')
    assert parse(xml).dnsmasq_options == ["no-ping", PAYLOAD]
    reviewed = client.post(xml_url(dq), {"xml": xml, "review": "1"})
    assert reviewed.status_code == 422
    words = " ".join(reviewed.context["form"].errors["xml"])
    assert "dnsmasq would read the option name as 'conf-script'" in words
    applied = client.post(xml_url(dq), {"xml": xml, "restart": "1", "token": "0" * 32})
    assert applied.status_code == 422
    assert Job.objects.count() == 0


def test_an_option_the_host_already_had_is_kept_with_a_warning_but_not_changed(
    test_host, make_network, admin, client_as
):
    hook = "dhcp-script=/usr/local/bin/vnwt-hook"
    network = make_network(
        test_host, "vnwt-dq", active=True, bridge="vnwtdq", xml=_with_options("no-ping", hook)
    )
    client = client_as(admin)
    reviewed = client.post(
        xml_url(network), {"xml": network.xml.replace("no-ping", "log-dhcp"), "review": "1"}
    )
    assert reviewed.status_code == 200
    assert any("kept as this host has it" in w for w in reviewed.context["warnings"])
    changed = network.xml.replace(hook, "dhcp-script=/tmp/vnwt-other")
    refused = client.post(xml_url(network), {"xml": changed, "review": "1"})
    assert refused.status_code == 422
    assert "dhcp-script is not allowed" in " ".join(refused.context["form"].errors["xml"])
    assert Job.objects.count() == 0


def test_the_form_editor_keeps_an_option_the_host_had_and_says_so(
    test_host, make_network, operator, client_as
):
    from tests.test_switch_views import edit_data

    hook = "dhcp-script=/usr/local/bin/vnwt-hook"
    network = make_network(
        test_host, "vnwt-dq", active=True, bridge="vnwtdq", xml=_with_options("no-ping", hook)
    )
    url = reverse("switch-edit", args=[network.host.name, network.name])
    data = edit_data(network, ipv4_hosts="52:54:00:00:00:09 web9 10.213.250.9")
    reviewed = client_as(operator).post(url, {**data, "review": "1"})
    assert reviewed.status_code == 200, reviewed.content.decode()[:2000]
    assert any("kept as this host has it" in w for w in reviewed.context["warnings"])


# --- the worker checks again: a job row is not enough -------------------------------------------

URI = "test:///default"


@pytest.fixture
def undefine_after():
    yield
    gateway.undefine_network(URI, "vnwt-dq")


def _run(host, operation: str, target: str = "vnwt-dq", **params) -> Job:
    return jobs.run(host, operation, target, **params)


def test_the_worker_refuses_a_crafted_define_job_with_the_payload_and_defines_nothing(
    test_host, undefine_after
):
    xml = _with_options("no-ping", "co&quot;n&quot;f-script=id &gt;/tmp/x")
    job = _run(test_host, "define", xml=xml, start=True)
    assert job.state == Job.State.FAILED
    assert "dnsmasq would read the option name as 'conf-script'" in job.message
    assert "Nothing was changed" in job.message
    assert gateway.find_network(URI, "vnwt-dq") is None


@pytest.mark.libvirt
def test_the_worker_refuses_a_crafted_update_adding_an_option_but_keeps_one_the_host_had(
    real_host,
):
    """On the real libvirt (the test driver drops <dnsmasq:options>); the network never starts."""
    name = f"vnwt-dq{random.randrange(16**4):04x}"
    hook = "dhcp-script=/usr/local/bin/vnwt-hook"
    saved = _with_options("no-ping", hook, name=name)
    gateway.define_network(LOCAL_URI, saved)  # as the host's own admin did, with virsh
    try:
        tasks.refresh(real_host)
        info = gateway.find_network(LOCAL_URI, name)
        saved = info.config_xml or info.xml  # what the editor would start from
        added = _with_options("no-ping", hook, "dumpfile=/tmp/vnwt-dump", name=name)
        job = _run(real_host, "update", name, xml=added, base_xml=saved)
        assert job.state == Job.State.FAILED
        assert "dumpfile is not allowed" in job.message
        assert "dumpfile" not in gateway.find_network(LOCAL_URI, name).xml
        kept = _with_options("log-dhcp", hook, name=name)
        job = _run(real_host, "update", name, xml=kept, base_xml=saved)
        assert job.state == Job.State.SUCCEEDED, job.message
        assert hook in gateway.find_network(LOCAL_URI, name).xml
    finally:
        gateway.undefine_network(LOCAL_URI, name)
