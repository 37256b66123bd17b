"""The one definition of coverage (uppföljningsgrad), used by every page and the API (issue 17 point 9).

An intervention counts in a period when it was ongoing at some time in it (started on or
before the period's last day, not ended before its first). It is **followed up** when it has
at least one follow-up of any status (the client answered, declined or could not be
reached) dated in the period; otherwise it is **missing** a follow-up. Coverage is followed
up ÷ counted.

The worklist's box (``followups.queries.coverage``), the coverage page and the API
(``results.services.coverage``), the comparison's column and the provider page (through the
``followup_coverage`` indicator in ``comparisons.queries``) all build their counts from
:func:`counted_interventions`, so they cannot disagree (``tests/followups/test_coverage.py``).

An intervention has no caseworker of its own: per caseworker, an intervention belongs to the
person who recorded its latest follow-up on or before the period's last day; one never
followed up (or only by import) has none and is listed as such.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.utils.translation import gettext_lazy as _

from utfall.followups.models import FollowUp

#: The definition in the words the pages print under every coverage figure.
DEFINITION = _(
    "Uppföljningsgrad: andelen insatser som pågått någon gång under perioden och som har minst en "
    "uppföljning daterad i perioden, oavsett om klienten svarade, avböjde eller inte gick att nå. "
    "Saknar uppföljning: de övriga pågående insatserna."
)
#: The event condition on :func:`counted_interventions`' rows.
FOLLOWED = Q(_followed=True)
#: Group key per caseworker: the annotation :func:`with_caseworker` adds.
CASEWORKER = "_caseworker"


def counted_interventions(
    interventions: QuerySet[Any], date_from: dt.date, date_to: dt.date
) -> QuerySet[Any]:
    """``interventions`` ongoing at some time in the period, annotated ``_followed`` (a
    follow-up of any status dated in the period)."""
    followed = FollowUp.objects.filter(intervention=OuterRef("pk"), date__gte=date_from, date__lte=date_to)
    return (
        interventions.filter(started_on__lte=date_to)
        .filter(Q(ended_on__isnull=True) | Q(ended_on__gte=date_from))
        .annotate(_followed=Exists(followed))
    )


def with_caseworker(counted: QuerySet[Any], date_to: dt.date) -> QuerySet[Any]:
    """``counted`` annotated with the id of the user who recorded each intervention's latest
    follow-up on or before ``date_to`` (None when none was recorded by a person)."""
    latest = FollowUp.objects.filter(intervention=OuterRef("pk"), date__lte=date_to).order_by(
        "-date", "-created_at", "-pk"
    )
    return counted.annotate(**{CASEWORKER: Subquery(latest.values("created_by_id")[:1])})


def coverage_counts(
    interventions: QuerySet[Any], date_from: dt.date, date_to: dt.date, by: str
) -> list[dict[str, Any]]:
    """Rows of {group, ongoing, followed, missing}, one per value of ``by`` (a field path from
    the intervention, or :data:`CASEWORKER`), counted by one GROUP BY in the database."""
    qs = counted_interventions(interventions, date_from, date_to)
    if by == CASEWORKER:
        qs = with_caseworker(qs, date_to)
    rows = (
        qs.order_by()
        .values(by)
        .annotate(ongoing=Count("pk"), followed=Count("pk", filter=FOLLOWED))
        .order_by(by)
    )
    return [
        {"group": r[by], "ongoing": r["ongoing"], "followed": r["followed"],
         "missing": r["ongoing"] - r["followed"]}
        for r in rows
    ]  # fmt: skip
