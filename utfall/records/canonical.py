"""Stored records in their canonical interchange form (the form import compares and export writes).

Each function reads with a handful of queries, whatever the number of rows: no query per row.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.db import connection
from django.db.models import QuerySet

from utfall.core.bulk import one_of
from utfall.core.pseudonyms import PSEUDONYM_PREFIX
from utfall.followups.models import Answer, FollowUp
from utfall.organisations.models import Municipality
from utfall.registry.models import Contract, ContractTarget, Intervention, Provider

Record = dict[str, Any]
CHUNK = 2000


def _iso(value: Any) -> str:
    return value.isoformat() if value else ""


def _str(value: Any) -> str:
    return "" if value is None else str(value)


def _chunks(ids: list[str]) -> Iterable[list[str]]:
    for i in range(0, len(ids), CHUNK):
        yield ids[i : i + CHUNK]


def _select(qs: QuerySet[Any], field: str, ids: Iterable[str] | None) -> Iterable[QuerySet[Any]]:
    if ids is None:
        yield qs
        return
    meta = qs.model._meta
    quote = connection.ops.quote_name
    column = f"{quote(meta.db_table)}.{quote(meta.get_field(field).column)}"  # type: ignore[union-attr]
    for chunk in _chunks(sorted(set(ids))):
        # Not Django's ``__in``: it prepares each value in Python, ~0.3 s for the ids of a
        # 40,000-row import (issue 13.2). The values are still parameters (core.bulk.one_of).
        where, params = one_of(column, chunk)
        yield qs.extra(where=[where], params=params)  # noqa: S610


def providers(municipality: Municipality, ids: Iterable[str] | None = None) -> dict[str, Record]:
    out: dict[str, Record] = {}
    base = Provider.objects.filter(municipality=municipality)
    for qs in _select(base, "provider_id", ids):
        for p in qs.values("pk", "provider_id", "name", "org_number", "ownership"):
            out[p["provider_id"]] = {
                "provider_id": p["provider_id"],
                "name": p["name"],
                "org_number": p["org_number"],
                "ownership": p["ownership"],
                "_pk": p["pk"],
            }
    return out


def contracts(municipality: Municipality, ids: Iterable[str] | None = None) -> dict[str, Record]:
    out: dict[str, Record] = {}
    base = Contract.objects.filter(municipality=municipality)
    for qs in _select(base, "contract_id", ids):
        services: dict[int, list[str]] = defaultdict(list)
        rows = list(
            qs.values(
                "pk",
                "contract_id",
                "provider__provider_id",
                "provider_id",
                "form",
                "valid_from",
                "valid_to",
                "extension_options",
                "price",
                "price_unit",
                "value",
                "manager",
            )
        )
        through = Contract.services.through.objects.filter(contract_id__in=[r["pk"] for r in rows])
        for contract_pk, code in through.values_list("contract_id", "service__code"):
            services[contract_pk].append(code)
        targets: dict[int, list[str]] = defaultdict(list)
        for target in ContractTarget.objects.filter(contract_id__in=[r["pk"] for r in rows]).order_by(
            "indicator"
        ):
            targets[target.contract_id].append(target.as_code)
        for c in rows:
            out[c["contract_id"]] = {
                "contract_id": c["contract_id"],
                "provider_id": c["provider__provider_id"],
                "form": c["form"],
                "services": " ".join(sorted(services[c["pk"]])),
                "valid_from": _iso(c["valid_from"]),
                "valid_to": _iso(c["valid_to"]),
                "extension_options": c["extension_options"],
                "price": "" if c["price"] is None else f"{c['price']:.2f}",
                "price_unit": c["price_unit"],
                "value": "" if c["value"] is None else f"{c['value']:.0f}",
                "manager": c["manager"],
                "targets": " ".join(targets[c["pk"]]),
                "_pk": c["pk"],
                "_provider_pk": c["provider_id"],
            }
    return out


def interventions(municipality: Municipality, ids: Iterable[str] | None = None) -> dict[str, Record]:
    out: dict[str, Record] = {}
    base = Intervention.objects.filter(municipality=municipality)
    fields = (
        "pk", "intervention_id", "client__pseudonym", "client__sex", "client__birth_year",
        "service__code", "provider__provider_id", "contract__contract_id", "unit__code",
        "decided_on", "started_on", "ended_on", "end_reason",
        "goals_total", "goals_fully", "goals_partly", "client_id",
        "provider_id", "service_id", "unit_id", "contract_id",
    )  # fmt: skip
    for qs in _select(base, "intervention_id", ids):
        for i in qs.values(*fields):
            out[i["intervention_id"]] = {
                "intervention_id": i["intervention_id"],
                "person_id": PSEUDONYM_PREFIX + i["client__pseudonym"],
                "sex": i["client__sex"],
                "birth_year": _str(i["client__birth_year"]),
                "service": i["service__code"],
                "provider_id": i["provider__provider_id"],
                "contract_id": i["contract__contract_id"] or "",
                "unit": i["unit__code"],
                "decided_on": _iso(i["decided_on"]),
                "started_on": _iso(i["started_on"]),
                "ended_on": _iso(i["ended_on"]),
                "end_reason": i["end_reason"],
                "goals_total": _str(i["goals_total"]),
                "goals_fully": _str(i["goals_fully"]),
                "goals_partly": _str(i["goals_partly"]),
                "_pk": i["pk"],
                "_client_pk": i["client_id"],
                # What a follow-up's answers and counts repeat of it (interchange.followup_rows.FACTS).
                "_facts": (
                    i["provider_id"],
                    i["service_id"],
                    i["unit_id"],
                    i["contract_id"],
                    i["client__sex"],
                    i["client__birth_year"],
                    i["client_id"],
                ),
            }
    return out


def followups(municipality: Municipality, ids: Iterable[str] | None = None) -> dict[str, Record]:
    out: dict[str, Record] = {}
    base = FollowUp.objects.filter(municipality=municipality)
    fields = (
        "pk", "followup_id", "intervention__intervention_id", "date",
        "instrument_version__instrument__code", "instrument_version__version",
        "respondent", "status", "assessment", "g1", "g2", "g3", "minutes", "version",
    )  # fmt: skip
    for qs in _select(base, "followup_id", ids):
        rows = list(qs.values(*fields))
        answers: dict[int, dict[str, str]] = defaultdict(dict)
        pks = [r["pk"] for r in rows]
        for i in range(0, len(pks), CHUNK):
            stored = Answer.objects.filter(followup_id__in=pks[i : i + CHUNK])
            for followup_pk, question, option in stored.values_list(
                "followup_id", "question__code", "option__code"
            ):
                answers[followup_pk][question] = option
        for f in rows:
            out[f["followup_id"]] = {
                "followup_id": f["followup_id"],
                "intervention_id": f["intervention__intervention_id"],
                "date": _iso(f["date"]),
                "instrument": f"{f['instrument_version__instrument__code']}@"
                f"{f['instrument_version__version']}",
                "respondent": f["respondent"],
                "status": f["status"],
                "answers": dict(sorted(answers[f["pk"]].items())),
                "assessment": f["assessment"],
                "g1": f["g1"],
                "g2": f["g2"],
                "g3": f["g3"],
                "minutes": _str(f["minutes"]),
                "_pk": f["pk"],
                "_version": f["version"],
            }
    return out


def public(record: Record) -> Record:
    """The record without its internal (underscore) keys: what is compared and written."""
    return {k: v for k, v in record.items() if not k.startswith("_")}


READERS = {
    "providers": providers,
    "contracts": contracts,
    "interventions": interventions,
    "followups": followups,
}
