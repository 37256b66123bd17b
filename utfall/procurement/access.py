"""Who may do what with contracts, statements and providers' own reports (docs/access.md).

Procurement (upphandlare/avtalsförvaltare) manages every contract of its municipality and sees
aggregates and counts. A provider account sees its own contracts, statements and results and
reports its own figures. A unit manager may read a statement, with the pseudonyms of the
counted interventions of their own units (individual data, audit-logged). Nobody else."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404

from utfall.organisations.access import roles, sees_cases
from utfall.organisations.models import Role
from utfall.procurement.models import Statement
from utfall.registry.models import Contract


def manages_contracts(user: Any) -> bool:
    held = roles(user)
    return bool(getattr(user, "municipality_id", None)) and (
        Role.PROCUREMENT.value in held or bool(getattr(user, "is_superuser", False))
    )


def provider_of(user: Any) -> Any:
    """The provider a provider account speaks for (None for every other account)."""
    if Role.PROVIDER.value in roles(user) and getattr(user, "provider_id", None) is not None:
        return user.provider
    return None


def require_manager(user: Any) -> None:
    if not manages_contracts(user):
        raise PermissionDenied("Avtalen förvaltas av upphandlare och avtalsförvaltare.")


def require_provider(user: Any) -> Any:
    provider = provider_of(user)
    if provider is None or provider.municipality_id != user.municipality_id:
        raise PermissionDenied("Sidan är till för utförarens eget konto.")
    return provider


def contract_for(user: Any, contract_id: str) -> Contract:
    """The contract if the user may see it: 403 for roles without contracts, 404 for another
    municipality's or (for a provider) another provider's, as for one that does not exist."""
    provider = provider_of(user)
    if not manages_contracts(user) and provider is None:
        raise PermissionDenied("Avtalen förvaltas av upphandlare och avtalsförvaltare.")
    qs = Contract.objects.filter(municipality_id=user.municipality_id, contract_id=contract_id)
    if not manages_contracts(user):
        qs = qs.filter(provider=provider)
    contract = qs.select_related("provider", "municipality").first()
    if contract is None:
        raise Http404("Avtalet finns inte.")
    return contract


def statement_for(user: Any, pk: int) -> Statement:
    provider = provider_of(user)
    allowed = (
        manages_contracts(user)
        or provider is not None
        or (Role.UNIT_MANAGER.value in roles(user) and sees_cases(user))
    )
    if not allowed:
        raise PermissionDenied("Avräkningar visas för avtalsförvaltare, utföraren och enhetschefer.")
    qs = Statement.objects.filter(municipality_id=user.municipality_id, pk=pk)
    if provider is not None and not manages_contracts(user):
        qs = qs.filter(contract__provider=provider)
    statement = qs.select_related("contract__provider").first()
    if statement is None:
        raise Http404("Avräkningen finns inte.")
    return statement
