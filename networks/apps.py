from django.apps import AppConfig
from django.db.models.signals import post_migrate


class NetworksConfig(AppConfig):
    name = "networks"
    verbose_name = "Virtual networks"

    def ready(self) -> None:
        from networks.roles import grant_admin_permissions

        # Permissions exist only after every app migrated, hence post_migrate, not a migration.
        post_migrate.connect(grant_admin_permissions, sender=self)
