"""libvirt's RelaxNG schema as a check before define, and the spec package's independence from
libvirt-python."""

import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from networks.spec import SchemaUnavailable, schema_errors
from networks.spec.schema import SCHEMA_PATH
from tests.test_architecture import libvirt_imports

REPO = Path(__file__).resolve().parent.parent
needs_schema = pytest.mark.skipif(not SCHEMA_PATH.exists(), reason="libvirt is not installed")


@needs_schema
def test_a_valid_network_has_no_schema_errors():
    assert schema_errors("<network><name>n</name><bridge name='virbr9'/></network>") == []


@needs_schema
@pytest.mark.parametrize(
    "xml",
    [
        "<network><name>n</name><forward mode='teleport'/></network>",
        "<network><name>n</name><ip address='10.0.0.999' prefix='24'/></network>",
        "<network><name>n</name><mac address='01:00:5e:00:00:01'/></network>",
        "<network><name>n</name><bridge name='has space'/></network>",
        "<network><name>n</name><mtu size='70000'/></network>",
        "<network><bridge name='virbr9'/></network>",
    ],
)
def test_what_libvirt_would_refuse_is_reported_with_a_line_number(xml):
    errors = schema_errors(xml.replace("<name>", "\n<name>"))
    assert errors
    assert all(re.match(r"line [12]: ", error) for error in errors), errors


@needs_schema
def test_an_element_libxml2_reports_without_a_line_is_found_and_shown():
    xml = "<network>\n<name>n</name>\n<forward mode='teleport'/>\n</network>"
    assert schema_errors(xml) == [
        "line 3: <forward mode='teleport'> (or what it holds) is not valid for libvirt"
    ]


@needs_schema
def test_malformed_xml_is_reported_not_raised():
    [error] = schema_errors("<network>\n<name>n</name>")
    assert error.startswith("line 2: not well-formed XML: Premature end of data in tag network")


def test_a_missing_schema_is_an_error_not_a_pass(tmp_path):
    with pytest.raises(SchemaUnavailable, match="install libvirt"):
        schema_errors("<network><name>n</name></network>", path=tmp_path / "network.rng")


@needs_schema
def test_checks_from_many_threads_agree():
    good = "<network><name>n</name></network>"
    bad = "<network><name>n</name><forward mode='teleport'/></network>"
    results: list[tuple[bool, bool]] = []

    def check() -> None:
        for _ in range(50):
            results.append((schema_errors(good) == [], schema_errors(bad) != []))

    threads = [threading.Thread(target=check) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [(True, True)] * 200


def test_no_module_of_the_spec_package_imports_libvirt():
    files = sorted((REPO / "networks" / "spec").glob("*.py"))
    assert len(files) > 5
    assert {f.name: libvirt_imports(f.read_text()) for f in files} == {f.name: [] for f in files}


def test_the_spec_package_works_without_libvirt_python():
    # A web process, or a laptop without libvirt-python, must be able to build and check specs.
    code = (
        "import sys; sys.modules['libvirt'] = None\n"
        "from networks.spec import NetworkSpec, parse, to_xml, validate, HostContext\n"
        "spec = parse(to_xml(NetworkSpec(name='n', mode='isolated')))\n"
        "print(validate(spec, HostContext()).ok)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "True"
