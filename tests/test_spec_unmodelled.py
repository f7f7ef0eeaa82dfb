"""What network XML from vnetweb may hold beyond the spec (networks.spec.unmodelled): no control
character anywhere, and nothing unmodelled that the saved definition did not already have.

libvirt's own schema is the witness that these checks are needed: it accepts the attacks below.
"""

from pathlib import Path

import pytest

from networks.spec import (
    DNSMASQ_NS,
    definition_problems,
    live_update_problems,
    parse,
    schema_errors,
    to_xml,
)
from tests.test_spec_xml import EXAMPLES

SCHEMA = Path("/usr/share/libvirt/schemas/network.rng")
needs_schema = pytest.mark.skipif(not SCHEMA.exists(), reason=f"{SCHEMA} is not installed")

SAVED = """
<network>
  <name>lab</name>
  <bridge name="vnwtlab0" stp="off"/>
  <ip address="10.213.5.1" prefix="24">
    <dhcp>
      <range start="10.213.5.100" end="10.213.5.150"/>
      <host mac="52:54:00:00:05:01" name="web1" ip="10.213.5.10"/>
    </dhcp>
  </ip>
</network>"""
# The attack of issue 16: libvirt writes tftp-root=%s into dnsmasq's configuration as it is.
TFTP_NEWLINE = "<tftp root='/srv&#10;conf-script=id &gt;/tmp/x'/>"


def with_ip_child(xml: str, child: str) -> str:
    return xml.replace("<dhcp>", child + "<dhcp>", 1)


@pytest.mark.parametrize("key", EXAMPLES)
def test_everything_the_spec_writes_is_modelled(key):
    # The table of modelled elements and attributes agrees with the writer: a definition written
    # fresh from a spec may be sent as a new network.
    assert definition_problems(to_xml(parse(EXAMPLES[key])), None) == []


@pytest.mark.parametrize("key", EXAMPLES)
def test_an_edit_made_through_the_spec_keeps_what_the_host_had_and_adds_nothing(key):
    saved = EXAMPLES[key]
    spec = parse(saved)
    spec.mtu = 1400
    assert definition_problems(to_xml(spec, base=saved), saved) == []


@needs_schema
def test_libvirts_schema_accepts_a_tftp_root_with_a_newline_and_vnetweb_refuses_it():
    xml = with_ip_child(SAVED, TFTP_NEWLINE)
    assert schema_errors(xml) == []
    problems = definition_problems(xml, SAVED)
    assert problems == [
        "the root= attribute of <tftp> ('/srv\\x0aconf-script=id >/tmp/x') holds a control "
        "character (such as a newline or tab); no value in a network definition may.",
        "vnetweb does not edit <tftp> in <ip> (a TFTP root is a directory dnsmasq, running as "
        "root, serves files from): it cannot be added or changed here; what the saved definition "
        "already has is kept as it is.",
    ]


@pytest.mark.parametrize(
    ("edited", "words"),
    [
        (with_ip_child(SAVED, "<tftp root='/srv/tftp'/>"), "vnetweb does not edit <tftp> in <ip>"),
        (
            SAVED.replace("</dhcp>", "<bootp file='pxelinux.0'/></dhcp>"),
            "vnetweb does not edit <bootp> in <dhcp> (a boot file",
        ),
    ],
    ids=["tftp", "bootp"],
)
def test_tftp_and_bootp_are_never_added_even_without_a_control_character(edited, words):
    [problem] = definition_problems(edited, SAVED)
    assert problem.startswith(words)


