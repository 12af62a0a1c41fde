"""The full-text search table: tsvector + GIN on PostgreSQL, FTS5 on SQLite."""

from django.db import migrations


def create(apps, schema_editor):
    from kapula.tickets.search import create_schema

    with schema_editor.connection.cursor() as cur:
        create_schema(schema_editor.connection.vendor, cur)


def drop(apps, schema_editor):
    from kapula.tickets.search import drop_schema

    with schema_editor.connection.cursor() as cur:
        drop_schema(schema_editor.connection.vendor, cur)


class Migration(migrations.Migration):
    dependencies = [("tickets", "0001_initial")]
    operations = [migrations.RunPython(create, drop)]
