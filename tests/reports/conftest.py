"""The results pages' small municipality (tests.results.conftest) with a board and an analyst."""

from __future__ import annotations

import pytest

from tests.results.conftest import persona, results_set  # noqa: F401 - fixtures used by the tests here
from utfall.organisations.models import Committee, Municipality, Role, Unit, User


@pytest.fixture
def analyst(results_set: Municipality) -> User:  # noqa: F811
    return persona(results_set, "ana", Role.ANALYST)


@pytest.fixture
def board(results_set: Municipality) -> User:  # noqa: F811
    """A member of the municipality's social committee (socialnämnden)."""
    user = persona(results_set, "ledamot", Role.BOARD)
    Committee.objects.create(municipality=results_set, code="sn", name="Socialnämnden").members.add(user)
    return user


@pytest.fixture
def district_board(results_set: Municipality) -> User:  # noqa: F811
    """A member of Bromma's district committee: its scope is the unit bromma."""
    user = persona(results_set, "bromma_ledamot", Role.BOARD)
    unit = Unit.objects.get(municipality=results_set, code="bromma")
    Committee.objects.create(municipality=results_set, code="bromma", name="Bromma stadsdelsnämnd",
                             unit=unit).members.add(user)  # fmt: skip
    return user
