"""The outcome counts (issue 13 point 1): step down, plan goals and rereferral read from count
rows by month of the end, filled here from the interventions and their stored outcomes."""

from typing import Any

import django.db.models.deletion
from django.db import migrations, models


def populate(apps: Any, schema_editor: Any) -> None:
    # Only when there is data: the fill uses today's models, which a database being created
    # from scratch matches at no point in between.
    if not apps.get_model("registry", "Intervention").objects.exists():
        return
    from utfall.aggregates.outcome_counts import fill
    from utfall.aggregates.rebuild import municipalities

    for municipality in municipalities():
        fill(municipality.pk)


class Migration(migrations.Migration):
    dependencies = [
        ("aggregates", "0006_coverage"),
        ("organisations", "0004_municipality_scb_code"),
        ("registry", "0007_contract_terms"),
    ]

    operations = [
        migrations.CreateModel(
            name="OutcomeByProvider",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("month", models.DateField()),
                ("measure", models.CharField(max_length=16)),
                ("event", models.BooleanField()),
                ("n", models.IntegerField()),
                (
                    "municipality",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="organisations.municipality",
                    ),
                ),
                (
                    "provider",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="registry.provider",
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(
                        fields=["municipality", "measure", "month", "provider", "event"],
                        name="outcomebyprovider_period",
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="OutcomeByService",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("month", models.DateField()),
                ("measure", models.CharField(max_length=16)),
                ("event", models.BooleanField()),
                ("n", models.IntegerField()),
                (
                    "municipality",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="organisations.municipality",
                    ),
                ),
                (
                    "service",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="registry.service",
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(
                        fields=["municipality", "measure", "month", "service", "event"],
                        name="outcomebyservice_period",
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="OutcomeCount",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("month", models.DateField()),
                ("client_sex", models.CharField(max_length=8)),
                ("age_group", models.CharField(max_length=8)),
                ("n", models.IntegerField()),
                ("moved", models.BooleanField()),
                ("goals", models.CharField(max_length=4)),
                ("back_within", models.SmallIntegerField(null=True)),
                (
                    "contract",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="registry.contract",
                    ),
                ),
                (
                    "municipality",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="organisations.municipality",
                    ),
                ),
                (
                    "next_service",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="registry.service",
                    ),
                ),
                (
                    "provider",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="registry.provider",
                    ),
                ),
                (
                    "service",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="registry.service",
                    ),
                ),
                (
                    "unit",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="organisations.unit",
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(
                        fields=[
                            "municipality",
                            "month",
                            "provider",
                            "service",
                            "unit",
                            "client_sex",
                            "age_group",
                            "moved",
                            "goals",
                            "contract",
                            "next_service",
                            "back_within",
                        ],
                        name="outcomecount_period",
                    )
                ],
            },
        ),
        migrations.RunPython(populate, migrations.RunPython.noop),
    ]
