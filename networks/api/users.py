"""Users, their global role and their grants: global admins only, as the user pages (403 for
everyone else, whatever the user asked for).

The changes are the pages' own functions and forms (networks.views.users, networks.forms.users),
so the messages, the audit entries and the stale check are theirs: a user's `version` (of its
role and grants, networks.stale.access) sent with a change refuses it (409) when another change
came first. No password or hash is ever answered; passwords are only sent (add, password).
"""

from datetime import datetime

from django import forms
from django.contrib.auth.models import User
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from ninja import Field, Query, Router, Schema, Status
from pydantic import ConfigDict

from networks import permissions
from networks.api.errors import Conflict, FieldErrors, responses
from networks.api.paging import Page, PageQuery, paged
from networks.forms.users import GrantForm, PasswordForm, UserAddForm
from networks.models import Grant, Host
from networks.roles import Role
from networks.stale.access import access_version
from networks.views import users as pages

router = Router()
VERSION = Field("", description="The user's version you saw; 409 when it is not current.")


class GrantOut(Schema):
    id: int
    url: str  # DELETE it to revoke the grant
    role: str  # viewer, operator or admin
    host: str
    networks: str  # patterns of network names; "" for the whole host
    created: datetime


class UserOut(Schema):
    id: int
    url: str  # this resource
    page: str  # the user's page in the browser
    username: str
    active: bool
    superuser: bool  # an admin whatever its role
    role: str  # the global role: viewer, operator, admin, or "" (grants only)
    grants: list[GrantOut]
    date_joined: datetime
    last_login: datetime | None


class UserDetailOut(UserOut):
    version: str  # of the role and grants: send it with a change to refuse a stale one (409)
    failed_logins: int  # failed logins with this name that still count (POST …/unlock/)


class UserIn(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "username": "dana",
                    "password1": "a-Long-pass-phrase-7",
                    "password2": "a-Long-pass-phrase-7",
                    "role": Role.VIEWER.group,
                }
            ]
        }
    )

    username: str
    password1: str
    password2: str  # the same again
    role: str = ""  # viewer, operator, admin, or "" for none


class RoleIn(Schema):
    role: str  # viewer, operator, admin, or "" for none
    version: str = VERSION


class ActiveIn(Schema):
    active: bool


class PasswordIn(Schema):
    new_password1: str
    new_password2: str  # the same again


class GrantIn(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"role": Role.OPERATOR.group, "host": "kvm1", "networks": "lab-*"}]
        }
    )

    role: str  # viewer, operator or admin
    host: str  # the host's name
    networks: str = ""  # patterns such as lab-*, web?; "" for the whole host
    version: str = VERSION


class VersionQuery(Schema):
    version: str = VERSION


class ApiGrantForm(GrantForm):
    """The page's grant form with the host named (the page's form chooses it by its id)."""

    host = forms.ModelChoiceField(queryset=Host.objects.all(), to_field_name="name")


def grant_out(grant: Grant) -> dict:
    return {
        "id": grant.pk,
        "url": reverse("api-v1:user-grant", args=[grant.user_id, grant.pk]),
        "role": grant.role,
        "host": grant.host.name,
        "networks": grant.networks,
        "created": grant.created,
    }


def user_out(user: User) -> dict:
    return {
        "id": user.pk,
        "url": reverse("api-v1:user", args=[user.pk]),
        "page": reverse("user-detail", args=[user.pk]),
        "username": user.username,
        "active": user.is_active,
        "superuser": user.is_superuser,
        "role": pages.global_role(user).removesuffix(" (superuser)"),
        "grants": [grant_out(grant) for grant in user.grants.all()],
        "date_joined": user.date_joined,
        "last_login": user.last_login,
    }


def detail_out(user: User) -> dict:
    user = _users().get(pk=user.pk)  # read again: the role and grants as they are now
    return {
        **user_out(user),
        "version": access_version(user, pages.global_role(user)),
        "failed_logins": pages.failed_logins(user),
    }


def _users():
    grants = Prefetch("grants", queryset=Grant.objects.select_related("host"))
    return User.objects.order_by("username").prefetch_related("groups", grants)


def _user(request: HttpRequest, user_id: int) -> User:
    """As the pages: a non-admin is refused (403) before the user is looked for."""
    permissions.require_site_admin(request.user)
    return get_object_or_404(User, pk=user_id)


