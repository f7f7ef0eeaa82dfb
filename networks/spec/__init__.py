"""libvirt virtual networks as a typed spec: model, XML, schema check, validation, live updates.

No libvirt import here: all of it runs in the web process and in tests without libvirt-python.
The network modes and what each has of its own are declared once, in `networks.spec.modes`.
"""

from networks.spec.context import HostContext, Problems
from networks.spec.defaults import default_spec, next_free_subnet
from networks.spec.model import (
    Bandwidth,
    DhcpHost,
    DhcpRange,
    DnsForwarder,
    DnsHost,
    DnsSrv,
    DnsTxt,
    IpSpec,
    NetworkSpec,
    PortGroup,
    RouteSpec,
)
from networks.spec.plan import UpdatePlan, UpdateStep, plan_update
from networks.spec.schema import SchemaUnavailable, schema_errors
from networks.spec.unmodelled import definition_problems, live_update_problems
from networks.spec.validate import validate
from networks.spec.xml import DNSMASQ_NS, SpecXMLError, parse, to_xml

__all__ = [
    "DNSMASQ_NS",
    "Bandwidth",
    "DhcpHost",
    "DhcpRange",
    "DnsForwarder",
    "DnsHost",
    "DnsSrv",
    "DnsTxt",
    "HostContext",
    "IpSpec",
    "NetworkSpec",
    "PortGroup",
    "Problems",
    "RouteSpec",
    "SchemaUnavailable",
    "SpecXMLError",
    "UpdatePlan",
    "UpdateStep",
    "default_spec",
    "definition_problems",
    "live_update_problems",
    "next_free_subnet",
    "parse",
    "plan_update",
    "schema_errors",
    "to_xml",
    "validate",
]
