"""The report's four renderings from its one content dict (``building.build_report``):
an HTML page, a print-quality PDF made by WeasyPrint from the same HTML, an XLSX with one
sheet per table, and a Word (DOCX) file. Charts are the pages' Vega-Lite specs rendered to
SVG on the server (vl-convert), so the page, the PDF and the browser draw the same chart."""

from __future__ import annotations

import copy
import io
import re
from collections.abc import Mapping
from typing import Any

from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

from utfall.core.spreadsheets import as_text_cell
from utfall.results.tables import SUPPRESSED_TEXT, SUPPRESSION_RULE, Column, ResultTable, display

CONTENT_TYPES = {
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}
CHART_WIDTH = 620


def table_from_json(data: Mapping[str, Any]) -> ResultTable:
    columns = [
        Column(
            c["key"],
            c["label"],
            c["kind"],
            tuple(c["interval"]) if c.get("interval") else None,  # type: ignore[arg-type]
            n_key=c.get("n_key"),
        )
        for c in data["columns"]
    ]
    return ResultTable(
        data["name"], data["caption"], columns, list(data["rows"]), list(data.get("notes", []))
    )


def cell_text(row: Mapping[str, Any], column: Column) -> str:
    """A cell as the report prints it: the page's text, "dold" for a hidden group. An interval
    may break only after its dash ("(74,0 % –" / "83,0 %)"), never leave the dash alone on a line."""
    label_keys = {"group", "name", "period", "indicator", "scope"}
    if row.get("suppressed") and column.key not in label_keys:
        return SUPPRESSED_TEXT
    value = row.get(column.key)
    if value is None and column.kind in ("rate", "diff", "count", "ratio", "number"):
        prefix = column.key.split("_")[0]
        return SUPPRESSED_TEXT if row.get(f"{prefix}_suppressed") else "–"
    if column.interval and value is not None:
        low, high = (row.get(k) for k in column.interval)
        if low is not None and high is not None:
            return f"{display(value, column.kind)} ({display(low, column.kind)}\u00a0– {display(high, column.kind)})"
    return display(value, column.kind)


def printed_columns(table: ResultTable) -> list[Column]:
    """The columns a printed table shows: an interval's bounds sit in its estimate's cell; codes,
    positive counts and control limits are in the XLSX."""
    companions = {key for c in table.columns if c.interval for key in c.interval}
    hidden = {"group", "events", "lower_998", "upper_998", "expected", "observed", "flag"}
    has_name = any(c.key == "name" for c in table.columns)
    return [
        c for c in table.columns
        if c.key not in companions and (c.key not in hidden or (c.key == "group" and not has_name))
    ]  # fmt: skip


def view_of(table: ResultTable) -> dict[str, Any]:
    columns = printed_columns(table)
    return {
        "name": table.name,
        "caption": table.caption,
        "headers": [{"label": c.label, "num": c.kind not in ("text", "flag")} for c in columns],
        "rows": [
            [{"text": cell_text(r, c), "num": c.kind not in ("text", "flag")} for c in columns]
            for r in table.rows
        ],
        "notes": table.notes,
    }


def svg_of(spec: Mapping[str, Any]) -> SafeString:
    """The chart as SVG (vl-convert), fixed width for print; an empty chart draws nothing."""
    import vl_convert

    fixed = copy.deepcopy(dict(spec))
    if not isinstance(fixed.get("width"), (int, dict)):
        fixed["width"] = CHART_WIDTH  # "container" has no meaning on paper
    fixed.pop("autosize", None)
    if isinstance(fixed.get("height"), int):
        fixed["height"] = min(fixed["height"], 300)
    svg = vl_convert.vegalite_to_svg(fixed)
    label = str(spec.get("description", "")) + " Samma siffror finns i tabellen."
    svg = re.sub(r"<svg ", f'<svg role="img" aria-label="{_attr(label)}" ', svg, count=1)
    return mark_safe(svg)  # noqa: S308 - vl-convert's own output from specs of suppressed rows


