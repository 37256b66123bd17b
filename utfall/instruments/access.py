"""Who may see, use and change which instruments (docs/access.md).

A *shared* (national) instrument (``Instrument.municipality`` empty) is offered to every
municipality; editing and publishing it changes every municipality's questionnaire, so it
needs the named permission ``instruments.edit_shared_instrument`` (the system administrator's
group), not merely staff status.

A *local* instrument belongs to one municipality (the tenant). It is seen and used (form,
API, import, method support) only inside that municipality, and edited only by that
municipality's own accounts with ``instruments.edit_local_instrument`` (the group
``instrument_editor``). Another municipality's local instrument is answered as if it did not
exist (404), exactly as another tenant's records are.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

EDIT_SHARED_INSTRUMENTS = "instruments.edit_shared_instrument"
EDIT_LOCAL_INSTRUMENTS = "instruments.edit_local_instrument"


def municipality_of(user: Any) -> int | None:
    """The user's municipality (the tenant), None for a national account or an anonymous one."""
    return getattr(user, "municipality_id", None)


def visible_to_municipality(municipality_id: int | None) -> Q:
    """The instruments a municipality's users see and use: the shared ones and its own.
    Without a municipality (a national account, the command line without one): shared only."""
    if municipality_id is None:
        return Q(municipality__isnull=True)
    return Q(municipality__isnull=True) | Q(municipality_id=municipality_id)


def visible_versions(municipality_id: int | None) -> Q:
    """``visible_to_municipality`` for a query on instrument versions."""
    if municipality_id is None:
        return Q(instrument__municipality__isnull=True)
    return Q(instrument__municipality__isnull=True) | Q(instrument__municipality_id=municipality_id)


def may_edit_shared(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.has_perm(EDIT_SHARED_INSTRUMENTS))


def may_edit_local(user: Any) -> bool:
    """Edits its own municipality's local instruments (never another's, never without one)."""
    return bool(
        getattr(user, "is_authenticated", False)
        and getattr(user, "municipality_id", None) is not None
        and user.has_perm(EDIT_LOCAL_INSTRUMENTS)
    )


def may_use_editor(user: Any) -> bool:
    return may_edit_shared(user) or may_edit_local(user)


def may_edit(user: Any, instrument: Any) -> bool:
    if instrument.municipality_id is None:
        return may_edit_shared(user)
    return may_edit_local(user) and instrument.municipality_id == user.municipality_id


def editable(user: Any, queryset: QuerySet[Any]) -> QuerySet[Any]:
    """The instruments of ``queryset`` the user may edit."""
    condition = Q(pk__in=[])
    if may_edit_shared(user):
        condition |= Q(municipality__isnull=True)
    if may_edit_local(user):
        condition |= Q(municipality_id=user.municipality_id)
    return queryset.filter(condition)


def ensure_permission(**kwargs: Any) -> None:
    """post_migrate: the permissions exist, the system administrators may edit the shared
    instruments and the municipalities' instrument editors their own local ones."""
    from django.contrib.auth.models import Group, Permission
    from django.contrib.contenttypes.models import ContentType

    from utfall.instruments.models import Instrument
    from utfall.organisations.models import Role

    content_type = ContentType.objects.get_for_model(Instrument)
    shared, _ = Permission.objects.get_or_create(
        content_type=content_type,
        codename=EDIT_SHARED_INSTRUMENTS.split(".")[1],
        defaults={"name": "Kan ändra och publicera gemensamma frågeformulär"},
    )
    local, _ = Permission.objects.get_or_create(
        content_type=content_type,
        codename=EDIT_LOCAL_INSTRUMENTS.split(".")[1],
        defaults={"name": "Kan ändra och publicera den egna kommunens lokala frågeformulär"},
    )
    Group.objects.get_or_create(name=Role.SYSTEM_ADMIN.value)[0].permissions.add(shared)
    Group.objects.get_or_create(name=Role.INSTRUMENT_EDITOR.value)[0].permissions.add(local)
