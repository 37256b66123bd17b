"""Answers for every shipped target-group instrument, for the form and the browser tests."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group

from utfall.organisations.models import Municipality, User

#: instrument code -> (a matching service, respondent, answers, indicator that counts an answer)
INSTRUMENTS: dict[str, tuple[str, str, dict[str, str], str]] = {
    "children-youth-2026": (
        "hvb_youth",
        "client",
        {"cy_safe": "always", "cy_treated": "mostly", "cy_violation": "no", "cy_school": "fairly",
         "cy_health": "yes"},
        "cy_feels_safe",
    ),
    "family-guardian-2026": (
        "ihf",
        "guardian",
        {"fg_helped": "yes_mostly", "fg_situation": "somewhat_better", "fg_listened": "yes_completely",
         "fg_recommend": "yes"},
        "family_guardian_helped",
    ),
    "family-child-2026": (
        "mst",
        "client",
        {"fc_better_home": "yes", "fc_listened": "a_little", "fc_safe_home": "yes"},
        "family_child_better",
    ),
    "income-support-2026": (
        "labour_market",
        "client",
        {"is_closer": "yes_somewhat", "is_fits": "yes_mostly", "is_status": "studies"},
        "income_closer_to_self_support",
    ),
    "addiction-2026": (
        "hvb_adult",
        "client",
        {"ad_housing": "supported", "ad_use": "less", "ad_contact": "yes_completely"},
        "addiction_use_reduced",
    ),
}  # fmt: skip
ASSESSMENT = {"g1": "yes", "g2": "partly", "g3": "yes", "assessment": "approved"}


def make_admin(municipality: Municipality | None, username: str = "admin") -> User:
    user = User.objects.create_user(username, municipality=municipality, is_staff=True)
    # Shared instruments need the system administrator's named permission, not only staff.
    user.groups.set(Group.objects.filter(name="system_admin"))
    return user


def completed(instrument: str, **overrides: Any) -> dict[str, Any]:
    from django.utils import timezone

    from utfall.followups.forms import new_token

    _service, respondent, answers, _indicator = INSTRUMENTS[instrument]
    data = {"token": new_token(), "date": timezone.localdate().isoformat(), "status": "completed",
            "respondent": respondent, **answers, **ASSESSMENT}  # fmt: skip
    data.update(overrides)
    return data
