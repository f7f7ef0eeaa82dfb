from django.apps import AppConfig
from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import post_migrate


class NetworksConfig(AppConfig):
    name = "networks"
    verbose_name = "Virtual networks"

    def ready(self) -> None:
        from networks.admin_site import grant_admin_permissions
        from vnetweb.idle import note_login

        # Permissions exist only after every app migrated, hence post_migrate, not a migration.
        post_migrate.connect(grant_admin_permissions, sender=self)
        user_logged_in.connect(note_login)
