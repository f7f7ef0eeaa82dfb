"""Users, their global role and their grants: global admins only, without the Django admin.

Each change leaves an audit entry (networks.audit.record). A new password ends the user's other
sessions (Django's session hash), and a deactivated user is logged out at its next request.

The role and grant forms carry the version of the role and grants the page showed
(networks.stale.access): a change made on a page drawn before another admin's is refused (409)
with what changed since; revoking a grant someone revoked meanwhile says so and changes nothing.

The changes themselves are plain functions (add_user, set_active, set_password, change_role,
add_grant, revoke_grant, unlock) that the API (networks.api.users) calls too; a refusal is an
exception carrying the page's words (Refused and its kinds).
"""

from axes.handlers.proxy import AxesProxyHandler
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.models import Group, User
from django.db import transaction
from django.db.models import Prefetch, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from networks import audit, permissions, tokens
from networks.forms.users import GrantForm, PasswordForm, RoleForm, UserAddForm
from networks.models import ApiToken, Grant
from networks.roles import ROLE_GROUPS, Role
from networks.stale import access
from networks.views.tokens import back_to

INVALID = 422  # a form with field errors comes back with them, as the switch editor does
CONFLICT = 409  # made on a page older than another admin's change: nothing changed


class Refused(Exception):
    """A change refused in words; nothing was changed."""


class StaleAccess(Refused):
    """The role or grants changed since the version the change was made from (409)."""


class GrantGone(Refused):
    """The grant to revoke is not there (any more): what was asked for holds already."""


def _admin(request: HttpRequest) -> None:
    permissions.require_site_admin(request.user)


def global_role(user: User) -> str:
    """The global role as the pages show it: a group's name ("admin (superuser)"), "" for none."""
    if user.is_superuser:
        return f"{Role.ADMIN.group} (superuser)"
    names = [g.name for g in user.groups.all() if g.name in ROLE_GROUPS]
    return max(names, key=ROLE_GROUPS.get, default="")


def _set_role(user: User, role: str) -> None:
    user.groups.remove(*Group.objects.filter(name__in=ROLE_GROUPS))
    if role:
        user.groups.add(Group.objects.get_or_create(name=role)[0])


@require_GET
def user_list(request: HttpRequest) -> HttpResponse:
    _admin(request)
    grants = Prefetch("grants", queryset=Grant.objects.select_related("host"))
    users = User.objects.order_by("username").prefetch_related("groups", grants)
    rows = [(user, global_role(user)) for user in users]
    return render(request, "users/list.html", {"rows": rows})


def add_user(by: User, form: UserAddForm) -> User:
    """Save a valid UserAddForm: the user, its global role and the audit entry."""
    with transaction.atomic():
        user = form.save()
        _set_role(user, form.cleaned_data["role"])
        role = form.cleaned_data["role"] or "no global role"
        audit.record(by, "user-add", message=f"{user.username}: {role}")
    return user


def set_active(by: User, user: User, active: bool) -> None:
    """(De)activate the user; Refused for an admin deactivating itself (it would lock itself
    out). Nothing is recorded when the user is so already."""
    if user == by and not active:
        raise Refused("You cannot deactivate yourself.")
    if user.is_active != active:
        with transaction.atomic():
            user.is_active = active
            user.save(update_fields=["is_active"])
            word = "user-reactivate" if active else "user-deactivate"
            audit.record(by, word, message=user.username)


def set_password(by: User, form: PasswordForm) -> None:
    """Save a valid PasswordForm: a new session hash ends the user's sessions."""
    with transaction.atomic():
        form.save()
        audit.record(by, "user-password", message=form.user.username)


def role_form(user: User, data) -> RoleForm:
    """The role form on `data`, refusing a role for a superuser (an admin whatever its groups)."""
    form = RoleForm(data)
    if form.is_valid() and user.is_superuser:
        form.add_error("role", "A superuser is an admin whatever its groups.")
    return form


def _refuse_stale(user: User, seen: str) -> None:
    """StaleAccess when the role or grants changed since version `seen`, with the user's row
    locked until the caller's transaction ends: of two changes made at once from the same
    version, the second is refused."""
    User.objects.select_for_update().filter(pk=user.pk).first()
    if stale := access.refusal(user, global_role(user), seen):
        raise StaleAccess(stale)


def change_role(by: User, user: User, role: str, seen: str) -> None:
    """Set the user's global role (checked by role_form) unless stale (StaleAccess)."""
    with transaction.atomic():
        _refuse_stale(user, seen)
        before = global_role(user)
        _set_role(user, role)
        audit.record(by, "user-role", message=f"{user.username}: {before} -> {role}")


def add_grant(by: User, user: User, form: GrantForm, seen: str) -> Grant:
    """Save a valid GrantForm's grant for the user unless stale (StaleAccess)."""
    with transaction.atomic():
        _refuse_stale(user, seen)
        grant = form.save(commit=False)
        grant.user = user
        grant.save()
        audit.record(by, "grant-add", host=grant.host, message=f"{user.username}: {grant}")
    return grant


def revoke_grant(by: User, user: User, grant: int, seen: str) -> Grant:
    """Revoke the user's grant `grant`: GrantGone when it is not there (saying by whom it was
    revoked), StaleAccess when the role or grants changed since version `seen`."""
    with transaction.atomic():
        found = Grant.objects.select_related("host").filter(pk=grant, user=user).first()
        if found is None:
            raise GrantGone(access.already_revoked(user, seen))
        _refuse_stale(user, seen)
        audit.record(by, "grant-revoke", host=found.host, message=f"{user.username}: {found}")
        found.delete()
    return found


