"""A statement as a spreadsheet: the rules and amounts, then the evidence (pseudonyms only
for a reader allowed them; counts otherwise). Text is written as text cells (core.spreadsheets)."""

from __future__ import annotations

import io
from typing import Any

from django.conf import settings
from openpyxl import Workbook
from openpyxl.styles import Font

from utfall.core.spreadsheets import as_text_cell
from utfall.procurement.models import Statement


def statement_xlsx(statement: Statement, shown_pseudonyms: dict[str, str]) -> bytes:
    content = statement.content
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Avräkning"
    paid_on = content["compensation"]
    lines: list[list[Any]] = [
        ["Avräkning, resultatbaserad ersättning"],
        ["Avtal", content["contract_id"]], ["Utförare", content["provider"]],
        ["Period", f"{content['period_from']}–{content['period_to']}"],
        ["Version", statement.version], ["Status", statement.get_status_display()],
        ["Godkänd av", statement.approved_by or ""],
        ["Pris (kr)", paid_on["price"] or ""], ["Prisenhet", paid_on["price_unit"] or ""],
        ["Insatser i perioden", paid_on["interventions"]], ["Dygn i perioden", paid_on["days"]],
        ["Insatser som började i perioden", paid_on["started"]],
        ["Periodens ersättning (kr)", float(paid_on["total"]) if paid_on["total"] else ""],
        [],
        ["Regel", "Utfallsmått", "Räknade insatser", "Med utfallet", "Andel", "95 % KI nedre", "95 % KI övre",
         "Kommunens andel", "Uppföljningsgrad", "Klienter", "Klienter med utfallet", "Belopp (kr)", "Skäl"],
    ]  # fmt: skip
    minimum = int(settings.UTFALL_MIN_COUNT)

    def count(value: int) -> Any:  # below the minimum count only as "<N" (invariant 2)
        return f"<{minimum}" if 0 < value < minimum else value

    for r in content["rules"]:
        small = 0 < r["n"] < minimum
        lines.append([r["rule"]["name"], r["rule"]["indicator"], count(r["n"]), f"<{minimum}" if small else r["events"],
                      None if small else r["rate"], None if small else r["ci_low"],
                      None if small else r["ci_high"], r["reference"]["rate"], r["coverage"]["rate"],
                      count(r["clients"]), f"<{minimum}" if 0 < r["clients"] < minimum else r["clients_reached"],
                      int(r["amount"]),
                      "; ".join(r["reasons"]) or r.get("calculation", "")])  # fmt: skip
    lines += [[], ["Att betala (kr)", int(statement.total)]]
    for line in lines:
        sheet.append(line)
    sheet["A1"].font = Font(bold=True)
    evidence = book.create_sheet("Underlag")
    evidence.append(["Regel", "Insats", "Klient (pseudonym)", "Avslutad", "Räknas som utfall"])
    for r in content["rules"]:
        for e in r["evidence"]:
            if e["intervention_id"] in shown_pseudonyms:
                evidence.append([r["rule"]["name"], e["intervention_id"], shown_pseudonyms[e["intervention_id"]],
                                 e["ended_on"], "ja" if e["event"] else "nej"])  # fmt: skip
        hidden = [e for e in r["evidence"] if e["intervention_id"] not in shown_pseudonyms]
        if hidden:
            evidence.append([r["rule"]["name"], f"{count(len(hidden))} insatser (antal; enskilda visas inte för din roll)",
                             "", "", f"{f'<{minimum}' if len(hidden) < minimum else sum(1 for e in hidden if e['event'])} med utfallet"])  # fmt: skip
    for ws in (sheet, evidence):
        for cells in ws.iter_rows():
            for cell in cells:
                as_text_cell(cell)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
