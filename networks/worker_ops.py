"""What the worker does for each operation (networks.operations names these functions).

Each takes the claimed Job and returns the message the job ends with. Each first compares with
libvirt's real state and says "nothing to do" when the wanted state already holds, so running a
job twice is harmless. A request that cannot be carried out raises `Refused` (or the gateway's
error) before anything on the host changed.
"""

from lxml import etree

from networks import gateway
from networks.models import Job
from networks.spec import (
    LiveUpdate,
    NetworkSpec,
    SchemaUnavailable,
    SpecXMLError,
    parse,
    plan_update,
    schema_errors,
    to_xml,
)
from networks.spec_compare import already_defined, comparable, runs_as_saved, same_spec


class Refused(Exception):
    """The job cannot be done as asked; its message says why, in words, and nothing changed."""


# --- lifecycle ---------------------------------------------------------------------------------


def start(job: Job) -> str:
    if gateway.start_network(job.host.uri, job.target):
        return f"Started {job.target}."
    return f"{job.target} was already running; nothing to do."


def stop(job: Job) -> str:
    if gateway.stop_network(job.host.uri, job.target):
        return f"Stopped {job.target}."
    return f"{job.target} was not running; nothing to do."


def restart(job: Job) -> str:
    if gateway.restart_network(job.host.uri, job.target):
        return f"Restarted {job.target}."
    return f"{job.target} was not running; nothing to do."


def _autostart(job: Job, enabled: bool) -> str:
    word = "on" if enabled else "off"
    if gateway.set_autostart(job.host.uri, job.target, enabled):
        return f"Autostart {word} for {job.target}."
    return f"Autostart was already {word} for {job.target}; nothing to do."


def autostart_on(job: Job) -> str:
    return _autostart(job, True)


def autostart_off(job: Job) -> str:
    return _autostart(job, False)


def probe(job: Job) -> str:
    facts = gateway.host_facts(job.host.uri)
    return (
        f"Reached {facts.hostname}: libvirt {facts.libvirt_version}, "
        f"{facts.hypervisor} {facts.hypervisor_version}."
    )


def undefine(job: Job) -> str:
    if gateway.undefine_network(job.host.uri, job.target):
        return f"Deleted {job.target}: stopped and undefined."
    return f"{job.target} was already gone; nothing to do."


# --- definitions -------------------------------------------------------------------------------


def _checked(xml: str) -> NetworkSpec:
    """The spec of `xml` once libvirt's schema accepts it; Refused otherwise."""
    try:
        errors = schema_errors(xml)
    except SchemaUnavailable as exc:
        raise Refused(str(exc)) from exc
    if errors:
        raise Refused("libvirt's schema refuses the definition: " + "; ".join(errors[:3]))
    try:
        return parse(xml)
    except SpecXMLError as exc:
        raise Refused(f"vnetweb cannot read the definition: {exc}") from exc


def define(job: Job) -> str:
    params = job.params
    xml, start_it, autostart = params["xml"], bool(params.get("start")), params.get("autostart")
    spec = _checked(xml)
    name, uri = spec.name, job.host.uri
    if job.target and name != job.target:
        raise Refused(f"The definition names {name!r}, not {job.target!r}; nothing was created.")
    info = gateway.find_network(uri, name)
    if info is None:
        gateway.define_network(uri, xml, start=start_it, autostart=bool(autostart))
        started = " and started it" if start_it else ""
        return f"Created {name}{started}" + (", autostart on." if autostart else ".")
    if not already_defined(parse(info.config_xml or info.xml), spec):
        raise Refused(
            f"A network named {name} already exists on {job.host.name} with another "
            "definition; nothing was changed."
        )
    done = []
    if start_it and gateway.start_network(uri, name):
        done.append("started it")
    if autostart and gateway.set_autostart(uri, name, True):
        done.append("turned autostart on")
    if done:
        return f"{name} was already defined as asked; {' and '.join(done)}."
    return f"{name} already exists with this definition; nothing to do."