def _valid(form: forms.BaseForm) -> forms.BaseForm:
    if not form.is_valid():
        raise FieldErrors.of_form(form)
    return form


@router.get("", response=responses({200: Page[UserOut]}), url_name="users")
def user_list(request: HttpRequest, query: Query[PageQuery]):
    """Every user, by name, with its global role and grants."""
    permissions.require_site_admin(request.user)
    return paged(_users(), query, lambda rows: [user_out(u) for u in rows])


@router.post("", response=responses({201: UserDetailOut}), url_name="user-add")
def user_add(request: HttpRequest, response: HttpResponse, payload: UserIn):
    """Add a user with a password (Django's validators) and a global role or none."""
    permissions.require_site_admin(request.user)
    user = pages.add_user(request.user, _valid(UserAddForm(payload.dict())))
    response["Location"] = reverse("api-v1:user", args=[user.pk])
    return Status(201, detail_out(user))


@router.get("{int:user_id}/", response=responses({200: UserDetailOut}), url_name="user")
def user_detail(request: HttpRequest, user_id: int):
    """One user: its role, grants, version and failed logins."""
    return detail_out(_user(request, user_id))


@router.put(
    "{int:user_id}/role/", response=responses({200: UserDetailOut}, 409), url_name="user-role"
)
def user_role(request: HttpRequest, user_id: int, payload: RoleIn):
    """Set the global role ("" for none; a superuser's cannot be set)."""
    user = _user(request, user_id)
    form = _valid(pages.role_form(user, payload.dict(exclude={"version"})))
    try:
        pages.change_role(request.user, user, form.cleaned_data["role"], payload.version)
    except pages.StaleAccess as exc:
        raise Conflict(str(exc)) from None
    return detail_out(user)


@router.post(
    "{int:user_id}/active/", response=responses({200: UserDetailOut}, 409), url_name="user-active"
)
def user_active(request: HttpRequest, user_id: int, payload: ActiveIn):
    """Deactivate a user (it is logged out at its next request; its tokens stop working) or
    activate it again. An admin cannot deactivate itself (409)."""
    user = _user(request, user_id)
    try:
        pages.set_active(request.user, user, payload.active)
    except pages.Refused as exc:
        raise Conflict(str(exc)) from None
    return detail_out(user)


@router.post(
    "{int:user_id}/password/", response=responses({200: UserDetailOut}), url_name="user-password"
)
def user_password(request: HttpRequest, user_id: int, payload: PasswordIn):
    """Set a new password (Django's validators): the user's sessions end."""
    user = _user(request, user_id)
    pages.set_password(request.user, _valid(PasswordForm(user, payload.dict())))
    return detail_out(user)


@router.post(
    "{int:user_id}/unlock/", response=responses({200: UserDetailOut}), url_name="user-unlock"
)
def user_unlock(request: HttpRequest, user_id: int):
    """Forget the failed logins with the user's name, from every address."""
    user = _user(request, user_id)
    pages.unlock(request.user, user)
    return detail_out(user)


@router.post(
    "{int:user_id}/grants/", response=responses({201: GrantOut}, 409), url_name="user-grants"
)
def grant_add(request: HttpRequest, response: HttpResponse, user_id: int, payload: GrantIn):
    """Grant a role on a host, or on its networks whose names match the patterns."""
    user = _user(request, user_id)
    form = _valid(ApiGrantForm(payload.dict(exclude={"version"})))
    try:
        grant = pages.add_grant(request.user, user, form, payload.version)
    except pages.StaleAccess as exc:
        raise Conflict(str(exc)) from None
    response["Location"] = reverse("api-v1:user-grant", args=[user.pk, grant.pk])
    return Status(201, grant_out(grant))


@router.delete(
    "{int:user_id}/grants/{int:grant}/",
    response=responses({204: None}, 409),
    url_name="user-grant",
)
def grant_delete(request: HttpRequest, user_id: int, grant: int, query: Query[VersionQuery]):
    """Revoke a grant (`?version=` refuses it when the role or grants changed since: 409). A
    grant that is not there is 404, saying who revoked it when the version tells."""
    user = _user(request, user_id)
    try:
        pages.revoke_grant(request.user, user, grant, query.version)
    except pages.GrantGone as exc:
        raise Http404(str(exc)) from None
    except pages.StaleAccess as exc:
        raise Conflict(str(exc)) from None
    return Status(204, None)
