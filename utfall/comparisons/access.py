"""Who may see which aggregates (DESIGN.md invariant 5): the one place the rule is written.

Analysts and procurement see their municipality's aggregates; a unit manager sees their own
unit's; a provider account sees only its own provider's; a board member (nämnd) sees their
committee's scope (the municipality or one unit); others see none. Returned as the
filters every comparison for the user is forced through.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied

from utfall.organisations.access import board_committee, case_unit_ids, roles
from utfall.organisations.models import Role, Unit

MUNICIPALITY_WIDE = frozenset({Role.ANALYST.value, Role.PROCUREMENT.value})


def aggregate_scope(user: Any) -> dict[str, str]:
    """Filters that bound what ``user`` may see; PermissionDenied when nothing."""
    if not getattr(user, "is_authenticated", False) or user.municipality_id is None:
        raise PermissionDenied("Kontot är inte kopplat till någon kommun.")
    held = roles(user)
    if held & MUNICIPALITY_WIDE or user.is_superuser:
        return {}
    if Role.UNIT_MANAGER.value in held:
        units = case_unit_ids(user)
        if len(units) == 1:
            return {"unit": Unit.objects.get(pk=next(iter(units))).code}
    if Role.PROVIDER.value in held and user.provider_id is not None:
        return {"provider": user.provider.provider_id}
    committee = board_committee(user)
    if committee is not None:
        return {} if committee.unit is None else {"unit": committee.unit.code}
    raise PermissionDenied("Din roll ger inte tillgång till jämförelser.")


def scoped_filters(user: Any, requested: dict[str, str]) -> dict[str, str]:
    """The requested filters, narrowed to the user's scope; a conflicting filter is refused."""
    scope = aggregate_scope(user)
    for key, value in scope.items():
        if key in requested and requested[key] != value:
            raise PermissionDenied(f"Du får bara se {key}={value}.")
    return {**requested, **scope}


def sees_staff_performance(user: Any) -> bool:
    """Follow-ups per named caseworker are staff performance data: for the unit's managers
    (their own unit, through the scope above), not for analysts, procurement or providers."""
    return Role.UNIT_MANAGER.value in roles(user) and bool(case_unit_ids(user))
