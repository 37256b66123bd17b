"""Answers repeat their follow-up's date and their intervention's provider (for comparisons)."""

import django.db.models.deletion
from django.db import migrations, models


def fill(apps, schema_editor):  # type: ignore[no-untyped-def]
    Answer = apps.get_model("followups", "Answer")
    FollowUp = apps.get_model("followups", "FollowUp")
    followup = FollowUp.objects.filter(pk=models.OuterRef("followup_id"))
    Answer.objects.update(
        date=models.Subquery(followup.values("date")[:1]),
        provider_id=models.Subquery(followup.values("intervention__provider_id")[:1]),
    )


class Migration(migrations.Migration):
    dependencies = [
        ("followups", "0004_comparison_covering_indexes"),
        ("registry", "0003_intervention_ended_index"),
    ]

    operations = [
        migrations.AddField(model_name="answer", name="date", field=models.DateField(null=True)),
        migrations.AddField(
            model_name="answer",
            name="provider",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="registry.provider",
            ),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
        migrations.AlterField(model_name="answer", name="date", field=models.DateField()),
        migrations.AlterField(
            model_name="answer",
            name="provider",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT, related_name="+", to="registry.provider"
            ),
        ),
        migrations.AddIndex(
            model_name="answer",
            index=models.Index(
                fields=["municipality", "question", "date", "provider", "option"], name="answer_period_cover"
            ),
        ),
    ]
