"""The report's flagged providers with the actions taken (issue 15, point 1): the in-depth
follow-up cases of the flagged providers, in the content, the HTML, the PDF, the XLSX and the
DOCX; the summary counts them; without cases the section says so; a published report keeps
what it showed."""

from __future__ import annotations

import datetime as dt
import io
import shutil
import subprocess
from typing import Any

import pytest
from django.utils import timezone
from docx import Document
from openpyxl import load_workbook

from utfall.organisations.models import Municipality, User
from utfall.oversight import actions
from utfall.oversight.models import ActionKind, Case, CaseState
from utfall.registry.models import Provider
from utfall.reports import services
from utfall.reports.building import build_report
from utfall.reports.rendering import render, render_html

START, END = dt.date(2025, 1, 1), dt.date(2025, 12, 31)


def section(content: dict[str, Any], key: str) -> dict[str, Any]:
    return next(s for s in content["sections"] if s["key"] == key)


def cases_table(content: dict[str, Any]) -> dict[str, Any]:
    return next(t for t in section(content, "avvikelser")["tables"] if t["name"] == "fordjupade")


def open_case(municipality: Municipality, user: User, provider_id: str, **fields: Any) -> Case:
    provider = Provider.objects.get(municipality=municipality, provider_id=provider_id)
    return actions.open_case(request=None, user=user, provider=provider, owner=user,
                             title="Låg nöjdhet, klient Anna Exempel", reason="Hemligt skäl", **fields)  # fmt: skip


@pytest.fixture
def case_of_c(results_set: Municipality, analyst: User) -> Case:
    """C (flagged low on 'Nöjd med stödet') has a case from the 2025 proposal, opened in
    January 2026, under investigation, with an action plan whose deadline has passed."""
    case = open_case(results_set, analyst, "C", period="2025")
    Case.objects.filter(pk=case.pk).update(opened_at=dt.datetime(2026, 1, 12, 9, tzinfo=dt.UTC))
    case = actions.move_case(request=None, user=analyst, case=case, state=CaseState.INVESTIGATING)
    actions.decide_action(request=None, user=analyst, case=case, kind=ActionKind.ACTION_PLAN,
                          decided_on=dt.date(2026, 1, 20), deadline=dt.date(2026, 3, 31),
                          description="Plan för bättre bemötande")  # fmt: skip
    actions.decide_action(request=None, user=analyst, case=case, kind=ActionKind.DIALOGUE,
                          decided_on=dt.date(2026, 1, 20))  # fmt: skip
    return case


def test_the_flagged_providers_case_and_its_actions_are_in_the_report(
    results_set: Municipality, case_of_c: Case
) -> None:
    content = build_report(results_set, date_from=START, date_to=END)
    rows = cases_table(content)["rows"]
    keys = ("group", "case", "state", "opened", "action", "deadline", "overdue")
    assert [tuple(r[k] for k in keys) for r in rows] == [
        ("C", "FU-0001", "Utreds", "2026-01-12", "Åtgärdsplan med tidsfrist", "2026-03-31", "ja"),
        ("C", "FU-0001", "Utreds", "2026-01-12", "Dialog med utföraren", "", ""),
    ]
    flagged = content["facts"]["flagged"]
    assert flagged["followed_up"] == 1 and flagged["providers"] >= 1
    assert f"{flagged['providers']} utförare flaggades; för 1 av dem pågår eller har avslutats en fördjupad uppföljning." in content["summary"]  # fmt: skip
    intro = " ".join(section(content, "avvikelser")["intro"])
    assert "2 åtgärder har beslutats, varav 1 är försenade" in intro
    # no free text of the case: it may name a client
    everything = str(content)
    assert "Anna Exempel" not in everything and "Hemligt skäl" not in everything
    assert "Plan för bättre bemötande" not in everything


