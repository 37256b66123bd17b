"""Site pages that draw on several apps, so they sit above the apps (docs/architecture.md).

The start page is one list of boxes per role (``BOXES``): each box is a function of the
signed-in user and today's date that returns a ``Box`` or ``None`` (nothing to say). To give
a role another box (oversight's alerts, a report's targets), write the function and add it
to the role's list; the template draws every box the same way.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from utfall.comparisons.access import aggregate_scope
from utfall.comparisons.queries import BadQuery, reference_date
from utfall.comparisons.services import compare
from utfall.core import audit
from utfall.core.models import AuditEntry
from utfall.followups import queries as followup_queries
from utfall.followups.models import FollowUp
from utfall.organisations.access import roles, sees_cases
from utfall.organisations.models import Role
from utfall.oversight.alerts import alerts_for
from utfall.oversight.deadlines import overdue_for
from utfall.registry.models import Provider
from utfall.reports.targets import Judgement, judge_all

#: Alerts listed on the start page; the rest are one link away.
START_ALERTS = 10

#: The indicator whose flagged providers the manager's and analyst's start page names.
HEADLINE_INDICATOR = "satisfied"


@dataclass
class Box:
    """One box of the start page: a heading, a sentence or figures, and where to go next."""

    title: str
    lead: str = ""
    #: (label, value) pairs shown as figures
    figures: list[tuple[str, str]] = field(default_factory=list)
    #: (text, url) links
    links: list[tuple[str, str]] = field(default_factory=list)
    #: plain lines (names of flagged providers, say)
    items: list[tuple[str, str]] = field(default_factory=list)


BoxFunction = Callable[[Any, dt.date], "Box | None"]


def worklist_box(user: Any, today: dt.date) -> Box | None:
    """The caseworker's and unit manager's: how many follow-ups are due, how many late."""
    items = followup_queries.due_items(user, today=today)
    overdue = sum(w.overdue for w in items)
    lead = ngettext(
        "Du har %(n)s insats att följa upp", "Du har %(n)s insatser att följa upp", len(items)
    ) % {"n": len(items)}
    lead += (
        ", " + ngettext("%(m)s försenad.", "%(m)s försenade.", overdue) % {"m": overdue} if overdue else "."
    )
    return Box(
        _("Att följa upp"),
        lead,
        links=[(_("Till listan att följa upp"), reverse("followups:worklist"))],
    )


def unit_coverage_box(user: Any, today: dt.date) -> Box | None:
    """The unit manager's: the unit's coverage this half-year and the plain count missing."""
    start, _rows, total = followup_queries.coverage(user, today=today)
    if not total.ongoing:
        return None
    missing = total.ongoing - total.followed_up
    share = round(100 * total.followed_up / total.ongoing)
    return Box(
        _("Uppföljningsgrad i enheten"),
        _("Pågående insatser med minst en uppföljning sedan %(start)s.") % {"start": start.isoformat()},
        figures=[(_("Uppföljda"), f"{share} %"), (_("Saknar uppföljning"), str(missing))],
        links=[(_("Se per insats"), reverse("followups:worklist") + "#coverage-heading")],
    )


def flagged_providers_box(user: Any, today: dt.date) -> Box | None:
    """The manager's and analyst's: providers flagged on the headline indicator, last 12 months."""
    municipality = getattr(user, "municipality", None)
    if municipality is None:
        return None
    date_from = today.replace(year=today.year - 1) + dt.timedelta(days=1)
    try:
        result = compare(
            municipality=municipality, indicator=HEADLINE_INDICATOR, date_from=date_from, date_to=today,
            by="provider",
        )  # fmt: skip
    except (BadQuery, KeyError):
        return None
    rows = [r for r in result.as_json()["rows"] if r.get("flag") in ("low", "high")]
    names = dict(
        Provider.objects.filter(
            municipality=municipality, provider_id__in=[r["group"] for r in rows]
        ).values_list("provider_id", "name")
    )
    low = sorted(names.get(r["group"], r["group"]) for r in rows if r["flag"] == "low")
    high = sorted(names.get(r["group"], r["group"]) for r in rows if r["flag"] == "high")
    url = reverse("results:comparison") + f"?indicator={HEADLINE_INDICATOR}"
    box = Box(
        _("Flaggade utförare"),
        _("Nöjda med stödet, de senaste tolv månaderna: utförare utanför styrgränserna."),
        figures=[(_("Klart sämre"), str(len(low))), (_("Klart bättre"), str(len(high)))],
        links=[(_("Till jämförelsen"), url)],
    )
    box.items = [(name, _("klart sämre")) for name in low] + [(name, _("klart bättre")) for name in high]
    return box


def results_box(user: Any, today: dt.date) -> Box | None:
    """Everyone who reads results: where the comparisons are."""
    return Box(
        _("Resultat"),
        _("Jämför utförare, insatser, kvinnor och män och perioder, med osäkerheten redovisad."),
        links=[
            (_("Jämförelse av utförare"), reverse("results:comparison")),
            (_("Uppföljningsgrad"), reverse("results:coverage")),
            (_("Kvinnor och män"), reverse("results:gender")),
            (_("Utveckling över tid"), reverse("results:trends")),
            (_("Utfallsmått"), reverse("results:outcomes")),
        ],
    )


def provider_box(user: Any, today: dt.date) -> Box | None:
    """The provider's: its own results against the municipality, one link away."""
    provider = getattr(user, "provider", None)
    if provider is None:
        return None
    return Box(
        _("Våra resultat"),
        _("%(name)s: era klienters svar och utfall jämförda med kommunens, med osäkerheten redovisad.")
        % {"name": provider.name},
        links=[(_("Till era resultat"), reverse("results:provider", args=[provider.provider_id]))],
    )


