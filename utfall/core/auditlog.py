"""The audit log viewer (/revision/) for the auditor role: search by user, record, time and
action within the auditor's own municipality, and export what was found as CSV.

Reading the log is itself logged (kind ``audit``): who searched for what, never the rows.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, cast
from urllib.parse import urlencode

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import QuerySet, TextField
from django.db.models.functions import Cast
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from utfall.core.models import AuditEntry
from utfall.core.spreadsheets import excel_csv
from utfall.organisations.access import is_auditor
from utfall.organisations.models import User

PAGE_SIZE = 100
MAX_EXPORT = 100_000
DATE = forms.DateInput(attrs={"type": "date"})


class AuditSearchForm(forms.Form):
    user = forms.CharField(label=gettext_lazy("Användare"), required=False, max_length=150)
    record = forms.CharField(
        label=gettext_lazy("Post (insatsens eller uppföljningens id)"), required=False, max_length=60
    )
    date_from = forms.DateField(label=gettext_lazy("Från och med"), required=False, widget=DATE)
    date_to = forms.DateField(label=gettext_lazy("Till och med"), required=False, widget=DATE)
    action = forms.ChoiceField(
        label=gettext_lazy("Händelse"), required=False, choices=[("", "Alla"), *AuditEntry.Action.choices]
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", _("Slutdatumet ligger före startdatumet."))
        return cleaned

    def filter(self, entries: QuerySet[AuditEntry]) -> QuerySet[AuditEntry]:
        data = self.cleaned_data
        if data.get("user"):
            entries = entries.filter(username=data["user"].strip())
        if data.get("record"):
            # record_ids is a JSON list; its text holds each id in quotes on both databases.
            entries = entries.annotate(ids_text=Cast("record_ids", TextField())).filter(
                ids_text__contains=json.dumps(data["record"].strip())
            )
        tz = timezone.get_current_timezone()
        if data.get("date_from"):
            entries = entries.filter(at__gte=dt.datetime.combine(data["date_from"], dt.time(), tz))
        if data.get("date_to"):
            entries = entries.filter(
                at__lt=dt.datetime.combine(data["date_to"] + dt.timedelta(days=1), dt.time(), tz)
            )
        if data.get("action"):
            entries = entries.filter(action=data["action"])
        return entries


def _searched(auditor: User, request: HttpRequest, what: str, form: AuditSearchForm) -> None:
    terms = {k: str(v) for k, v in form.cleaned_data.items() if v}
    AuditEntry.objects.create(
        municipality_id=auditor.municipality_id,
        user=auditor,
        username=auditor.get_username(),
        action=what,
        kind="audit",
        record_ids=[f"{k}={v}" for k, v in sorted(terms.items())],
        where=request.path[:200],
    )


@require_GET
@login_required
def audit_log(request: HttpRequest) -> HttpResponse:
    if not is_auditor(request.user):
        raise PermissionDenied(_("Revisionsloggen är till för granskare."))
    auditor = cast(User, request.user)  # is_auditor: signed in, with a municipality
    form = AuditSearchForm(request.GET or None)
    entries: QuerySet[AuditEntry] = AuditEntry.objects.filter(
        municipality_id=cast(int, auditor.municipality_id)
    )
    if form.is_bound and not form.is_valid():
        return render(request, "core/auditlog.html", {"form": form, "page": None}, status=400)
    if form.is_bound:
        entries = form.filter(entries)
    else:
        form = AuditSearchForm({})
        form.is_valid()
    entries = entries.order_by("-at", "-pk")
    if request.GET.get("format") == "csv":
        _searched(auditor, request, AuditEntry.Action.EXPORT, form)
        return _csv(entries[:MAX_EXPORT], {k: str(v) for k, v in request.GET.items() if k != "format" and v})
    _searched(auditor, request, AuditEntry.Action.LIST, form)
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("sida"))
    query = {k: v for k, v in request.GET.items() if k not in ("sida", "format") and v}
    context = {
        "form": form,
        "page": page,
        "query": urlencode(query),
        "export": urlencode({**query, "format": "csv"}),
    }
    return render(request, "core/auditlog.html", context)


def _csv(entries: QuerySet[AuditEntry], query: dict[str, str] | None = None) -> HttpResponse:
    """The hits for Swedish Excel (core.spreadsheets.excel_csv): title block, Swedish headers."""
    rows = (
        [e.at.isoformat(), e.username, e.action, e.kind, " ".join(e.record_ids), e.where]
        for e in entries.iterator(chunk_size=2000)
    )
    title = [("Innehåll", "Revisionslogg: vem läste, skrev eller nekades vad"),
             ("Sökning", ", ".join(f"{k}={v}" for k, v in (query or {}).items()) or "alla"),
             ("Uttaget", f"{timezone.localdate():%Y-%m-%d}"),
             ("Antal rader", f"högst {MAX_EXPORT}")]  # fmt: skip
    headers = ["Tidpunkt", "Användare", "Händelse", "Slag", "Poster", "Var"]
    response = HttpResponse(
        excel_csv(title=title, headers=headers, rows=rows), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = (
        f'attachment; filename="revisionslogg_{timezone.localdate():%Y-%m-%d}.csv"'
    )
    return response
