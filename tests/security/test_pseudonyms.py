"""A pseudonym key per municipality, derived from the master key: two municipalities'
exports cannot be linked; stored pseudonyms migrate in place."""

from __future__ import annotations

import hashlib
import hmac
import importlib

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError

from tests.conftest import TEST_KEY, TODAY
from tests.interchange.helpers import PERSON_A, write_set
from utfall.core.identity import parse_identity_number
from utfall.core.pseudonyms import pseudonymise
from utfall.interchange.exporter import export_all
from utfall.interchange.importer import import_files
from utfall.registry.models import Client

pytestmark = pytest.mark.django_db


def test_the_same_person_has_unrelated_pseudonyms_in_two_municipalities(
    write_csv, municipality, other_municipality, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    for m in (municipality, other_municipality):
        assert import_files(write_set(write_csv), municipality=m, today=TODAY).ok
        export_all(m, tmp_path / m.code)
    ours = set(Client.objects.filter(municipality=municipality).values_list("pseudonym", flat=True))
    theirs = set(Client.objects.filter(municipality=other_municipality).values_list("pseudonym", flat=True))
    assert len(ours) == len(theirs) == 3 and not ours & theirs
    text_ours = (tmp_path / municipality.code / "interventions.csv").read_text()
    assert not any(p in text_ours for p in theirs)
    number = parse_identity_number(PERSON_A)
    assert pseudonymise(number, municipality.code) in ours
    assert pseudonymise(number, other_municipality.code) in theirs


def test_stored_pseudonyms_migrate_in_place_to_the_municipalitys_key(municipality) -> None:  # type: ignore[no-untyped-def]
    number = parse_identity_number(PERSON_A)
    old = hmac.new(
        TEST_KEY.encode(), number.normalised.encode(), hashlib.sha256
    ).hexdigest()  # the form before
    Client.objects.create(
        municipality=municipality, pseudonym=old, sex=number.sex, birth_year=number.birth_year
    )
    migration = importlib.import_module("utfall.registry.migrations.0006_pseudonyms_per_municipality")
    migration.forwards(apps, None)
    assert Client.objects.get(municipality=municipality).pseudonym == pseudonymise(number, municipality.code)


def test_a_municipality_with_clients_keeps_its_code(write_csv, municipality) -> None:  # type: ignore[no-untyped-def]
    assert import_files(write_set(write_csv), municipality=municipality, today=TODAY).ok
    municipality.code = "nytt-namn"
    with pytest.raises(ValidationError):
        municipality.full_clean()
