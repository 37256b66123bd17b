"""What must exist after ``migrate``: the default municipality, the role groups and the
permissions that come with the system administrator's role (docs/access.md)."""

from __future__ import annotations

from typing import Any

DEFAULT_MUNICIPALITY_CODE = "default"
#: The named permission for shared (national) instruments: editing and publishing them
#: changes every municipality's questionnaire, so it is not part of being staff.
EDIT_SHARED_INSTRUMENTS = "instruments.edit_shared_instrument"

#: app_label.codename given to the system administrator's group. Each ``view``/``change`` is
#: for the admin: accounts and units, lock-outs to lift, second factors to reset.
SYSTEM_ADMIN_PERMISSIONS = (
    EDIT_SHARED_INSTRUMENTS,
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
    from django.contrib.contenttypes.models import ContentType

    from utfall.instruments.models import Instrument
    from utfall.organisations.models import Municipality, Role

    Municipality.objects.get_or_create(code=DEFAULT_MUNICIPALITY_CODE, defaults={"name": "Standardkommun"})
    for role in Role:
        Group.objects.get_or_create(name=role.value)
    Permission.objects.get_or_create(
        content_type=ContentType.objects.get_for_model(Instrument),
        codename=EDIT_SHARED_INSTRUMENTS.split(".")[1],
        defaults={"name": "Kan ändra och publicera gemensamma frågeformulär"},
    )
    wanted = []
    for name in SYSTEM_ADMIN_PERMISSIONS:
        app_label, codename = name.split(".")
        found = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
        if found is not None:  # an app's own permissions appear after its migrate
            wanted.append(found)
    Group.objects.get(name=Role.SYSTEM_ADMIN.value).permissions.add(*wanted)
