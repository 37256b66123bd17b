"""Broken files: every bad line is named with its column and reason, and nothing is stored."""

from __future__ import annotations

import csv

import pytest

from tests.conftest import TODAY
from tests.interchange.helpers import CONTRACTS, FOLLOWUPS, INTERVENTIONS, PERSON_A, PERSON_B, PROVIDERS
from tests.interchange.test_import import stored_counts
from utfall.interchange.importer import import_files

pytestmark = pytest.mark.django_db

BAD_CHECK_DIGIT = PERSON_B[:-1] + str((int(PERSON_B[-1]) + 1) % 10)


def run(files, municipality, **options):  # type: ignore[no-untyped-def]
    return import_files(files, municipality=municipality, today=TODAY, **options)


def broken_set(write_csv) -> list:  # type: ignore[no-untyped-def]
    providers = write_csv(
        "providers.csv",
        *PROVIDERS,
        "P3,Trasig AB,5560000002,private",  # line 4: org number check digit
        "P1,Dubblett,,private",  # line 5: duplicate id
        "P4,Okänd ägare,,company",  # line 6: unknown ownership
        "P5,Kort rad",  # line 7: short row
    )
    contracts = write_csv(
        "contracts.csv",
        *CONTRACTS,
        "C3,P9,lou,hvb_youth,2024-01-01,",  # line 4: dangling provider
        "C4,P1,lou,hvb_yuoth,2024-01-01,",  # line 5: unknown service code
        "C5,P1,lov,ihf,2024-05-01,2024-01-01",  # line 6: ends before it starts
    )
    head = INTERVENTIONS[0]
    interventions = write_csv(
        "interventions.csv",
        *INTERVENTIONS,
        f"I4,{BAD_CHECK_DIGIT},,,hvb_adult,P1,,bromma,2025-01-01,2025-01-02,,,,,",  # 5: check digit
        f"I5,{PERSON_A},,,hvb_youth,P1,,bromma,2025-03-01,2025-03-02,2025-02-01,moved,,,",  # 6: order
        f"I6,{PERSON_A},,,hvb_youth,P1,,bromma,2027-03-01,2027-03-02,,,,,",  # 7: decided in future
        f"I7,{PERSON_A},,,hvb_youth,P1,,bromma,2025-03-01,2025-03-02,2025-06-01,goals_met,2,2,1",  # 8
        f"I8,{PERSON_A},,,hvb_youth,P1,C2,bromma,2025-03-01,2025-03-02,,,,,",  # 9: contract of P2
        f"I9,{PERSON_A},,,hvb_youth,P1,,bromma,2025-03-01,2025-03-02,2025-04-01,,,,",  # 10: no reason
    )
    assert head.startswith("intervention_id")
    followups = write_csv(
        "followups.csv",
        *FOLLOWUPS,
        "F5,I404,2025-07-01,stockholm-2021@1,client,declined,,,,,,,,,,",  # 6: dangling
        "F6,I1,2024-07-01,stockholm-2021@1,client,declined,,,,,,,,,,",  # 7: before start
        "F7,I1,2026-07-01,stockholm-2021@1,client,declined,,,,,,,,,,",  # 8: future
        "F8,I1,2025-07-01,stockholm-2021@1,client,completed,yes,,,,,approved,,,,",  # 9: unknown option
        "F9,I1,2025-07-01,stockholm-2021@1,client,completed,,,,unchanged,very_large,approved,,,,",  # 10
        "F10,I1,2025-07-01,stockholm-2021@9,client,declined,,,,,,,,,,",  # 11: unknown instrument
        "F11,I1,2025-07-01,stockholm-2021@1,client,completed,no,,,,,,,,,",  # 12: no assessment
        "F12,I2,2025-07-01,stockholm-2021@1,client,declined,no,,,,,,,,,",  # 13: answers when declined
    )
    return [providers, contracts, interventions, followups]