@pytest.mark.parametrize(
    ("edited", "words"),
    [
        (
            SAVED.replace('stp="off"', 'stp="off" zone="trusted"'),
            "vnetweb does not edit the zone= attribute of <bridge>",
        ),
        (
            SAVED.replace(
                "</network>", "<metadata><x:app xmlns:x='urn:x'>a</x:app></metadata></network>"
            ),
            "vnetweb does not edit <metadata> in <network>",
        ),
        (
            SAVED.replace(
                'name="web1" ip="10.213.5.10"/>',
                'name="web1" ip="10.213.5.10"><lease expiry="1"/></host>',
            ),
            "vnetweb does not edit <lease> in <host>",
        ),
        (
            SAVED.replace("<dhcp>\n      ", "<dhcp>stray", 1),
            "vnetweb does not edit text inside <dhcp>",
        ),
        (SAVED.replace("<network>", "<network ipv6='maybe'>"), "vnetweb does not edit the ipv6="),
    ],
    ids=["bridge-zone", "metadata", "host-lease", "stray-text", "ipv6-not-a-switch-word"],
)
def test_an_unmodelled_addition_is_refused_in_words(edited, words):
    problems = definition_problems(edited, SAVED)
    assert len(problems) == 1 and problems[0].startswith(words), problems
    assert problems[0].endswith("what the saved definition already has is kept as it is.")


def test_what_the_host_already_had_is_kept_and_may_be_removed_but_not_changed():
    saved = with_ip_child(SAVED, "<tftp root='/srv/tftp'/>")
    renamed = saved.replace("web1", "www1")
    assert definition_problems(renamed, saved) == []
    assert definition_problems(SAVED, saved) == [], "removing it is fine"
    changed = saved.replace("/srv/tftp", "/etc")
    assert definition_problems(changed, saved) == [
        "vnetweb does not edit <tftp> in <ip> (a TFTP root is a directory dnsmasq, running as "
        "root, serves files from): it cannot be added or changed here; what the saved definition "
        "already has is kept as it is."
    ]
    twice = saved.replace("</ip>", "</ip><ip family='ipv6' address='fd00::1' prefix='64'>"
                          "<tftp root='/srv/tftp'/></ip>")  # fmt: skip
    assert len(definition_problems(twice, saved)) == 1, "a second copy is an addition"


def test_a_new_network_may_hold_nothing_unmodelled():
    assert definition_problems(SAVED, None) == []
    [problem] = definition_problems(with_ip_child(SAVED, "<tftp root='/srv/tftp'/>"), None)
    assert problem.startswith("vnetweb does not edit <tftp>")


@pytest.mark.parametrize(
    ("edited", "where"),
    [
        (SAVED.replace("web1", "web&#9;1"), "the name= attribute of <host>"),
        (SAVED.replace("<name>lab</name>", "<name>lab&#13;</name>"), "the text of <name>"),
        (SAVED.replace("web1", "web\x7f1"), "the name= attribute of <host>"),
        (
            SAVED.replace(
                "</network>",
                f"<d:options xmlns:d='{DNSMASQ_NS}'>"
                "<d:option value='no-ping&#10;conf-file=/etc/shadow'/></d:options>"
                "</network>",
            ),
            "the value= attribute of <dnsmasq:option>",
        ),
    ],
    ids=["tab", "carriage-return", "delete", "newline-in-a-dnsmasq-option"],
)
def test_a_control_character_in_any_value_is_refused_naming_where(edited, where):
    problems = definition_problems(edited, SAVED)
    assert any(p.startswith(where) and "holds a control character" in p for p in problems), problems


def test_indentation_comments_and_harmless_switches_are_fine():
    edited = SAVED.replace("<network>", "<network ipv6='yes'>\n\t<!-- a note\non two lines -->")
    edited = edited.replace('<ip address="10.213.5.1"', '<ip localPtr="yes" address="10.213.5.1"')
    assert definition_problems(edited, SAVED) == []


def test_a_live_update_may_not_smuggle_what_the_definition_may_not_hold():
    host = "<host mac='52:54:00:00:05:02' name='{}' ip='10.213.5.11'/>"
    assert live_update_problems("ip-dhcp-host", host.format("web2"), SAVED) == []
    [problem] = live_update_problems("ip-dhcp-host", host.format("a&#10;dhcp-script=/x"), SAVED)
    assert problem.startswith("the name= attribute of <host>")
    txt = "<txt name='t' value='v'><x/></txt>"
    assert live_update_problems("dns-txt", txt, SAVED) == [
        "vnetweb does not edit <x> in <txt>: it cannot be added or changed here; what the saved "
        "definition already has is kept as it is."
    ]
    assert live_update_problems("bridge", "<bridge name='x'/>", SAVED) == [
        "vnetweb does not change bridge in place."
    ]
