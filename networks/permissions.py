"""The one place that decides who may see and do what.

Global roles are Django groups (made by a migration): viewer < operator < admin; superusers are
admins. Grants (networks.models.Grant) add a role on one host, or on the networks of a host whose
names match a pattern. The role on an object is the highest that applies:

- on a host: the global role, or a whole-host grant on it;
- on a network: that, or a grant on its host whose pattern matches its name;
- on a guest: the role on its host. A guest is not inside one network (its NICs may sit on
  several, and connecting it changes which), so a per-network grant gives no guest: seeing,
  attaching or moving a guest's NICs needs a whole-host grant or a global role.

Creating switches needs admin on the host; adding, editing and removing hosts and managing users
need the global admin role. Views fetch every host, network, guest, job, lease and audit entry
through these helpers (404 when it is not visible, 403 when it may not be changed).
"""

import logging
import re
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import Q, QuerySet
from django.http import Http404

from networks.models import AuditEntry, Grant, Guest, Host, Job, Lease, Network
from networks.operations import OPERATIONS, Operation
from networks.roles import ROLE_GROUPS, Role

# A pattern may hold what a network name may hold, and the wildcards * and ?.
PATTERN = re.compile(r"[^\s,/]+\Z")

log = logging.getLogger(__name__)


def role_of(user: AbstractBaseUser | AnonymousUser) -> Role:
    """The user's global role (its groups), whatever its grants."""
    if not user.is_authenticated or not user.is_active:
        return Role.NONE
    if user.is_superuser:
        return Role.ADMIN
    cached = getattr(user, "_vnetweb_role", None)
    if cached is None:
        names = user.groups.filter(name__in=ROLE_GROUPS).values_list("name", flat=True)
        cached = max((ROLE_GROUPS[name] for name in names), default=Role.NONE)
        user._vnetweb_role = cached
    return cached


# --- grants ------------------------------------------------------------------------------------


def grant_patterns(networks: str) -> tuple[str, ...] | None:
    """The patterns of a grant's `networks` field; None when it is blank: the whole host.
    Raises ValueError, in words, for a part that is not a pattern. An empty part is one of them:
    `,` or `lab-*,,` must not read as blank, which would be a grant on the whole host."""
    if not networks.strip():
        return None
    patterns = tuple(part.strip() for part in networks.split(","))
    for pattern in patterns:
        if not pattern:
            raise ValueError(
                "An empty pattern between commas names no network "
                "(leave the field blank for the whole host)."
            )
        if not PATTERN.match(pattern):
            raise ValueError(
                f"{pattern!r} is not a pattern of network names: names with * and ?, "
                "separated by commas (lab-*, web?)."
            )
    return patterns


def _literal(segment: str) -> str:
    # Letters, digits and _ as they are, ? any one character, everything else escaped.
    return "".join("." if c == "?" else c if c.isalnum() or c == "_" else "\\" + c for c in segment)


def glob_regex(pattern: str, linear: bool = True) -> str:
    """A shell pattern as an anchored regex: * any run, ? any one character.

    Read naively (`.*` for each *), `*a*a*a…b` makes a backtracking engine (Python's re, which
    is SQLite's REGEXP too) try every way to share a name among the stars: seconds for one name.
    The `linear` form puts each middle part at its first place after the one before, in an atomic
    group that is never tried again; that first place is always a right one, since the parts
    have fixed lengths and putting them early only leaves more room for the rest. Python's re
    reads it in time linear in name length times pattern length. PostgreSQL's engine (automata,
    no backtracking) has no atomic groups and needs no help: there `linear=False`."""
    if "*" not in pattern:
        return "^" + _literal(pattern) + "$"
    first, *middle, last = pattern.split("*")
    parts = [part for part in middle if part]
    if not linear:
        runs = [first, *parts, last]
        return "^" + ".*".join(_literal(part) for part in runs) + "$"
    body = "".join(f"(?>.*?{_literal(part)})" for part in parts)
    return "^" + _literal(first) + body + ".*" + _literal(last) + "$"


def db_glob_regex(pattern: str) -> str:
    """The regex for the database's own REGEXP: SQLite's is Python's re."""
    return glob_regex(pattern, linear=connection.vendor == "sqlite")


def matches(pattern: str, name: str) -> bool:
    return re.match(glob_regex(pattern), name) is not None


@dataclass(frozen=True)
class _Grant:
    host_id: int
    role: Role
    whole_host: bool
    patterns: tuple[str, ...]  # () for the whole host


def _grants(user) -> list[_Grant]:
    """The user's grants, read once per request (kept on the user object, like role_of)."""
    if not user.is_authenticated or not user.is_active:
        return []
    cached = getattr(user, "_vnetweb_grants", None)
    if cached is None:
        rows = Grant.objects.filter(user=user).values_list("pk", "host_id", "role", "networks")
        cached = [grant for row in rows if (grant := _read_grant(*row))]
        user._vnetweb_grants = cached
    return cached


