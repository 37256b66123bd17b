"""Alerts on one follow-up (seed 003): a completed follow-up whose overall assessment is
Bristande, or whose client answered "Nej, inte alls" to q1–q3 of the Stockholm model, or
answered a target-group instrument's safety question negatively. The caseworkers and unit
managers of the intervention's unit see it until one of them records "plan reviewed".

Individual-level: read only through ``FollowUp.objects.for_user`` (the case roles of the
unit), and every list shown is written to the audit log by the view.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet

from utfall.followups.models import Answer, Assessment, FollowUp, FollowUpStatus
from utfall.oversight.models import PlanReview

#: (instrument, question) → the answers that raise an alert. q1–q3: "Nej, inte alls"; the
#: target-group instruments' safety questions (feels unsafe, has been violated).
ALERT_ANSWERS: dict[tuple[str, str], tuple[str, ...]] = {
    ("stockholm-2021", "q1"): ("no",),
    ("stockholm-2021", "q2"): ("no",),
    ("stockholm-2021", "q3"): ("no",),
    ("children-youth-2026", "cy_safe"): ("no",),
    ("children-youth-2026", "cy_violation"): ("once", "several"),
    ("family-child-2026", "fc_safe_home"): ("no",),
}
#: Follow-ups older than this do not alert any more (the next routine follow-up is due).
WINDOW_DAYS = 365


def _negative_answer() -> Q:
    q = Q()
    for (instrument, question), options in ALERT_ANSWERS.items():
        q |= Q(
            question__version__instrument__code=instrument, question__code=question, option__code__in=options
        )
    return q


def alerting(queryset: QuerySet[FollowUp], *, today: dt.date) -> QuerySet[FollowUp]:
    """The follow-ups of ``queryset`` that alert and have not been answered by a plan review,
    on interventions still ongoing, newest first."""
    negative = Answer.objects.filter(_negative_answer(), followup_id=OuterRef("pk"))
    reviewed = PlanReview.objects.filter(followup_id=OuterRef("pk"))
    return (
        queryset.filter(status=FollowUpStatus.COMPLETED, date__gte=today - dt.timedelta(days=WINDOW_DAYS),
                        intervention__ended_on__isnull=True, intervention__disposed_on__isnull=True)
        .filter(Q(assessment=Assessment.DEFICIENT) | Exists(negative))
        .exclude(Exists(reviewed))
        .select_related("intervention", "intervention__service", "intervention__provider", "intervention__unit")
        .order_by("-date", "-pk")
    )  # fmt: skip


def alerts_for(user: Any, *, today: dt.date) -> QuerySet[FollowUp]:
    return alerting(FollowUp.objects.for_user(user), today=today)


def reasons(followup: FollowUp) -> list[str]:
    """Why the follow-up alerts, in words (the question texts, never the client)."""
    out = []
    if followup.assessment == Assessment.DEFICIENT:
        out.append("Samlad bedömning: Bristande")
    answers = Answer.objects.filter(_negative_answer(), followup=followup).select_related(
        "question", "option"
    )
    for answer in answers.order_by("question__position"):
        text = answer.question.text.replace("{provider}", followup.intervention.provider.name)
        out.append(f"{text} – {answer.option.label}")
    return out
