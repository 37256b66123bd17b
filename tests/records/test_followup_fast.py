"""The follow-up file's shortcut (records.followup_fast) gives exactly what the rulebook gives:
the same record for every row it accepts, and no answer (so the full check and its issues)
for every row the rulebook finds an issue in. Rows: the demo generator's, and the same rows
with one or two cells replaced by values that break a rule or only look as if they might."""

from __future__ import annotations

import csv
import datetime as dt
import random
from pathlib import Path

import pytest

from utfall.core.identity import format_identity_number
from utfall.demo.generator import generate
from utfall.records.followup_fast import compile_followup_check
from utfall.records.rules import RowChecker, catalogue_for, check_followup

pytestmark = pytest.mark.django_db

PERSON = format_identity_number(dt.date(1984, 6, 1), 123)
ODD_VALUES = [
    "", " ", "  completed ", "x", "approved ", "yes", "no", "dont_know", "0", "600", "601", "007", "-1",
    "²", "٣", "1e3", "2025-07-22", "2025-W30-2", "20250722", "2025-02-30", "2099-01-01", "2026-11-01",
    "stockholm-2021@1", "stockholm-2021@9", "family-child-2026@1", "client", "guardian", "staff",
    "declined", "unreachable", "completed", "F" * 61, "I" * 60, PERSON, f"id-{PERSON}", "very_large",
    "much_better", "unchanged", "partly", "deficient",
]  # fmt: skip


def demo_rows(tmp_path: Path) -> tuple[list[str], list[list[str]]]:
    data = generate(size=0.02, seed=5)
    path = next(p for p in data.write_csv(tmp_path) if p.stem == "followups")
    with path.open(encoding="utf-8", newline="") as fh:
        header, *rows = list(csv.reader(fh))
    return header, rows


def full_check(header: list[str], cells: list[str], catalogue):  # type: ignore[no-untyped-def]
    checker = RowChecker("followups.csv", 2, dict(zip(header, cells, strict=True)), catalogue)
    record = check_followup(checker)
    return record, checker.issues


def test_the_shortcut_accepts_the_valid_rows_with_the_rulebooks_record(tmp_path: Path) -> None:
    header, rows = demo_rows(tmp_path)
    catalogue = catalogue_for(dt.date(2026, 12, 2))
    fast = compile_followup_check(header, catalogue)
    valid = 0
    for cells in rows:
        record, issues = full_check(header, cells, catalogue)
        got = fast(cells)
        if issues:
            assert got is None, (cells, issues)
        else:
            valid += 1
            assert got == record
            assert list(got["answers"]) == list(record["answers"])  # the same order too
    assert valid > 100
    accepted = sum(fast(cells) is not None for cells in rows)
    assert accepted == valid  # every valid demo row takes the shortcut


def test_the_shortcut_never_accepts_a_row_the_rulebook_refuses(tmp_path: Path) -> None:
    header, rows = demo_rows(tmp_path)
    catalogue = catalogue_for(dt.date(2026, 12, 2))
    fast = compile_followup_check(header, catalogue)
    rng = random.Random(13)
    refused = accepted = 0
    for _ in range(6000):
        cells = list(rng.choice(rows))
        for _ in range(rng.choice((1, 1, 2))):
            column = rng.randrange(len(header))
            cells[column] = rng.choice([*ODD_VALUES, f" {cells[column]} "])
        record, issues = full_check(header, cells, catalogue)
        got = fast(cells)
        if issues:
            refused += 1
            assert got is None, (dict(zip(header, cells, strict=True)), issues)
        elif got is not None:
            accepted += 1
            assert got == record, dict(zip(header, cells, strict=True))
    assert refused > 1000 and accepted > 500


def test_a_file_without_an_optional_column_is_checked_the_same(tmp_path: Path) -> None:
    header, rows = demo_rows(tmp_path)
    catalogue = catalogue_for(dt.date(2026, 12, 2))
    for dropped in ("assessment", "minutes", "g2"):
        keep = [i for i, column in enumerate(header) if column != dropped]
        narrow = [header[i] for i in keep]
        fast = compile_followup_check(narrow, catalogue)
        for row in rows[:300]:
            cells = [row[i] for i in keep]
            record, issues = full_check(narrow, cells, catalogue)
            got = fast(cells)
            assert got is None if issues else got == record


def test_a_superscript_digit_is_refused_with_a_reason_not_a_crash(municipality, write_csv) -> None:  # type: ignore[no-untyped-def]
    # "²".isdigit() is true and int("²") raised ValueError: the import stopped with a traceback.
    from tests.interchange.helpers import write_set
    from utfall.interchange.importer import import_files

    files = write_set(write_csv)
    assert import_files(files[:3], municipality=municipality).ok
    followups = write_csv(
        "followups.csv",
        "followup_id,intervention_id,date,instrument,respondent,status,assessment,minutes",
        "F9,I2,2025-08-01,stockholm-2021@1,client,declined,,²",
    )
    report = import_files([followups], municipality=municipality)
    assert [str(i).split(": ", 1)[1] for i in report.issues] == [
        "minutes: '²' är inte ett heltal mellan 0 och 600"
    ]
