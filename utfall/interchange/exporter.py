"""``utfall export``: the stored data as interchange v1 files.

Identity numbers cannot be given back: ``person_id`` carries the pseudonym as
``pseudo:<64 hex>``, which import accepts. Export, import into an empty database and export
again gives byte-identical files (rows ordered by their id, columns in the spec's order).
A text cell a spreadsheet would run as a formula is written with a leading ``'``, which
the reader removes again (utfall.core.spreadsheets).
"""

from __future__ import annotations

import csv
from pathlib import Path

from utfall.core.spreadsheets import neutralised
from utfall.instruments.models import Question
from utfall.interchange.schema import (
    CONTRACT_COLUMNS,
    CONTRACT_V11_COLUMNS,
    FOLLOWUP_FIXED_AFTER,
    FOLLOWUP_FIXED_BEFORE,
    INTERVENTION_COLUMNS,
    KINDS,
    PROVIDER_COLUMNS,
)
from utfall.organisations.models import Municipality
from utfall.records import canonical


def followup_question_columns(records: dict[str, canonical.Record]) -> list[str]:
    """Question codes used by the exported follow-ups, in instrument and question order."""
    used = {r["instrument"] for r in records.values()}
    columns: list[str] = []
    for q in Question.objects.select_related("version__instrument").order_by(
        "version__instrument__code", "version__version", "position"
    ):
        if q.version.key in used and q.code not in columns:
            columns.append(q.code)
    return columns


def export_all(municipality: Municipality, directory: Path) -> dict[str, int]:
    directory.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    for kind in KINDS:
        records = canonical.READERS[kind](municipality)
        if kind == "providers":
            header = PROVIDER_COLUMNS
        elif kind == "contracts":
            header = [*CONTRACT_COLUMNS, *CONTRACT_V11_COLUMNS]
        elif kind == "interventions":
            header = INTERVENTION_COLUMNS
        else:
            header = [*FOLLOWUP_FIXED_BEFORE, *followup_question_columns(records), *FOLLOWUP_FIXED_AFTER]
        with (directory / f"{kind}.csv").open("w", encoding="utf-8", newline="") as fh:
            out = csv.writer(fh, lineterminator="\n")
            out.writerow(header)
            for key in sorted(records):
                record = records[key]
                answers = record.get("answers", {})
                out.writerow(neutralised(record[c] if c in record else answers.get(c, "") for c in header))
        counts[kind] = len(records)
    return counts