def _attr(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def _has_points(spec: Mapping[str, Any]) -> bool:
    data = spec.get("data") or {}
    values = data.get("values") if isinstance(data, dict) else None
    return bool(values) if values is not None else True


def context_of(content: Mapping[str, Any], *, charts: bool = True) -> dict[str, Any]:
    sections = []
    for section in content["sections"]:
        sections.append({
            **section,
            "views": [view_of(table_from_json(t)) for t in section["tables"]],
            "svgs": [svg_of(s) for s in section["charts"] if _has_points(s)] if charts else [],
        })  # fmt: skip
    return {"report": content, "sections": sections}


def render_html(content: Mapping[str, Any]) -> str:
    """The standalone document (also the PDF's source): no navigation, print CSS inline."""
    return render_to_string("reports/print.html", context_of(content))


def render_pdf(content: Mapping[str, Any]) -> bytes:
    from weasyprint import HTML

    return bytes(HTML(string=render_html(content)).write_pdf())


def render_xlsx(content: Mapping[str, Any]) -> bytes:
    """One sheet per table: a title block (report, table, period, scope, suppression rule),
    the Swedish column labels, the values as numbers (rates as percent), then the notes."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    first = book.active
    assert first is not None
    first.title = "Sammanfattning"
    first.append([content["title"]])
    first["A1"].font = Font(bold=True, size=14)
    first.append([f"{content['scope']}, {content['from']}–{content['to']}"])
    for line in content["summary"]:
        first.append([line])
    used: set[str] = {first.title}
    for section in content["sections"]:
        for data in section["tables"]:
            table = table_from_json(data)
            name = _sheet_name(table.name, used)
            sheet = book.create_sheet(name)
            sheet.append([table.caption])
            sheet["A1"].font = Font(bold=True)
            sheet.append([f"Rapport: {content['title']} ({content['scope']})"])
            sheet.append([f"Period: {content['from']}–{content['to']}"])
            sheet.append([SUPPRESSION_RULE.format(min_n=content["min_n"])])
            sheet.append([])
            keys = table.keys()
            sheet.append(table.labels())
            for cell in sheet[sheet.max_row]:
                cell.font = Font(bold=True)
            start = sheet.max_row + 1
            for row in table.rows:
                hidden = bool(row.get("suppressed"))
                sheet.append([
                    (SUPPRESSED_TEXT if hidden and isinstance(row.get(k), (int, float)) and k not in ("year",) else row.get(k))
                    for k in keys
                ])  # fmt: skip
            for index, column in enumerate(table.columns, start=1):
                if column.kind in ("rate", "diff"):
                    for (cell,) in sheet.iter_rows(min_row=start, min_col=index, max_col=index):
                        cell.number_format = "0.0%"
            for note in table.notes:
                sheet.append([note])
            for cells in sheet.iter_rows():
                for cell in cells:
                    as_text_cell(cell)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _sheet_name(name: str, used: set[str]) -> str:
    base = re.sub(r"[\[\]:*?/\\]", "_", name)[:28]
    candidate, i = base, 2
    while candidate in used:
        candidate, i = f"{base[:25]}_{i}", i + 1
    used.add(candidate)
    return candidate


def render_docx(content: Mapping[str, Any]) -> bytes:
    """A Word document for the committee's papers: headings, sentences, commentary and tables
    (charts are in the PDF; each table here is the chart's numbers)."""
    from docx import Document

    doc = Document()
    doc.core_properties.title = content["title"]
    doc.core_properties.language = "sv-SE"
    doc.add_heading(content["title"], level=0)
    doc.add_paragraph(f"{content['municipality']} – {content['scope']}, {content['from']}–{content['to']}")
    doc.add_heading("Sammanfattning", level=1)
    for line in content["summary"]:
        doc.add_paragraph(line)
    if content.get("summary_commentary"):
        doc.add_paragraph(content["summary_commentary"])
    for section in content["sections"]:
        doc.add_heading(section["heading"], level=1)
        for line in section["intro"]:
            doc.add_paragraph(line)
        if section.get("commentary"):
            doc.add_paragraph("Kommentar: " + section["commentary"])
        for data in section["tables"]:
            view = view_of(table_from_json(data))
            doc.add_paragraph(view["caption"], style="Caption")
            table = doc.add_table(rows=1, cols=len(view["headers"]))
            table.style = "Table Grid"
            for cell, header in zip(table.rows[0].cells, view["headers"], strict=True):
                cell.text = header["label"]
            for row in view["rows"]:
                cells = table.add_row().cells
                for cell, value in zip(cells, row, strict=True):
                    cell.text = value["text"]
            if not view["rows"]:
                doc.add_paragraph("Inga data för perioden.")
            for note in view["notes"]:
                doc.add_paragraph(note)
    doc.add_paragraph(f"{SUPPRESSION_RULE.format(min_n=content['min_n'])} Byggd {content['built_at']}.")
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def render(content: Mapping[str, Any], fmt: str) -> bytes:
    if fmt == "html":
        return render_html(content).encode("utf-8")
    return {"pdf": render_pdf, "xlsx": render_xlsx, "docx": render_docx}[fmt](content)
