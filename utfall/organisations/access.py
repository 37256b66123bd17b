"""Who may see individual-level data: the one place the rule is written (DESIGN.md invariant 5).

Caseworkers and unit managers see the cases of their own units; every other role sees
aggregates only. The querysets ``Intervention.objects.for_user`` and
``FollowUp.objects.for_user`` build on ``case_unit_ids``.
"""

from __future__ import annotations

from typing import Any

from utfall.organisations.models import Role

CASE_ROLES = frozenset({Role.CASEWORKER.value, Role.UNIT_MANAGER.value})


def roles(user: Any) -> frozenset[str]:
    """The user's role names, read once per user object."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return frozenset()
    cached = getattr(user, "_utfall_roles", None)
    if cached is None:
        cached = frozenset(user.groups.values_list("name", flat=True))
        user._utfall_roles = cached
    return cached


def case_unit_ids(user: Any) -> frozenset[int]:
    """The units whose individual cases the user may see; empty for everyone else."""
    if not (roles(user) & CASE_ROLES) or user.municipality_id is None:
        return frozenset()
    cached = getattr(user, "_utfall_case_units", None)
    if cached is None:
        cached = frozenset(
            user.units.filter(municipality_id=user.municipality_id).values_list("pk", flat=True)
        )
        user._utfall_case_units = cached
    return cached


def is_unit_manager(user: Any) -> bool:
    return Role.UNIT_MANAGER.value in roles(user) and bool(case_unit_ids(user))


def sees_cases(user: Any) -> bool:
    return bool(case_unit_ids(user))


def board_committee(user: Any) -> Any:
    """The committee (nämnd) a board account reads for: its first committee of its own
    municipality by name, None when it has none (docs/access.md). Read once per user object."""
    if Role.BOARD.value not in roles(user) or user.municipality_id is None:
        return None
    if not hasattr(user, "_utfall_committee"):
        user._utfall_committee = (
            user.committees.filter(municipality_id=user.municipality_id)
            .select_related("unit")
            .order_by("name")
            .first()
        )
    return user._utfall_committee


def is_auditor(user: Any) -> bool:
    """Reads the audit log of the user's own municipality (docs/access.md)."""
    return Role.AUDITOR.value in roles(user) and user.municipality_id is not None


def needs_second_factor(user: Any) -> bool:
    """Roles that see individual data sign in with two factors: case roles (case records),
    auditors (who read what), staff and system administrators (the admin shows records)."""
    held = roles(user)
    return bool(
        held & (CASE_ROLES | {Role.AUDITOR.value, Role.SYSTEM_ADMIN.value})
        or getattr(user, "is_staff", False)
        or getattr(user, "is_superuser", False)
    )
