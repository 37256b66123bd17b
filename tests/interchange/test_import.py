from __future__ import annotations

import pytest

from tests.conftest import TODAY
from tests.interchange.helpers import FOLLOWUPS, INTERVENTIONS, PERSON_A, PERSON_B, write_set
from utfall.core.models import ChangeRecord
from utfall.followups.models import Answer, FollowUp
from utfall.interchange.importer import import_files
from utfall.organisations.models import Unit
from utfall.registry.models import Client, Contract, Intervention, Provider

pytestmark = pytest.mark.django_db


def run(files, municipality, **options):  # type: ignore[no-untyped-def]
    return import_files(files, municipality=municipality, today=TODAY, **options)


def stored_counts(municipality) -> tuple[int, ...]:  # type: ignore[no-untyped-def]
    return tuple(
        model.objects.filter(municipality=municipality).count()
        for model in (Provider, Contract, Client, Intervention, FollowUp, Answer)
    )


@pytest.mark.parametrize("delimiter", [",", ";"])
def test_it_imports_all_four_kinds_in_one_call(write_csv, municipality, delimiter) -> None:  # type: ignore[no-untyped-def]
    report = run(list(reversed(write_set(write_csv, delimiter))), municipality)
    assert report.ok, report.issues
    assert stored_counts(municipality) == (2, 2, 3, 3, 4, 8)
    assert dict(report.created) == {"providers": 2, "contracts": 2, "interventions": 3, "followups": 4}
    assert sorted(Unit.objects.filter(municipality=municipality).values_list("code", flat=True)) == [
        "bromma",
        "sodermalm",
    ]
    f1 = FollowUp.objects.get(followup_id="F1")
    assert {(a.question.code, a.option.code) for a in f1.answers.select_related("question", "option")} == {
        ("q1", "yes_completely"),
        ("q2", "yes_somewhat"),
        ("q3", "dont_know"),
        ("q4", "much_better"),
        ("q5", "very_large"),
    }
    assert (f1.assessment, f1.g2, f1.minutes) == ("approved", "partly", 14)
    assert set(Contract.objects.get(contract_id="C1").services.values_list("code", flat=True)) == {
        "hvb_youth",
        "hvb_adult",
    }


def test_sex_and_birth_year_come_from_the_identity_number_unless_given(write_csv, municipality) -> None:  # type: ignore[no-untyped-def]
    assert run(write_set(write_csv), municipality).ok
    by_intervention = {
        i.intervention_id: (i.client.sex, i.client.birth_year)
        for i in Intervention.objects.select_related("client")
    }
    assert by_intervention == {"I1": ("female", 2009), "I2": ("male", 1979), "I3": ("other", 1990)}


def test_no_identity_number_is_stored(write_csv, municipality) -> None:  # type: ignore[no-untyped-def]
    assert run(write_set(write_csv), municipality).ok
    numbers = {PERSON_A, PERSON_B}
    digits = {n.replace("-", "") for n in numbers} | {n.replace("-", "")[2:] for n in numbers}
    for client in Client.objects.all():
        assert len(client.pseudonym) == 64
        assert not any(d in client.pseudonym for d in digits)


def test_the_byte_order_mark_is_accepted(write_csv, municipality) -> None:  # type: ignore[no-untyped-def]
    path = write_csv(
        "providers.csv", "provider_id,name,org_number,ownership", "P9,Ett,,private", encoding="utf-8-sig"
    )
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    assert run([path], municipality).ok
    assert Provider.objects.filter(provider_id="P9").exists()


def test_reimporting_the_same_files_changes_nothing(write_csv, municipality) -> None:  # type: ignore[no-untyped-def]
    files = write_set(write_csv)
    assert run(files, municipality).ok
    before = stored_counts(municipality)
    report = run(files, municipality)
    assert report.ok, report.issues
    assert stored_counts(municipality) == before
    assert sum(report.created.values()) == 0
    assert dict(report.unchanged) == {"providers": 2, "contracts": 2, "interventions": 3, "followups": 4}


def test_changed_content_is_an_error_without_update(write_csv, municipality) -> None:  # type: ignore[no-untyped-def]
    files = write_set(write_csv)
    assert run(files, municipality).ok
    changed = write_csv(
        "followups.csv",
        FOLLOWUPS[0],
        FOLLOWUPS[1].replace("much_better", "unchanged,"[:-1]).replace(",very_large,", ",,"),
    )
    report = run([changed], municipality)
    assert not report.stored
    assert [str(i) for i in report.issues] == [
        f"{changed}:2: followup_id: 'F1' finns redan med annat innehåll (svar); använd --update för att "
        "ersätta (den gamla versionen sparas i historiken)"
    ]
    assert FollowUp.objects.get(followup_id="F1").answers.filter(option__code="much_better").exists()


def test_update_replaces_and_keeps_the_old_version_in_history(write_csv, municipality) -> None:  # type: ignore[no-untyped-def]
    assert run(write_set(write_csv), municipality).ok
    changed = write_csv("followups.csv", FOLLOWUPS[0], FOLLOWUPS[1].replace("approved", "very_good"))
    report = run([changed], municipality, update=True, actor="import (test)")
    assert report.ok and dict(report.updated) == {"followups": 1}
    followup = FollowUp.objects.get(followup_id="F1")
    assert (followup.assessment, followup.version) == ("very_good", 2)
    record = ChangeRecord.objects.get(kind="followups", record_id="F1")
    assert record.data["assessment"] == "approved"
    assert record.data["answers"]["q5"] == "very_large"
    assert (record.version, record.changed_by_label) == (1, "import (test)")
    assert record.changed_at is not None


def test_the_same_person_keeps_one_pseudonym_across_interventions(write_csv, municipality) -> None:  # type: ignore[no-untyped-def]
    assert run(write_set(write_csv), municipality).ok
    again = write_csv(
        "interventions2.csv",
        INTERVENTIONS[0],
        f"I9,{PERSON_A.replace('-', '')},,,outpatient_youth,P2,,sodermalm,2026-01-05,2026-01-10,,,,,",
    )
    assert run([again], municipality).ok
    assert (
        Intervention.objects.get(intervention_id="I9").client
        == Intervention.objects.get(intervention_id="I1").client
    )


def test_an_import_in_one_municipality_is_invisible_in_another(
    write_csv, municipality, other_municipality
) -> None:  # type: ignore[no-untyped-def]
    assert run(write_set(write_csv), municipality).ok
    assert stored_counts(other_municipality) == (0, 0, 0, 0, 0, 0)
    report = run(write_set(write_csv)[:1], other_municipality)
    assert report.ok and dict(report.created) == {"providers": 2}


def test_each_update_of_a_provider_is_numbered_in_its_history(write_csv, municipality) -> None:  # type: ignore[no-untyped-def]
    header = "provider_id,name,org_number,ownership"
    for name in ("Första namnet", "Andra namnet", "Tredje namnet"):
        assert run([write_csv("providers.csv", header, f"P1,{name},,private")], municipality, update=True).ok
    history = ChangeRecord.objects.filter(kind="providers", record_id="P1").order_by("version")
    assert [(r.version, r.data["name"]) for r in history] == [(1, "Första namnet"), (2, "Andra namnet")]
    assert Provider.objects.get(provider_id="P1").name == "Tredje namnet"
