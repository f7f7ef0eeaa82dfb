from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User

from networks import audit, live
from networks.forms.hosts import HostForm
from networks.models import AuditEntry, Host, Job, Lease, Network


class LiveAdmin(admin.ModelAdmin):
    """Changes made here reach open pages too (networks.live), like those made through the site."""

    @staticmethod
    def announce(obj) -> None:
        if isinstance(obj, Host):
            live.publish(obj.pk)
        elif isinstance(obj, Network):
            live.publish(obj.host_id, networks=[obj.pk])
        elif isinstance(obj, Job):
            networks = [obj.network_id] if obj.network_id else []
            live.publish(obj.host_id, networks=networks, jobs=[obj.pk])

    def save_model(self, request, obj, form, change) -> None:
        before = (
            audit.settings_text(Host.objects.get(pk=obj.pk))
            if change and isinstance(obj, Host)
            else ""
        )
        super().save_model(request, obj, form, change)
        if isinstance(obj, Host):
            action = "host-edit" if change else "host-add"
            after = audit.settings_text(obj)
            audit.record(
                request.user,
                action,
                host=obj,
                before=before,
                after=after,
                message="In the Django admin.",
            )
        self.announce(obj)

    def delete_model(self, request, obj) -> None:
        self.announce(obj)  # sent after the commit, with the ids the pages know
        self.record_deletion(request, obj)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset) -> None:
        for obj in queryset:
            self.announce(obj)
            self.record_deletion(request, obj)
        super().delete_queryset(request, queryset)

    @staticmethod
    def record_deletion(request, obj) -> None:
        if isinstance(obj, Host):
            before = audit.settings_text(obj)
            audit.record(
                request.user, "host-delete", host=obj, before=before, message="In the Django admin."
            )


@admin.register(Host)
class HostAdmin(LiveAdmin):
    # The same checks of name and URI as the site's own host form (test:/// only for demo files).
    form = HostForm
    list_display = ["name", "uri", "reachable", "libvirt_version", "last_seen"]
    readonly_fields = list(Host.PROBED)


@admin.register(Network)
class NetworkAdmin(LiveAdmin):
    # Read-only mirror of libvirt: changes go through jobs, never through the admin.
    list_display = ["name", "host", "mode", "active", "autostart", "bridge", "ipv4", "last_seen"]
    list_filter = ["host", "mode", "active"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(Job)
class JobAdmin(LiveAdmin):
    list_display = ["created", "username", "host", "operation", "target", "state", "message"]
    list_filter = ["state", "operation", "host"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_add_permission(self, request) -> bool:
        return False


admin.site.register(Lease)


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Read only: the audit trail is written by vnetweb alone and never edited or deleted here
    (old entries are pruned by the VNETWEB_AUDIT_DAYS task)."""

    list_display = [
        "created",
        "username",
        "outside",
        "action",
        "host_name",
        "network_name",
        "result",
    ]
    list_filter = ["result", "outside", "action"]
    search_fields = ["username", "host_name", "network_name", "guest_name", "message"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class AuditedUserAdmin(UserAdmin):
    """Users changed in the Django admin are in the audit trail, as those changed on /users/."""

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        changed = ", ".join(form.changed_data) if change else ""
        message = f"In the Django admin: {obj.get_username()}" + (
            f" ({changed})" if changed else ""
        )
        audit.record(request.user, "user-edit" if change else "user-add", message=message)

    def delete_model(self, request, obj) -> None:
        audit.record(
            request.user, "user-delete", message=f"In the Django admin: {obj.get_username()}"
        )
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset) -> None:
        for obj in queryset:
            audit.record(
                request.user, "user-delete", message=f"In the Django admin: {obj.get_username()}"
            )
        super().delete_queryset(request, queryset)


admin.site.unregister(User)
admin.site.register(User, AuditedUserAdmin)
