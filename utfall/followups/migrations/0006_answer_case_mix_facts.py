"""Answers also repeat their intervention's service and unit and their client's sex and birth
year, so comparisons by those (and the case-mix adjustment) read the answers alone."""

import django.db.models.deletion
from django.db import migrations, models

PATHS = {
    "service_id": "intervention__service_id",
    "unit_id": "intervention__unit_id",
    "client_sex": "intervention__client__sex",
    "client_birth_year": "intervention__client__birth_year",
}


def fill(apps, schema_editor):  # type: ignore[no-untyped-def]
    Answer = apps.get_model("followups", "Answer")
    FollowUp = apps.get_model("followups", "FollowUp")
    followup = FollowUp.objects.filter(pk=models.OuterRef("followup_id"))
    Answer.objects.update(**{name: models.Subquery(followup.values(path)[:1]) for name, path in PATHS.items()})


def _fk(to: str, null: bool) -> models.ForeignKey:
    return models.ForeignKey(null=null, on_delete=django.db.models.deletion.PROTECT, related_name="+", to=to)


class Migration(migrations.Migration):
    dependencies = [
        ("followups", "0005_answer_date_provider"),
        ("registry", "0004_intervention_started"),
        ("organisations", "0002_initial"),
    ]

    operations = [
        migrations.AddField(model_name="answer", name="service", field=_fk("registry.service", True)),
        migrations.AddField(model_name="answer", name="unit", field=_fk("organisations.unit", True)),
        migrations.AddField(model_name="answer", name="client_sex", field=models.CharField(max_length=8, null=True)),
        migrations.AddField(
            model_name="answer", name="client_birth_year", field=models.PositiveSmallIntegerField(null=True)
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
        migrations.AlterField(model_name="answer", name="service", field=_fk("registry.service", False)),
        migrations.AlterField(model_name="answer", name="unit", field=_fk("organisations.unit", False)),
        migrations.AlterField(model_name="answer", name="client_sex", field=models.CharField(max_length=8)),
        migrations.AlterField(
            model_name="answer", name="client_birth_year", field=models.PositiveSmallIntegerField()
        ),
        # The comparison's covering index also covers the case-mix and the breakdowns.
        migrations.RemoveIndex(model_name="answer", name="answer_period_cover"),
        migrations.AddIndex(
            model_name="answer",
            index=models.Index(
                fields=["municipality", "question", "date", "provider", "option",
                        "service", "unit", "client_sex", "client_birth_year"],
                name="answer_period_cover",
            ),  # fmt: skip
        ),
    ]
