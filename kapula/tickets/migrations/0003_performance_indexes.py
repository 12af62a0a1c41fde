"""Indexes found by the benchmarks (docs/performance.md): a team's queue newest first,
active tickets for queue counts, and the search table's (organisation_id, created_at) for
ranking the newest matches."""

from django.conf import settings
from django.db import migrations, models


def search_recent(apps, schema_editor):
    from kapula.tickets.search import create_schema

    with schema_editor.connection.cursor() as cur:
        create_schema(schema_editor.connection.vendor, cur)  # idempotent; adds the new index


def drop_search_recent(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cur:
            cur.execute("DROP INDEX IF EXISTS tickets_search_recent")


class Migration(migrations.Migration):

    dependencies = [
        ('core', '0001_initial'),
        ('tickets', '0002_search_index'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name='ticket',
            index=models.Index(fields=['team', '-updated_at', '-id'], name='ticket_team_recent'),
        ),
        migrations.AddIndex(
            model_name='ticket',
            index=models.Index(condition=models.Q(('status__in', ('new', 'open', 'pending_customer', 'pending_third_party'))), fields=['organisation', 'team', 'assignee'], name='ticket_active'),
        ),
        migrations.RunPython(search_recent, drop_search_recent),
    ]
