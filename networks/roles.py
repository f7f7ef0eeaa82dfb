"""What the *admin* role means inside Django's admin site.

vnetweb's own pages ask networks.permissions. Django's admin asks for `is_staff` and model
permissions instead; these hooks make a member of the admin group an admin there too, without
having to remember to tick "staff status" and a list of permissions for each one.
"""

from django.contrib import admin
from django.http import HttpRequest

# Users and groups (to hand out roles), hosts; the network mirror and jobs are read-only.
ADMIN_MODELS = {
    ("auth", "user"): ("add", "change", "delete", "view"),
    ("auth", "group"): ("view", "change"),
    ("networks", "host"): ("add", "change", "delete", "view"),
    ("networks", "network"): ("view",),
    ("networks", "job"): ("view",),
    ("networks", "lease"): ("view",),
}


def grant_admin_permissions(**_kwargs) -> None:
    from django.contrib.auth.models import Group, Permission

    group, _ = Group.objects.get_or_create(name="admin")
    for (app_label, model), actions in ADMIN_MODELS.items():
        codenames = [f"{action}_{model}" for action in actions]
        group.permissions.add(
            *Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames)
        )


def install_admin_site_check() -> None:
    from networks.permissions import Role, role_of

    def has_permission(request: HttpRequest) -> bool:
        return request.user.is_active and role_of(request.user) >= Role.ADMIN

    admin.site.has_permission = has_permission
