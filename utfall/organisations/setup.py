"""What must exist after ``migrate``: the default municipality, the role groups and the
permissions that come with the system administrator's role (docs/access.md; the shared
instruments' permission is the instruments app's, utfall.instruments.access)."""

from __future__ import annotations

from typing import Any

DEFAULT_MUNICIPALITY_CODE = "default"

#: app_label.codename given to the system administrator's group. Each ``view``/``change`` is
#: for the admin: accounts and units, lock-outs to lift, second factors to reset.
SYSTEM_ADMIN_PERMISSIONS = (
    "organisations.view_user",
    "organisations.add_user",
    "organisations.change_user",
    "organisations.view_unit",
    "organisations.add_unit",
    "organisations.change_unit",
    "organisations.view_municipality",
    "axes.view_accessattempt",
    "axes.delete_accessattempt",
    "otp_totp.view_totpdevice",
    "otp_totp.delete_totpdevice",
)


def ensure_defaults(**kwargs: Any) -> None:
    from django.contrib.auth.models import Group, Permission

    from utfall.organisations.models import Municipality, Role

    Municipality.objects.get_or_create(code=DEFAULT_MUNICIPALITY_CODE, defaults={"name": "Standardkommun"})
    for role in Role:
        Group.objects.get_or_create(name=role.value)
    wanted = []
    for name in SYSTEM_ADMIN_PERMISSIONS:
        app_label, codename = name.split(".")
        found = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
        if found is not None:  # an app's own permissions appear after its migrate
            wanted.append(found)
    Group.objects.get(name=Role.SYSTEM_ADMIN.value).permissions.add(*wanted)
