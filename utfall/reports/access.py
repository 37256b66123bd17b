"""Who may read and write reports and targets (docs/access.md): analysts for the whole
municipality; board members (nämnd) read the published reports of their committee's scope
and may set its targets. Everyone else is refused. Never individual data."""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from django.core.exceptions import PermissionDenied

from utfall.organisations.access import board_committee, roles
from utfall.organisations.models import Committee, Municipality, Role, Unit


@dataclass(frozen=True)
class ReportScope:
    municipality: Municipality
    #: The unit code the reader is bounded to (a district committee), None for the municipality.
    unit: str | None
    committee: Committee | None
    writes: bool  # builds, comments on and publishes reports (analysts)


def report_scope(user: Any) -> ReportScope:
    if not getattr(user, "is_authenticated", False) or user.municipality_id is None:
        raise PermissionDenied("Kontot är inte kopplat till någon kommun.")
    held = roles(user)
    if Role.ANALYST.value in held or user.is_superuser:
        return ReportScope(user.municipality, None, None, True)
    committee = board_committee(user)
    if committee is not None:
        unit = committee.unit.code if committee.unit is not None else None
        return ReportScope(user.municipality, unit, committee, False)
    if Role.BOARD.value in held:
        raise PermissionDenied("Kontot är inte knutet till någon nämnd. Kontakta administratören.")
    raise PermissionDenied("Rapporterna är till för utredare och nämndens ledamöter.")


def require_writer(user: Any) -> ReportScope:
    scope = report_scope(user)
    if not scope.writes:
        raise PermissionDenied("Bara utredare bygger och publicerar rapporter.")
    return scope


class ReportReader:
    """Who a report is built as: a board member of a committee over the report's scope (the
    municipality, or one unit), so that every result service narrows its counts to that scope
    through the one access funnel (``comparisons.access.aggregate_scope``) and a report reads
    the same whoever builds it. Used by the command line and by the pages once the signed-in
    user's own right to the report has been checked. Aggregates only, like the board."""

    is_authenticated = True
    is_active = True
    is_superuser = False
    is_staff = False
    provider_id = None
    provider = None

    def __init__(self, municipality: Municipality, unit: Unit | None = None) -> None:
        self.municipality = municipality
        self.municipality_id = municipality.pk
        self._utfall_roles = frozenset({Role.BOARD.value})
        self._utfall_case_units: frozenset[int] = frozenset()
        self._utfall_committee = SimpleNamespace(unit=unit)
