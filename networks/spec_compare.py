"""Whether two network definitions mean the same, as libvirt hands them back.

libvirt adds to what it was given: a UUID, a MAC, a bridge name and STP settings at define, and
in the running XML of a NAT network its default port range. Neither is a change a person made,
so comparisons of saved, running and requested definitions look past them.
"""

import dataclasses

from networks.spec import NetworkSpec, SpecXMLError, parse
from networks.versions import DEFAULT_NAT_PORTS, same_definition

# Filled in at define when the XML leaves them out.
DEFINE_FILLS = ("uuid", "mac", "bridge", "stp", "delay")


def comparable(spec: NetworkSpec) -> NetworkSpec:
    """`spec` without what libvirt reports by default."""
    if (spec.nat_port_start, spec.nat_port_end) == DEFAULT_NAT_PORTS:
        return dataclasses.replace(spec, nat_port_start=None, nat_port_end=None)
    return spec


def same_spec(a: NetworkSpec, b: NetworkSpec) -> bool:
    return comparable(a) == comparable(b)


def already_defined(current: NetworkSpec, wanted: NetworkSpec) -> bool:
    """Whether the host's `current` definition is `wanted`, counting what libvirt fills in."""
    filled = {
        name: getattr(current, name) for name in DEFINE_FILLS if getattr(wanted, name) in (None, "")
    }
    return same_spec(dataclasses.replace(wanted, **filled), current)


def same_xml(a: str, b: str) -> bool:
    """Whether two network XMLs define the same network (text compared if either is unreadable)."""
    try:
        return same_spec(parse(a), parse(b))
    except SpecXMLError:
        return a == b


def runs_as_saved(live_xml: str, saved_xml: str) -> bool:
    """Whether a running network runs its saved definition (no restart pending): compared as
    XML, not as specs, so a change made with virsh in a part vnetweb does not model counts too;
    the same test for the database's picture (networks.worker.sync) and the worker's restart."""
    return same_definition(live_xml, saved_xml)
