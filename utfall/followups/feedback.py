"""Pilot feedback: at a follow-up the caseworker may mark questions the client found hard to
understand; per question and version, how often that happened (the editor's pilot page)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count

from utfall.followups.models import FollowUp, FollowUpStatus
from utfall.instruments.models import Question, QuestionFeedback
from utfall.organisations.models import Municipality


def record_feedback(*, followup: FollowUp, codes: list[str]) -> int:
    """Mark the follow-up's questions ``codes`` as hard for the client to understand."""
    if not codes:
        return 0
    questions = Question.objects.filter(version_id=followup.instrument_version_id, code__in=codes)
    created = QuestionFeedback.objects.bulk_create(
        [
            QuestionFeedback(municipality_id=followup.municipality_id, followup=followup, question=q)
            for q in questions
        ],
        ignore_conflicts=True,
    )
    return len(created)


@dataclass
class FeedbackRow:
    version: str
    position: int
    code: str
    text: str
    followups: int  # completed follow-ups of the version
    marked: int  # of which the question was marked hard to understand

    @property
    def share(self) -> float | None:
        return self.marked / self.followups if self.followups else None


def feedback_summary(municipality: Municipality) -> list[FeedbackRow]:
    """Per question and version: completed follow-ups and how many marked it hard (two GROUP BYs)."""
    done = dict(
        FollowUp.objects.filter(municipality=municipality, status=FollowUpStatus.COMPLETED)
        .values_list("instrument_version")
        .annotate(n=Count("pk"))
    )
    marked = dict(
        QuestionFeedback.objects.filter(municipality=municipality)
        .values_list("question")
        .annotate(n=Count("pk"))
    )
    rows = []
    questions = Question.objects.filter(version_id__in=list(done)).select_related("version__instrument")
    for q in questions.order_by("version__instrument__code", "version__version", "position"):
        rows.append(
            FeedbackRow(q.version.key, q.position, q.code, q.text, done[q.version_id], marked.get(q.pk, 0))
        )
    return rows
