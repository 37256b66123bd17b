"""What is due: the worklist ("Att följa upp") and the unit's coverage so far this period.

The rule: an ongoing intervention is due ``service.followup_months`` (default 6) after its
latest follow-up of any status, or after its start when it has none; an ended one is due
once more at its end unless a follow-up was made in the last month before the end. Due
dates are computed per listed intervention (a unit has hundreds, not millions), one query
for the whole list; the coverage figures are counted in the database.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Max, Q

from utfall.followups.coverage import coverage_counts
from utfall.registry.models import Intervention

DUE_AHEAD = dt.timedelta(days=30)  # shown this long before the due date
END_GRACE = dt.timedelta(days=30)  # the end follow-up is made within a month of the end
END_WINDOW = dt.timedelta(days=183)  # ended interventions older than this drop off the list
SORTS = ("due", "-due", "service", "provider", "started")


def add_months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    year = day.year + month // 12
    month = month % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass
class WorkItem:
    intervention: Intervention
    due_on: dt.date
    at_end: bool
    last_followup: dt.date | None
    overdue: bool


def due_items(user: Any, *, today: dt.date) -> list[WorkItem]:
    """Every intervention of the user's units whose follow-up is due within DUE_AHEAD or overdue."""
    interventions = (
        Intervention.objects.for_user(user)
        .filter(Q(ended_on__isnull=True) | Q(ended_on__gte=today - END_WINDOW), started_on__lte=today)
        .annotate(last_followup=Max("followups__date"))
        .select_related("service", "provider")
        .order_by()
    )
    items = []
    for i in interventions:
        last: dt.date | None = i.last_followup  # type: ignore[attr-defined]
        if i.ended_on is None:
            due_on, at_end = add_months(last or i.started_on, i.service.followup_months), False
        elif last is None or last < i.ended_on - END_GRACE:
            due_on, at_end = i.ended_on + END_GRACE, True
        else:
            continue
        if due_on <= today + DUE_AHEAD:
            items.append(WorkItem(i, due_on, at_end, last, due_on < today))
    return items


def filter_and_sort(
    items: list[WorkItem], *, service: str = "", provider: str = "", due: str = "", sort: str = "due"
) -> list[WorkItem]:
    if service:
        items = [w for w in items if w.intervention.service.code == service]
    if provider:
        items = [w for w in items if w.intervention.provider.provider_id == provider]
    if due == "overdue":
        items = [w for w in items if w.overdue]
    elif due == "soon":
        items = [w for w in items if not w.overdue]
    keys = {
        "due": lambda w: (w.due_on, w.intervention.intervention_id),
        "-due": lambda w: (-w.due_on.toordinal(), w.intervention.intervention_id),
        "service": lambda w: (w.intervention.service.name, w.due_on),
        "provider": lambda w: (w.intervention.provider.name, w.due_on),
        "started": lambda w: (w.intervention.started_on, w.due_on),
    }
    return sorted(items, key=keys.get(sort, keys["due"]))


def period_start(today: dt.date) -> dt.date:
    """The current half-year: follow-ups are due every six months by default."""
    return dt.date(today.year, 1 if today.month <= 6 else 7, 1)


@dataclass
class CoverageRow:
    label: str
    ongoing: int
    followed_up: int

    @property
    def missing(self) -> int:
        return self.ongoing - self.followed_up

    @property
    def share(self) -> float | None:
        return self.followed_up / self.ongoing if self.ongoing else None


def coverage(user: Any, *, today: dt.date) -> tuple[dt.date, list[CoverageRow], CoverageRow]:
    """Coverage of the user's units this half-year so far, per service, by the one definition
    (:mod:`utfall.followups.coverage`).

    The unit manager sees the unit's individual cases anyway, so these counts are not
    suppressed; they never leave the unit's own view.
    """
    start = period_start(today)
    counts = coverage_counts(Intervention.objects.for_user(user), start, today, by="service__name")
    per_service = [CoverageRow(r["group"], r["ongoing"], r["followed"]) for r in counts]
    total = CoverageRow(
        "Totalt", sum(r.ongoing for r in per_service), sum(r.followed_up for r in per_service)
    )
    return start, per_service, total
