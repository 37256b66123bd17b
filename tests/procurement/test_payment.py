"""Outcome-based payment: the gaming guard, amounts recomputed by hand, immutability, simulation."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.core.exceptions import ValidationError

from tests.procurement.conftest import People
from utfall.comparisons.indicators import get_indicator
from utfall.comparisons.queries import aggregate, counted_interventions
from utfall.organisations.models import Municipality
from utfall.procurement import payment
from utfall.procurement.models import PaymentRule, RuleKind, Statement, StatementStatus
from utfall.registry.models import Contract

pytestmark = pytest.mark.django_db
Y2025 = (dt.date(2025, 1, 1), dt.date(2025, 12, 31))


def contract(market: Municipality, cid: str) -> Contract:
    return Contract.objects.select_related("provider", "municipality").get(
        municipality=market, contract_id=cid
    )


def test_the_evidence_is_exactly_what_the_comparison_counts(market: Municipality) -> None:
    for code in ("step_down", "plan_goals_fully", "followup_coverage"):
        definition = get_indicator(code)
        for cid in ("C-A", "C-B", "C-C"):
            rows = counted_interventions(definition, municipality=market, date_from=Y2025[0], date_to=Y2025[1],
                                         filters={"contract": cid})  # fmt: skip
            counted = aggregate(definition, municipality=market, date_from=Y2025[0], date_to=Y2025[1], by=[],
                                filters={"contract": cid})[0]  # fmt: skip
            assert (sum(r["event"] for r in rows), len(rows)) == (counted["events"], counted["n"]), (
                code,
                cid,
            )
    rows = counted_interventions(get_indicator("step_down"), municipality=market, date_from=Y2025[0],
                                 date_to=Y2025[1], filters={"contract": "C-A"})  # fmt: skip
    assert (sum(r["event"] for r in rows), len(rows)) == (16, 20)


def test_good_results_but_low_coverage_get_no_bonus_and_the_statement_says_why(market: Municipality) -> None:
    content, total = payment.evaluate(contract(market, "C-B"), *Y2025)
    bonus, per_client = content["rules"]
    assert bonus["rate"] == pytest.approx(0.9) and bonus["reference"]["rate"] == pytest.approx(0.7)
    assert bonus["ci_low"] > 0.5  # good results, clearly above the floor and the municipality
    assert bonus["coverage"]["events"] == 5 and bonus["coverage"]["n"] == 20
    assert not bonus["paid"] and bonus["amount"] == "0"
    assert any("Uppföljningsgrad minst 80,0 %" in r and "25,0 %" in r for r in bonus["reasons"])
    assert not per_client["paid"] and per_client["amount"] == "0"
    assert total == 0


def test_too_few_clients_pay_nothing_with_the_reason(market: Municipality) -> None:
    rule = PaymentRule(kind=RuleKind.BONUS_SHARE, indicator="step_down", share_percent=Decimal(2),
                       floor=Decimal("0.5"), min_coverage=Decimal("0.8"), min_clients=25, name="Strikt")  # fmt: skip
    found = contract(market, "C-A")
    result = payment.evaluate_rule(rule, found, *Y2025, payment.compensation(found, *Y2025))
    assert not result["paid"]
    assert result["reasons"] == ["Minst 25 klienter räknade (räknade: 20)"]


def test_amounts_recomputed_by_hand_from_the_listed_evidence_agree_to_the_krona(market: Municipality) -> None:
    found = contract(market, "C-A")
    content, total = payment.evaluate(found, *Y2025)
    paid_on = content["compensation"]
    # The compensation: each listed intervention's days in the period × the price per day.
    by_hand = sum(Decimal(r["days"]) for r in paid_on["rows"]) * Decimal(paid_on["price"])
    assert paid_on["rows"][0]["days"] == 181 and len(paid_on["rows"]) == 20
    assert Decimal(paid_on["total"]) == by_hand == Decimal(20 * 181 * 3000)
    bonus, per_client = content["rules"]
    assert bonus["paid"], bonus["reasons"]
    events = sum(1 for e in bonus["evidence"] if e["event"])
    assert (events, len(bonus["evidence"])) == (16, 20)
    assert Decimal(bonus["amount"]) == (by_hand * Decimal("0.02")).quantize(Decimal(1), ROUND_HALF_UP)
    assert bonus["amount"] == "217200"
    reached = {e["pseudonym"] for e in per_client["evidence"] if e["event"]}
    assert Decimal(per_client["amount"]) == 5000 * len(reached) == 60000
    assert total == Decimal(217200 + 60000)


def test_a_provider_below_the_municipality_gets_no_bonus(market: Municipality) -> None:
    content, _ = payment.evaluate(contract(market, "C-C"), *Y2025)
    bonus = content["rules"][0]
    assert not bonus["paid"]
    assert any("högre än kommunens" in r for r in bonus["reasons"])


def test_approved_statements_never_change_and_a_correction_is_a_new_version(market: Municipality,
                                                                          people: People) -> None:  # fmt: skip
    found = contract(market, "C-A")
    draft = payment.draft_statement(found, *Y2025, people.procurement)
    approved = payment.approve(draft, people.procurement)
    assert approved.status == StatementStatus.APPROVED and approved.approved_by == "upphandlare"
    approved.content = {**approved.content, "total": "1"}
    with pytest.raises(ValidationError):
        approved.save()
    with pytest.raises(ValueError, match="godkänd"):
        payment.draft_statement(found, *Y2025, people.procurement)
    with pytest.raises(ValueError, match="skälet"):
        payment.correct(approved, people.procurement, " ")
    # The price changes; the correction recomputes, the approved version stands until the new one is approved.
    Contract.objects.filter(pk=found.pk).update(price=Decimal(3100))
    corrected = payment.correct(Statement.objects.get(pk=approved.pk), people.procurement, "fel pris")
    assert corrected.version == 2 and corrected.supersedes_id == approved.pk
    assert Statement.objects.get(pk=approved.pk).status == StatementStatus.APPROVED
    assert Statement.objects.get(pk=approved.pk).total == Decimal(277200)
    payment.approve(corrected, people.procurement)
    assert Statement.objects.get(pk=approved.pk).status == StatementStatus.SUPERSEDED
    assert Statement.objects.get(pk=corrected.pk).total == Decimal(20 * 181 * 3100) * Decimal("0.02") + 60000


def test_simulation_covers_every_contract_in_force(market: Municipality) -> None:
    rule = PaymentRule(kind=RuleKind.BONUS_SHARE, indicator="step_down", share_percent=Decimal(2),
                       floor=Decimal("0.5"), name="Förslag")  # fmt: skip
    result = payment.simulate(market, rule)
    ids = [row["contract"].contract_id for row in result["rows"]]
    assert ids == ["C-A", "C-B", "C-C", "C-X"]
    paid = {row["contract"].contract_id: row["result"]["paid"] for row in result["rows"]}
    assert paid == {"C-A": True, "C-B": False, "C-C": False, "C-X": False}
    # The last year is the year up to the data's reference date (2025-12-20): 192 days of A's placements.
    assert (result["from"], result["to"]) == (dt.date(2024, 12, 21), dt.date(2025, 12, 20))
    assert result["rows"][0]["result"]["amount"] == str(20 * 192 * 3000 * 2 // 100)
    assert "Avtalet har ett pris att räkna ersättningen från" in result["rows"][3]["result"]["reasons"]
    assert result["total"] == sum(Decimal(r["result"]["amount"]) for r in result["rows"])


def test_a_rule_entered_in_the_administration_takes_the_contracts_municipality(market: Municipality,
                                                                              admin_client) -> None:  # type: ignore[no-untyped-def]  # fmt: skip
    found = contract(market, "C-C")
    response = admin_client.post("/admin/procurement/paymentrule/add/", {
        "contract": found.pk, "name": "Bonus", "kind": "bonus_share", "indicator": "step_down",
        "share_percent": "1.5", "floor": "0.4", "amount": "", "min_coverage": "0.8", "min_clients": "10",
        "active": "on",
    })  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:2000]
    rule = PaymentRule.objects.get(name="Bonus")
    assert rule.municipality_id == market.pk and rule.share_percent == Decimal("1.5")
