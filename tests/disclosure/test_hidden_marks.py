"""How a hidden cell reads (2026-12-02): a group hidden only to protect another (secondary
suppression) is not "för få" — in the attack set F (3 answers) is hidden because it is small
and E (6 answers) because F alone could be recovered from the total. Every output says "dold"
with one footnote that names both reasons, and no output tells the two apart: knowing which
hidden group is the large one gives the small one away when the hidden total is one above the
minimum (docs/disclosure.md, "Why one mark").
"""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.core.management import call_command
from django.test import Client

from tests.disclosure.test_comparison_attacks import raw, rows
from tests.disclosure.test_outputs import analyst
from utfall.reports.rendering import cell_text
from utfall.results.tables import Column

pytestmark = pytest.mark.django_db
PAGE = "/resultat/jamforelse/?indicator=satisfied&date_from=2025-01-01&date_to=2025-12-31&by=provider"
API = "/api/v1/comparisons?indicator=satisfied&from=2025-01-01&to=2025-12-31&by=provider"


def test_the_attack_set_hides_a_large_group_to_protect_a_small_one(attack_set) -> None:  # type: ignore[no-untyped-def]
    counted = {r["provider"]: r["n"] for r in raw(attack_set, ["provider"])}
    shown = rows(attack_set)
    assert counted["F"] < 5 <= counted["E"]
    assert shown["F"]["suppressed"] and shown["E"]["suppressed"]


def test_the_page_says_hidden_not_too_few_and_explains_both_reasons(client: Client, attack_set) -> None:  # type: ignore[no-untyped-def]
    client.force_login(analyst(attack_set))
    page = client.get(PAGE).content.decode()
    table = page.split("<table", 1)[1].split("</table>", 1)[0]
    assert "för få" not in table
    assert table.count(">dold<") >= 2  # E and F, the same word
    assert "döljs för att en annan dold grupp inte ska kunna räknas fram" in page


def test_the_downloads_say_hidden_with_the_rule(client: Client, attack_set) -> None:  # type: ignore[no-untyped-def]
    client.force_login(analyst(attack_set))
    text = client.get(PAGE + "&format=csv").content.decode("utf-8-sig")
    assert "för få" not in text
    assert "döljs för att en annan dold grupp inte ska kunna räknas fram" in text
    header = next(line for line in text.splitlines() if line.startswith("Kod;") or ";Dold" in line)
    assert header.split(";")[-1] == "Dold"


def test_the_api_and_cli_give_the_large_and_small_hidden_group_alike(client: Client, attack_set) -> None:  # type: ignore[no-untyped-def]
    client.force_login(analyst(attack_set))
    api = {r["group"]: r for r in client.get(API).json()["rows"]}
    assert {**api["E"], "group": "F"} == api["F"]  # the interchange contract: suppressed true, nulls
    for fmt in ("json", "csv"):
        out = io.StringIO()
        call_command("compare", "--municipality", attack_set.code, "--indicator", "satisfied", "--from",
                     "2025-01-01", "--to", "2025-12-31", "--format", fmt, stdout=out)  # fmt: skip
        if fmt == "json":
            cli = {r["group"]: r for r in json.loads(out.getvalue())["rows"]}
        else:
            cli = {r["group"]: r for r in csv.DictReader(io.StringIO(out.getvalue()))}
        assert {**cli["E"], "group": "F"} == cli["F"]


def test_the_command_line_table_says_hidden_and_gives_the_period_note(attack_set) -> None:  # type: ignore[no-untyped-def]
    out = io.StringIO()
    call_command("compare", "--municipality", attack_set.code, "--indicator", "satisfied", "--from", "2025-01-01",
                 "--to", "2025-12-30", "--format", "table", stdout=out)  # fmt: skip
    text = out.getvalue()
    assert "för få" not in text
    lines = {line.split()[0]: line for line in text.splitlines() if line[:1] in "ABCDEF" and line[1:2] == " "}
    assert lines["E"].rstrip().endswith("dold") and lines["F"].rstrip().endswith("dold")
    assert "Perioden 2025-01-01–2025-12-30 visas som 2025" in text  # the snap, said as on the page
    assert "döljs för att en annan dold grupp inte ska kunna räknas fram" in text


def test_a_report_prints_a_hidden_group_as_hidden() -> None:
    rate = Column("rate", "Andel", "rate")
    assert cell_text({"group": "E", "suppressed": True, "rate": None}, rate) == "dold"
    women = Column("women_rate", "Kvinnor", "rate")
    assert cell_text({"group": "x", "women_suppressed": True, "women_rate": None}, women) == "dold"


def test_a_difference_with_a_hidden_side_reads_hidden() -> None:
    from utfall.results.templatetags.results import cell

    diff = Column("diff", "Skillnad kvinnor − män", "diff")
    row = {"group": "A", "women_suppressed": False, "men_suppressed": True, "diff": None}
    assert cell(row, diff) == "dold"
    assert cell({**row, "men_suppressed": False}, diff) == "–"  # no data, nothing hidden
