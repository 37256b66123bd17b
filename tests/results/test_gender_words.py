"""Women and men (issue 17 point 12): children's instruments speak of girls and boys, and the
difference comes right after the group so that it stays on screen."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.results.conftest import PERIOD, People

pytestmark = pytest.mark.django_db


def test_a_childrens_instrument_says_girls_and_boys(client: Client, people: People) -> None:
    client.force_login(people.analyst)
    html = client.get(f"/resultat/kvinnor-och-man/?indicator=cy_feels_safe&{PERIOD}").content.decode()
    assert "Skillnad flickor − pojkar" in html and "Flickor, andel" in html
    assert "Kvinnor, andel" not in html


def test_the_difference_comes_before_each_sexs_figures(client: Client, people: People) -> None:
    client.force_login(people.analyst)
    api = client.get(f"/api/v1/gender?indicator=satisfied&{PERIOD}").json()
    keys = [c["key"] for c in api["tables"]["per_service"]["columns"]]
    assert keys.index("diff") < keys.index("women_n") and keys.index("verdict") < keys.index("men_n")
    labels = [c["label"] for c in api["tables"]["per_service"]["columns"]]
    # Every service counted here is for children and young people (HVB, IHF, TFCO).
    assert "Flickor, andel" in labels and "Kvinnor, andel" not in labels


def _results_text(html: str) -> str:
    """The text of the page's results (after the form: headings, captions, notes, chart captions)."""
    import html as html_lib
    import re

    part = html.split('id="results"', 1)[1]
    part = re.sub(r"<script.*?</script>", "", part, flags=re.S)
    return html_lib.unescape(re.sub(r"<[^>]+>", " ", part))


@pytest.mark.parametrize(
    ("language", "said", "not_said"),
    [
        ("sv", ["Alla flickor och pojkar: ojusterad", "alla flickor och pojkar, 2025", "jämför alla flickor med alla pojkar",
                "Skillnaden är flickornas andel minus pojkarnas", "Flickors och pojkars andel per insats",
                "flickor och pojkar per insats"], ["kvinn", "män"]),
        ("en", ["All girls and boys: unadjusted", "all girls and boys, 2025", "compares all girls with all boys",
                "the girls' share minus the boys'", "Girls' and boys' share by service",
                "girls and boys by service"], ["women", " men", "Women", "Men"]),
    ],
)  # fmt: skip
def test_the_words_match_the_group_everywhere_on_the_page(
    client: Client, people: People, language: str, said: list[str], not_said: list[str]
) -> None:
    """Issue 17 point 12: the headings, captions, notes and chart captions of a page that counts only
    children's services speak of girls and boys, as its columns do, in Swedish and in English."""
    client.force_login(people.analyst)
    client.cookies["django_language"] = language
    html = client.get(f"/resultat/kvinnor-och-man/?indicator=satisfied&{PERIOD}").content.decode()
    text = " ".join(_results_text(html).split())
    assert [s for s in said if s not in text] == []
    assert [w for w in not_said if w in text] == []


def test_adults_keep_women_and_men(client: Client, people: People) -> None:
    """The same sentences for adults read as they did: "kvinnornas andel minus männens"."""
    from utfall.results.services.gender import DIFFERENCE_NOTE, sex_params
    from utfall.results.tables import Phrase

    sexes = sex_params(("Kvinnor", "Män"))
    note = Phrase(DIFFERENCE_NOTE, women_def=sexes["women_def"], men_def=sexes["men_def"])
    assert note.startswith("Skillnaden är kvinnornas andel minus männens, i procentenheter")


def test_a_chart_with_nothing_to_draw_is_not_offered(client: Client, people: People) -> None:
    """Issue 17 point 11 on the women-and-men page: a period without data shows the tables'
    "no data", not empty charts."""
    client.force_login(people.analyst)
    empty = client.get(
        "/resultat/kvinnor-och-man/?indicator=cy_feels_safe&date_from=2019-01-01&date_to=2019-12-31"
    )
    assert empty.status_code == 200 and 'data-chart="chart-service"' not in empty.content.decode()
    full = client.get(f"/resultat/kvinnor-och-man/?indicator=satisfied&{PERIOD}").content.decode()
    assert 'data-chart="chart-service"' in full
