"""The one place that decides who may see and do what.

Roles are Django groups (made by a migration): viewer < operator < admin. Superusers are admins.
Views fetch hosts and networks only through these helpers, so a later per-host or per-network
role only has to change this file.
"""

from enum import IntEnum

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from networks.models import AuditEntry, Guest, Host, Job, Network


class Role(IntEnum):
    NONE = 0
    VIEWER = 1
    OPERATOR = 2
    ADMIN = 3


ROLE_GROUPS = {"viewer": Role.VIEWER, "operator": Role.OPERATOR, "admin": Role.ADMIN}


def role_of(user: AbstractBaseUser | AnonymousUser) -> Role:
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


def visible_hosts(user) -> QuerySet[Host]:
    return Host.objects.all() if role_of(user) >= Role.VIEWER else Host.objects.none()


def visible_networks(user) -> QuerySet[Network]:
    return Network.objects.filter(host__in=visible_hosts(user))


def visible_jobs(user) -> QuerySet[Job]:
    return Job.objects.filter(host__in=visible_hosts(user))


def get_host(user, name: str) -> Host:
    try:
        return visible_hosts(user).get(name=name)
    except Host.DoesNotExist:
        raise Http404("No such host") from None


def get_network(user, host_name: str, name: str) -> Network:
    try:
        return visible_networks(user).select_related("host").get(host__name=host_name, name=name)
    except Network.DoesNotExist:
        raise Http404("No such network") from None


def visible_audit(user) -> QuerySet[AuditEntry]:
    """Entries about the hosts the user can see; admins also see those of removed hosts."""
    role = role_of(user)
    if role >= Role.ADMIN:
        return AuditEntry.objects.all()
    if role < Role.VIEWER:
        return AuditEntry.objects.none()
    names = visible_hosts(user).values_list("name", flat=True)
    return AuditEntry.objects.filter(host_name__in=names)


def visible_guests(user) -> QuerySet[Guest]:
    return Guest.objects.filter(host__in=visible_hosts(user))


def get_guest(user, host_name: str, name: str) -> Guest:
    try:
        return visible_guests(user).select_related("host").get(host__name=host_name, name=name)
    except Guest.DoesNotExist:
        raise Http404("No such guest") from None


def can_operate(user, network: Network | None = None) -> bool:
    """Start, stop, autostart (and later attach guests)."""
    return role_of(user) >= Role.OPERATOR


def can_administer(user, host: Host | None = None) -> bool:
    """Hosts, users, and (later) defining and deleting networks."""
    return role_of(user) >= Role.ADMIN


def require_operate(user, network: Network | None = None) -> None:
    if not can_operate(user, network):
        raise PermissionDenied("Your role may not change this network.")


def require_administer(user, host: Host | None = None) -> None:
    if not can_administer(user, host):
        raise PermissionDenied("Only admins may change hosts.")