def test_every_format_shows_the_case_and_its_action(results_set: Municipality, case_of_c: Case) -> None:
    content = build_report(results_set, date_from=START, date_to=END)
    html = render_html(content)
    assert "Fördjupade uppföljningar av flaggade utförare" in html
    assert "FU-0001" in html and "Åtgärdsplan med tidsfrist" in html and "2026-03-31" in html

    book = load_workbook(io.BytesIO(render(content, "xlsx")))
    sheet = book["fordjupade"]
    assert sheet["A1"].value == "Fördjupade uppföljningar av flaggade utförare och beslutade åtgärder"
    values = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert any(
        "FU-0001" in row and "Åtgärdsplan med tidsfrist" in row and "2026-03-31" in row for row in values
    )

    doc = Document(io.BytesIO(render(content, "docx")))
    cells = [[c.text for c in row.cells] for t in doc.tables for row in t.rows]
    assert any(
        "FU-0001" in row and "Åtgärdsplan med tidsfrist" in row and "2026-03-31" in row for row in cells
    )
    assert any("utförare flaggades; för 1 av dem" in p.text for p in doc.paragraphs)

    if shutil.which("pdftotext"):
        pdf = render(content, "pdf")
        text = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True,
                              check=True).stdout.decode()  # fmt: skip
        assert "FU-0001" in text and "Åtgärdsplan" in text and "2026-03-31" in text  # the cell wraps


def test_without_cases_the_section_says_so(results_set: Municipality) -> None:
    content = build_report(results_set, date_from=START, date_to=END)
    assert cases_table(content)["rows"] == []
    assert "Ingen fördjupad uppföljning av de flaggade utförarna var öppen under perioden" in " ".join(
        section(content, "avvikelser")["intro"]
    )
    assert any("för 0 av dem pågår" in line for line in content["summary"])
    assert "Inga data för perioden." in render_html(content)


def test_cases_outside_the_period_or_of_unflagged_providers_are_left_out(
    results_set: Municipality, analyst: User
) -> None:
    closed_before = open_case(results_set, analyst, "C")
    Case.objects.filter(pk=closed_before.pk).update(
        opened_at=dt.datetime(2024, 3, 1, 9, tzinfo=dt.UTC), state=CaseState.CLOSED,
        closed_at=dt.datetime(2024, 11, 1, 9, tzinfo=dt.UTC),
    )  # fmt: skip
    later = open_case(results_set, analyst, "C", period="2026H1")  # a later period's proposal, opened now
    unflagged = open_case(results_set, analyst, "E")
    Case.objects.filter(pk=unflagged.pk).update(opened_at=dt.datetime(2025, 5, 1, 9, tzinfo=dt.UTC))
    active = open_case(results_set, analyst, "C")  # opened by hand in the period, closed in it
    Case.objects.filter(pk=active.pk).update(
        opened_at=dt.datetime(2025, 2, 1, 9, tzinfo=dt.UTC), state=CaseState.CLOSED,
        closed_at=dt.datetime(2025, 9, 30, 9, tzinfo=dt.UTC),
    )  # fmt: skip
    content = build_report(results_set, date_from=START, date_to=END)
    flagged_ids = {r["group"] for r in section(content, "avvikelser")["tables"][0]["rows"]}
    assert "E" not in flagged_ids
    rows = cases_table(content)["rows"]
    assert [(r["case"], r["state"], r["closed"], r["action"]) for r in rows] == [
        (active.reference, "Avslutad", "2025-09-30", "Ingen åtgärd beslutad än")
    ]
    assert later.reference not in str(content)


def test_a_published_report_keeps_the_actions_it_showed(
    results_set: Municipality, analyst: User, case_of_c: Case
) -> None:
    report = services.create_report(municipality=results_set, kind="annual", date_from=START, date_to=END,
                                    committee=None, unit=None, user=analyst)  # fmt: skip
    report = services.publish(report=report, user=analyst)
    actions.decide_action(request=None, user=analyst, case=case_of_c, kind=ActionKind.SANCTION,
                          decided_on=timezone.localdate())  # fmt: skip
    report.refresh_from_db()
    shown = cases_table(services.content_of(report))["rows"]
    assert [r["action"] for r in shown] == ["Åtgärdsplan med tidsfrist", "Dialog med utföraren"]
    fresh = cases_table(build_report(results_set, date_from=START, date_to=END))["rows"]
    assert "Sanktion (vite, avdrag)" in [r["action"] for r in fresh]
