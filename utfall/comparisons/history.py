"""How much history publishing an instrument draft leaves out, per indicator (issue 10 point 7).

The instrument editor (catalogue layer) finds the published questions that would no longer be
comparable with a draft; it cannot count answers or name indicators, which live above it. This
module does both and is handed to the editor at start-up (``instruments.services.
set_loss_describer``), as "the data changed" is (docs/architecture.md).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count

from utfall.comparisons.indicators import Indicator, all_indicators
from utfall.followups.models import Answer
from utfall.instruments.models import Question


def describe_loss(instrument: str, lost: dict[str, list[int]]) -> list[dict[str, Any]]:
    """Per indicator on the lost questions (a question without an indicator gets a row of its
    own): the versions left out and the answers to them that the indicator no longer counts."""
    ids = [pk for pks in lost.values() for pk in pks]
    answers = dict(
        Answer.objects.filter(question_id__in=ids)
        .values("question_id")
        .annotate(n=Count("pk"))
        .values_list("question_id", "n")
    )
    keys = dict(
        Question.objects.filter(pk__in=ids)
        .select_related("version__instrument")
        .values_list("pk", "version__version")
    )
    indicators = [i for i in all_indicators().values() if i.kind == "question" and i.instrument == instrument]
    rows = []
    for code, pks in lost.items():
        versions = [f"{instrument}@{keys[pk]}" for pk in sorted(pks, key=lambda pk: keys[pk])]
        total = sum(answers.get(pk, 0) for pk in pks)
        named: list[Indicator | None] = [i for i in indicators if i.question == code]
        for indicator in named or [None]:
            rows.append(
                {
                    "indicator": indicator.code if indicator else "",
                    "name": indicator.name if indicator else "",
                    "question": code,
                    "versions": versions,
                    "answers": total,
                }
            )
    return rows
