"""Declines and unreachable clients per group (issue 17 point 10): a count of 1–4 is a small
count like any other. The coverage page, its CSV/XLSX and the API hide it, and hide another
count beside it when the hidden one could be worked out from the follow-ups' total (a row:
completed + declined + unreachable) or from the same status in the other groups (a column)."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client

from tests.comparisons.builders import DataSet
from tests.disclosure.test_outputs import analyst
from tests.results.conftest import page_tables

pytestmark = pytest.mark.django_db
PERIOD = "date_from=2025-01-01&date_to=2025-12-31"
#: Follow-ups in 2025 per provider by status: P declines 2 times, Q once cannot reach a client.
PLANTED = {"P": (8, 2, 0), "Q": (8, 7, 1), "R": (9, 6, 0), "S": (10, 8, 0)}


@pytest.fixture
def statuses(municipality):  # type: ignore[no-untyped-def]
    data = DataSet()
    for provider, counts in PLANTED.items():
        data.provider(provider)
        for status, count in zip(("completed", "declined", "unreachable"), counts, strict=True):
            for i in range(count):
                iid = data.intervention(f"I{provider}{status}{i}", provider)
                data.followup(iid, date=f"2025-{1 + i % 12:02d}-10", status=status,
                              **({"q3": "yes_mostly"} if status == "completed" else {}))  # fmt: skip
    data.load(municipality)
    return municipality


def _small(value: object) -> bool:
    text = str(value or "").replace("\u00a0", "").strip()
    return text.isdigit() and 0 < int(text) < 5


def test_the_coverage_page_hides_declines_and_unreachable_of_one_to_four(client: Client, statuses) -> None:  # type: ignore[no-untyped-def]
    client.force_login(analyst(statuses))
    html = client.get(f"/resultat/uppfoljningsgrad/?by=provider&{PERIOD}").content.decode()
    rows = {r["group"]: r for r in page_tables(html)["tackning_provider"]}
    assert rows["P"]["followups_n"] == "10"  # the row is shown; only its small count is not
    for row in rows.values():
        assert not _small(row["declined"]) and not _small(row["unreachable"]), row
    assert rows["P"]["declined"] == rows["Q"]["unreachable"] == "dold"
    # P's 2 would be the column's total minus the others: another decline count goes with it.
    assert sum(r["declined"] == "dold" for r in rows.values()) >= 2
    # Q's 1 would be 16 − 8 − 7: Q's declines go with it (completed is the follow-ups minus both).
    assert rows["Q"]["declined"] == "dold"
    assert rows["P"]["declined_rate"] == "dold"


def test_the_downloads_and_the_api_hide_them_too(client: Client, statuses) -> None:  # type: ignore[no-untyped-def]
    client.force_login(analyst(statuses))
    text = client.get(f"/resultat/uppfoljningsgrad/?by=provider&{PERIOD}&format=csv").content.decode(
        "utf-8-sig"
    )
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Kod;"))
    table = list(csv.DictReader(io.StringIO("\n".join(lines[start:])), delimiter=";"))
    for row in table:
        assert not _small(row["Avböjda"]) and not _small(row["Ej nåbara"]), row
    api = client.get(f"/api/v1/coverage?by=provider&{PERIOD}").json()["tables"]["tackning"]["rows"]
    by_group = {r["group"]: r for r in api}
    for row in api:
        assert not _small(row["declined"]) and not _small(row["unreachable"]), row
    assert by_group["P"]["declined"] is None and by_group["P"]["declined_suppressed"] is True
    assert by_group["S"]["declined"] == 8 and by_group["S"]["declined_suppressed"] is False
