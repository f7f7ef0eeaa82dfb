from django.contrib import admin

from networks.models import Host, Job, Lease, Network


@admin.register(Host)
class HostAdmin(admin.ModelAdmin):
    list_display = ["name", "uri", "reachable", "libvirt_version", "last_seen"]
    readonly_fields = [
        "reachable",
        "last_error",
        "hostname",
        "libvirt_version",
        "hypervisor",
        "hypervisor_version",
        "cpu_model",
        "cpus",
        "memory_kib",
        "last_checked",
        "last_seen",
    ]


@admin.register(Network)
class NetworkAdmin(admin.ModelAdmin):
    # Read-only mirror of libvirt: changes go through jobs, never through the admin.
    list_display = ["name", "host", "mode", "active", "autostart", "bridge", "ipv4", "last_seen"]
    list_filter = ["host", "mode", "active"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ["created", "username", "host", "operation", "target", "state", "message"]
    list_filter = ["state", "operation", "host"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_add_permission(self, request) -> bool:
        return False


admin.site.register(Lease)
