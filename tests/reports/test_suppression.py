"""Every output of a data set with many small groups, searched for a count under five
(issue 15, point 9): the report's content, its HTML, XLSX, DOCX and PDF text, the open data."""

from __future__ import annotations

import datetime as dt
import io
import re
import shutil
import subprocess
from typing import Any

import pytest
from docx import Document
from openpyxl import load_workbook

from tests.comparisons.builders import DataSet
from utfall.organisations.models import Municipality
from utfall.reports.building import build_report
from utfall.reports.opendata import open_rows
from utfall.reports.rendering import render, render_html

N_KEYS = re.compile(r"^(n|count|.*_n|followed|declined|unreachable)$")
N_LABELS = re.compile(r"(^n$|, n$|: n$|\(n\)$|^Uppföljda$|^Avböjda$|^Ej nåbara$)")


@pytest.fixture
def small_groups(municipality: Municipality) -> Municipality:
    """Twenty providers with 1 to 7 answers each, women and men, two units and three services;
    a fourth service (SiS) with four answers, three of them women's."""
    data = DataSet()
    services = ["hvb_youth", "foster_home", "outpatient_youth", "sis_youth"]
    for p in range(20):
        pid = f"S{p:02d}"
        data.provider(pid)
        for i in range(1 + p % 7):
            iid = data.intervention(f"I{pid}-{i}", pid, person_id=data.person(female=(i + p) % 2 == 0),
                                    unit="sodermalm" if p % 2 else "bromma", service=services[(p + i) % 3])  # fmt: skip
            data.followup(iid, date=f"2025-{1 + (i * 3 + p) % 12:02d}-10", q3="yes_mostly" if (i + p) % 3 else "no",
                          q1="yes_completely" if i % 2 else "no")  # fmt: skip
    for i in range(4):
        iid = data.intervention(f"ISIS-{i}", "S00", person_id=data.person(female=i < 3), service="sis_youth")
        data.followup(iid, date="2025-05-10", q3="yes_mostly", q1="no")
    data.load(municipality)
    return municipality


def small(value: Any) -> bool:
    try:
        number = int(str(value).replace(" ", ""))
    except ValueError:
        return False
    return 0 < number < 5


def test_no_output_of_the_report_shows_a_group_under_five(small_groups: Municipality) -> None:
    content = build_report(small_groups, date_from=dt.date(2025, 1, 1), date_to=dt.date(2025, 12, 31))
    shown = 0
    for section in content["sections"]:
        for table in section["tables"]:
            for row in table["rows"]:
                for key, value in row.items():
                    if N_KEYS.match(key) and value is not None:
                        shown += 1
                        assert not small(value), (table["name"], key, row)
    assert shown > 20  # the search found the counts it looks at
    sentences = " ".join([*content["summary"], *(line for s in content["sections"] for line in s["intro"])])
    for n in re.findall(r"n = (\d+)", sentences):
        assert not small(n), sentences

    book = load_workbook(io.BytesIO(render(content, "xlsx")))
    for sheet in book.worksheets[1:]:
        rows = list(sheet.iter_rows(values_only=True))
        header = rows[5]
        columns = [i for i, label in enumerate(header) if label and N_LABELS.search(str(label))]
        for row in rows[6:]:
            for i in columns:
                if i < len(row):
                    assert not small(row[i]), (sheet.title, header[i], row)

    doc = Document(io.BytesIO(render(content, "docx")))
    for table in doc.tables:
        labels = [c.text for c in table.rows[0].cells]
        columns = [i for i, label in enumerate(labels) if N_LABELS.search(label)]
        for row in table.rows[1:]:
            for i in columns:
                assert not small(row.cells[i].text), (labels[i], [c.text for c in row.cells])

    html = render_html(content)
    assert ">dold<" in html  # small groups existed and were hidden, by name
    if shutil.which("pdftotext"):
        pdf = render(content, "pdf")
        text = subprocess.run(
            ["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True
        ).stdout
        for n in re.findall(r"n = (\d+)", text.decode()):
            assert not small(n)


def test_open_data_of_small_groups_publishes_nothing_under_five(small_groups: Municipality) -> None:
    rows = open_rows(small_groups, 2025)
    assert rows and all(r["count"] >= 5 for r in rows)
