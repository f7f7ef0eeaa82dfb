"""The version of a definition (networks.versions) and the merges that carry an edit over onto a
definition changed meanwhile (networks.forms.rebase): pure functions, no database."""

from networks.forms.rebase import merge_lines, merge_text
from networks.versions import canonical_xml, definition_version

SAVED = """<network>
  <name>vnwt-v</name>
  <forward mode='nat'/>
  <ip address='10.213.90.1' prefix='24'/>
</network>
"""
# The same network as libvirt reports it running: guests plugged in, the default NAT ports.
RUNNING = (
    "<network connections='2'><name>vnwt-v</name><forward mode='nat'><nat>"
    "<port start='1024' end='65535'/></nat></forward>"
    "<ip address='10.213.90.1' prefix='24'/></network>"
)


def test_the_saved_and_the_running_xml_of_one_definition_have_one_version():
    assert canonical_xml(SAVED) == canonical_xml(RUNNING)
    assert definition_version(SAVED) == definition_version(RUNNING)
    assert len(definition_version(SAVED)) == 12


def test_any_change_of_the_definition_changes_its_version():
    assert definition_version(SAVED) != definition_version(SAVED.replace(".1'", ".2'"))
    ports = RUNNING.replace("65535", "2000")
    assert definition_version(ports) != definition_version(SAVED), "ports someone chose"


def test_no_definition_has_no_version_and_bad_xml_still_has_one():
    assert definition_version("") == ""
    assert definition_version("<network>") != definition_version("<network><")


BASE = "<network>\n  <a/>\n  <b/>\n  <c/>\n</network>\n"


def test_changes_to_different_lines_are_both_kept():
    theirs = BASE.replace("  <a/>\n", "  <a2/>\n")
    yours = BASE.replace("  <c/>\n", "  <c2/>\n")
    assert merge_text(BASE, theirs, yours) == BASE.replace("<a/>", "<a2/>").replace("<c/>", "<c2/>")


def test_two_insertions_at_one_place_are_both_kept_theirs_first():
    theirs = BASE.replace("  <b/>\n", "  <b/>\n  <t/>\n")
    yours = BASE.replace("  <b/>\n", "  <b/>\n  <y/>\n")
    assert merge_text(BASE, theirs, yours) == BASE.replace("  <b/>\n", "  <b/>\n  <t/>\n  <y/>\n")


def test_changes_to_the_same_line_do_not_merge_unless_they_are_the_same():
    theirs = BASE.replace("<b/>", "<b1/>")
    assert merge_text(BASE, theirs, BASE.replace("<b/>", "<b2/>")) is None
    assert merge_text(BASE, theirs, theirs) == theirs


def test_records_added_and_removed_on_either_side_are_merged_by_line():
    base = "10.0.0.5 gw\n10.0.0.6 old"
    theirs = "10.0.0.5 gw\n10.0.0.6 old\n10.0.0.10 nas"
    yours = "10.0.0.5 gw\n10.0.0.20 backup"
    assert merge_lines(base, theirs, yours) == "10.0.0.5 gw\n10.0.0.10 nas\n10.0.0.20 backup"
