"""Deviation proposals on data with known truth: which providers are proposed, by which rule,
with which evidence (SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from utfall.comparisons.services import compare
from utfall.oversight.periods import BadPeriod, Period
from utfall.oversight.priority import priority_list, rank
from utfall.oversight.proposals import Evidence, Proposal, _evaluate, deviation_proposals, side_of

pytestmark = pytest.mark.django_db


def test_it_proposes_exactly_the_planted_providers_by_the_rule_that_fired(deviating: Any) -> None:
    found = deviation_proposals(deviating.municipality, Period(2025))
    assert {p.provider_id: p.rules for p in found.deviations} == {
        "LOW998": ["outside_998"],
        "TWICE": ["outside_95_twice"],
        "SEVERAL": ["low_on_several"],
    }
    assert {p.provider_id: p.rules for p in found.positives} == {"HIGH": ["outside_998", "high_on_several"]}
    # Ranked by evidence: the 99.8 % rule first.
    assert found.deviations[0].provider_id == "LOW998"
    assert found.previous == Period(2024)


def test_the_evidence_is_the_municipality_comparisons_row_with_the_previous_period(deviating: Any) -> None:
    found = deviation_proposals(deviating.municipality, Period(2025))
    low = next(p for p in found.deviations if p.provider_id == "LOW998")
    [evidence] = low.evidence
    analyst = compare(municipality=deviating.municipality, indicator="satisfied", date_from=Period(2025).date_from,
                      date_to=Period(2025).date_to, by="provider").as_json()  # fmt: skip
    row = next(r for r in analyst["rows"] if r["group"] == "LOW998")
    assert (evidence.indicator, evidence.n, evidence.events, evidence.rate) == ("satisfied", 40, 12, 0.3)
    assert (evidence.lower_95, evidence.lower_998, evidence.ci_low) == (
        row["lower_95"],
        row["lower_998"],
        row["ci_low"],
    )
    assert evidence.reference == analyst["target"] and 0.75 < evidence.reference < 0.85
    assert evidence.level == "99.8"
    assert evidence.previous is not None and evidence.previous["rate"] == 0.8 and evidence.previous["n"] == 40
    assert evidence.previous["outside_95"] is None
    twice = next(p for p in found.deviations if p.provider_id == "TWICE")
    assert [e.indicator for e in twice.evidence] == ["influence"]
    assert twice.evidence[0].previous["outside_95"] == "low"  # type: ignore[index]
    several = next(p for p in found.deviations if p.provider_id == "SEVERAL")
    assert sorted(e.indicator for e in several.evidence) == ["got_decided_support", "influence"]
    assert all(e.level == "95" for e in several.evidence)
    assert low.coverage.keys() == {"n", "rate"}


def test_only_new_keeps_the_providers_not_proposed_in_the_period_before(deviating: Any) -> None:
    # In 2025 TWICE is proposed for the second year below 95 % … and 2024 had no year before it,
    # so in 2024 nobody was proposed: all are new. In 2026 (no data) nobody is proposed at all.
    assert {p.provider_id for p in priority_list(deviating.municipality, Period(2025), only_new=True).deviations} == {
        "LOW998", "TWICE", "SEVERAL"}  # fmt: skip
    assert deviation_proposals(deviating.municipality, Period(2024)).deviations == []
    assert deviation_proposals(deviating.municipality, Period(2026)).deviations == []


def test_the_command_prints_the_proposals_as_json_csv_and_a_table(deviating: Any) -> None:
    out = io.StringIO()
    call_command(
        "deviations", "--period", "2025", "--format", "json", "--municipality", "testkommun", stdout=out
    )
    data = json.loads(out.getvalue())
    assert data["deviations"][0]["provider_id"] == "LOW998"
    assert data["deviations"][0]["evidence"][0]["indicator"] == "satisfied"
    assert data["positives"][0]["provider_id"] == "HIGH"
    out = io.StringIO()
    call_command(
        "deviations", "--period", "2025", "--format", "csv", "--municipality", "testkommun", stdout=out
    )
    text = out.getvalue()
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))
    assert {r["provider_id"] for r in rows} == {"LOW998", "TWICE", "SEVERAL", "HIGH"}
    assert next(r for r in rows if r["provider_id"] == "LOW998")["rate"] == "0,3000"
    out = io.StringIO()
    call_command("deviations", "--period", "2025", "--municipality", "testkommun", stdout=out)
    assert "Utanför styrgränsen 99,8 %" in out.getvalue() and "LOW998" in out.getvalue()
    from utfall.oversight.models import WebhookEndpoint, WebhookMessage

    WebhookEndpoint.objects.create(municipality=deviating.municipality, name="ILS", url="http://127.0.0.1:9/",
                                   secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")  # fmt: skip
    for _ in range(2):  # the second run announces nothing again
        call_command("deviations", "--period", "2025", "--notify", "--municipality", "testkommun", stdout=io.StringIO(),
                     stderr=io.StringIO())  # fmt: skip
    sent = WebhookMessage.objects.order_by("pk")
    assert sorted((m.event_type, m.payload["data"]["provider_id"]) for m in sent) == [
        ("deviation.positive", "HIGH"), ("deviation.proposed", "LOW998"), ("deviation.proposed", "SEVERAL"),
        ("deviation.proposed", "TWICE")]  # fmt: skip
    from utfall.organisations.models import Municipality

    Municipality.objects.create(code="tom", name="Tom kommun")
    err = io.StringIO()
    call_command("deviations", "--period", "2025", "--municipality", "tom", stdout=io.StringIO(), stderr=err)
    assert "Kommuner med data: grannkommun, testkommun" in err.getvalue()
    with pytest.raises(CommandError, match="ingen period"):
        call_command("deviations", "--period", "förra året", "--municipality", "testkommun")


def _row(rate: float, n: int = 40, suppressed: bool = False) -> dict[str, Any]:
    return {"n": n, "events": int(rate * n), "rate": rate, "ci_low": None, "ci_high": None, "lower_95": 0.65,
            "upper_95": 0.92, "lower_998": 0.56, "upper_998": 0.95, "suppressed": suppressed, "reference": 0.8}  # fmt: skip


def test_the_rules_on_plain_rows() -> None:
    current = {
        "satisfied": {
            "P": _row(0.5),
            "Q": _row(0.6),
            "R": _row(0.6),
            "S": _row(0.97),
            "T": _row(0.1, suppressed=True),
        },
        "influence": {"P": _row(0.8), "Q": _row(0.8), "R": _row(0.6), "S": _row(0.93)},
    }
    previous = {"satisfied": {"Q": _row(0.62)}, "influence": {}}
    found = _evaluate(current, previous)
    assert {k: v[0] for k, v in found.items()} == {
        ("P", "low"): ["outside_998"],
        ("Q", "low"): ["outside_95_twice"],
        ("R", "low"): ["low_on_several"],
        ("S", "high"): ["outside_998", "high_on_several"],
    }
    assert side_of(_row(0.65), "95") is None  # on the limit is inside


@pytest.mark.parametrize("text", ["2025x", "25", "2025H3", "1999"])
def test_a_bad_period_is_refused_with_a_reason(text: str) -> None:
    with pytest.raises(BadPeriod):
        Period.parse(text)


def test_periods_and_their_predecessors() -> None:
    assert Period.parse("2025h2").previous() == Period(2025, 1)
    assert Period.parse("2025H1").previous() == Period(2024, 2)
    assert (Period(2025, 1).date_from.isoformat(), Period(2025, 1).date_to.isoformat()) == (
        "2025-01-01",
        "2025-06-30",
    )


def test_the_page_shows_the_proposals_with_their_evidence_and_a_button_to_open_a_case(
    deviating: Any, client: Any
) -> None:
    client.force_login(deviating.procurement)
    response = client.get("/avvikelser/", {"period": "2025"})
    assert response.status_code == 200
    text = response.content.decode()
    assert "Utförare LOW998" in text and "Utanför styrgränsen 99,8 %" in text
    assert "30,0 %" in text  # LOW998's rate on satisfied, as evidence
    assert "/fordjupade-uppfoljningar/ny/?utforare=LOW998&amp;period=2025" in text
    assert text.index("Positiva avvikelser") < text.index("Utförare HIGH")
    download = client.get("/avvikelser/prioritering/", {"period": "2025", "format": "csv"})
    assert download["Content-Type"].startswith("text/csv")
    assert download.content.decode("utf-8").startswith("\ufeffperiod;direction;provider_id")
    bad = client.get("/avvikelser/", {"period": "förra året"})
    assert bad.status_code == 400 and "är ingen period" in bad.content.decode()
    api = client.get("/api/v1/deviations", {"period": "2025", "only_new": "true"})
    assert api.status_code == 200 and api.json()["deviations"][0]["provider_id"] == "LOW998"
    wrong = client.get("/api/v1/deviations", {"period": "2025H3"})
    assert wrong.status_code == 400 and wrong["Content-Type"] == "application/problem+json"
    client.force_login(deviating.caseworker)
    assert client.get("/avvikelser/", {"period": "2025"}).status_code == 403
    assert client.get("/api/v1/deviations", {"period": "2025"}).status_code == 403


def test_a_case_opened_from_a_proposal_keeps_its_evidence_and_becomes_the_last_in_depth_follow_up(
    deviating: Any, client: Any
) -> None:
    from utfall.oversight.models import Case

    client.force_login(deviating.procurement)
    form = client.get("/fordjupade-uppfoljningar/ny/", {"utforare": "LOW998", "period": "2025"})
    assert form.status_code == 200 and "Utanför styrgränsen 99,8 %" in form.content.decode()
    response = client.post("/fordjupade-uppfoljningar/ny/", {
        "utforare": "LOW998", "period": "2025", "provider": _pk("LOW998"),
        "title": "Fördjupad uppföljning av LOW998", "owner": deviating.procurement.pk,
    })  # fmt: skip
    assert response.status_code == 302
    case = Case.objects.get()
    assert (case.origin, case.period, case.evidence["rules"]) == ("proposal", "2025", ["outside_998"])
    assert case.evidence["evidence"][0]["indicator"] == "satisfied"
    ranked = priority_list(deviating.municipality, Period(2025))
    low = next(p for p in ranked.deviations if p.provider_id == "LOW998")
    assert low.last_case is not None and low.last_case["reference"] == "FU-0001"


def _pk(provider_id: str) -> int:
    from utfall.registry.models import Provider

    return Provider.objects.get(provider_id=provider_id).pk


def _proposal(
    pid: str, rules: list[str], strength: float, clients: int | None, value: int | None = None
) -> Proposal:
    evidence = Evidence("satisfied", "Nöjd", "low", "95", strength, 40, 10, 0.25, None, None, None, None, None, None,
                        None, None)  # fmt: skip
    contracts = [{"contract_id": "K", "form": "LOU", "value": value}]
    return Proposal(pid, pid, "low", rules, [evidence], clients=clients, contracts=contracts)


def test_the_priority_list_ranks_by_evidence_tier_then_strength_or_by_volume_or_value() -> None:
    proposals = [
        _proposal("WEAK_BIG", ["low_on_several"], 2.5, 400, value=9_000_000),
        _proposal("EXTREME", ["outside_998"], 6.0, 20),
        _proposal("EXTREME_AND_TWICE", ["outside_998", "outside_95_twice"], 3.5, 60, value=1_000_000),
        _proposal("TWICE", ["outside_95_twice"], 2.9, None),
    ]
    assert [p.provider_id for p in rank(proposals)] == ["EXTREME_AND_TWICE", "EXTREME", "TWICE", "WEAK_BIG"]
    assert [p.provider_id for p in rank(proposals, "volume")] == [
        "WEAK_BIG",
        "EXTREME_AND_TWICE",
        "EXTREME",
        "TWICE",
    ]
    assert [p.provider_id for p in rank(proposals, "value")][:2] == ["WEAK_BIG", "EXTREME_AND_TWICE"]