def update(job: Job) -> str:
    params, name, uri = job.params, job.target, job.host.uri
    new_xml = params["xml"]
    new = _checked(new_xml)
    if new.name != name:
        raise Refused(f"The new definition names {new.name!r}: rename by creating a new network.")
    info = gateway.find_network(uri, name)
    if info is None:
        raise Refused(f"{name} is no longer on {job.host.name}; nothing was changed.")
    saved_xml = info.config_xml or info.xml
    saved = parse(saved_xml)
    if not new.uuid and saved.uuid:
        # XML without a UUID means this network (libvirt would refuse it as another one).
        new.uuid = saved.uuid
        new_xml = to_xml(new, base=new_xml)
    running_differs = info.active and not runs_as_saved(info.xml, saved_xml)
    if already_defined(saved, new):
        if params.get("restart") and running_differs:
            gateway.restart_network(uri, name)
            return f"{name} already had this definition saved; restarted it to apply it."
        return f"{name} already has this definition; nothing to do."
    _refuse_if_changed_since(job, saved, params.get("base_xml", ""))
    plan = plan_update(comparable(saved), comparable(new), base=saved_xml)
    reasons = list(plan.restart_reasons)
    if _unmodelled_changes(new, new_xml, saved_xml):
        reasons.append("parts of the XML that vnetweb does not model")
    if info.active and not reasons and not running_differs:
        updates = _live_updates(params, plan.updates)
        gateway.update_network(uri, name, updates, live=True)
        return f"Changed {name} while it runs ({_count(updates)}), without a restart."
    return _redefine(job, new_xml, saved_xml, active=info.active, reasons=reasons)


def _refuse_if_changed_since(job: Job, saved: NetworkSpec, base_xml: str) -> None:
    """The edit was made on `base_xml`: applied onto anything else it would undo someone's work."""
    try:
        base = parse(base_xml)
    except SpecXMLError:
        base = None
    if base is None or not same_spec(saved, base):
        raise Refused(
            f"{job.target} was changed on the host since the editor was opened; nothing was "
            "changed. Open the editor again to start from its current definition."
        )


def _redefine(job: Job, new_xml: str, old_xml: str, *, active: bool, reasons: list[str]) -> str:
    """Save the new definition; a running network takes it at a restart (now, if asked)."""
    name, uri = job.target, job.host.uri
    gateway.define_network(uri, new_xml)
    if not active:
        return f"Saved {name}; it takes effect when {name} starts."
    if job.params.get("restart"):
        try:
            gateway.restart_network(uri, name)
        except gateway.GatewayError as exc:
            _put_back(job, old_xml, exc)
        return f"Saved and restarted {name}."
    why = ", ".join(reasons) or "it still runs an older definition"
    return f"Saved {name}; restart needed: it runs with its old settings until then ({why})."


def _put_back(job: Job, old_xml: str, error: gateway.GatewayError) -> None:
    """The new definition did not start: bring back the old one, running, and say so."""
    name, uri = job.target, job.host.uri
    gateway.define_network(uri, old_xml)
    try:
        gateway.start_network(uri, name)
    except gateway.GatewayError as again:
        raise gateway.GatewayError(
            f"{error.message} The previous definition was saved again, but {name} did not "
            f"start with it either: {again.message}"
        ) from error
    raise gateway.GatewayError(
        f"{error.message} The previous definition was put back and {name} runs with it."
    ) from error


def _live_updates(params: dict, planned: list[LiveUpdate]) -> list[LiveUpdate]:
    """The updates the person reviewed (the job's "live" list), else those planned here."""
    if not params.get("live"):
        return planned
    return [
        LiveUpdate(u["section"], u["command"], u["xml"], int(u.get("parent_index", -1)))
        for u in params["live"]
    ]


def _count(updates: list[LiveUpdate]) -> str:
    return "1 change" if len(updates) == 1 else f"{len(updates)} changes"


def _canonical(xml: str) -> bytes:
    parser = etree.XMLParser(remove_blank_text=True, resolve_entities=False, no_network=True)
    root = etree.fromstring(xml.encode(), parser)
    for el in root.iter():
        el.attrib.pop("connections", None)  # live state, not configuration
        if el.text is not None and not el.text.strip():
            el.text = None
        el.tail = None
    return etree.tostring(root, method="c14n")


def _unmodelled_changes(new: NetworkSpec, new_xml: str, saved_xml: str) -> bool:
    """Whether `new_xml` changes more than the spec models (say a <tftp> typed in the XML
    editor): only a define saves that, and only a restart is sure to apply it."""
    try:
        return _canonical(to_xml(new, base=saved_xml)) != _canonical(new_xml)
    except (etree.XMLSyntaxError, SpecXMLError):
        return True
