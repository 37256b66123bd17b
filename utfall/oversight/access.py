"""Who may do what in oversight (docs/access.md): the one place the rule is written.

- Deviation proposals and the priority list are the whole municipality's comparison: for
  analysts and procurement officers (``sees_proposals``).
- In-depth follow-up cases concern a provider, never a client: analysts, procurement
  officers and unit managers read and work on them (seed 002 wants the districts in the
  decisions) (``works_on_cases``); contract and operations follow-up records likewise.
- Alerts on one follow-up are individual-level: only the case roles of that follow-up's
  unit, through ``FollowUp.objects.for_user``.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404

from utfall.organisations.access import roles
from utfall.organisations.models import Role
from utfall.oversight.models import Case

PROPOSAL_ROLES = frozenset({Role.ANALYST.value, Role.PROCUREMENT.value})
CASE_WORK_ROLES = PROPOSAL_ROLES | {Role.UNIT_MANAGER.value}


def _has(user: Any, wanted: frozenset[str]) -> bool:
    return bool(getattr(user, "municipality_id", None)) and bool(roles(user) & wanted)


def sees_proposals(user: Any) -> bool:
    return _has(user, PROPOSAL_ROLES)


def works_on_cases(user: Any) -> bool:
    return _has(user, CASE_WORK_ROLES)


def require_proposals(user: Any) -> None:
    if not sees_proposals(user):
        raise PermissionDenied("Avvikelseförslagen är till för utredare och upphandlare.")


def require_case_work(user: Any) -> None:
    if not works_on_cases(user):
        raise PermissionDenied("Fördjupade uppföljningar är till för utredare, upphandlare och enhetschefer.")


def get_case_for_user(user: Any, pk: int) -> Case:
    """The case if the user may work on it; 404 for another municipality's (as for none)."""
    require_case_work(user)
    case = Case.objects.of(user.municipality_id).select_related("provider", "owner").filter(pk=pk).first()
    if case is None:
        raise Http404("Ärendet finns inte.")
    return case


def case_workers(municipality_id: int) -> Any:
    """The accounts that may own a case in the municipality."""
    from utfall.organisations.models import User

    return (
        User.objects.filter(municipality_id=municipality_id, is_active=True, groups__name__in=CASE_WORK_ROLES)
        .distinct()
        .order_by("username")
    )
