"""NIC jobs' audit entries held the guest's whole <domain> XML, shown to every viewer of the
network the NIC was on (issue 16). They now hold only the guest's NICs on that network; the
definitions already stored are dropped (they cannot be cut down to those NICs afterwards)."""

from django.db import migrations

NIC_OPERATIONS = ("nic_attach", "nic_move", "nic_detach", "nic_link")


def drop_guest_definitions(apps, schema_editor) -> None:
    AuditEntry = apps.get_model("networks", "AuditEntry")
    AuditEntry.objects.filter(action__in=NIC_OPERATIONS).update(before="", after="")


class Migration(migrations.Migration):
    dependencies = [("networks", "0011_grants")]

    operations = [migrations.RunPython(drop_guest_definitions, migrations.RunPython.noop)]
