"""The analytics pages as a user sees them: every page, its query count, its downloads."""

from __future__ import annotations

import io

import openpyxl
import pytest
from django.test import Client

from tests.results.conftest import PERIOD, People, page_tables
from utfall.comparisons.cache import bump
from utfall.core.spreadsheets import read_excel_csv

pytestmark = pytest.mark.django_db

# (url, queries when the data has just changed, queries when its counts are cached). The
# count includes the session, the user, its roles, the form's choice lists and one read of
# the data's generation token per count; a fresh count is one GROUP BY per indicator (plus
# small code look-ups). Issue 10.6: each count goes through comparisons.disclosure.protected_counts,
# which also counts the partitions the cell belongs to (its parent without each condition, its
# parent period's other parts: a few GROUP BYs more when fresh) and is cached as a whole (one
# token read); the provider page now counts its question indicators one by one, protected.
# 2026-12-02 (issue 17 point 14): the codes of providers, services and units and a question's
# comparable versions are cached like the counts: a token read (raw SQL, cheap) instead of an
# ORM query for each count after the first, and one more the first time (fresh +1 to +24).
# 2026-12-02 (cold pages): the token is read once per request (comparisons.cache: 272 → 52
# fresh on the provider page, 50 → 12 cached), a question's comparable versions for every
# question at once, and a trend's per-quarter cells in one GROUP BY per partition
# (queries.prefetch_periods: trends 41 → 15 fresh); the provider page's 23 question indicators
# in one GROUP BY (disclosure.prefetch_protected: 52 → 31 fresh); the comparable versions read
# once for every page part (notes, comparison: 1–2 fewer).
# 2026-12-03 (maintained coverage): the coverage counts of a calendar period are read from
# aggregates.CoverageCount instead of one EXISTS per intervention; the period's id is one look-up
# more when fresh (comparison, O/E, coverage and provider pages: +1 each).
PAGES = {
    "comparison": (f"/resultat/jamforelse/?indicator=satisfied&{PERIOD}", 13, 8),
    # The case-mix model's cells are model input, never shown: read without the partitions'
    # GROUP BYs (disclosure.model_cells, 2026-12-02: 44 → 27 fresh; women and men 47 → 37).
    # 2026-12-06 (oe6): the counts by provider of the O/E's years are summed from its cells, not
    # read again (queries._seed_by_provider): 15 → 14 fresh.
    "comparison_adjusted": (f"/resultat/jamforelse/?indicator=satisfied&adjust=on&{PERIOD}", 14, 8),
    "trends": (f"/resultat/utveckling/?indicator=satisfied&grain=quarter&{PERIOD}", 14, 8),
    # + the services' target groups: girls and boys for children's services (issue 17 point 12).
    # 2026-12-04 (prov3): a count by service and sex is partitioned along service from its own
    # rows, not a second GROUP BY by sex and service (disclosure._protect): 17 → 15 fresh.
    "gender": (f"/resultat/kvinnor-och-man/?indicator=satisfied&{PERIOD}", 15, 9),
    "coverage": (f"/resultat/uppfoljningsgrad/?by=provider&{PERIOD}", 10, 6),
    "coverage_caseworker": (
        f"/resultat/uppfoljningsgrad/?by=caseworker&{PERIOD}",
        13,
        12,
    ),  # a manager: scope and units are read, and the unit's name for the selection; coverage per
    # caseworker is one GROUP BY of its own (issue 17 point 9)
    "outcomes": (
        f"/resultat/utfallsmatt/?{PERIOD}",
        26,
        8,
    ),  # + re-referral 6 and 12 months (issue 15): a count and a token read each. 2026-12-03: the
    # outcome indicators read the outcome counts' whole months and the interventions for the days
    # before a window's cut-off (one more GROUP BY where the cut-off falls mid-month, none where
    # nothing has ended long enough ago): +1 fresh here and on the provider page
    # The analyst also sees the provider's in-depth cases and contract follow-ups (oversight, +2),
    # the indicator's reliability (issue 10.3, +1) and re-referral (issue 15, +8 fresh, +2 cached);
    # the provider's name for the selection (+1).
    # 2026-12-03: +1 the coverage period's id (maintained coverage), +1 the outcome indicators'
    # partial month before a window's cut-off (outcome counts): 32 fresh. 2026-12-03 (trend): the
    # trend's per-client sums are its counts (not the cached cells' here: its range starts two
    # years back) plus the rows of the clients answering twice: +2, 34 fresh.
    # 2026-12-06 (lead): the trend's quarters of at least the minimum are proven shown along the
    # providers from a few of their cells (disclosure._prefetch_shown): the providers' sizes by
    # year and one small read a quarter here, instead of every provider's months (at 1M 22,465
    # rows from ~100,000 index entries, −20 % instructions cold): +4 on this data, 38 fresh.
    # 2026-12-07 (prov9): the questions' comparable versions read once, cached (queries.questions_spans),
    # not again by the questions' count: 37.
    # 2026-12-07 (lead): the trend begins on the same day two calendar years back, a whole
    # quarter, so its first days are no longer read from the raw rows: 35.
    "provider": (f"/resultat/utforare/B/?indicator=satisfied&{PERIOD}", 35, 12),
    # The unit manager's: its unit's cells and their partitions along the unit and the provider.
    # 2026-12-06: a year's partition along a dimension is read as sizes (queries.period_sizes)
    # only when its count is not in hand (the page seeds its indicators' counts in one query).
    # 2026-12-06 (mgrprov): a cell hidden by its own size reads no partition (this data's unit
    # cells are small), and its 23 question cells are counted in one query: 95 → 56.
    # 2026-12-07 (mgrprov8): the question cells' partition along the unit's providers is no longer
    # counted for every provider (a few providers' cells, read only for cells of at least the
    # minimum: disclosure.prefetch_shown_within; this data's are small): one GROUP BY and its
    # comparable versions fewer, 56 → 54. The other cells are taken from the provider's count by
    # unit (disclosure.prefetch_cell_within), one query for one.
    # 2026-12-07 (prov9): the comparable versions read once, cached, not by each of the three
    # question counts again (queries.questions_spans): 51. 2026-12-07 (lead): the trend's first
    # days no longer read from the raw rows (it begins two calendar years back): 50.
    "provider_manager": (f"/resultat/utforare/B/?indicator=satisfied&{PERIOD}", 50, 20),
}


