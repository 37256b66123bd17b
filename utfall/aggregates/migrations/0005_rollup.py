# Written 2026-12-03 (branch rollup): the case-mix rollups, filled from the full count tables.

from typing import Any

import django.db.models.deletion
from django.db import migrations, models

DIMENSION: dict[str, Any] = {"db_constraint": False, "db_index": False, "on_delete": django.db.models.deletion.DO_NOTHING,
             "related_name": "+"}  # fmt: skip


def fill(apps: Any, schema_editor: Any) -> None:
    """Sum the full count tables into the new rollups (an existing database is right after
    ``migrate``; an empty one gets nothing)."""
    from utfall.aggregates.rollup import fill_from_full_tables

    fill_from_full_tables()


def case_mix(name: str, extra: list[tuple[str, Any]]) -> migrations.CreateModel:
    return migrations.CreateModel(
        name=name,
        fields=[
            ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
            ("month", models.DateField()),
            ("client_sex", models.CharField(max_length=8)),
            ("age_group", models.CharField(max_length=8)),
            ("n", models.IntegerField()),
            *extra,
            ("municipality", models.ForeignKey(to="organisations.municipality", **DIMENSION)),
            ("service", models.ForeignKey(to="registry.service", **DIMENSION)),
        ],
    )


class Migration(migrations.Migration):
    dependencies = [
        ("aggregates", "0004_key_indexes"),
        ("organisations", "0004_municipality_scb_code"),
        ("registry", "0007_contract_terms"),
    ]

    operations = [
        case_mix("AnswerByCaseMix", [("question_id", models.IntegerField()), ("option_id", models.IntegerField())]),
        case_mix("FollowUpByCaseMix", [("status", models.CharField(max_length=12)),
                                       ("assessment", models.CharField(max_length=10))]),  # fmt: skip
        migrations.AddIndex(
            model_name="answerbycasemix",
            index=models.Index(fields=["municipality", "question_id", "month", "service", "client_sex", "age_group",
                                       "option_id"], name="answerbycasemix_period"),  # fmt: skip
        ),
        migrations.AddIndex(
            model_name="followupbycasemix",
            index=models.Index(fields=["municipality", "month", "service", "client_sex", "age_group", "status",
                                       "assessment"], name="followupbycasemix_period"),  # fmt: skip
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
