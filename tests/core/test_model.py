from __future__ import annotations

import pytest
from django.apps import apps

from tests.conftest import TODAY
from tests.interchange.helpers import PERSON_A, PERSON_B, PERSON_C, write_set
from utfall.instruments.models import InstrumentVersion, Option, PublishedVersionIsReadOnly, Question
from utfall.interchange.importer import import_files
from utfall.organisations.models import Municipality
from utfall.registry.models import Service
from utfall.settings import database_from_url

pytestmark = pytest.mark.django_db


def test_migrate_leaves_a_default_municipality_the_catalogue_and_the_instrument() -> None:
    assert Municipality.objects.filter(code="default").exists()
    assert dict(Service.objects.values_list("code", "intensity"))["hvb_youth"] == 4
    assert Service.objects.count() == 14
    version = InstrumentVersion.objects.get(instrument__code="stockholm-2021", version=1)
    assert version.status == InstrumentVersion.Status.PUBLISHED
    q5 = version.questions.get(code="q5")
    assert (q5.condition_question, q5.condition_options) == ("q4", ["much_better", "somewhat_better"])
    q2 = version.questions.get(code="q2")
    assert "{provider}" in q2.text
    positive = set(q2.options.filter(positive=True).values_list("code", flat=True))
    assert positive == {"yes_completely", "yes_mostly"}
    assert not q2.options.get(code="dont_know").counts


def test_a_published_instrument_version_cannot_be_edited() -> None:
    version = InstrumentVersion.objects.get(instrument__code="stockholm-2021", version=1)
    question = Question.objects.get(version=version, code="q1")
    question.text = "Något annat?"
    with pytest.raises(PublishedVersionIsReadOnly):
        question.save()
    option = Option.objects.get(question=question, code="no")
    with pytest.raises(PublishedVersionIsReadOnly):
        option.delete()
    with pytest.raises(PublishedVersionIsReadOnly):
        version.save()
    assert Question.objects.get(pk=question.pk).text == "Får du det stöd som står i beslutet?"


def test_every_tenant_owned_table_carries_its_municipality() -> None:
    # Shared by every municipality: the catalogue, the instruments, the data-generation token,
    # the calendar periods whose coverage is maintained (aggregates.CoveragePeriod).
    shared = {
        "CoveragePeriod",
        "Municipality",
        "Service",
        "Instrument",
        "InstrumentVersion",
        "Question",
        "Option",
        "DataGeneration",
    }
    for model in apps.get_models():
        if not model.__module__.startswith("utfall.") or model.__name__ in shared:
            continue
        fields = {f.name for f in model._meta.get_fields()}
        assert "municipality" in fields, model.__name__


def test_no_identity_number_is_in_any_stored_value(write_csv, municipality) -> None:  # type: ignore[no-untyped-def]
    """A database-independent scan (runs on SQLite and PostgreSQL): every text value of every row."""
    assert import_files(write_set(write_csv), municipality=municipality, today=TODAY).ok
    forms = set()
    for number in (PERSON_A, PERSON_B, PERSON_C):
        digits = number.replace("-", "")
        forms |= {number, digits, digits[2:], number[2:]}
    for model in apps.get_models():
        for row in model.objects.values_list():
            text = " ".join(str(value) for value in row)
            assert not any(f in text for f in forms), model.__name__


def test_database_url_is_translated_for_postgresql_and_sqlite() -> None:
    pg = database_from_url("postgres://root:s%40cret@127.0.0.1:5432/utfall?sslmode=disable")
    assert (pg["ENGINE"], pg["NAME"], pg["USER"], pg["PASSWORD"], pg["HOST"], pg["PORT"]) == (
        "django.db.backends.postgresql",
        "utfall",
        "root",
        "s@cret",
        "127.0.0.1",
        "5432",
    )
    assert pg["OPTIONS"] == {"sslmode": "disable", "options": "-c jit=off -c work_mem=32MB"}
    lite = database_from_url("sqlite:////tmp/x.sqlite3")
    assert str(lite["NAME"]) == "/tmp/x.sqlite3"