@pytest.mark.parametrize("name", list(PAGES))
def test_it_answers_every_page_in_a_pinned_number_of_queries(
    client: Client, people: People, django_assert_num_queries, name: str
) -> None:  # type: ignore[no-untyped-def]
    url, fresh, cached = PAGES[name]
    # Coverage per named caseworker is staff performance data: the unit manager's page.
    client.force_login(
        people.manager if name in ("coverage_caseworker", "provider_manager") else people.analyst
    )
    first = client.get(url)  # warms what is cached per process (content types, indicator definitions)
    bump()  # as when a caseworker has just saved a follow-up: every count is asked again
    with django_assert_num_queries(fresh):
        response = client.get(url)
    with django_assert_num_queries(cached):
        again = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    # The same numbers, counted afresh or from the cache.
    assert page_tables(again.content.decode()) == page_tables(html) == page_tables(first.content.decode())
    assert '<html lang="sv">' in html
    assert "<caption" in html
    assert "vendor/vega/vega-embed.min.js" in html or name == "coverage_caseworker"


def test_it_flags_from_control_limits_and_explains_what_a_flag_means(client: Client, people: People) -> None:
    client.force_login(people.analyst)
    html = client.get(PAGES["comparison"][0]).content.decode()
    rows = {r["group"]: r for r in page_tables(html)["jamforelse"]}
    assert rows["C"]["flag"] == "▼ Lägre än förväntat"  # 1 of 12 against about 80 %
    assert rows["D"]["n"] == "dold"
    assert "En flagga betyder inte" in html
    assert 'id="chart-funnel" type="application/json"' in html


