"""The annual/interim report (issue 15, points 1 and 3): built from the same tables as the
pages, four renderings, commentary frozen on publish, corrections as new versions, the board's
read-only view of published reports."""

from __future__ import annotations

import datetime as dt
import io
import re
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from docx import Document
from openpyxl import load_workbook

from tests.comparisons.builders import DataSet
from utfall.organisations.models import Municipality, Unit, User
from utfall.reports import services
from utfall.reports.building import build_report
from utfall.reports.models import Commentary, Report, ReportStatus

START, END = dt.date(2025, 1, 1), dt.date(2025, 12, 31)


def draft(municipality: Municipality, user: User | None = None, unit: Unit | None = None) -> Report:
    return services.create_report(municipality=municipality, kind="annual", date_from=START, date_to=END,
                                  committee=None, unit=unit, user=user)  # fmt: skip


def section(content: dict[str, Any], key: str) -> dict[str, Any]:
    return next(s for s in content["sections"] if s["key"] == key)


def test_its_numbers_are_the_results_pages_numbers(results_set: Municipality, analyst: User) -> None:
    content = build_report(results_set, date_from=START, date_to=END)
    satisfied = section(content, "indikator-satisfied")
    per_service = next(t for t in satisfied["tables"] if t["name"] == "satisfied_insats")
    total = per_service["rows"][0]
    assert (total["name"], total["n"], total["rate"]) == (
        "Alla insatser",
        121,
        pytest.approx(0.7107, abs=1e-4),
    )
    client = Client()
    client.force_login(analyst)
    api = client.get("/api/v1/trends?indicator=satisfied&grain=year&from=2025-01-01&to=2025-12-31").json()
    (year,) = [r for r in api["tables"]["trend"]["rows"] if r["period"] == "2025"]
    assert (year["n"], year["rate"]) == (total["n"], total["rate"])
    assert "71,1\u00a0% av svaren under perioden var positiva" in " ".join(satisfied["intro"])
    assert any("Nöjd med stödet: 71,1\u00a0% (n = 121)" in line for line in content["summary"])


def test_a_flagged_provider_is_named_with_its_interval(results_set: Municipality) -> None:
    """C has 1 positive of 12 on q3, far below the others: flagged low."""
    content = build_report(results_set, date_from=START, date_to=END)
    flagged = section(content, "avvikelser")["tables"][0]["rows"]
    assert [(r["group"], r["flag"]) for r in flagged if r["indicator"] == "Nöjd med stödet"] == [("C", "low")]


def test_a_unit_report_counts_that_unit_only(results_set: Municipality) -> None:
    bromma = Unit.objects.get(municipality=results_set, code="bromma")
    content = build_report(results_set, date_from=START, date_to=END, unit=bromma)
    per_service = next(
        t for t in section(content, "indikator-satisfied")["tables"] if t["name"] == "satisfied_insats"
    )
    assert per_service["rows"][0]["n"] == 46  # E 40 + G 6
    assert content["scope"] == "Bromma" or "bromma" in content["scope"].lower()


@pytest.mark.parametrize("fmt", ["html", "pdf", "xlsx", "docx"])
def test_the_command_writes_each_format(results_set: Municipality, tmp_path: Any, fmt: str) -> None:
    out = tmp_path / f"rapport.{fmt}"
    call_command("report", "annual", "--period", "2025", "--format", fmt, "--out", str(out),
                 "--municipality", results_set.code, stdout=io.StringIO())  # fmt: skip
    data = out.read_bytes()
    if fmt == "html":
        text = data.decode()
        assert "<h1>Årsrapport 2025</h1>" in text and "<svg" in text and "Nöjd med stödet" in text
    elif fmt == "pdf":
        assert data.startswith(b"%PDF") and len(data) > 10_000
    elif fmt == "xlsx":
        book = load_workbook(io.BytesIO(data))
        assert book.sheetnames[0] == "Sammanfattning"
        assert "satisfied_insats" in book.sheetnames and "mal" in book.sheetnames
        sheet = book["satisfied_insats"]
        assert sheet["A1"].value == "Nöjd med stödet per insats"
        values = [[c.value for c in row] for row in sheet.iter_rows()]
        assert values[6][:3] == ["Alla insatser", "alla", 121]
    else:
        doc = Document(io.BytesIO(data))
        texts = [p.text for p in doc.paragraphs]
        assert texts[0] == "Årsrapport 2025" and "Sammanfattning" in texts
        assert any(t.rows[0].cells[0].text == "Insats" for t in doc.tables)


