"""The three roles as Django groups. What each may do is decided in networks/permissions.py."""

from django.db import migrations

ROLES = ["viewer", "operator", "admin"]


def create_roles(apps, schema_editor) -> None:
    Group = apps.get_model("auth", "Group")
    for name in ROLES:
        Group.objects.get_or_create(name=name)


class Migration(migrations.Migration):
    dependencies = [("networks", "0001_initial"), ("auth", "0012_alter_user_first_name_max_length")]

    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
