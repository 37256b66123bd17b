"""Outcome-based payment: rules evaluated on a contract's period, statements, simulation.

Every amount can be recomputed by hand from what the statement lists (docs/procurement.md):
the compensation is Σ days in the period × price per day (or interventions started in the
period × price per intervention); a bonus is ``share_percent`` % of it, rounded to whole
kronor (half up); a per-client amount is the amount × the distinct clients whose counted
intervention reached the outcome. The gaming guard pays nothing when the contract's follow-up
coverage in the period is below ``min_coverage`` or fewer than ``min_clients`` were counted.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from utfall.comparisons.indicators import get_indicator
from utfall.comparisons.queries import aggregate, counted_interventions, reference_date
from utfall.core.identity import IDENTITY_NUMBER_REFUSED, contains_identity_number
from utfall.organisations.models import Municipality
from utfall.procurement.models import PaymentRule, RuleKind, Statement, StatementStatus, by_username
from utfall.registry.models import Contract, Intervention, PriceUnit
from utfall.stats.proportions import wilson_interval

KR = Decimal("1")


def pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f} %".replace(".", ",")


def kronor(value: Decimal | int | str | None) -> str:
    if value is None:
        return "–"
    return f"{Decimal(value):,.0f} kr".replace(",", " ")


def compensation(contract: Contract, date_from: dt.date, date_to: dt.date) -> dict[str, Any]:
    """The period's compensation from the contract's price, with the rows it is summed from."""
    return compensations([contract], date_from, date_to)[contract.pk]


def compensations(
    contracts: list[Contract], date_from: dt.date, date_to: dt.date
) -> dict[int, dict[str, Any]]:
    """:func:`compensation` of several contracts from one query."""
    qs = Intervention.objects.filter(contract__in=contracts, started_on__lte=date_to).filter(
        Q(ended_on__isnull=True) | Q(ended_on__gte=date_from)
    )
    rows: dict[int, list[dict[str, Any]]] = {c.pk: [] for c in contracts}
    fields = ("contract_id", "intervention_id", "client__pseudonym", "started_on", "ended_on")
    for i in qs.values(*fields).order_by("intervention_id"):
        first, last = max(i["started_on"], date_from), min(i["ended_on"] or date_to, date_to)
        started_here = date_from <= i["started_on"] <= date_to
        rows[i["contract_id"]].append({"intervention_id": i["intervention_id"], "pseudonym": i["client__pseudonym"],
                                       "days": (last - first).days + 1, "started_in_period": started_here})  # fmt: skip
    out = {}
    for contract in contracts:
        mine = rows[contract.pk]
        price = contract.price
        paid_on: dict[str, Any] = {"price": None if price is None else str(price), "price_unit": contract.price_unit,
                                   "interventions": len(mine), "days": sum(r["days"] for r in mine),
                                   "started": sum(1 for r in mine if r["started_in_period"]), "total": None,
                                   "rows": mine}  # fmt: skip
        if price is not None and contract.price_unit == PriceUnit.DAY:
            paid_on["total"] = str((price * paid_on["days"]).quantize(Decimal("0.01")))
        elif price is not None and contract.price_unit == PriceUnit.INTERVENTION:
            paid_on["total"] = str((price * paid_on["started"]).quantize(Decimal("0.01")))
        out[contract.pk] = paid_on
    return out


def coverage(contract: Contract, date_from: dt.date, date_to: dt.date) -> dict[str, Any]:
    row = aggregate(get_indicator("followup_coverage"), municipality=contract.municipality, date_from=date_from,
                    date_to=date_to, by=[], filters={"contract": contract.contract_id})[0]  # fmt: skip
    return {"events": row["events"], "n": row["n"], "rate": row["events"] / row["n"] if row["n"] else None}


def evaluate_rule(
    rule: PaymentRule,
    contract: Contract,
    date_from: dt.date,
    date_to: dt.date,
    paid_on: dict[str, Any],
    *,
    counted: list[dict[str, Any]] | None = None,
    cover: dict[str, Any] | None = None,
    whole: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One rule on one contract and period: the evidence, the conditions, the amount and why.
    ``counted``, ``cover`` and ``whole`` may be given when counted for many contracts at once."""
    municipality = contract.municipality
    definition = get_indicator(rule.indicator)
    if counted is None:
        counted = counted_interventions(definition, municipality=municipality, date_from=date_from,
                                        date_to=date_to, filters={"contract": contract.contract_id})  # fmt: skip
    n, events = len(counted), sum(1 for r in counted if r["event"])
    clients = {r["pseudonym"] for r in counted}
    reached = {r["pseudonym"] for r in counted if r["event"]}
    if whole is None:
        whole = aggregate(definition, municipality=municipality, date_from=date_from, date_to=date_to, by=[])[
            0
        ]
    if cover is None:
        cover = coverage(contract, date_from, date_to)
    low = high = None
    if n:
        lo, hi = wilson_interval(np.array([events]), np.array([n]), 0.95)
        low, high = round(float(lo[0]), 4), round(float(hi[0]), 4)
    rate = events / n if n else None
    reference = whole["events"] / whole["n"] if whole["n"] else None
    result: dict[str, Any] = {
        "rule": rule.as_data(), "indicator_name": definition.name,
        "n": n, "events": events, "rate": rate, "ci_low": low, "ci_high": high,
        "reference": {"events": whole["events"], "n": whole["n"], "rate": reference},
        "coverage": cover, "clients": len(clients), "clients_reached": len(reached),
        "evidence": [{"intervention_id": r["intervention_id"], "pseudonym": r["pseudonym"],
                      "ended_on": r["ended_on"].isoformat() if r["ended_on"] else "", "event": r["event"]}
                     for r in counted],
        "conditions": [], "paid": False, "reasons": [], "amount": "0",
    }  # fmt: skip
    conditions: list[dict[str, Any]] = result["conditions"]
    # The gaming guard first: a provider who follows up only the clients who do well gets nothing.
    conditions.append({
        "text": f"Uppföljningsgrad minst {pct(float(rule.min_coverage))} (avtalets: {pct(cover['rate'])}, "
                f"{cover['events']} av {cover['n']} pågående insatser följdes upp)",
        "met": cover["rate"] is not None and cover["rate"] >= float(rule.min_coverage),
    })  # fmt: skip
    conditions.append({"text": f"Minst {rule.min_clients} klienter räknade (räknade: {len(clients)})",
                       "met": len(clients) >= rule.min_clients})  # fmt: skip
    if rule.kind == RuleKind.BONUS_SHARE:
        conditions.append({
            "text": f"Andelen ({pct(rate)}) högre än kommunens ({pct(reference)}, "
                    f"{whole['events']} av {whole['n']})",
            "met": rate is not None and reference is not None and rate > reference,
        })  # fmt: skip
        conditions.append({"text": f"Nedre 95 %-gränsen ({pct(low)}) över golvet {pct(float(rule.floor))}",
                           "met": low is not None and low > float(rule.floor)})  # fmt: skip
        if paid_on["total"] is None:
            conditions.append({"text": "Avtalet har ett pris att räkna ersättningen från", "met": False})
    reasons = [c["text"] for c in conditions if not c["met"]]
    result["reasons"] = reasons
    if reasons:
        return result
    if rule.kind == RuleKind.BONUS_SHARE:
        share = Decimal(rule.share_percent or 0) / 100
        amount = (Decimal(paid_on["total"]) * share).quantize(KR, rounding=ROUND_HALF_UP)
        result["calculation"] = (
            f"{rule.share_percent} % × {kronor(Decimal(paid_on['total']))} = {kronor(amount)}"
        )
    else:
        amount = (Decimal(rule.amount or 0) * len(reached)).quantize(KR, rounding=ROUND_HALF_UP)
        result["calculation"] = f"{len(reached)} klienter × {kronor(rule.amount)} = {kronor(amount)}"
    result.update(paid=amount > 0, amount=str(amount))
    return result


