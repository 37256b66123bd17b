"""The annual report in a real browser (Debian's Chromium through Playwright): an analyst builds,
comments and publishes it; a board member opens it and its PDF, whose pages are rendered to
images (pdftoppm) and kept with the screenshots in var/screenshots/ to be looked at. Every page
passes axe-core (WCAG 2.1 A/AA), desktop and 375 px wide."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from django.contrib.auth.models import Group

from tests.conftest import TODAY
from tests.e2e.conftest import SCREENSHOTS, Journey, browser  # noqa: F401
from tests.results.test_browser import sign_in
from utfall.demo.generator import as_tables, generate
from utfall.demo.setup import DEMO_PASSWORD, demo_municipality, ensure_demo_users
from utfall.interchange.importer import Importer
from utfall.organisations.models import Committee, Role, User
from utfall.reports.models import Report, ReportStatus

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_an_analyst_publishes_the_annual_report_and_the_board_reads_it(live_server, browser) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    municipality = demo_municipality()
    data = generate(size=0.1, providers=20, seed=2015, today=TODAY)
    assert Importer(municipality=municipality, today=TODAY).run(tables=as_tables(data)).ok  # type: ignore[arg-type]
    ensure_demo_users(municipality)
    member = User.objects.create_user("ledamot", password=DEMO_PASSWORD, municipality=municipality)
    member.groups.add(Group.objects.get(name=Role.BOARD))
    Committee.objects.create(municipality=municipality, code="sn", name="Socialnämnden").members.add(member)
    year = TODAY.year - 1

    j = Journey(browser, live_server.url, "report-analyst", 1280)
    sign_in(j, "analyst")
    j.goto("/rapporter/")
    j.check("list")
    j.page.select_option("#id_kind", "annual")
    j.page.fill("#id_date_from", f"{year}-01-01")
    j.page.fill("#id_date_to", f"{year}-12-31")
    j.page.click("button:has-text('Skapa utkast')")
    j.page.wait_for_selector("h1:has-text('Årsrapport')", timeout=120_000)
    j.check("draft")
    j.page.fill("#kommentar-sammanfattning", "Resultaten är stabila; nämnden bör följa HVB noga.")
    j.page.click("#kommentar-sammanfattning ~ button")
    j.page.wait_for_selector("text=Kommentaren är sparad", timeout=120_000)
    j.page.click("button:has-text('Publicera rapporten')")
    j.page.wait_for_selector("text=Rapporten är publicerad", timeout=120_000)
    j.close()
    report = Report.objects.get()
    assert report.status == ReportStatus.PUBLISHED
    assert report.content["summary_commentary"].startswith("Resultaten är stabila")

    for width in (1280, 375):
        j = Journey(browser, live_server.url, "report-board", width)
        sign_in(j, "ledamot")
        j.goto("/rapporter/")
        j.page.click(f"a:has-text('Årsrapport {year}')")
        j.page.wait_for_selector("text=Resultaten är stabila", timeout=120_000)
        assert j.page.locator("textarea").count() == 0  # read-only
        j.check("published")
        if width == 1280:
            pdf = j.page.request.get(j.page.url + "?format=pdf", timeout=180_000)
            assert pdf.ok and pdf.body().startswith(b"%PDF")
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            path = SCREENSHOTS / "report-board-annual.pdf"
            path.write_bytes(pdf.body())
            if shutil.which("pdftoppm"):
                subprocess.run(["pdftoppm", "-r", "60", "-png", str(path), str(SCREENSHOTS / "report-pdf-page")],
                               check=True)  # fmt: skip
                pages = sorted(SCREENSHOTS.glob("report-pdf-page-*.png"))
                assert len(pages) >= 3
        j.close()
