"""The knowledge base's full-text search table: tsvector + GIN on PostgreSQL, FTS5 on
SQLite (kapula/kb/search.py)."""

from django.db import migrations


def create(apps, schema_editor):
    from kapula.kb.search import create_schema

    with schema_editor.connection.cursor() as cur:
        create_schema(schema_editor.connection.vendor, cur)


def drop(apps, schema_editor):
    from kapula.kb.search import drop_schema

    with schema_editor.connection.cursor() as cur:
        drop_schema(schema_editor.connection.vendor, cur)


class Migration(migrations.Migration):
    dependencies = [("kb", "0001_initial")]
    operations = [migrations.RunPython(create, drop)]
