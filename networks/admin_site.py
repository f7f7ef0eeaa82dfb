"""What the *admin* role means inside Django's admin site.

vnetweb's own pages ask networks.permissions. Django's admin asks for `is_staff` and model
permissions instead; this site and the permissions granted after migrating make a member of the
admin group an admin there too, without ticking "staff status" and a list of permissions for each.
"""

from django.contrib.admin import AdminSite
from django.contrib.admin.apps import AdminConfig
from django.http import HttpRequest

from networks.roles import Role

# Users and groups (to hand out roles), hosts; the network mirror and jobs are read-only.
ADMIN_MODELS = {
    ("auth", "user"): ("add", "change", "delete", "view"),
    ("auth", "group"): ("view", "change"),
    ("networks", "host"): ("add", "change", "delete", "view"),
    ("networks", "network"): ("view",),
    ("networks", "job"): ("view",),
    ("networks", "lease"): ("view",),
    ("networks", "guest"): ("view",),
    ("networks", "auditentry"): ("view",),
}


def grant_admin_permissions(**_kwargs) -> None:
    from django.contrib.auth.models import Group, Permission

    group, _ = Group.objects.get_or_create(name=Role.ADMIN.group)
    for (app_label, model), actions in ADMIN_MODELS.items():
        codenames = [f"{action}_{model}" for action in actions]
        group.permissions.add(
            *Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames)
        )


class VnetwebAdminSite(AdminSite):
    site_header = "vnetweb administration"

    def has_permission(self, request: HttpRequest) -> bool:
        from networks.permissions import role_of

        return request.user.is_active and role_of(request.user) >= Role.ADMIN


class VnetwebAdminConfig(AdminConfig):
    """Installed instead of django.contrib.admin, so that `admin.site` is a VnetwebAdminSite."""

    default_site = "networks.admin_site.VnetwebAdminSite"