def unlock(by: User, user: User) -> None:
    """Forget the failed logins with the user's name, from every address."""
    with transaction.atomic():
        forgotten = AxesProxyHandler.reset_attempts(username=user.get_username())
        plural = "" if forgotten == 1 else "s"
        message = f"{user.username}: {forgotten} failed-login record{plural} cleared"
        audit.record(by, "user-unlock", message=message)


@require_http_methods(["GET", "POST"])
def user_add(request: HttpRequest) -> HttpResponse:
    _admin(request)
    form = UserAddForm(request.POST or None)
    if request.method == "POST":
        if not form.is_valid():
            return render(request, "users/add.html", {"form": form}, status=INVALID)
        user = add_user(request.user, form)
        messages.success(request, f"User {user.username} created.")
        return redirect("user-detail", user.pk)
    return render(request, "users/add.html", {"form": form})


def failed_logins(user: User) -> int:
    """The failed logins with the user's name that still count (django-axes' records)."""
    since = timezone.now() - settings.AXES_COOLOFF_TIME
    attempts = AccessAttempt.objects.filter(username=user.get_username(), attempt_time__gte=since)
    return attempts.aggregate(n=Sum("failures_since_start"))["n"] or 0


def _detail(request: HttpRequest, user: User, status: int = 200, **forms) -> HttpResponse:
    role = global_role(user)
    context = {
        "person": user,
        "failed_logins": failed_logins(user),
        "cool_off_minutes": int(settings.AXES_COOLOFF_TIME.total_seconds() // 60),
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "global_role": role,
        "grants": user.grants.select_related("host"),
        "tokens": user.api_tokens.all(),
        # What the role and grant forms send back, and why a revoke was refused.
        "access_version": access.access_version(user, role),
        "revoke_error": forms.get("revoke_error", ""),
        "grant_form": forms.get("grant_form") or GrantForm(),
        "password_form": forms.get("password_form") or PasswordForm(user),
        "role_form": forms.get("role_form") or RoleForm(initial={"role": role}),
    }
    return render(request, "users/detail.html", context, status=status)


def _user(request: HttpRequest, pk: int) -> User:
    _admin(request)
    return get_object_or_404(User, pk=pk)


def _seen(request: HttpRequest) -> str:
    """The version of the role and grants the page showed (networks.stale.access)."""
    return request.POST.get("version", "")


@require_GET
def user_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, _user(request, pk))


@require_POST
def user_active(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request, pk)
    active = request.POST.get("active") == "1"
    try:
        set_active(request.user, user, active)
    except Refused as exc:
        messages.error(request, str(exc))
        return redirect("user-detail", user.pk)
    messages.success(request, f"{user.username} is {'active' if active else 'deactivated'}.")
    return redirect("user-detail", user.pk)


@require_POST
def user_password(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request, pk)
    form = PasswordForm(user, request.POST)
    if not form.is_valid():
        return _detail(request, user, INVALID, password_form=form)
    set_password(request.user, form)
    messages.success(request, f"New password set for {user.username}; its sessions are ended.")
    return redirect("user-detail", user.pk)


@require_POST
def user_role(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request, pk)
    form = role_form(user, request.POST)
    if not form.is_valid():
        return _detail(request, user, INVALID, role_form=form)
    try:
        change_role(request.user, user, form.cleaned_data["role"], _seen(request))
    except StaleAccess as exc:
        form.add_error(None, str(exc))
        return _detail(request, user, CONFLICT, role_form=form)
    messages.success(request, f"{user.username}'s global role saved.")
    return redirect("user-detail", user.pk)


@require_POST
def grant_add(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request, pk)
    form = GrantForm(request.POST)
    if not form.is_valid():
        return _detail(request, user, INVALID, grant_form=form)
    try:
        grant = add_grant(request.user, user, form, _seen(request))
    except StaleAccess as exc:
        form.add_error(None, str(exc))
        return _detail(request, user, CONFLICT, grant_form=form)
    messages.success(request, f"{user.username} is now {grant}.")
    return redirect("user-detail", user.pk)


@require_POST
def grant_delete(request: HttpRequest, pk: int, grant: int) -> HttpResponse:
    user = _user(request, pk)
    try:
        found = revoke_grant(request.user, user, grant, _seen(request))
    except GrantGone as exc:  # what the admin asked for holds already: say by whom
        messages.info(request, str(exc))
        return redirect("user-detail", user.pk)
    except StaleAccess as exc:
        return _detail(request, user, CONFLICT, revoke_error=str(exc))
    messages.success(request, f"{user.username} is no longer {found}.")
    return redirect("user-detail", user.pk)


@require_POST
def user_unlock(request: HttpRequest, pk: int) -> HttpResponse:
    """Forget the failed logins with this user's name, from every address: a lock on the name
    ends at once. An address locked by failures with other names stays locked."""
    user = _user(request, pk)
    unlock(request.user, user)
    messages.success(request, f"{user.username} may log in again from every address.")
    return redirect("user-detail", user.pk)


@require_POST
def user_token_revoke(request: HttpRequest, pk: int, token: int) -> HttpResponse:
    """A site admin revokes one of the user's API tokens (a key that leaked, a script retired)."""
    user = _user(request, pk)
    found = get_object_or_404(ApiToken.objects.select_related("user"), pk=token, user=user)
    tokens.revoke(found, by=request.user)
    messages.success(request, f"{user.username}'s token {found.name} revoked.")
    return back_to(request, reverse("user-detail", args=[user.pk]))