def _read_grant(pk: int, host_id: int, role: str, networks: str) -> _Grant | None:
    """A grant as stored, checked again as the form checks it: one that the form would refuse
    (saved before that check, or by hand) gives nothing, never the whole host."""
    try:
        patterns = grant_patterns(networks)
        if role not in ROLE_GROUPS:
            raise ValueError(f"{role!r} is not a role.")
    except ValueError as exc:
        log.warning("Grant %s is ignored: %s", pk, exc)
        return None
    return _Grant(host_id, ROLE_GROUPS[role], patterns is None, patterns or ())


def has_any_access(user) -> bool:
    """Whether the user sees anything at all (a global role or a grant)."""
    return role_of(user) >= Role.VIEWER or bool(_grants(user))


def _host_id(host: Host | int) -> int:
    return host if isinstance(host, int) else host.pk


def role_on_host(user, host: Host | int) -> Role:
    host_id, role = _host_id(host), role_of(user)
    for grant in _grants(user):
        if grant.host_id == host_id and grant.whole_host and grant.role > role:
            role = grant.role
    return role


def role_on_network(user, network) -> Role:
    """`network`: a Network, or anything with host_id and name (a row of values())."""
    role = role_on_host(user, network.host_id)
    for grant in _grants(user):
        if (
            grant.host_id == network.host_id
            and grant.role > role
            and any(matches(p, network.name) for p in grant.patterns)
        ):
            role = grant.role
    return role


def _hosts_with(user, least: Role) -> set[int]:
    """Ids of the hosts where the user's whole-host role is at least `least` by a grant."""
    return {g.host_id for g in _grants(user) if g.whole_host and g.role >= least}


def _pattern_q(user, least: Role, host: str = "host_id", name: str = "name") -> Q:
    """Rows matching one of the user's pattern grants of at least `least` (never all rows)."""
    q = Q(pk__in=[])
    for grant in _grants(user):
        if not grant.whole_host and grant.role >= least:
            for pattern in grant.patterns:
                q |= Q(**{host: grant.host_id, f"{name}__regex": db_glob_regex(pattern)})
    return q


# --- what a user sees --------------------------------------------------------------------------


def visible_hosts(user) -> QuerySet[Host]:
    """Hosts the user sees at least partly: all for a global role, else those with a grant."""
    if role_of(user) >= Role.VIEWER:
        return Host.objects.all()
    return Host.objects.filter(pk__in={g.host_id for g in _grants(user)})


def whole_hosts(user) -> QuerySet[Host]:
    """Hosts the user sees whole (guests, every network, the host's own jobs)."""
    if role_of(user) >= Role.VIEWER:
        return Host.objects.all()
    return Host.objects.filter(pk__in=_hosts_with(user, Role.VIEWER))


def networks_q(user, least: Role = Role.VIEWER) -> Q | None:
    """A filter on Network of those where the user's role is at least `least`; None for all."""
    if role_of(user) >= least:
        return None
    return Q(host_id__in=_hosts_with(user, least)) | _pattern_q(user, least)


def sees_whole(user, host: Host | int) -> bool:
    """Whether the user sees the host whole: its guests, all its networks and jobs."""
    return role_on_host(user, host) >= Role.VIEWER


def visible_networks(user) -> QuerySet[Network]:
    q = networks_q(user)
    return Network.objects.all() if q is None else Network.objects.filter(q)


def visible_leases(user) -> QuerySet[Lease]:
    """The leases of the networks the user sees; unfiltered for whoever sees every network."""
    q = networks_q(user)
    return (
        Lease.objects.all()
        if q is None
        else Lease.objects.filter(network__in=Network.objects.filter(q))
    )


def seen_network_ids(user) -> set[int] | None:
    """The ids of the networks the user sees; None when it sees every network."""
    q = networks_q(user)
    return None if q is None else set(Network.objects.filter(q).values_list("pk", flat=True))


def visible_jobs(user) -> QuerySet[Job]:
    """Jobs of whole hosts; for per-network grants, the jobs of the networks seen."""
    if role_of(user) >= Role.VIEWER:
        return Job.objects.all()
    return Job.objects.filter(
        Q(host_id__in=_hosts_with(user, Role.VIEWER))
        | Q(network__in=Network.objects.filter(_pattern_q(user, Role.VIEWER)))
    )


def visible_guests(user) -> QuerySet[Guest]:
    return Guest.objects.filter(host__in=whole_hosts(user))


