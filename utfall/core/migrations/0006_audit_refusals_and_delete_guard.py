"""Audit entries for refused requests (an account without a municipality has none), and the
DELETE guard on SQLite (see utfall.core.sqlite). Altering the table makes SQLite rebuild it,
which drops its triggers, so both are created again here."""

from django.db import migrations, models
import django.db.models.deletion

SQLITE_UP = [
    "DROP TRIGGER IF EXISTS core_auditentry_no_update",
    "CREATE TRIGGER core_auditentry_no_update BEFORE UPDATE ON core_auditentry "
    "BEGIN SELECT RAISE(ABORT, 'core_auditentry is append-only'); END",
    "DROP TRIGGER IF EXISTS core_auditentry_no_delete",
    "CREATE TRIGGER core_auditentry_no_delete BEFORE DELETE ON core_auditentry "
    "WHEN utfall_audit_delete_allowed() = 0 "
    "BEGIN SELECT RAISE(ABORT, 'core_auditentry is append-only'); END",
]


def up(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_UP:
            schema_editor.execute(statement)


def down(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute("DROP TRIGGER IF EXISTS core_auditentry_no_delete")


class Migration(migrations.Migration):
    dependencies = [("core", "0005_data_generation"), ("organisations", "0001_initial")]
    operations = [
        migrations.AlterField(
            model_name="auditentry",
            name="municipality",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="organisations.municipality",
            ),
        ),
        migrations.AlterField(
            model_name="auditentry",
            name="action",
            field=models.CharField(
                choices=[
                    ("view", "Läste"),
                    ("list", "Listade"),
                    ("create", "Registrerade"),
                    ("correct", "Rättade"),
                    ("refused", "Nekades"),
                    ("export", "Exporterade"),
                    ("dispose", "Gallrade"),
                ],
                max_length=8,
            ),
        ),
        migrations.RunPython(up, down),
    ]
