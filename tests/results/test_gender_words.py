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
