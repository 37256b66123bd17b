"""The pages as the procurement officer, a unit manager and a provider use them."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from tests.procurement.conftest import People
from utfall.core.models import AuditEntry
from utfall.organisations.models import Municipality
from utfall.procurement.models import ProviderReport, Statement, StatementStatus

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    return client


def test_contract_list_search_and_expiry(people: People, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    client = signed_in(people.procurement)
    monkeypatch.setattr("django.utils.timezone.localdate", lambda *a, **k: dt.date(2026, 6, 30))
    page = client.get(reverse("procurement:contracts")).content.decode()
    assert ("C-A" in page and "C-C" in page and "1 av 2 mål uppnådda" in page) or "mål uppnådda" in page
    within6 = client.get(reverse("procurement:contracts"), {"expiring": "6"}).content.decode()
    assert "C-A" in within6 and "C-B" not in within6  # C-A ends 2026-09-30, C-B 2027-03-31
    within12 = client.get(reverse("procurement:contracts"), {"expiring": "12"}).content.decode()
    assert "C-A" in within12 and "C-B" in within12 and "C-C" not in within12
    found = client.get(reverse("procurement:contracts"), {"q": "olle"}).content.decode()
    assert "C-C" in found and "C-A" not in found


def test_contract_page_statement_approve_and_download(people: People) -> None:
    client = signed_in(people.procurement)
    page = client.get(reverse("procurement:contract", args=["C-B"]), {"date_from": "2025-01-01",
                                                                      "date_to": "2025-12-31"})  # fmt: skip
    assert page.status_code == 200 and "Resultat mot avtalets mål" in page.content.decode()
    response = client.post(reverse("procurement:statement_create", args=["C-B"]),
                           {"date_from": "2025-01-01", "date_to": "2025-12-31"})  # fmt: skip
    statement = Statement.objects.get(contract__contract_id="C-B")
    assert response.status_code == 302
    text = client.get(reverse("procurement:statement", args=[statement.pk])).content.decode()
    assert "Ingen ersättning enligt regeln" in text and "Uppföljningsgrad minst 80,0 %" in text
    assert "20 räknade insatser, varav 18 med utfallet" in text  # counts, never pseudonyms, for procurement
    assert statement.content["rules"][0]["evidence"][0]["pseudonym"][:12] not in text
    client.post(reverse("procurement:statement_approve", args=[statement.pk]))
    assert Statement.objects.get(pk=statement.pk).status == StatementStatus.APPROVED
    xlsx = client.get(reverse("procurement:statement_download", args=[statement.pk]))
    book = load_workbook(io.BytesIO(xlsx.content))
    values = [row[:2] for row in book["Avräkning"].iter_rows(values_only=True)]
    assert ("Att betala (kr)", 0) in values and ("Avtal", "C-B") in values
    bad = client.post(reverse("procurement:statement_create", args=["C-B"]), {"date_from": "2025-12-31",
                                                                               "date_to": "2025-01-01"})  # fmt: skip
    assert bad.status_code == 302 and Statement.objects.filter(contract__contract_id="C-B").count() == 1


def test_a_unit_manager_sees_the_pseudonyms_of_their_units_and_the_read_is_audited(people: People) -> None:
    signed_in(people.procurement).post(reverse("procurement:statement_create", args=["C-A"]),
                                       {"date_from": "2025-01-01", "date_to": "2025-12-31"})  # fmt: skip
    statement = Statement.objects.get(contract__contract_id="C-A")
    text = (
        signed_in(people.manager).get(reverse("procurement:statement", args=[statement.pk])).content.decode()
    )
    first = statement.content["rules"][0]["evidence"][0]
    assert first["intervention_id"] in text and first["pseudonym"][:12] in text
    assert AuditEntry.objects.filter(user=people.manager, kind="interventions").exists()


def test_simulation_page(people: People) -> None:
    client = signed_in(people.procurement)
    ok = client.get(reverse("procurement:simulate"), {"kind": "bonus_share", "indicator": "step_down",
                                                      "share_percent": "2", "floor": "0.5", "min_coverage": "0.8",
                                                      "min_clients": "10"})  # fmt: skip
    assert ok.status_code == 200 and "1 av 4 avtal" in ok.content.decode()
    bad = client.get(reverse("procurement:simulate"), {"kind": "per_client", "indicator": "step_down"})
    assert bad.status_code == 400 and "Ange beloppet per klient i kronor." in bad.content.decode()


def test_the_provider_sees_its_results_and_reports_its_own_figures(
    people: People, market: Municipality
) -> None:
    client = signed_in(people.provider_a)
    page = client.get(
        reverse("procurement:provider_home"), {"date_from": "2025-01-01", "date_to": "2025-12-31"}
    )
    text = page.content.decode()
    assert page.status_code == 200 and "Era resultat mot kommunens nivå" in text and "C-A" in text
    # Another provider's contract is not there for it.
    assert client.get(reverse("procurement:contract", args=["C-B"])).status_code == 404
    bad = client.post(reverse("procurement:provider_report"), {"indicator": "step_down", "period_from": "2025-01-01",
                                                               "period_to": "2025-12-31", "events": "30", "n": "20",
                                                               "comment": "vår egen räkning"})  # fmt: skip
    assert bad.status_code == 400 and "vår egen räkning" in bad.content.decode()
    assert (
        "kan inte vara fler än antal räknade" in bad.content.decode() and not ProviderReport.objects.exists()
    )
    # The measures its contract requires are offered (C-A has targets on step_down and plan_goals_fully).
    assert 'value="plan_goals_fully"' in text and 'value="influence"' not in text
    other = client.post(reverse("procurement:provider_report"), {"indicator": "influence", "period_from": "2025-01-01",
                                                                 "period_to": "2025-12-31", "events": "1", "n": "2"})  # fmt: skip
    assert other.status_code == 400 and not ProviderReport.objects.exists()
    client.post(reverse("procurement:provider_report"), {"indicator": "step_down", "period_from": "2025-01-01",
                                                         "period_to": "2025-12-31", "events": "20", "n": "20"})  # fmt: skip
    text = client.get(reverse("procurement:provider_home")).content.decode()
    # Its own 100 % beside the municipality's 16 of 20 (80 %, 95 % interval 58,4–91,9 %): flagged.
    assert "100,0 % (20 av 20)" in text and "Högre än kommunens siffra, utanför dess 95 %-intervall" in text


def test_a_statement_shows_counts_below_the_minimum_only_as_fewer_than(people: People, settings) -> None:  # type: ignore[no-untyped-def]
    settings.UTFALL_MIN_COUNT = 25  # C-A counts 20 interventions
    client = signed_in(people.procurement)
    client.post(reverse("procurement:statement_create", args=["C-A"]),
                {"date_from": "2025-01-01", "date_to": "2025-12-31"})  # fmt: skip
    statement = Statement.objects.get(contract__contract_id="C-A")
    text = client.get(reverse("procurement:statement", args=[statement.pk])).content.decode()
    assert "färre än 25 av färre än 25 räknade insatser (dolt)" in text
    assert "16 av 20" not in text and "80,0 %" not in text.split("Kommunen")[0].split("Bonus")[-1]
    book = load_workbook(
        io.BytesIO(client.get(reverse("procurement:statement_download", args=[statement.pk])).content)
    )
    rule_row = next(
        r for r in book["Avräkning"].iter_rows(values_only=True) if r[0] == "Bonus för lägre insatsnivå"
    )
    assert rule_row[2:5] == ("<25", "<25", None)


def test_a_rule_may_not_count_fewer_clients_than_the_minimum(people: People) -> None:
    response = signed_in(people.procurement).get(reverse("procurement:simulate"), {
        "kind": "per_client", "indicator": "plan_goals_fully", "amount": "5000", "floor": "0",
        "min_coverage": "0.8", "min_clients": "3"})  # fmt: skip
    assert response.status_code == 400
    assert "Minsta antal klienter kan inte vara under 5" in response.content.decode()


def test_the_provider_reports_several_figures_from_a_file_all_or_nothing(people: People) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = signed_in(people.provider_a)
    url = reverse("procurement:provider_report")
    header = "indicator;period_from;period_to;events;n;comment\n"
    bad = header + "step_down;2025-01-01;2025-12-31;19;20;\nplan_goals_fully;2025-01-01;2025-12-31;25;20;\n"
    response = client.post(url, {"file": SimpleUploadedFile("egna.csv", bad.encode())})
    text = response.content.decode()
    assert response.status_code == 400 and "Inget sparades." in text
    assert (
        "rad 3: Antal med utfallet (täljare): Antal med utfallet kan inte vara fler än antal räknade." in text
    )
    assert not ProviderReport.objects.exists()
    typo = "indikator;period_from;period_to;events;n\n"
    assert "okänd kolumn indikator" in client.post(url, {"file": SimpleUploadedFile("e.csv", typo.encode())}
                                                   ).content.decode()  # fmt: skip
    good = (
        header + "step_down;2025-01-01;2025-12-31;19;20;\nplan_goals_fully;2025-01-01;2025-12-31;15;20;egen\n"
    )
    assert client.post(url, {"file": SimpleUploadedFile("egna.csv", good.encode())}).status_code == 302
    assert sorted(ProviderReport.objects.values_list("indicator", "events", "n")) == [
        ("plan_goals_fully", 15, 20),
        ("step_down", 19, 20),
    ]


def test_the_cost_page_shows_cost_per_good_outcome_with_its_interval(people: People) -> None:
    page = signed_in(people.procurement).get(reverse("procurement:costs"),
                                             {"date_from": "2025-01-01", "date_to": "2025-12-31"})  # fmt: skip
    text = page.content.decode()
    assert page.status_code == 200
    assert (
        "543 000 kr" in text and "678 750 kr (" in text and "; n 20)" in text
    )  # A, hvb_youth: 543 000 / 0,8
    bad = signed_in(people.procurement).get(reverse("procurement:costs"), {"date_from": "2025-12-31",
                                                                            "date_to": "2025-01-01"})  # fmt: skip
    assert bad.status_code == 400 and "Periodens slut ligger före dess början." in bad.content.decode()


def test_a_correction_through_the_pages_is_a_new_version_and_keeps_the_old(people: People) -> None:
    client = signed_in(people.procurement)
    client.post(reverse("procurement:statement_create", args=["C-A"]),
                {"date_from": "2025-01-01", "date_to": "2025-12-31"})  # fmt: skip
    first = Statement.objects.get(contract__contract_id="C-A")
    refused = client.post(reverse("procurement:statement_correct", args=[first.pk]), {"reason": "fel"})
    assert (
        refused.status_code == 302 and Statement.objects.count() == 1
    )  # a draft is recomputed, not corrected
    client.post(reverse("procurement:statement_approve", args=[first.pk]))
    empty = client.post(
        reverse("procurement:statement_correct", args=[first.pk]), {"reason": ""}, follow=True
    )
    assert "Ange skälet till rättelsen." in empty.content.decode() and Statement.objects.count() == 1
    response = client.post(reverse("procurement:statement_correct", args=[first.pk]), {"reason": "nytt pris"})
    second = Statement.objects.get(contract__contract_id="C-A", version=2)
    assert response["Location"] == reverse("procurement:statement", args=[second.pk])
    text = client.get(reverse("procurement:statement", args=[second.pk])).content.decode()
    assert "Rättelse: nytt pris" in text and "Version 1</a>: Godkänd" in text


def test_free_text_never_stores_an_identity_number(people: People) -> None:
    from utfall.core.identity import format_identity_number
    from utfall.procurement.models import DeviationResponse

    number = format_identity_number(dt.date(2009, 3, 14), 123)
    client = signed_in(people.provider_a)
    bad = client.post(reverse("procurement:provider_report"), {"indicator": "step_down", "period_from": "2025-01-01",
                                                               "period_to": "2025-12-31", "events": "3", "n": "4",
                                                               "comment": f"gäller {number}"})  # fmt: skip
    text = bad.content.decode()
    assert (
        bad.status_code == 400
        and "Kommentaren får inte innehålla ett person- eller samordningsnummer" in text
    )
    assert number not in text.split("<textarea")[0] and not ProviderReport.objects.exists()
    client.post(reverse("procurement:provider_respond"), {"indicator": "step_down", "period_from": "2025-01-01",
                                                          "period_to": "2025-12-31", "text": f"klient {number}"})  # fmt: skip
    assert not DeviationResponse.objects.exists()