def contracts_box(user: Any, today: dt.date) -> Box | None:
    """Procurement's: the contracts, their targets and payments."""
    return Box(
        _("Avtal"),
        _("Avtalens mål och resultat, ersättningsregler och kostnad per gott utfall."),
        links=[
            (_("Alla avtal"), reverse("procurement:contracts")),
            (_("Kostnad per gott utfall"), reverse("procurement:costs")),
        ],
    )


def reports_box(user: Any, today: dt.date) -> Box | None:
    """The board's: the published reports."""
    return Box(
        _("Rapporter"),
        _("Publicerade rapporter om insatsernas resultat."),
        links=[(_("Till rapporterna"), reverse("reports:index"))],
    )


#: The start page's boxes per role, in order. A user with several roles sees each box once.
BOXES: dict[str, list[BoxFunction]] = {
    Role.CASEWORKER: [worklist_box],
    Role.UNIT_MANAGER: [worklist_box, unit_coverage_box, flagged_providers_box],
    Role.ANALYST: [flagged_providers_box, results_box],
    Role.PROCUREMENT: [contracts_box, flagged_providers_box, results_box],
    Role.PROVIDER: [provider_box],
    Role.BOARD: [reports_box],
    Role.AUDITOR: [],
    Role.SYSTEM_ADMIN: [],
}


def boxes_for(user: Any, today: dt.date) -> list[Box]:
    chosen: list[BoxFunction] = []
    order = list(BOXES)
    for role in sorted(roles(user), key=lambda r: order.index(r) if r in order else len(order)):
        chosen += [f for f in BOXES.get(role, []) if f not in chosen]
    return [box for f in chosen if (box := f(user, today)) is not None]


def targets_on_start(user: Any) -> list[Judgement]:
    """This year's targets in the user's aggregate scope (the municipality's, or their unit's);
    none for roles without aggregates and for providers (targets are the municipality's)."""
    try:
        scope = aggregate_scope(user)
    except PermissionDenied:
        return []
    if "provider" in scope:
        return []
    year = reference_date(user.municipality)
    if year is None:
        return []
    return judge_all(user.municipality, unit=scope.get("unit"), years={year.year})


def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico whatever the page says; send them to the icon."""
    return HttpResponsePermanentRedirect(static("utfall/favicon.svg"))


@login_required
def home(request: HttpRequest) -> HttpResponse:
    municipality = getattr(request.user, "municipality", None)
    today = timezone.localdate()
    boxes = boxes_for(request.user, today) if municipality is not None else []
    judgements = targets_on_start(request.user) if municipality is not None else []
    alerts: list[FollowUp] = []
    alert_count = 0
    if sees_cases(request.user):
        found = alerts_for(request.user, today=today)
        alert_count = found.count()
        alerts = list(found[:START_ALERTS])
        audit.record(
            request, action=AuditEntry.Action.LIST, kind="followups", ids=[f.followup_id for f in alerts]
        )
    overdue = list(overdue_for(request.user, today)[:20])
    context = {"municipality": municipality, "boxes": boxes, "alerts": alerts, "alert_count": alert_count,
               "overdue": overdue, "sees_cases": sees_cases(request.user), "judgements": judgements}  # fmt: skip
    return render(request, "core/home.html", context)
