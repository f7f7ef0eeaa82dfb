"""First-run set-up, safe to repeat: the first admin, the local host and the demo host.

What it makes comes from settings (VNETWEB_ADMIN_USER, VNETWEB_ADMIN_PASSWORD, VNETWEB_LOCAL_URI,
VNETWEB_DEMO_HOST), which read the variables of the same names."""

import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from networks import host_uri
from networks.models import Host
from networks.roles import Role
from vnetweb.private_files import write_private

DEMO_XML = Path(__file__).resolve().parents[2] / "demo" / "demo-host.xml"


class Command(BaseCommand):
    help = "Create the first admin and register the local and demo hosts (idempotent)."

    def handle(self, *args, **options) -> None:
        with transaction.atomic():
            self._admin()
            self._host("local", settings.VNETWEB_LOCAL_URI, "This machine")
            if settings.VNETWEB_DEMO_HOST:
                self._host(
                    "demo",
                    f"test://{DEMO_XML}",
                    "Demo host on libvirt's test driver (state resets when its worker restarts)",
                )

    def _admin(self) -> None:
        User = get_user_model()
        username = settings.VNETWEB_ADMIN_USER
        password_file = settings.DATA_DIR / "initial-admin-password"
        if User.objects.filter(is_superuser=True).exists():
            self._remind(User.objects.filter(username=username).first(), password_file)
            return
        password = settings.VNETWEB_ADMIN_PASSWORD
        generated = not password
        if generated:
            password = secrets.token_urlsafe(12)
        user = User.objects.create_superuser(username=username, email="", password=password)
        user.groups.add(Group.objects.get(name=Role.ADMIN.group))
        if generated:
            # 0600 from the start; a file left from an earlier database is replaced, not reused.
            write_private(password_file, password + "\n", replace=True)
            self.stdout.write(
                self.style.SUCCESS(f"Created admin {username!r} with password: {password}")
                + f"\n(also kept in {password_file}; change it under Password once logged in)"
            )
        else:
            self.stdout.write(f"Created admin {username!r} with VNETWEB_ADMIN_PASSWORD.")

    def _remind(self, user, password_file: Path) -> None:
        """Repeat the generated login while it still works; forget it once it was changed."""
        if user is None:
            self.stdout.write("Admin: an admin exists (not the VNETWEB_ADMIN_USER one).")
            return
        if password_file.exists():
            password = password_file.read_text().strip()
            if user.check_password(password):
                self.stdout.write(f"Login: {user.username} / {password}")
                return
            password_file.unlink()  # changed since: the file would only mislead
        self.stdout.write(f"Login: {user.username} with the password you set.")

    def _host(self, name: str, uri: str, description: str) -> None:
        # The same rule as the host form's: the worker would refuse the URI anyway, later.
        refused = host_uri.refusal(uri)
        if refused:
            raise CommandError(f"Host {name}: {uri!r} is refused. {refused}")
        host, created = Host.objects.get_or_create(
            name=name, defaults={"uri": uri, "description": description}
        )
        if not created and name == "demo" and host.uri != uri:
            # The checkout moved: the demo host's file path is part of its URI.
            host.uri = uri
            host.save(update_fields=["uri"])
        self.stdout.write(f"Host {name}: {host.uri}" + (" (added)" if created else ""))