def test_it_says_what_a_flag_cannot_say(client: Client, people: People) -> None:
    """Issue 10.3: shrunken estimate, P(below the reference and a goal), detectable difference,
    and the indicator's reliability in plain Swedish, on the page and in the download."""
    client.force_login(people.analyst)
    html = client.get(PAGES["comparison"][0] + "&goal=90").content.decode()
    rows = {r["group"]: r for r in page_tables(html)["jamforelse"]}
    assert "Vad en flagga inte kan säga" in html and 'id="reliability"' in html
    assert "Indikatorn" in html.split('id="reliability"')[1][:200]
    c = rows["C"]  # 1 of 12 positive: almost certainly below both
    assert (
        float(c["estimate"].removesuffix("\u00a0%").replace(",", ".")) < 30
    )  # a flagged outlier is not shrunk
    assert float(c["p_below_reference"].removesuffix("\u00a0%").replace(",", ".")) > 95
    assert c["p_below_goal"].endswith("%")
    assert rows["D"]["estimate"] == "dold"
    csv_text = client.get(PAGES["comparison"][0] + "&goal=90&format=csv&table=jamforelse").content.decode()
    _title, header, _rows = read_excel_csv(csv_text)  # the Swedish Excel download (issue 15.6)
    wanted = {"Skattad verklig andel", "Sannolikhet under referensnivån", "Sannolikhet under målnivån"}
    assert wanted <= set(header) and "Minsta skillnad som kan upptäckas, lägre" in header
    xlsx = client.get(PAGES["comparison"][0] + "&goal=90&format=xlsx&table=jamforelse").content
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx)).active
    assert sheet is not None
    cells = [str(v) for row in sheet.iter_rows(values_only=True) for v in row if v is not None]
    assert "p_below_goal" in cells and any(v.startswith("Tillförlitlighet:") for v in cells)
    bad = client.get(PAGES["comparison"][0] + "&goal=150")
    assert bad.status_code == 400 and "Målnivån ska vara högst 99 procent." in bad.content.decode()


def test_it_marks_a_provider_whose_clients_are_rarely_followed_up(client: Client, people: People) -> None:
    client.force_login(people.analyst)
    rows = {
        r["group"]: r for r in page_tables(client.get(PAGES["comparison"][0]).content.decode())["jamforelse"]
    }
    assert rows["F"]["coverage_note"] == "låg – osäkert resultat"
    assert rows["A"]["coverage_note"] == ""
    assert rows["F"]["coverage"] == "32\xa0%" and rows["A"]["coverage"] == "100\xa0%"  # 13 of 40; 20 of 20


def test_it_shows_imported_followups_under_an_unknown_caseworker(client: Client, people: People) -> None:
    client.force_login(people.manager)
    rows = page_tables(client.get(PAGES["coverage_caseworker"][0]).content.decode())["tackning_caseworker"]
    assert [r["name"] for r in rows] == ["ingen (aldrig uppföljd eller importerad)"]
    assert rows[0]["followups_n"] == "46"  # the manager's unit (Bromma): all imported
    assert rows[0]["ongoing_n"] == "46" and rows[0]["coverage"] != "–"  # figures, not dashes (17.9)


def test_it_works_without_javascript_and_with_htmx(client: Client, people: People) -> None:
    client.force_login(people.analyst)
    url = PAGES["trends"][0]
    full = client.get(url).content.decode()
    assert 'hx-get="/resultat/utveckling/"' in full and 'action="/resultat/utveckling/"' in full
    part = client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert part.lstrip().startswith('<div id="results"') and "<html" not in part


def test_it_shows_a_clear_error_for_a_bad_query(client: Client, people: People) -> None:
    client.force_login(people.analyst)
    response = client.get("/resultat/jamforelse/?indicator=happiness&date_from=2025-12-01&date_to=2025-01-01")
    assert response.status_code == 400
    html = response.content.decode()
    assert "Periodens slut ligger före dess början." in html
    assert "Välj ett giltigt alternativ" in html


def test_the_selection_names_units_by_name_not_code(client: Client, people: People) -> None:
    """Issue 17 point 11: the manager's selection reads "Bromma", not "enhet bromma"."""
    from utfall.organisations.models import Unit

    client.force_login(people.manager)
    unit = Unit.objects.get(members=people.manager)
    html = client.get(PAGES["comparison"][0]).content.decode()
    selection = html.split("<dt>Urval</dt>")[1].split("</dd>")[0]
    assert unit.name in selection and "enhet " not in selection, selection
    index = client.get("/resultat/").content.decode()
    assert f"({unit.name})" in index