def evaluate(
    contract: Contract, date_from: dt.date, date_to: dt.date, rules: list[PaymentRule] | None = None
) -> tuple[dict[str, Any], Decimal]:
    """The statement's content (each rule, its evidence and amount) and the total."""
    if rules is None:
        rules = list(contract.payment_rules.filter(active=True).order_by("pk"))
    paid_on = compensation(contract, date_from, date_to)
    evaluated = [evaluate_rule(rule, contract, date_from, date_to, paid_on) for rule in rules]
    total = sum((Decimal(r["amount"]) for r in evaluated), Decimal(0))
    content = {
        "contract_id": contract.contract_id, "provider": contract.provider.name,
        "period_from": date_from.isoformat(), "period_to": date_to.isoformat(),
        "compensation": paid_on, "rules": evaluated, "total": str(total),
        "evaluated_at": timezone.now().isoformat(timespec="seconds"),
    }  # fmt: skip
    return content, total


@transaction.atomic
def draft_statement(contract: Contract, date_from: dt.date, date_to: dt.date, user: Any) -> Statement:
    """A draft for the period (an existing draft is recomputed; after an approved one, a
    correction is needed: :func:`correct`)."""
    existing = (
        Statement.objects.select_for_update()
        .filter(contract=contract, period_from=date_from, period_to=date_to)
        .order_by("-version")
        .first()
    )
    content, total = evaluate(contract, date_from, date_to)
    if existing is not None and existing.status == StatementStatus.DRAFT:
        existing.content, existing.total, existing.created_by = content, total, by_username(user)
        existing.save()
        return existing
    if existing is not None:
        raise ValueError("Perioden har redan en godkänd avräkning: gör en rättelse i stället.")
    return Statement.objects.create(
        municipality=contract.municipality, contract=contract, period_from=date_from, period_to=date_to,
        content=content, total=total, created_by=by_username(user),
    )  # fmt: skip


