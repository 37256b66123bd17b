"""Page = CSV = XLSX = API for the same query, and no cell of fewer than 5 anywhere."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.test import Client
from openpyxl import load_workbook

from tests.results.conftest import PERIOD, People, page_tables
from utfall.core.spreadsheets import read_excel_csv, swedish_number
from utfall.results.services.comparison import COMPARISON_COLUMNS
from utfall.results.tables import Column
from utfall.results.templatetags.results import cell, interval, page_columns

pytestmark = pytest.mark.django_db

# page, API path, the page's tables
CASES = [
    (f"/resultat/utveckling/?indicator=satisfied&grain=quarter&{PERIOD}",
     f"/api/v1/trends?indicator=satisfied&grain=quarter&{PERIOD}", ["trend"]),
    (f"/resultat/kvinnor-och-man/?indicator=satisfied&{PERIOD}",
     f"/api/v1/gender?indicator=satisfied&{PERIOD}", ["per_service", "per_age_group"]),
    (f"/resultat/uppfoljningsgrad/?by=provider&{PERIOD}", f"/api/v1/coverage?by=provider&{PERIOD}", ["tackning"]),
    (f"/resultat/uppfoljningsgrad/?by=unit&{PERIOD}", f"/api/v1/coverage?by=unit&{PERIOD}", ["tackning"]),
    (f"/resultat/utfallsmatt/?{PERIOD}", f"/api/v1/outcomes?{PERIOD}", ["utfallsmatt", "bedomning_ihf"]),
    (f"/resultat/utforare/B/?indicator=satisfied&{PERIOD}", f"/api/v1/providers/B/results?indicator=satisfied&{PERIOD}",
     ["indikatorer", "trend"]),
]  # fmt: skip


def _columns(table: dict[str, Any]) -> list[Column]:
    return [
        Column(
            c["key"],
            c["label"],
            c["kind"],
            tuple(c["interval"]) if c["interval"] else None,
            n_key=c.get("n_key"),
        )
        for c in table["columns"]
    ]


def csv_rows(text: str, keys: list[str]) -> list[dict[str, str]]:
    """The rows of a Swedish-Excel CSV download (title block, labels, ``;``, decimal comma) by key."""
    title, headers, lines = read_excel_csv(text)
    assert "Röjandekontroll" in title and "Period" in title and len(headers) == len(keys)
    return [dict(zip(keys, line, strict=True)) for line in lines]


def _check_agreement(client: Client, page_url: str, api: dict[str, Any], key: str) -> None:
    table = api["tables"][key]
    html = client.get(page_url).content.decode()
    shown = page_tables(html)[table["name"]]
    assert len(shown) == len(table["rows"]) > 0
    for page_row, api_row in zip(shown, table["rows"], strict=True):
        for column in page_columns(_columns(table)):
            # The page's text is the API's number, formatted (0.7412 -> "74 %" for n under 100, "74,1 %" above), nothing else.
            assert page_row[column.key] == cell(api_row, column), (column.key, page_row, api_row)
            if column.interval:
                assert page_row[f"{column.key}_ci"] == interval(api_row, column)
    sep = "&" if "?" in page_url else "?"
    text = client.get(f"{page_url}{sep}format=csv&table={key}").content.decode()
    rows = csv_rows(text, list(table["rows"][0]))
    assert rows == [{k: str(swedish_number(v)) for k, v in r.items()} for r in table["rows"]]
    book = load_workbook(io.BytesIO(client.get(f"{page_url}{sep}format=xlsx&table={key}").content))
    sheet = book.active
    values = list(sheet.iter_rows(values_only=True))
    keys = list(values[0])
    assert keys == list(table["rows"][0])
    body = [dict(zip(keys, v, strict=True)) for v in values[2 : 2 + len(table["rows"])]]

    def blank(row: dict[str, Any]) -> dict[str, Any]:
        return {k: None if v == "" else v for k, v in row.items()}

    assert [blank(b) for b in body] == [blank(r) for r in table["rows"]]


@pytest.mark.parametrize(("page_url", "api_url", "tables"), CASES)
def test_it_shows_the_same_numbers_on_the_page_in_csv_xlsx_and_the_api(
    client: Client, people: People, page_url: str, api_url: str, tables: list[str]
) -> None:
    client.force_login(people.analyst)
    api = client.get(api_url)
    assert api.status_code == 200, api.content
    for key in tables:
        _check_agreement(client, page_url, api.json(), key)


def test_the_comparison_page_agrees_with_the_comparisons_api(client: Client, people: People) -> None:
    client.force_login(people.analyst)
    url = f"/resultat/jamforelse/?indicator=satisfied&{PERIOD}"
    api = client.get(
        "/api/v1/comparisons?indicator=satisfied&from=2025-01-01&to=2025-12-31&by=provider"
    ).json()
    by_group = {r["group"]: r for r in api["rows"]}
    shown = page_tables(client.get(url).content.decode())["jamforelse"]
    assert {r["group"] for r in shown} == set(by_group)
    columns = {c.key: c for c in page_columns(COMPARISON_COLUMNS)}
    for row in shown:
        expected = by_group[row["group"]]
        for key in ("n", "rate", "flag"):
            assert row[key] == cell(expected, columns[key])
    text = client.get(url + "&format=csv").content.decode()
    keys = [c.key for c in COMPARISON_COLUMNS] + ["suppressed"]
    for line in csv_rows(text, keys):
        expected = by_group[line["group"]]
        for key in ("n", "events", "rate", "ci_low", "ci_high", "lower_998", "upper_998", "flag"):
            assert line[key] == str(swedish_number(expected[key]))
    sheet = load_workbook(io.BytesIO(client.get(url + "&format=xlsx").content)).active
    values = list(sheet.iter_rows(values_only=True))
    keys = list(values[0])
    for v in values[2 : 2 + len(shown)]:
        line = dict(zip(keys, v, strict=True))
        expected = by_group[line["group"]]
        for key in ("n", "rate", "ci_low", "ci_high", "flag"):
            assert line[key] == expected[key]


def _n_keys(row: dict[str, Any]) -> list[str]:
    return [k for k in row if k == "n" or k.endswith("_n")]


def _assert_no_small_cells(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        for key in _n_keys(row):
            value = row[key]
            if value not in (None, "", "–", "dold"):
                assert int(value) == 0 or int(value) >= 5, (key, row)  # 0: an empty period, no group


@pytest.mark.parametrize(("page_url", "api_url", "tables"), CASES)
def test_it_never_shows_a_group_of_fewer_than_five(
    client: Client, people: People, page_url: str, api_url: str, tables: list[str]
) -> None:
    client.force_login(people.analyst)
    api = client.get(api_url).json()
    html = client.get(page_url).content.decode()
    for key in tables:
        table = api["tables"][key]
        _assert_no_small_cells(table["rows"])
        _assert_no_small_cells(page_tables(html)[table["name"]])
        sep = "&" if "?" in page_url else "?"
        text = client.get(f"{page_url}{sep}format=csv&table={key}").content.decode()
        _assert_no_small_cells(csv_rows(text, list(table["rows"][0])) if table["rows"] else [])
        sheet = load_workbook(
            io.BytesIO(client.get(f"{page_url}{sep}format=xlsx&table={key}").content)
        ).active
        values = list(sheet.iter_rows(values_only=True))
        _assert_no_small_cells(
            [dict(zip(values[0], v, strict=False)) for v in values[2:] if len(v) == len(values[0])]
        )
    # The small groups exist: D has 3 answers, and hides G (6) by secondary suppression.
    shown = page_tables(client.get(f"/resultat/jamforelse/?indicator=satisfied&{PERIOD}").content.decode())
    rows = {r["group"]: r for r in shown["jamforelse"]}
    assert rows["D"]["n"] == rows["G"]["n"] == "dold"