def visible_audit(user) -> QuerySet[AuditEntry]:
    """Entries about the hosts the user sees whole, and for per-network grants about the networks
    it sees; global admins also see those of removed hosts and of users."""
    role = role_of(user)
    if role >= Role.ADMIN:
        return AuditEntry.objects.all()
    # Who was granted what is for admins only, even when it names a host others see.
    entries = AuditEntry.objects.exclude(action__startswith="grant-")
    if role >= Role.VIEWER:
        return entries.filter(host_name__in=Host.objects.values("name"))
    hosts = _hosts_with(user, Role.VIEWER)
    patterns = _pattern_q(user, Role.VIEWER, host="host_id", name="network_name")
    return entries.filter(Q(host_id__in=hosts) | (patterns & ~Q(network_name="")))


def visible_network_ids(user) -> tuple[set[int] | None, set[int] | None]:
    """For the live stream: (hosts seen whole, networks seen on the other hosts); None for all."""
    if role_of(user) >= Role.VIEWER:
        return None, None
    whole = _hosts_with(user, Role.VIEWER)
    partly = Network.objects.filter(_pattern_q(user, Role.VIEWER)).exclude(host_id__in=whole)
    return whole, set(partly.values_list("pk", flat=True))


def get_host(user, name: str) -> Host:
    try:
        return visible_hosts(user).get(name=name)
    except Host.DoesNotExist:
        raise Http404("No such host") from None


def get_whole_host(user, name: str) -> Host:
    """A host the user sees whole (its guests): 404 for one seen only through network grants."""
    try:
        return whole_hosts(user).get(name=name)
    except Host.DoesNotExist:
        raise Http404("No such host") from None


def get_network(user, host_name: str, name: str) -> Network:
    try:
        return visible_networks(user).select_related("host").get(host__name=host_name, name=name)
    except Network.DoesNotExist:
        raise Http404("No such network") from None


def get_guest(user, host_name: str, name: str) -> Guest:
    try:
        return visible_guests(user).select_related("host").get(host__name=host_name, name=name)
    except Guest.DoesNotExist:
        raise Http404("No such guest") from None


# --- what a user may change --------------------------------------------------------------------


def role_on(user, obj: Host | Network | Guest | None) -> Role:
    """The role on a host, a network (or a row of one), a guest (its host's); None: global."""
    if obj is None:
        return role_of(user)
    if isinstance(obj, Host):
        return role_on_host(user, obj)
    if isinstance(obj, Guest):
        return role_on_host(user, obj.host_id)
    return role_on_network(user, obj)


def can_operate(user, obj: Host | Network | Guest) -> bool:
    """Start, stop, autostart, static hosts (a network); probe, guests' NICs (a host, a guest)."""
    return role_on(user, obj) >= Role.OPERATOR


def can_administer(user, obj: Host | Network) -> bool:
    """Create, edit as a whole and delete switches (on this host, or this network)."""
    return role_on(user, obj) >= Role.ADMIN


def hosts_to_create_on(user) -> QuerySet[Host]:
    """The hosts where the user may create switches (as `can_administer` says of each host):
    all for a global admin, else those of a whole-host admin grant. A per-network admin grant
    gives none: a new switch's name is not known before it is created."""
    if role_of(user) >= Role.ADMIN:
        return Host.objects.all()
    return Host.objects.filter(pk__in=_hosts_with(user, Role.ADMIN))


def may_create_switches(user) -> bool:
    """Whether `hosts_to_create_on` can name a host, without asking the database: a global admin
    (who may add the first host), or a whole-host admin grant."""
    return role_of(user) >= Role.ADMIN or bool(_hosts_with(user, Role.ADMIN))


def is_site_admin(user) -> bool:
    """Hosts themselves (add, edit, remove) and users: the global admin role only."""
    return role_of(user) >= Role.ADMIN


def require_operate(user, obj: Host | Network | Guest) -> None:
    if not can_operate(user, obj):
        raise PermissionDenied("Your role may not change this.")


def require_administer(user, obj: Host | Network) -> None:
    if not can_administer(user, obj):
        raise PermissionDenied("Only admins of this host may do this.")


def require_site_admin(user) -> None:
    if not is_site_admin(user):
        raise PermissionDenied("Only admins may do this.")


# --- operations ----------------------------------------------------------------------------------


def allowed(user, op: Operation, obj=None, role: Role | None = None) -> bool:
    """Whether the user's role on `obj` (a network, host or guest; None: the global role)
    reaches `role` (by default the operation's own)."""
    return role_on(user, obj) >= (role if role is not None else op.role)


def require(user, op: Operation, obj=None, role: Role | None = None) -> None:
    """PermissionDenied unless the user's role on `obj` reaches `role` (or the operation's)."""
    if not allowed(user, op, obj, role):
        raise PermissionDenied(f"Your role may not {op.label.lower()} here.")


def buttons(network, user) -> list[Operation]:
    """The buttons for this network (a Network, or a row with host_id and name): operations that
    make sense now and that the user's role on this network allows."""
    role = role_on(user, network)
    return [op for op in OPERATIONS if op.button and role >= op.role and op.available(network)]
