"""Coverage of runs of two whole calendar years (2026-12-03): the disclosure check of a year's
comparison reads the year with the one before, which was read from the raw rows."""

from typing import Any

from django.db import migrations


def populate(apps: Any, schema_editor: Any) -> None:
    from utfall.aggregates import coverage

    years = coverage.maintained_years()
    if years is not None:  # the runs of two years ending in every maintained year
        coverage.extend(years[1], years[0])


class Migration(migrations.Migration):
    dependencies = [
        ("aggregates", "0009_covering_provider_rollups"),
    ]

    operations = [
        migrations.RunPython(populate, migrations.RunPython.noop),
    ]