def test_every_bad_line_is_named_and_nothing_is_stored(write_csv, municipality) -> None:  # type: ignore[no-untyped-def]
    files = broken_set(write_csv)
    report = run(files, municipality)
    assert not report.stored
    assert stored_counts(municipality) == (0, 0, 0, 0, 0, 0)
    found = {(i.file.rsplit("/", 1)[-1], i.line, i.column) for i in report.issues}
    expected = {
        ("providers.csv", 4, "org_number"),
        ("providers.csv", 5, "provider_id"),
        ("providers.csv", 6, "ownership"),
        ("providers.csv", 7, "-"),
        ("contracts.csv", 4, "provider_id"),
        ("contracts.csv", 5, "services"),
        ("contracts.csv", 6, "valid_to"),
        ("interventions.csv", 5, "person_id"),
        ("interventions.csv", 6, "ended_on"),
        ("interventions.csv", 7, "decided_on"),
        ("interventions.csv", 8, "goals_fully"),
        ("interventions.csv", 9, "contract_id"),
        ("interventions.csv", 10, "end_reason"),
        ("followups.csv", 6, "intervention_id"),
        ("followups.csv", 7, "date"),
        ("followups.csv", 8, "date"),
        ("followups.csv", 9, "q1"),
        ("followups.csv", 10, "q5"),
        ("followups.csv", 11, "instrument"),
        ("followups.csv", 12, "assessment"),
        ("followups.csv", 13, "q1"),
    }
    assert expected <= found, sorted(expected - found)
    # Good lines are not blamed; each bad line is named once per problem.
    assert {(f, line) for f, line, _ in found} == {(f, line) for f, line, _ in expected}
    messages = "\n".join(str(i) for i in report.issues)
    assert "kontrollsiffran stämmer inte" in messages
    assert "'P9' finns inte bland providers" in messages
    assert "okänd tjänstekod 'hvb_yuoth'" in messages
    assert "raden har 2 fält men rubriken har 4" in messages
    assert "goals_fully + goals_partly (3) är större än goals_total (2)" in messages
    # Identity numbers are never repeated in an error.
    assert BAD_CHECK_DIGIT not in messages and BAD_CHECK_DIGIT.replace("-", "") not in messages


def test_an_unknown_or_missing_column_is_an_error_that_names_it(write_csv, municipality) -> None:  # type: ignore[no-untyped-def]
    misspelt = write_csv("providers.csv", "provider_id,name,org_nummer,ownership", "P1,Ett,,private")
    missing = write_csv("contracts.csv", "contract_id,provider_id,form,valid_from", "C1,P1,lou,2024-01-01")
    report = run([misspelt, missing], municipality)
    assert not report.stored
    assert [(i.line, i.column, i.reason) for i in report.issues] == [
        (1, "services", "obligatorisk kolumn saknas"),
        (1, "org_nummer", "okänd kolumn 'org_nummer' för providers"),
    ]
    assert stored_counts(municipality)[0] == 0


def test_a_question_column_of_another_instrument_is_rejected(write_csv, municipality) -> None:  # type: ignore[no-untyped-def]
    files = broken_set(write_csv)
    header = FOLLOWUPS[0].replace("minutes", "minutes,q77")
    report = run([write_csv("followups.csv", header, FOLLOWUPS[1] + ",x")], municipality)
    assert [(i.column, i.reason) for i in report.issues] == [("q77", "okänd kolumn 'q77' för followups")]
    assert files  # the set itself is not imported here


def test_partial_stores_the_good_rows_and_writes_the_rejected_ones(write_csv, municipality, tmp_path) -> None:  # type: ignore[no-untyped-def]
    files = broken_set(write_csv)
    report = run(files, municipality, partial=True, rejected_dir=tmp_path / "rejected")
    assert report.stored
    assert stored_counts(municipality) == (2, 2, 3, 3, 4, 8)
    assert dict(report.rejected) == {"providers": 4, "contracts": 3, "interventions": 6, "followups": 8}
    rejected = tmp_path / "rejected" / "interventions.rejected.csv"
    with rejected.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["intervention_id"] for r in rows] == ["I4", "I5", "I6", "I7", "I8", "I9"]
    assert "kontrollsiffran" in rows[0]["utfall_error"]

    # The user fixes a rejected row and imports the file as it is: the error column is ignored.
    rows = [r for r in rows if r["intervention_id"] == "I9"]
    rows[0]["end_reason"] = "moved"
    with rejected.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    again = run([rejected], municipality)
    assert again.ok, again.issues
    assert dict(again.created) == {"interventions": 1}


def test_unreadable_files_are_reported_not_raised(write_csv, municipality, tmp_path) -> None:  # type: ignore[no-untyped-def]
    latin1 = write_csv(
        "providers.csv", "provider_id,name,org_number,ownership", "P1,Älvsjö,,private", encoding="latin-1"
    )
    empty = write_csv("contracts.csv", "")
    report = run([latin1, empty, tmp_path / "nowhere.csv", tmp_path / "data.json"], municipality)
    assert not report.stored
    reasons = [i.reason for i in report.issues]
    assert any("inte UTF-8" in r for r in reasons)
    assert any("filen finns inte" in r for r in reasons)
    assert len(reasons) == 4


def test_a_nul_character_refuses_the_file_on_both_databases(write_csv, municipality, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """PostgreSQL cannot store NUL: the import ended in a DataError there and SQLite stored it."""
    nul = write_csv("providers.csv", *PROVIDERS, "P9,Nul\x00AB,,private")
    utf16 = tmp_path / "contracts.csv"
    utf16.write_text("\n".join(CONTRACTS) + "\n", encoding="utf-16-le")
    report = run([nul, utf16], municipality)
    assert not report.stored
    said = [str(i) for i in report.issues]
    assert any("providers.csv:" in s and "rad 4 innehåller NUL-tecken" in s for s in said), said
    assert any("contracts.csv:" in s and "rad 1 " in s and "UTF-16" in s for s in said), said
    assert stored_counts(municipality) == (0, 0, 0, 0, 0, 0)