def test_a_wrong_period_is_refused_clearly(results_set: Municipality, tmp_path: Any) -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--period ska vara ett år"):
        call_command("report", "annual", "--period", "förra året", "--out", str(tmp_path / "x.pdf"),
                     "--municipality", results_set.code)  # fmt: skip
    assert not (tmp_path / "x.pdf").exists()


def test_commentary_is_kept_in_the_draft_and_frozen_on_publish(
    results_set: Municipality, analyst: User
) -> None:
    report = draft(results_set, analyst)
    client = Client()
    client.force_login(analyst)
    url = reverse("reports:comment", args=[report.pk])
    response = client.post(url, {"section": "indikator-satisfied", "text": "Nöjdheten ligger stilla."})
    assert response.status_code == 302
    page = client.get(reverse("reports:detail", args=[report.pk])).content.decode()
    assert "Nöjdheten ligger stilla." in page
    assert client.post(reverse("reports:publish", args=[report.pk])).status_code == 302
    report.refresh_from_db()
    assert report.status == ReportStatus.PUBLISHED
    frozen = section(report.content, "indikator-satisfied")
    assert frozen["commentary"] == "Nöjdheten ligger stilla."
    # New data after publishing changes nothing in the published report.
    before = report.content
    data = DataSet()
    data.provider("A")
    for i in range(30):
        iid = data.intervention(f"NY{i}", "A", person_id=data.person(female=True), unit="bromma")
        data.followup(iid, date="2025-06-01", q3="no")
    for row in data.followups:
        row["followup_id"] = "NY-" + row["followup_id"]
    data.load(results_set)
    report.refresh_from_db()
    assert report.content == before
    assert "71,1\u00a0%" in client.get(reverse("reports:detail", args=[report.pk])).content.decode()


def test_a_published_report_never_changes(results_set: Municipality, analyst: User) -> None:
    report = services.publish(report=draft(results_set, analyst), user=analyst)
    report.date_to = dt.date(2025, 6, 30)
    with pytest.raises(ValidationError):
        report.save()
    with pytest.raises(ValidationError):
        services.save_commentary(report=report, section="mal", text="sent", user=analyst)
    assert not Commentary.objects.exists()


def test_commentary_sent_to_a_published_report_is_shown_back_not_lost(
    results_set: Municipality, analyst: User
) -> None:
    report = draft(results_set, analyst)
    services.publish(report=report, user=analyst)
    client = Client()
    client.force_login(analyst)
    text = "En lång kommentar som inte får försvinna."
    response = client.post(reverse("reports:comment", args=[report.pk]), {"section": "mal", "text": text})
    assert response.status_code == 409
    page = response.content.decode()
    assert "publicerats" in page and text in page
    assert not Commentary.objects.exists()


def test_a_correction_is_a_new_version_beside_the_old(results_set: Municipality, analyst: User) -> None:
    report = draft(results_set, analyst)
    services.save_commentary(report=report, section="mal", text="Första", user=analyst)
    services.publish(report=report, user=analyst)
    client = Client()
    client.force_login(analyst)
    response = client.post(reverse("reports:correct", args=[report.pk]))
    new = Report.objects.exclude(pk=report.pk).get()
    assert response.status_code == 302 and response["Location"] == reverse("reports:detail", args=[new.pk])
    assert (new.version, new.corrects, new.status) == (2, report, ReportStatus.DRAFT)
    assert new.commentary.get(section="mal").text == "Första"
    assert "version 2" in new.title