def test_the_comparison_can_list_only_the_flagged_providers(client: Client, people: People) -> None:
    """Issue 17 point 11: "Bara flaggade utförare" leaves the flagged rows; the funnel keeps all."""
    client.force_login(people.analyst)
    everyone = page_tables(client.get(PAGES["comparison"][0]).content.decode())["jamforelse"]
    html = client.get(PAGES["comparison"][0] + "&flagged=on").content.decode()
    rows = page_tables(html)["jamforelse"]
    assert "Bara flaggade utförare" in html
    assert rows and all(r["flag"] in ("▼ Lägre än förväntat", "▲ Högre än förväntat") for r in rows), rows
    assert "C" in {r["group"] for r in rows} and len(rows) < len(everyone)
    assert f"Visar bara flaggade utförare: {len(rows)} av {len(everyone)}" in html


def test_the_women_and_men_tables_hide_the_code_column_on_the_page(client: Client, people: People) -> None:
    """Issue 17 point 12: the code beside the service's name is for screen readers and the
    download only, so the difference column fits at 1280 px; rows are still found by code."""
    client.force_login(people.analyst)
    url = PAGES["gender"][0]
    html = client.get(url).content.decode()
    assert '<th scope="col" class="visually-hidden" data-key="group">Kod</th>' in html
    per_service = page_tables(html)["kvinnor_man_insats"]
    assert per_service and all(r["group"] and r["name"] != r["group"] for r in per_service), per_service
    csv_text = client.get(url + "&format=csv&table=per_service").content.decode()
    assert "Kod" in read_excel_csv(csv_text)[1]


def test_the_chart_tooltips_show_the_tables_numbers(client: Client, people: People) -> None:
    """Issue 17 point 13: a point's tooltip reads as its row in the table ("83 %", not "83.3%")."""
    import json

    client.force_login(people.analyst)
    html = client.get(PAGES["comparison"][0]).content.decode()
    rows = {r["group"]: r for r in page_tables(html)["jamforelse"]}
    spec = json.loads(html.split('id="chart-funnel" type="application/json">')[1].split("</script>")[0])
    points = next(layer for layer in spec["layer"] if layer["mark"]["type"] == "point")
    assert {"field": "value_text", "title": "Andel"} in points["encoding"]["tooltip"]
    assert all("format" not in t for t in points["encoding"]["tooltip"])
    assert points["data"]["values"]
    for point in points["data"]["values"]:
        assert point["value_text"] == rows[point["id"]]["rate"], (point, rows[point["id"]])


@pytest.mark.parametrize("name", ["comparison", "comparison_adjusted"])
def test_the_funnel_chart_draws_both_levels_limit_lines_across_its_points(
    client: Client, people: People, name: str
) -> None:
    """The funnel's 95 % and 99.8 % lines are drawn on both views, from the smallest point to the
    largest, the 99.8 % band outside the 95 % band. The O/E chart drew none from 2026-12-02 to
    2026-12-06: its lines were asked at E/overall, where a binomial funnel has no limits
    (stats.adjusted.AverageMixFunnel)."""
    import json

    client.force_login(people.analyst)
    html = client.get(PAGES[name][0]).content.decode()
    spec = json.loads(html.split('id="chart-funnel" type="application/json">')[1].split("</script>")[0])
    points = next(layer for layer in spec["layer"] if layer["mark"]["type"] == "point")["data"]["values"]
    lines = next(layer for layer in spec["layer"] if layer["mark"]["type"] == "line")["data"]["values"]
    assert len(points) >= 3
    sizes = [p["size"] for p in points]
    by_line: dict[str, dict[float, float]] = {}
    for v in lines:
        by_line.setdefault(v["line"], {})[v["size"]] = v["value"]
    assert set(by_line) == {"95 % nedre", "95 % övre", "99,8 % nedre", "99,8 % övre"}
    centre = 1.0 if name == "comparison_adjusted" else spec["layer"][1]["data"]["values"][0]["target"]
    for line, values in by_line.items():
        assert len(values) >= 10, line
        assert min(values) <= min(sizes) * 1.0001 and max(values) >= max(sizes) * 0.9999, line
    for size in by_line["95 % nedre"]:
        assert by_line["99,8 % nedre"][size] <= by_line["95 % nedre"][size] <= centre
        assert centre <= by_line["95 % övre"][size] <= by_line["99,8 % övre"][size]
    # The O/E lines are an average case mix's: the caption says a provider's own are in the table.
    assert ("genomsnittliga klientsammansättning" in html) == (name == "comparison_adjusted")
