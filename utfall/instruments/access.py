"""Who may change the shared instruments (docs/access.md).

Editing and publishing a shared (national) instrument changes every municipality's
questionnaire, so it needs a named permission, given to the system administrator's group
after migrate, and not merely staff status.
"""

from __future__ import annotations

from typing import Any

EDIT_SHARED_INSTRUMENTS = "instruments.edit_shared_instrument"


def ensure_permission(**kwargs: Any) -> None:
    """post_migrate: the permission exists and the system administrators have it."""
    from django.contrib.auth.models import Group, Permission
    from django.contrib.contenttypes.models import ContentType

    from utfall.instruments.models import Instrument
    from utfall.organisations.models import Role

    permission, _ = Permission.objects.get_or_create(
        content_type=ContentType.objects.get_for_model(Instrument),
        codename=EDIT_SHARED_INSTRUMENTS.split(".")[1],
        defaults={"name": "Kan ändra och publicera gemensamma frågeformulär"},
    )
    group, _ = Group.objects.get_or_create(name=Role.SYSTEM_ADMIN.value)
    group.permissions.add(permission)
