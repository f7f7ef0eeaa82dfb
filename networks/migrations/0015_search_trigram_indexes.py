"""On PostgreSQL, trigram indexes on the search columns of networks and leases, so that a word
looked for (`LIKE '%word%'`) reads the index rather than every row (docs/performance.md, A
fleet). pg_trgm is a trusted extension: the database's owner may create it. Where it cannot be
created (a role without CREATE on the database), the indexes are left out and searches scan, as
on SQLite; nothing else depends on them."""

import logging

from django.db import migrations, transaction

log = logging.getLogger(__name__)

INDEXES = {
    "networks_network_search_trgm": "networks_network",
    "networks_lease_search_trgm": "networks_lease",
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        try:
            with transaction.atomic(using=schema_editor.connection.alias):
                cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        except Exception as exc:  # a role that may not: searches scan, as on SQLite
            log.warning("no trigram indexes for the search columns: %s", exc)
            return
        for index, table in INDEXES.items():
            cursor.execute(
                f"CREATE INDEX IF NOT EXISTS {index} ON {table} USING gin (search gin_trgm_ops)"
            )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        for index in INDEXES:
            cursor.execute(f"DROP INDEX IF EXISTS {index}")


class Migration(migrations.Migration):
    dependencies = [("networks", "0014_lease_search")]

    operations = [migrations.RunPython(create, drop)]
