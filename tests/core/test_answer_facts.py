"""Answers repeat their follow-up's date, their intervention's provider, service and unit and
their client's sex and birth year (Answer's FACTS): the copies never differ."""

from __future__ import annotations

import pytest
from django.db.models import F, Q

from tests.conftest import TODAY
from tests.interchange.helpers import FOLLOWUPS, INTERVENTIONS, PERSON_A, write_set
from utfall.followups.models import FACTS, Answer, FollowUp
from utfall.followups.services import check_followup_submission, correct_followup
from utfall.interchange.importer import import_files
from utfall.organisations.models import User
from utfall.records.rules import catalogue_for

pytestmark = pytest.mark.django_db


def assert_facts_consistent() -> None:
    differs = Q()
    for name, path in FACTS.items():
        differs |= ~Q(**{name: F(f"followup__{path}")})
    differing = Answer.objects.filter(differs)
    assert Answer.objects.exists()
    assert not differing.exists(), list(differing.values("followup__followup_id", *FACTS))


def test_imported_answers_carry_their_date_and_provider(write_csv, municipality) -> None:  # type: ignore[no-untyped-def]
    assert import_files(write_set(write_csv), municipality=municipality, today=TODAY).ok
    assert_facts_consistent()


def test_moving_an_intervention_to_another_provider_moves_its_answers(write_csv, municipality) -> None:  # type: ignore[no-untyped-def]
    assert import_files(write_set(write_csv), municipality=municipality, today=TODAY).ok
    moved = INTERVENTIONS[1].replace(",P1,C1,", ",P2,,")
    report = import_files(
        [write_csv("interventions.csv", INTERVENTIONS[0], moved)],
        municipality=municipality,
        today=TODAY,
        update=True,
    )
    assert report.ok, report.issues
    assert set(
        Answer.objects.filter(followup__followup_id="F1").values_list("provider__provider_id", flat=True)
    ) == {"P2"}
    assert_facts_consistent()


def test_a_corrected_date_reaches_the_answers(write_csv, municipality) -> None:  # type: ignore[no-untyped-def]
    assert import_files(write_set(write_csv), municipality=municipality, today=TODAY).ok
    redated = FOLLOWUPS[1].replace("2025-07-01", "2025-07-09")
    assert import_files(
        [write_csv("followups.csv", FOLLOWUPS[0], redated)],
        municipality=municipality,
        today=TODAY,
        update=True,
    ).ok
    assert_facts_consistent()

    # The caseworker's correction in the browser goes through the same rule.
    followup = FollowUp.objects.select_related("intervention").get(followup_id="F1")
    header = FOLLOWUPS[0].split(",")
    raw = dict(zip(header, FOLLOWUPS[1].split(","), strict=True))
    raw["date"] = "2025-07-15"
    catalogue = catalogue_for(TODAY)
    checked, issues = check_followup_submission(
        raw, intervention=followup.intervention, catalogue=catalogue, with_goals=False
    )
    assert issues == []
    user = User.objects.create_user("kim", municipality=municipality)
    correct_followup(
        user=user, followup=followup, checked=checked, catalogue=catalogue, reason="fel datum",
        base_version=followup.version,
    )  # fmt: skip
    assert FollowUp.objects.get(followup_id="F1").date.isoformat() == "2025-07-15"
    assert_facts_consistent()


def test_a_changed_unit_service_or_client_reaches_the_answers(write_csv, municipality) -> None:  # type: ignore[no-untyped-def]
    assert import_files(write_set(write_csv), municipality=municipality, today=TODAY).ok
    changed = INTERVENTIONS[1].replace(",hvb_youth,", ",sis_youth,").replace(",sodermalm,", ",bromma,")
    changed = changed.replace(f"I1,{PERSON_A},,,", f"I1,{PERSON_A},other,,")
    report = import_files(
        [write_csv("interventions.csv", INTERVENTIONS[0], changed)],
        municipality=municipality,
        today=TODAY,
        update=True,
    )
    assert report.ok, report.issues
    facts = set(
        Answer.objects.filter(followup__followup_id="F1").values_list(
            "service__code", "unit__code", "client_sex"
        )
    )
    assert facts == {("sis_youth", "bromma", "other")}
    assert_facts_consistent()


def test_a_provider_service_or_unit_with_answers_cannot_be_deleted(write_csv, municipality) -> None:  # type: ignore[no-untyped-def]
    # The copied facts have no database constraint (followups 0010, issue 13.2); PROTECT,
    # checked by Django before the delete, still keeps an answer from pointing at nothing.
    from django.db.models import ProtectedError

    from utfall.organisations.models import Unit
    from utfall.registry.models import Service

    assert import_files(write_set(write_csv), municipality=municipality, today=TODAY).ok
    answer = Answer.objects.select_related("unit", "service").first()
    assert answer is not None
    for target in (answer.unit, answer.service):
        with pytest.raises(ProtectedError):
            type(target).objects.filter(pk=target.pk).delete()
    assert Unit.objects.filter(pk=answer.unit_id).exists()
    assert Service.objects.filter(pk=answer.service_id).exists()
