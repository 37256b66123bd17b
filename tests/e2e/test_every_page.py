"""Every page each role reaches, in a real browser at 1280 and 375 px, with axe-core (WCAG 2.1 A/AA)
on each and nothing wider than the window (issue 17's walk, 2026-12-02).

Each role signs in and follows the links of its start page and of the pages its menu leads to
(one level: the menu, then what those pages link to). A page that differs from one already
checked only by its numbers (``/insatser/12/`` after ``/insatser/11/``) is checked once, and a
path checked for one role is not checked again for the next, so the whole walk stays short.
Downloads, the sign-out and the Django admin's own pages (Django's templates) are left out.
No screenshots (they cost more time than axe); the other e2e tests save theirs in var/screenshots/."""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlparse

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import Error as PlaywrightError

from tests.e2e.conftest import Journey
from tests.e2e.test_journey import PASSWORD, sign_in
from tests.e2e.test_roles import fits
from tests.followups.helpers import post_followup
from tests.personas import World
from utfall.organisations.models import Committee, Role, User

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SKIP = re.compile(r"format=|\.(csv|xlsx|pdf|json)\b|/api/|/admin/|/logga-ut|/static/|/i18n/|/media/|page=")
PER_ROLE = 12


def _users(world: World) -> dict[str, User]:
    provider = User.objects.create_user("lev", municipality=world.municipality, provider=world.provider)
    provider.groups.add(Group.objects.get(name=Role.PROVIDER))
    board = User.objects.create_user("namnd", municipality=world.municipality)
    board.groups.add(Group.objects.get(name=Role.BOARD))
    Committee.objects.create(municipality=world.municipality, code="sn", name="Socialnämnden").members.add(
        board
    )
    admin = User.objects.create_user("adm", municipality=world.municipality, is_staff=True, is_superuser=True)
    users = {"socialsekreterare": world.caseworker, "enhetschef": world.manager, "utredare": world.analyst,
             "upphandlare": world.procurement, "utforare": provider, "namnd": board, "admin": admin}  # fmt: skip
    for user in users.values():
        user.set_password(PASSWORD)
        user.save()
    return users


BOXES_APART = """() => [...document.querySelectorAll('input[type=checkbox], input[type=radio]')]
  .filter(i => i.offsetParent && i.labels && i.labels.length)
  .filter(i => { const a = i.getBoundingClientRect(), b = i.labels[0].getBoundingClientRect();
                 return b.top >= a.bottom || b.bottom <= a.top; })
  .map(i => i.id || i.name)"""


def _links(j: Journey) -> list[str]:
    hrefs = j.page.eval_on_selector_all("header nav a[href], main a[href]", "els => els.map(e => e.href)")
    out = []
    for href in hrefs:
        url = urlparse(urljoin(j.page.url, href))
        path = url.path + (f"?{url.query}" if url.query else "")
        if url.netloc == urlparse(j.base_url).netloc and not SKIP.search(path):
            out.append(path)
    return out


@pytest.mark.parametrize("width", [1280, 375])
def test_every_page_of_every_role(live_server, browser, world: World, client, width: int) -> None:  # type: ignore[no-untyped-def]
    client.force_login(world.caseworker)
    post_followup(client, world.interventions["overdue"])  # a follow-up, an alert and a history to see
    checked: set[str] = set()
    walked = {}
    for role, user in _users(world).items():
        j = Journey(browser, live_server.url, f"walk-{role}", width)
        sign_in(j, user.username)
        j.check("start", screenshot=False)
        fits(j)
        menu = _links(j)
        queue, seen, count = list(menu), {"/"}, 0
        while queue and count < PER_ROLE:
            path = queue.pop(0)
            pattern = re.sub(r"\d+", "N", path)
            if pattern in seen:
                continue
            seen.add(pattern)
            try:
                response = j.page.goto(j.base_url + path)
            except PlaywrightError as error:  # a link to a file (a PDF, a spreadsheet) is not a page
                assert "Download is starting" in str(error), (role, path, error)
                continue
            assert response is not None and response.status < 400, (role, path, response and response.status)
            if path in menu:  # one level below the menu
                queue += _links(j)
            if pattern in checked:
                continue
            checked.add(pattern)
            count += 1
            j.page.wait_for_load_state("networkidle")
            j.check(path, screenshot=False)
            fits(j)
            # A box and its label on the same line (not the label under a box of its own).
            assert j.page.evaluate(BOXES_APART) == [], (role, path)
        walked[role] = count
        j.close()
    assert sum(walked.values()) >= 30, walked  # the walk reached the pages, not just the start pages
    print(f"\n{width} px: {sum(walked.values())} pages checked: {walked}")


WRAPS_TOO_WIDE = """() => [...document.querySelectorAll('.table-wrap')]
  .filter(w => w.scrollWidth > w.clientWidth).map(w => [w.querySelector('table')?.id, w.scrollWidth, w.clientWidth])"""


@pytest.mark.slow
def test_the_comparison_table_fits_1280_px_whole(live_server, browser) -> None:  # type: ignore[no-untyped-def]
    """The walk of 2026-12-02: the comparison's 13 columns were wider than their frame at 1280 px
    (134 px on the demo) and scrolled inside it; now the whole table is on screen, with the demo's
    provider names and intervals."""
    from tests.conftest import TODAY
    from utfall.demo.generator import as_tables, generate
    from utfall.demo.setup import demo_municipality, ensure_demo_users
    from utfall.interchange.importer import Importer

    municipality = demo_municipality()
    data = generate(size=0.1, providers=20, seed=2015, today=TODAY)
    assert Importer(municipality=municipality, today=TODAY).run(tables=as_tables(data)).ok  # type: ignore[arg-type]
    ensure_demo_users(municipality)
    j = Journey(browser, live_server.url, "comparison-1280", 1280)
    j.goto("/logga-in/")
    j.page.fill("#id_username", "analyst")
    j.page.fill("#id_password", "demo")
    j.page.keyboard.press("Enter")
    j.page.wait_for_url(j.base_url + "/")
    j.goto(f"/resultat/jamforelse/?date_from={TODAY.year - 1}-01-01&date_to={TODAY.year - 1}-12-31")
    j.page.wait_for_load_state("networkidle")
    assert j.page.locator("#table-jamforelse tbody tr").count() >= 10
    assert j.page.evaluate(WRAPS_TOO_WIDE) == []
    j.close()
