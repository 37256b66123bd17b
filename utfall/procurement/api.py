"""Read API for contracts, their results and statements (the pages' own functions and access rule).

``GET /api/v1/contracts`` (procurement), ``GET /api/v1/contracts/{contract_id}/results`` with
``from``/``to`` (procurement, and a provider for its own contracts), and
``GET /api/v1/statements/{statement_id}`` (as the statement page). Statements are given with
counts only: the evidence's pseudonyms stay on the page, for the roles that may see them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from ninja import Router

from utfall.core.api import Problem
from utfall.procurement.access import contract_for, require_manager, statement_for
from utfall.procurement.results import contract_results, default_period
from utfall.registry.models import Contract

router = Router(tags=["avtal"])
statements_router = Router(tags=["avtal"])


def _contract(c: Contract) -> dict[str, Any]:
    return {
        "contract_id": c.contract_id, "provider_id": c.provider.provider_id, "provider": c.provider.name,
        "form": c.form, "services": sorted(s.code for s in c.services.all()),
        "valid_from": c.valid_from.isoformat(), "valid_to": c.valid_to.isoformat() if c.valid_to else None,
        "extension_options": c.option_months, "latest_end": c.latest_end.isoformat() if c.latest_end else None,
        "price": None if c.price is None else str(c.price), "price_unit": c.price_unit or None,
        "value": None if c.value is None else str(c.value), "manager": c.manager,
        "targets": [{"indicator": t.indicator, "level": float(t.level), "min_n": t.min_n} for t in c.targets.all()],
    }  # fmt: skip


@router.get("", summary="Kommunens avtal med villkor och resultatmål")
def contracts(request: HttpRequest) -> dict[str, Any]:
    require_manager(request.user)
    user: Any = request.user
    qs = (
        Contract.objects.filter(municipality_id=user.municipality_id)
        .select_related("provider")
        .prefetch_related("services", "targets")
        .order_by("contract_id")
    )
    return {"contracts": [_contract(c) for c in qs]}


def _date(value: str | None, name: str) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise Problem(400, "Ogiltig fråga", f"{name}: ange ett datum ÅÅÅÅ-MM-DD.",
                      [{"pointer": f"/{name}", "detail": "ange ett datum ÅÅÅÅ-MM-DD"}]) from None  # fmt: skip


@router.get("/{contract_id}/results", summary="Avtalets resultat mot målen och kommunen")
def results(request: HttpRequest, contract_id: str) -> dict[str, Any]:
    found = contract_for(request.user, contract_id)
    start, end = default_period(found)
    start = _date(request.GET.get("from"), "from") or start
    end = _date(request.GET.get("to"), "to") or end
    if start > end:
        raise Problem(400, "Ogiltig fråga", "Periodens början ligger efter dess slut.",
                      [{"pointer": "/to", "detail": "före periodens början"}])  # fmt: skip
    return {"contract": _contract(found), "from": start.isoformat(), "to": end.isoformat(),
            "min_n": settings.UTFALL_MIN_COUNT, "rows": contract_results(found, start, end)}  # fmt: skip


@statements_router.get("/{statement_id}", summary="En avräkning (antal, utan pseudonymer)")
def statement(request: HttpRequest, statement_id: int) -> dict[str, Any]:
    found = statement_for(request.user, statement_id)
    content = found.content
    rules = [
        {key: value for key, value in r.items() if key != "evidence"}
        | {"evidence": {"counted": len(r["evidence"]), "with_outcome": sum(1 for e in r["evidence"] if e["event"])}}
        for r in content["rules"]
    ]  # fmt: skip
    compensation = {k: v for k, v in content["compensation"].items() if k != "rows"}
    return {"statement_id": found.pk, "version": found.version, "status": found.status,
            "approved_by": found.approved_by or None, "total": str(found.total),
            **{k: v for k, v in content.items() if k not in ("rules", "compensation")},
            "compensation": compensation, "rules": rules}  # fmt: skip
