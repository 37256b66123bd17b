"""Overdue action deadlines: on the start page of the case's owner and of the unit managers
whose units use the provider, and by e-mail to the owner (``utfall deadlines``).

The e-mail names the case number, the provider, the action and its deadline, and a link;
never a client, a follow-up or a note (e-mail leaves the system's access control).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db.models import Q, QuerySet
from django.utils import translation

from utfall.organisations.access import case_unit_ids, is_unit_manager
from utfall.oversight.access import works_on_cases
from utfall.oversight.models import CaseAction, CaseState
from utfall.registry.models import Intervention


def overdue_actions(municipality_id: int, today: dt.date) -> QuerySet[CaseAction]:
    return (
        CaseAction.objects.filter(
            case__municipality_id=municipality_id, done_on__isnull=True, deadline__lt=today
        )
        .exclude(case__state=CaseState.CLOSED)
        .select_related("case", "case__provider", "case__owner")
        .order_by("deadline", "pk")
    )


def overdue_for(user: Any, today: dt.date) -> QuerySet[CaseAction]:
    """The overdue actions the user should see on the start page (none for other roles)."""
    if not works_on_cases(user):
        return CaseAction.objects.none()
    mine = Q(case__owner=user)
    if is_unit_manager(user):
        used = Intervention.objects.filter(
            municipality_id=user.municipality_id, unit_id__in=case_unit_ids(user)
        )
        mine |= Q(case__provider_id__in=used.values("provider_id"))
    return overdue_actions(user.municipality_id, today).filter(mine)


def message_text(actions: list[CaseAction], *, base_url: str) -> str:
    lines = [
        "Hej!",
        "",
        f"Du är ansvarig för fördjupade uppföljningar med {len(actions)} försenade åtgärder:",
    ]
    for a in actions:
        url = base_url.rstrip("/") + f"/fordjupade-uppfoljningar/{a.case_id}/"
        lines.append(f"- {a.case.reference} {a.case.provider.name}: {a.get_kind_display()}, "
                     f"tidsfrist {a.deadline:%Y-%m-%d} – {url}")  # fmt: skip
    lines += ["", "Meddelandet innehåller inga uppgifter om klienter."]
    return "\n".join(lines)


def send_deadline_mail(*, today: dt.date, base_url: str) -> int:
    """One e-mail per owner with overdue actions not yet reminded of today; returns how many."""
    sent = 0
    pending = (
        CaseAction.objects.filter(done_on__isnull=True, deadline__lt=today)
        .exclude(case__state=CaseState.CLOSED)
        .exclude(reminded_on=today)
        .select_related("case", "case__provider", "case__owner")
        .order_by("case__owner_id", "deadline", "pk")
    )
    by_owner: dict[int, list[CaseAction]] = {}
    for action in pending:
        by_owner.setdefault(action.case.owner_id, []).append(action)
    with translation.override(settings.LANGUAGE_CODE):
        for group in by_owner.values():
            owner = group[0].case.owner
            if not owner.email or not owner.is_active:
                continue
            send_mail("utfall: försenade åtgärder i fördjupade uppföljningar",
                      message_text(group, base_url=base_url), None, [owner.email])  # fmt: skip
            CaseAction.objects.filter(pk__in=[a.pk for a in group]).update(reminded_on=today)
            sent += 1
    return sent
