"""What must exist after ``migrate``: the default municipality and the role groups."""

from __future__ import annotations

from typing import Any

DEFAULT_MUNICIPALITY_CODE = "default"


def ensure_defaults(**kwargs: Any) -> None:
    from django.contrib.auth.models import Group

    from utfall.organisations.models import Municipality, Role

    Municipality.objects.get_or_create(code=DEFAULT_MUNICIPALITY_CODE, defaults={"name": "Standardkommun"})
    for role in Role:
        Group.objects.get_or_create(name=role.value)
