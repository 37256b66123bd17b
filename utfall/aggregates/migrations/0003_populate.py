"""Fill the new count tables from the rows already stored (a database with follow-ups)."""

from typing import Any

from django.db import migrations


def populate(apps: Any, schema_editor: Any) -> None:
    # Only when there is data: the rebuild uses today's models, which a database being
    # created from scratch matches at no point in between.
    if not apps.get_model("followups", "FollowUp").objects.exists():
        return
    from utfall.aggregates.rebuild import municipalities, rebuild

    for municipality in municipalities():
        rebuild(municipality)


class Migration(migrations.Migration):
    dependencies = [("aggregates", "0002_provider_rollups"), ("followups", "0007_followup_no_answer_reason")]
    operations = [migrations.RunPython(populate, migrations.RunPython.noop)]
