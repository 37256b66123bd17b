"""Downloads that work in Swedish Excel (issue 15, point 6): one helper, every CSV download."""

from __future__ import annotations

from django.test import Client

from tests.results.conftest import PERIOD
from utfall.core.spreadsheets import BOM, read_excel_csv
from utfall.organisations.models import Municipality, User


def test_a_results_download_opens_right_in_swedish_excel(results_set: Municipality, analyst: User) -> None:
    client = Client()
    client.force_login(analyst)
    response = client.get(f"/resultat/utveckling/?indicator=satisfied&grain=year&{PERIOD}&format=csv")
    raw = response.content
    assert raw.startswith(BOM.encode("utf-8"))  # Excel reads UTF-8 (å, ä, ö) only with the BOM
    text = raw.decode("utf-8")
    title, headers, rows = read_excel_csv(text)
    assert title["Indikator"] == "Nöjd med stödet"
    assert title["Urval"] == "hela kommunen"
    assert title["Period"] == "2025-01-01 – 2025-12-31"
    assert "färre än 5" in title["Röjandekontroll"]
    assert headers[:4] == ["Period", "n", "Antal positiva", "Andel"]
    assert rows[0][:4] == ["2025", "121", "86", "0,7107"]  # decimal comma, a number to Excel
    assert (
        '"trend_nojd-med-stodet_hela-kommunen_2025-01-01_2025-12-31.csv"' in response["Content-Disposition"]
    )