@transaction.atomic
def approve(statement: Statement, user: Any) -> Statement:
    locked = Statement.objects.select_for_update().get(pk=statement.pk)
    if locked.status != StatementStatus.DRAFT:
        raise ValueError("Avräkningen är redan godkänd eller ersatt.")
    locked.status, locked.approved_by, locked.approved_at = (
        StatementStatus.APPROVED,
        by_username(user),
        timezone.now(),
    )
    locked.save()
    approve_correction(locked)
    return locked


@transaction.atomic
def correct(statement: Statement, user: Any, reason: str) -> Statement:
    """A new draft version recomputed from today's data and rules; the approved one is kept
    and marked as superseded when the new version is approved (until then it stands)."""
    locked = Statement.objects.select_for_update().get(pk=statement.pk)
    if locked.status != StatementStatus.APPROVED:
        raise ValueError("Bara en godkänd avräkning rättas; ett utkast räknas om.")
    if not reason.strip():
        raise ValueError("Ange skälet till rättelsen.")
    if contains_identity_number(reason):
        raise ValueError(f"Skälet {IDENTITY_NUMBER_REFUSED}.")
    content, total = evaluate(locked.contract, locked.period_from, locked.period_to)
    newest = Statement.objects.filter(contract=locked.contract, period_from=locked.period_from,
                                      period_to=locked.period_to).order_by("-version").first()  # fmt: skip
    assert newest is not None
    if newest.pk != locked.pk:
        raise ValueError("Det finns redan en nyare version av avräkningen.")
    return Statement.objects.create(
        municipality=locked.municipality, contract=locked.contract, period_from=locked.period_from,
        period_to=locked.period_to, version=locked.version + 1, content=content, total=total,
        created_by=by_username(user), reason=reason.strip(), supersedes=locked,
    )  # fmt: skip


def approve_correction(statement: Statement) -> None:
    """When a correction is approved, the version it corrects is superseded."""
    if statement.supersedes_id is not None:
        Statement.objects.filter(pk=statement.supersedes_id).update(status=StatementStatus.SUPERSEDED)


def last_year(municipality: Municipality) -> tuple[dt.date, dt.date]:
    end = reference_date(municipality) or timezone.localdate()
    return end - dt.timedelta(days=364), end


def simulate(municipality: Municipality, rule: PaymentRule) -> dict[str, Any]:
    """What ``rule`` would have paid over the last year for every contract in force then
    (counted for all contracts at once: one query per kind of count, not per contract)."""
    date_from, date_to = last_year(municipality)
    contracts = list(
        Contract.objects.filter(municipality=municipality, valid_from__lte=date_to)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=date_from))
        .select_related("provider", "municipality")
        .order_by("contract_id")
    )
    definition = get_indicator(rule.indicator)
    counted: dict[str, list[dict[str, Any]]] = {}
    for row in counted_interventions(definition, municipality=municipality, date_from=date_from, date_to=date_to,
                                     filters={}):  # fmt: skip
        counted.setdefault(row["contract"], []).append(row)
    whole = aggregate(definition, municipality=municipality, date_from=date_from, date_to=date_to, by=[])[0]
    covered = {r["contract"]: r for r in aggregate(get_indicator("followup_coverage"), municipality=municipality,
                                                   date_from=date_from, date_to=date_to, by=["contract"])}  # fmt: skip
    paid_on = compensations(contracts, date_from, date_to)
    rows = []
    for contract in contracts:
        c = covered.get(contract.contract_id, {"events": 0, "n": 0})
        cover = {"events": c["events"], "n": c["n"], "rate": c["events"] / c["n"] if c["n"] else None}
        result = evaluate_rule(rule, contract, date_from, date_to, paid_on[contract.pk],
                               counted=counted.get(contract.contract_id, []), cover=cover, whole=whole)  # fmt: skip
        rows.append({"contract": contract, "from": date_from, "to": date_to,
                     "compensation": paid_on[contract.pk]["total"], "result": result})  # fmt: skip
    total = sum((Decimal(r["result"]["amount"]) for r in rows), Decimal(0))
    paid = sum(1 for r in rows if r["result"]["paid"])
    return {"from": date_from, "to": date_to, "rows": rows, "total": total, "paid": paid}
