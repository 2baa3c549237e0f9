"""Trigram indexes for the SKU search (`name` / `seller_sku` icontains), on PostgreSQL only.

Django compiles `icontains` on PostgreSQL to `UPPER(col::text) LIKE UPPER(%s)`, so the GIN indexes
are on exactly those expressions; an index on the bare column would not be used. pg_trgm is a
trusted extension (PostgreSQL 13+), so the database owner may create it without superuser rights.
On SQLite (the embedded default) this migration does nothing: catalogues there are small.
"""

from django.db import migrations

INDEXES = {
    "inventory_sku_name_trgm": "name",
    "inventory_sku_seller_sku_trgm": "seller_sku",
}


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, column in INDEXES.items():
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS "{name}" ON "inventory_sku" '
            f'USING gin ((UPPER("{column}"::text)) gin_trgm_ops)'
        )


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


class Migration(migrations.Migration):
    dependencies = [("inventory", "0001_initial")]

    operations = [migrations.RunPython(create_indexes, drop_indexes, elidable=False)]