def test_the_board_reads_published_reports_only(
    results_set: Municipality, analyst: User, board: User
) -> None:
    hidden = draft(results_set, analyst)
    shown = services.publish(report=draft(results_set, analyst), user=analyst)
    client = Client()
    client.force_login(board)
    listing = client.get(reverse("reports:index")).content.decode()
    assert reverse("reports:detail", args=[shown.pk]) in listing
    assert reverse("reports:detail", args=[hidden.pk]) not in listing
    assert client.get(reverse("reports:detail", args=[hidden.pk])).status_code == 404
    page = client.get(reverse("reports:detail", args=[shown.pk])).content.decode()
    article = page.split("<article")[1].split("</article>")[0]
    assert "Publicerad" in page and "<form" not in article and "<textarea" not in article  # read-only
    assert "reports:publish" not in page and "Publicera rapporten" not in page
    pdf = client.get(reverse("reports:detail", args=[shown.pk]) + "?format=pdf")
    assert pdf["Content-Type"] == "application/pdf"
    assert re.search(r'filename="arsrapport_2025-01-01_2025-12-31_testkommun_version_1_publicerad\.pdf"',
                     pdf["Content-Disposition"])  # fmt: skip
    assert client.post(reverse("reports:publish", args=[hidden.pk])).status_code == 404
    assert client.post(reverse("reports:correct", args=[shown.pk])).status_code == 403


def test_a_district_board_sees_its_districts_reports_and_aggregates(
    results_set: Municipality, analyst: User, district_board: User
) -> None:
    bromma = Unit.objects.get(municipality=results_set, code="bromma")
    whole = services.publish(report=draft(results_set, analyst), user=analyst)
    own = services.publish(report=draft(results_set, analyst, bromma), user=analyst)
    client = Client()
    client.force_login(district_board)
    assert client.get(reverse("reports:detail", args=[whole.pk])).status_code == 404
    assert client.get(reverse("reports:detail", args=[own.pk])).status_code == 200
    api = client.get("/api/v1/trends?indicator=satisfied&grain=year&from=2025-01-01&to=2025-12-31").json()
    (year,) = [r for r in api["tables"]["trend"]["rows"] if r["period"] == "2025"]
    assert year["n"] == 46  # bromma only
    assert client.get("/api/v1/trends?indicator=satisfied&unit=sodermalm").status_code == 403


def test_a_board_account_without_a_committee_sees_nothing(results_set: Municipality) -> None:
    from tests.results.conftest import persona
    from utfall.organisations.models import Role

    user = persona(results_set, "utan_namnd", Role.BOARD)
    client = Client()
    client.force_login(user)
    assert client.get(reverse("reports:index")).status_code == 403
    assert client.get(reverse("results:trends")).status_code == 403


def test_the_provider_report_card_shows_every_indicator_against_the_municipality(
    results_set: Municipality, analyst: User
) -> None:
    from tests.results.conftest import persona
    from utfall.organisations.models import Role
    from utfall.registry.models import Provider

    client = Client()
    client.force_login(analyst)
    url = "/rapporter/utforare/C/resultatkort/?date_from=2025-01-01&date_to=2025-12-31"
    html = client.get(url + "&format=html").content.decode()
    assert "Resultatkort: Utförare C" in html
    assert "Lägre än förväntat (utanför styrgränsen 99,8 %): Nöjd med stödet." in html
    pdf = client.get(url)
    assert pdf.content.startswith(b"%PDF")
    assert 'filename="resultatkort_utforare-c_2025-01-01_2025-12-31.pdf"' in pdf["Content-Disposition"]
    own = persona(results_set, "lev_c", Role.PROVIDER, provider=Provider.objects.get(municipality=results_set,
                                                                                      provider_id="C"))  # fmt: skip
    client.force_login(own)
    assert client.get(url + "&format=html").status_code == 200
    assert client.get(url.replace("/C/", "/B/") + "&format=html").status_code == 403
    assert client.get(url + "&date_to=2024-01-01&format=html").status_code == 400
