"""A small municipality with known truth for the results pages, and the personas of point 8."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

import pytest
from django.contrib.auth.models import Group

from tests.comparisons.builders import DataSet
from utfall.organisations.models import Municipality, Role, Unit, User
from utfall.registry.models import Provider

PERIOD = "date_from=2025-01-01&date_to=2025-12-31"
#: provider: (answers to q3, of which positive, unit)
PLAN = {
    "A": (20, 15, "sodermalm"),
    "B": (30, 24, "sodermalm"),
    "C": (12, 1, "sodermalm"),
    "D": (3, 2, "sodermalm"),
    "E": (40, 30, "bromma"),
    "G": (6, 6, "bromma"),  # hidden by secondary suppression (the smallest beside D)
}
DATES = ("2025-02-01", "2025-05-01", "2025-08-01", "2025-11-01")


@pytest.fixture
def results_set(municipality: Municipality) -> Municipality:
    data = DataSet()
    for pid, (n, positive, unit) in PLAN.items():
        data.provider(pid)
        for i in range(n):
            iid = data.intervention(f"I{pid}{i}", pid, person_id=data.person(female=i % 2 == 0), unit=unit)
            data.followup(iid, date=DATES[i % 4], q3="yes_mostly" if i < positive else "no")
    # F: 40 ongoing interventions, only 13 followed up (low coverage), 3 of them declined or unreachable.
    data.provider("F")
    for i in range(40):
        iid = data.intervention(f"IF{i}", "F", person_id=data.person(female=i % 2 == 1))
        if i < 10:
            data.followup(iid, date=DATES[i % 4], q3="yes_completely" if i < 8 else "no")
        elif i < 13:
            data.followup(iid, date="2025-09-01", status="declined" if i < 12 else "unreachable")
    # Ended IHF and TFCO interventions with implementation-plan goals (outcome measures).
    for i in range(12):
        service = "ihf" if i < 7 else "tfco"
        data.intervention(
            f"IX{i}", "B", service=service, ended_on="2025-04-01", end_reason="goals_met",
            goals_total=2, goals_fully=2 if i % 3 else 0, goals_partly=0,
        )  # fmt: skip
    data.load(municipality)
    return municipality


def persona(municipality: Municipality | None, name: str, role: Role | None = None, **fields: Any) -> User:
    user = User.objects.create_user(name, municipality=municipality, **fields)
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


@dataclass
class People:
    analyst: User
    procurement: User
    manager: User
    provider: User
    caseworker: User
    outsider: User
    foreign_analyst: User


@pytest.fixture
def people(results_set: Municipality, other_municipality: Municipality) -> People:
    manager = persona(results_set, "chef", Role.UNIT_MANAGER)
    manager.units.add(Unit.objects.get(municipality=results_set, code="bromma"))
    caseworker = persona(results_set, "handl", Role.CASEWORKER)
    caseworker.units.add(Unit.objects.get(municipality=results_set, code="sodermalm"))
    return People(
        analyst=persona(results_set, "ana", Role.ANALYST),
        procurement=persona(results_set, "upph", Role.PROCUREMENT),
        manager=manager,
        provider=persona(results_set, "lev", Role.PROVIDER,
                         provider=Provider.objects.get(municipality=results_set, provider_id="B")),
        caseworker=caseworker,
        outsider=persona(None, "utom"),
        foreign_analyst=persona(other_municipality, "grannana", Role.ANALYST),
    )  # fmt: skip


class TableParser(HTMLParser):
    """Cells of every <table id="table-…">: {table name: [{data-key: text}]}."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[dict[str, str]]] = {}
        self._table: str | None = None
        self._row: dict[str, str] | None = None
        self._key: str | None = None
        self._in_body = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "table" and (a.get("id") or "").startswith("table-"):
            self._table = str(a["id"])[6:]
            self.tables[self._table] = []
        elif tag == "tbody" and self._table:
            self._in_body = True
        elif tag == "tr" and self._in_body:
            self._row = {}
        elif tag in ("td", "th") and self._row is not None and a.get("data-key"):
            self._key = str(a["data-key"])
            self._row[self._key] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th"):
            self._key = None
        elif tag == "tr" and self._row is not None and self._table:
            if self._row:
                # Collapse the markup's whitespace but keep no-break spaces ("22 500", "75 %").
                self.tables[self._table].append({k: _squash(v) for k, v in self._row.items()})
            self._row = None
        elif tag == "tbody":
            self._in_body = False
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._key is not None and self._row is not None:
            self._row[self._key] += data


def _squash(text: str) -> str:
    return " ".join(part for part in re.split(r"[ \t\r\n]+", text) if part)


def page_tables(html: str) -> dict[str, list[dict[str, str]]]:
    parser = TableParser()
    parser.feed(html)
    return parser.tables
