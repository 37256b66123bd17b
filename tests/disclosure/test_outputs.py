"""The same differencing attacks through the other outputs (issue 10.6): the API and its CSV,
the results pages' downloads, the provider page, the gender page, the Kolada open data and the CLI."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.test import Client

from tests.disclosure.test_comparison_attacks import YEAR, difference, raw, rows
from utfall.organisations.models import Role, User
from utfall.reports.opendata import open_rows
from utfall.results.services.provider import provider_results

pytestmark = pytest.mark.django_db
QUERY = "indicator=satisfied&from=2025-01-01&to=2025-12-31&by=provider"


def analyst(municipality):  # type: ignore[no-untyped-def]
    user = User.objects.create_user("ana", municipality=municipality)
    user.groups.add(Group.objects.get(name=Role.ANALYST))
    return user


def test_the_api_total_minus_its_sex_filter_does_not_give_the_men(client: Client, attack_set) -> None:  # type: ignore[no-untyped-def]
    client.force_login(analyst(attack_set))
    whole = {r["group"]: r for r in client.get(f"/api/v1/comparisons?{QUERY}").json()["rows"]}
    part = {
        r["group"]: r for r in client.get(f"/api/v1/comparisons?{QUERY}&filter=sex=female").json()["rows"]
    }
    assert not whole["A"]["suppressed"]
    assert difference(whole["A"], part.get("A")) is None
    # The CSV download of the API: the filtered row has no numbers.
    text = client.get(f"/api/v1/comparisons?{QUERY}&filter=sex=female&format=csv").content.decode()
    csv_rows = {r["group"]: r for r in csv.DictReader(io.StringIO(text))}
    assert csv_rows["A"]["n"] == "" and csv_rows["A"]["suppressed"] == "True"


def test_the_api_with_a_date_one_day_short_answers_for_the_same_year(client: Client, attack_set) -> None:  # type: ignore[no-untyped-def]
    client.force_login(analyst(attack_set))
    short = client.get(
        QUERY.join(["/api/v1/comparisons?", ""]).replace("to=2025-12-31", "to=2025-12-30")
    ).json()
    assert (short["from"], short["to"]) == ("2025-01-01", "2025-12-31") and short["period_note"]
    full = client.get(f"/api/v1/comparisons?{QUERY}").json()
    assert short["rows"] == full["rows"]


def test_the_results_page_download_hides_what_the_comparison_hides(client: Client, attack_set) -> None:  # type: ignore[no-untyped-def]
    client.force_login(analyst(attack_set))
    url = "/resultat/kvinnor-och-man/?indicator=satisfied&date_from=2025-01-01&date_to=2025-12-30&format=csv"
    response = client.get(url)
    assert response.status_code == 200
    text = response.content.decode("utf-8-sig")
    assert "Periodens avrundning" in text and "2025-01-01 – 2025-12-31" in text
    # The cell C × 13–15 (n 2) is nowhere: neither in the age table nor recoverable from the sexes.
    by_age = rows(attack_set, by="age_group")
    assert by_age["13-15"]["suppressed"]


def test_the_provider_page_hides_and_fits_as_the_comparison(attack_set) -> None:  # type: ignore[no-untyped-def]
    user = analyst(attack_set)
    page = provider_results(user, "E", indicator="satisfied", grain="quarter",
                            date_from=YEAR[0], date_to=YEAR[1])  # fmt: skip
    (row,) = [r for r in page.tables["indikatorer"].rows if r["indicator"] == "satisfied"]
    full = rows(attack_set)
    assert row["suppressed"] is True and full["E"]["suppressed"] is True  # E hides F in both
    shown = next(r for r in page.tables["indikatorer"].rows if r["indicator"] == "satisfied")
    assert shown["n"] is None
    page_a = provider_results(user, "A", indicator="satisfied", grain="quarter",
                              date_from=YEAR[0], date_to=YEAR[1])  # fmt: skip
    (row_a,) = [r for r in page_a.tables["indikatorer"].rows if r["indicator"] == "satisfied"]
    from utfall.comparisons.services import compare

    target = compare(municipality=attack_set, indicator="satisfied", date_from=YEAR[0], date_to=YEAR[1],
                     by="provider").as_json()["target"]  # fmt: skip
    assert row_a["target"] == target  # the same reference, fitted on the shown providers


def test_the_open_data_total_minus_women_does_not_give_the_men(attack_set) -> None:  # type: ignore[no-untyped-def]
    published = {(r["kpi"], r["gender"]): r for r in open_rows(attack_set, 2025)}
    assert ("satisfied", "M") not in published  # two men: hidden
    assert ("satisfied", "K") not in published  # and the women with them (secondary suppression)
    total = published[("satisfied", "T")]
    truth = sum(r["n"] for r in raw(attack_set, ["sex"]))
    assert abs(total["count"] - truth) <= 2  # perturbed: within 2 of the truth, the same every time
    assert open_rows(attack_set, 2025) == open_rows(attack_set, 2025)
    # Without suppression the women alone would be the total minus two men; with perturbation
    # too, a file with the women in it would differ from the total by noise, not by the men.
    secret = b"k" * 32
    from utfall.stats.disclosure import perturb

    draws = {perturb(49, 30, cell=f"satisfied|x|2025||{g}", secret=secret, min_n=5) for g in "ABCDEFGH"}
    assert len(draws) > 1


def test_the_command_line_shows_the_reliability_with_four_shown_providers(attack_set) -> None:  # type: ignore[no-untyped-def]
    out = io.StringIO()
    call_command("compare", "--municipality", attack_set.code, "--indicator", "satisfied", "--from", "2025-01-01",
                 "--to", "2025-12-31", "--format", "table", stdout=out)  # fmt: skip
    assert "Tillförlitlighet (rankbarhet)" in out.getvalue()
    data = io.StringIO()
    call_command("compare", "--municipality", attack_set.code, "--indicator", "satisfied", "--from", "2025-01-01",
                 "--to", "2025-12-31", "--filter", "sex=female", "--format", "json", stdout=data)  # fmt: skip
    assert {r["group"]: r["suppressed"] for r in json.loads(data.getvalue())["rows"]}["A"] is True


def test_the_trend_hides_the_quarters_a_comparison_hides(attack_set) -> None:  # type: ignore[no-untyped-def]
    """A trend's year minus its shown quarters: A has 2 answers in Q4 (and 6 in Q3)."""
    from utfall.results.services.trends import trend

    page = trend(analyst(attack_set), indicator="satisfied", grain="quarter", provider="A",
                 date_from=YEAR[0], date_to=YEAR[1])  # fmt: skip
    (table,) = page.tables.values()
    quarters = {r["period"]: r for r in table.rows}
    assert quarters["2025-K4"]["suppressed"] and quarters["2025-K3"]["suppressed"]
    shown = sum(r["n"] for r in quarters.values() if not r["suppressed"])
    year = rows(attack_set)["A"]
    assert year["n"] - shown >= 5  # the year minus the shown quarters: two quarters together, never Q4 alone
