"""A provider page on which every figure is hidden says why and offers a longer period
(2026-12-07: a unit manager's small provider read as a page of "dold" and nothing else)."""

from __future__ import annotations

import re

from django.test import Client

from tests.results.conftest import PERIOD, People, page_tables

NOTICE = "Inget resultat kan visas för perioden."
LONGER = "Visa de tre senaste hela kalenderåren"


def test_a_provider_with_every_figure_hidden_gets_a_sentence_and_a_longer_period(
    client: Client, people: People
) -> None:
    client.force_login(people.analyst)
    html = client.get(f"/resultat/utforare/D/?indicator=satisfied&{PERIOD}").content.decode()
    rows = page_tables(html)["utforare_D"]
    assert {r["n"] for r in rows} <= {"dold", "0"} and "dold" in {r["n"] for r in rows}
    assert NOTICE in html and "inom din enhet" not in html.split(NOTICE)[1][:200]
    link = re.search(r'<a href="\?([^"]+)">' + LONGER, html)
    assert link is not None
    # The last three whole years up to the period's end, the other choices kept.
    assert (
        link.group(1).replace("&amp;", "&") == "date_from=2023-01-01&date_to=2025-12-31&indicator=satisfied"
    )
    # Three whole years is as long as it offers: the notice stays, the link does not.
    longer = client.get("/resultat/utforare/D/?" + link.group(1).replace("&amp;", "&")).content.decode()
    assert NOTICE in longer and LONGER not in longer


def test_a_unit_manager_is_told_it_is_the_unit(client: Client, people: People) -> None:
    client.force_login(people.manager)  # Bromma: G has 6 answers there, hidden beside the small ones
    html = client.get(f"/resultat/utforare/G/?indicator=satisfied&{PERIOD}").content.decode()
    assert {r["n"] for r in page_tables(html)["utforare_G"]} <= {"dold", "0"}
    assert NOTICE in html and "inom din enhet" in html


def test_a_page_with_figures_has_no_notice(client: Client, people: People) -> None:
    client.force_login(people.analyst)
    html = client.get(f"/resultat/utforare/B/?indicator=satisfied&{PERIOD}").content.decode()
    assert any(r["n"] not in ("dold", "0", "–") for r in page_tables(html)["utforare_B"])
    assert NOTICE not in html


def test_the_notice_speaks_english_when_asked(client: Client, people: People) -> None:
    client.force_login(people.manager)
    client.cookies["django_language"] = "en"
    html = client.get(f"/resultat/utforare/G/?indicator=satisfied&{PERIOD}").content.decode()
    assert "No result can be shown for the period." in html and "within your unit" in html
    assert NOTICE not in html and "Show the last three whole calendar years" in html
