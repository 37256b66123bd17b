"""The priority list: the period's deviation proposals ranked for an in-depth follow-up, with
the contracts they concern and the provider's last in-depth follow-up (docs/oversight.md)."""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from utfall.organisations.models import Municipality
from utfall.oversight.models import Case
from utfall.oversight.periods import Period
from utfall.oversight.proposals import Proposal, ProposalSet, deviation_proposals
from utfall.registry.models import Contract

SORTS = {
    "evidence": "Evidens (starkast först), sedan volym",
    "volume": "Volym (flest klienter först), sedan evidens",
    "value": "Avtalsvärde (störst först), sedan evidens",
}


def contract_value(contract: Contract) -> int | None:
    """The contract's estimated value in kronor where the registry knows it (``Contract.value``,
    interchange v1.1, added with issue 12; on a registry without the field there is none and
    the list ranks without it)."""
    value = getattr(contract, "value", None)
    return int(value) if value is not None else None


def _annotate(municipality: Municipality, period: Period, proposals: list[Proposal]) -> None:
    ids = {p.provider_id for p in proposals}
    active = Q(valid_from__lte=period.date_to) & (
        Q(valid_to__isnull=True) | Q(valid_to__gte=period.date_from)
    )
    contracts: dict[str, list[dict[str, Any]]] = {}
    for c in (
        Contract.objects.filter(active, municipality=municipality, provider__provider_id__in=ids)
        .select_related("provider")
        .order_by("contract_id")
    ):
        contracts.setdefault(c.provider.provider_id, []).append(
            {"contract_id": c.contract_id, "form": c.get_form_display(), "value": contract_value(c)}
        )
    last: dict[str, dict[str, Any]] = {}
    for case in (
        Case.objects.of(municipality.pk)
        .filter(provider__provider_id__in=ids)
        .select_related("provider")
        .order_by("provider_id", "-opened_at")
    ):
        last.setdefault(
            case.provider.provider_id,
            {"reference": case.reference, "pk": case.pk, "opened": case.opened_at.date().isoformat(),
             "state": case.state, "state_label": case.get_state_display()},
        )  # fmt: skip
    for p in proposals:
        p.contracts = contracts.get(p.provider_id, [])
        p.last_case = last.get(p.provider_id)


def total_value(p: Proposal) -> int:
    return sum(c["value"] or 0 for c in p.contracts)


def priority_list(
    municipality: Municipality, period: Period, *, only_new: bool = False, sort: str = "evidence"
) -> ProposalSet:
    """The proposals (deviations and positives), ranked by ``sort`` (see :data:`SORTS`):
    evidence = rule tier (the 99.8 % rule with another, the 99.8 % rule, the 95 % rules), then
    strength (how far outside, z scale), then clients; volume = clients first; value = the
    contracts' estimated value first. ``only_new`` keeps those not proposed in the period before."""
    found = deviation_proposals(municipality, period)
    for name in ("deviations", "positives"):
        proposals: list[Proposal] = getattr(found, name)
        if only_new:
            proposals = [p for p in proposals if p.new]
        _annotate(municipality, period, proposals)
        setattr(found, name, rank(proposals, sort))
    return found


def rank(proposals: list[Proposal], sort: str = "evidence") -> list[Proposal]:
    """The proposals in the order of ``sort`` (see :func:`priority_list`)."""
    if sort == "volume":
        return sorted(proposals, key=lambda p: (-(p.clients or 0), -p.tier, -p.strength, p.provider_id))
    if sort == "value":
        return sorted(proposals, key=lambda p: (-total_value(p), -p.tier, -p.strength, -(p.clients or 0)))
    return sorted(proposals, key=lambda p: (-p.tier, -p.strength, -(p.clients or 0), p.provider_id))
