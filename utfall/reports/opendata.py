"""Open data in Kolada's shape, and the national reference built from other municipalities'
files of that shape (issue 15, point 5).

One row per KPI (our canonical indicator code), municipality (its SCB code, else its code),
period (the calendar year) and gender (T all, K women, M men): the value in per cent with one
decimal and n, the number of answers it rests on. The total and the sexes are suppressed
together (with the clients of another or unknown sex as a hidden fourth group), so no cell
under the minimum count is published and none can be recovered by subtraction; then every
published count and value is perturbed by the cell-key method (utfall.stats.disclosure.perturb,
issue 10.6: ±2 at most, the same for the same cell every time; the sexes no longer add up
to the total exactly). Files: JSON
as Kolada's API answers (``{"values": [{"kpi", "municipality", "period", "values": [{"gender",
"value", "count", "status"}]}]}``) and CSV with the columns ``kpi, municipality, period,
gender, value, count`` — a machine file for other municipalities and open-data portals, so
comma-separated with a decimal point and no title block (decided 2026-12-02, docs/reports.md).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction

from utfall.comparisons.disclosure import protected_counts
from utfall.comparisons.indicators import all_indicators
from utfall.organisations.models import Municipality
from utfall.reports.models import ReferenceValue
from utfall.results.services.common import min_n
from utfall.stats.disclosure import perturb
from utfall.stats.suppression import suppress

GENDERS = {"T": "Totalt", "K": "Kvinnor", "M": "Män"}
SEX_TO_GENDER = {"female": "K", "male": "M"}
CSV_COLUMNS = ["kpi", "municipality", "period", "gender", "value", "count"]
#: Published: every canonical indicator except coverage (it counts interventions, not answers).
OPEN_KINDS = ("question", "assessment", "step_down", "plan_goals", "rereferral")


def municipality_id(municipality: Municipality) -> str:
    return municipality.scb_code or municipality.code


def open_rows(
    municipality: Municipality, year: int, *, unit: str | None = None, perturbed: bool = True
) -> list[dict[str, Any]]:
    """Rows {kpi, municipality, period, gender, value, count} that suppression lets out, with
    cell-key perturbation when ``perturbed`` (the files that leave the municipality; the
    municipality's own pages show the suppressed true values)."""
    start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
    filters = {"unit": unit} if unit else {}
    out = []
    for code, definition in all_indicators().items():
        if definition.kind not in OPEN_KINDS:
            continue
        counts = protected_counts(definition, municipality=municipality, date_from=start, date_to=end,
                           by=["sex"], filters=filters)  # fmt: skip
        if not counts:
            continue
        total = {"group": "T", "n": sum(r["n"] for r in counts), "events": sum(r["events"] for r in counts)}
        parts = [
            {"group": SEX_TO_GENDER.get(r["sex"], "other"), "n": r["n"], "events": r["events"]}
            for r in counts
        ]
        for row in suppress([total, *parts], min_n=min_n()):
            if row["suppressed"] or row["group"] not in GENDERS or not row["n"]:
                continue
            # The file leaves the municipality: cell-key perturbation (issue 10.6) on top of the
            # suppression, keyed by the cell's description, so the same cell always gets the same
            # numbers and the total minus a sex is noise around the other sex, not its count.
            cell = f"{code}|{municipality_id(municipality)}|{year}|{unit or ''}|{row['group']}"
            noisy = perturb(row["n"], row["events"], cell=cell, secret=cell_key_secret(), min_n=min_n())
            if perturbed and noisy is None:
                continue
            size, positive = noisy if perturbed and noisy is not None else (row["n"], row["events"])
            out.append({"kpi": code, "municipality": municipality_id(municipality), "period": year,
                        "gender": row["group"], "value": round(100 * positive / size, 1), "count": size})  # fmt: skip
    return out


def cell_key_secret() -> bytes:
    """The secret of the cell keys: ``UTFALL_CELL_KEY_SECRET`` when set, else derived from the
    SECRET_KEY. It must stay the same between publications (a new secret gives new noise,
    and two noisy versions of one cell average towards the truth: docs/disclosure.md)."""
    secret = getattr(settings, "UTFALL_CELL_KEY_SECRET", "") or f"utfall-cell-key|{settings.SECRET_KEY}"
    return hashlib.sha256(secret.encode("utf-8")).digest()


def as_json(rows: Iterable[dict[str, Any]]) -> str:
    grouped: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
    for r in rows:
        grouped.setdefault((r["kpi"], r["municipality"], r["period"]), []).append(
            {"gender": r["gender"], "value": r["value"], "count": r["count"], "status": ""}
        )
    values = [{"kpi": k, "municipality": m, "period": p, "values": v} for (k, m, p), v in grouped.items()]
    return json.dumps({"count": len(values), "values": values}, ensure_ascii=False, indent=1)


def as_csv(rows: Iterable[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


class BadReferenceFile(ValueError):
    """The file is not in Kolada's shape; the message names the line and the field."""


@dataclass(frozen=True)
class ImportResult:
    rows: int
    municipalities: list[str]


def parse_reference(text: str) -> list[dict[str, Any]]:
    """Rows of a file in the shape above (JSON or CSV, ``,`` or ``;``, decimal point or comma)."""
    text = text.removeprefix("\ufeff").strip()
    if not text:
        raise BadReferenceFile("Filen är tom.")
    rows: list[dict[str, Any]] = []
    if text.startswith("{"):
        try:
            data = json.loads(text)
            for i, item in enumerate(data["values"], start=1):
                for cell in item["values"]:
                    rows.append({"line": i, "kpi": item["kpi"], "municipality": item["municipality"],
                                 "period": item["period"], "gender": cell["gender"], "value": cell["value"],
                                 "count": cell.get("count")})  # fmt: skip
        except (ValueError, KeyError, TypeError) as exc:
            raise BadReferenceFile(f"JSON-filen har inte Koladas form (saknar {exc}).") from None
    else:
        dialect = ";" if text.splitlines()[0].count(";") > text.splitlines()[0].count(",") else ","
        reader = csv.DictReader(io.StringIO(text), delimiter=dialect)
        missing = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise BadReferenceFile(f"Rubrikraden saknar kolumnerna {', '.join(missing)}.")
        for i, line in enumerate(reader, start=2):
            rows.append({"line": i, **{c: line[c] for c in CSV_COLUMNS}})
    clean = []
    for row in rows:
        clean.append(_checked(row))
    return clean


def _checked(row: dict[str, Any]) -> dict[str, Any]:
    where = f"Rad {row['line']}"
    if row["kpi"] not in all_indicators():
        raise BadReferenceFile(f"{where}: okänd indikator (kpi) '{row['kpi']}'.")
    if row["gender"] not in GENDERS:
        raise BadReferenceFile(f"{where}: kön (gender) ska vara T, K eller M, inte '{row['gender']}'.")
    try:
        period = int(row["period"])
        value = float(str(row["value"]).replace(",", "."))
        count = None if row["count"] in (None, "") else int(row["count"])
    except ValueError:
        raise BadReferenceFile(f"{where}: period, värde (value) och antal (count) ska vara tal.") from None
    if not 0 <= value <= 100:
        raise BadReferenceFile(f"{where}: värdet (value) ska vara en andel i procent, 0–100.")
    if count is not None and count < min_n():
        raise BadReferenceFile(
            f"{where}: antalet (count) {count} är under minsta redovisade antal {min_n()}."
        )
    return {"kpi": row["kpi"], "source": str(row["municipality"]).strip(), "period": period,
            "gender": row["gender"], "value": value, "count": count}  # fmt: skip


@transaction.atomic
def import_reference(municipality: Municipality, text: str, *, label: str = "") -> ImportResult:
    """Replace the reference values of the sources in the file (all or nothing): a file with a
    bad line changes nothing. Our own municipality's rows in a national file are skipped."""
    rows = [r for r in parse_reference(text) if r["source"] != municipality_id(municipality)]
    sources = sorted({r["source"] for r in rows})
    ReferenceValue.objects.filter(municipality=municipality, source__in=sources).delete()
    ReferenceValue.objects.bulk_create(
        ReferenceValue(municipality=municipality, file_label=label[:200], **r) for r in rows
    )
    return ImportResult(len(rows), sources)


def national_table(municipality: Municipality, year: int, *, unit: str | None = None) -> list[dict[str, Any]]:
    """Per indicator (all, T): our value and n beside the other municipalities' values — each
    one, their median, lowest and highest — for one year."""
    import statistics

    own = {
        r["kpi"]: r for r in open_rows(municipality, year, unit=unit, perturbed=False) if r["gender"] == "T"
    }
    others: dict[str, list[ReferenceValue]] = {}
    for ref in ReferenceValue.objects.filter(municipality=municipality, period=year, gender="T").order_by(
        "source"
    ):
        others.setdefault(ref.kpi, []).append(ref)
    out = []
    for code, definition in all_indicators().items():
        if code not in own and code not in others:
            continue
        values = [r.value for r in others.get(code, [])]
        out.append({
            "kpi": code, "name": definition.name, "own": own.get(code),
            "others": others.get(code, []), "median": statistics.median(values) if values else None,
            "low": min(values) if values else None, "high": max(values) if values else None,
        })  # fmt: skip
    return out
