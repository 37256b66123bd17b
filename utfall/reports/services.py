"""Writes of reports: create a draft, save a section's commentary, publish (freeze), correct
(a new version). Keyword-only, atomic, locking the report whose status changes."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from utfall.organisations.models import Committee, Municipality, Unit
from utfall.reports.building import build_report
from utfall.reports.models import Commentary, Report, ReportStatus


def report_unit(report: Report) -> Unit | None:
    return report.scope_unit


def content_of(report: Report) -> dict[str, Any]:
    """What the report shows: its frozen content once published, else built afresh."""
    if report.is_published and report.content is not None:
        return report.content
    commentary = dict(report.commentary.values_list("section", "text"))
    return build_report(report.municipality, date_from=report.date_from, date_to=report.date_to,
                        unit=report_unit(report), kind=report.kind, title=report.title,
                        commentary=commentary)  # fmt: skip


@transaction.atomic
def create_report(*, municipality: Municipality, kind: str, date_from: dt.date, date_to: dt.date,
                  committee: Committee | None, unit: Unit | None, user: Any) -> Report:  # fmt: skip
    return Report.objects.create(municipality=municipality, kind=kind, date_from=date_from, date_to=date_to,
                                 committee=committee, unit=unit, created_by=user)  # fmt: skip


@transaction.atomic
def save_commentary(*, report: Report, section: str, text: str, user: Any) -> Commentary:
    locked = Report.objects.select_for_update().get(pk=report.pk)
    if locked.is_published:
        raise ValidationError("Rapporten har publicerats och ändras inte längre; gör en ny version.")
    found, _ = Commentary.objects.update_or_create(
        report=locked, section=section, defaults={"text": text, "updated_by": user}
    )
    return found


@transaction.atomic
def publish(*, report: Report, user: Any) -> Report:
    """Freeze the report: build it once more with the commentary and store that content."""
    locked = Report.objects.select_for_update().get(pk=report.pk)
    if locked.is_published:
        raise ValidationError("Rapporten är redan publicerad.")
    content = content_of(locked)
    content["published_at"] = timezone.now().isoformat(timespec="seconds")
    content["version"] = locked.version
    Report.objects.filter(pk=locked.pk).update(
        content=content, status=ReportStatus.PUBLISHED, published_by=user, published_at=timezone.now()
    )
    locked.refresh_from_db()
    return locked


@transaction.atomic
def new_version(*, report: Report, user: Any) -> Report:
    """A correction: a new draft of the same report, version + 1, with the commentary copied."""
    locked = Report.objects.select_for_update().get(pk=report.pk)
    if not locked.is_published:
        raise ValidationError("Bara en publicerad rapport rättas med en ny version.")
    latest = max(
        Report.objects.filter(corrects=locked).values_list("version", flat=True), default=locked.version
    )
    draft = Report.objects.create(
        municipality=locked.municipality, kind=locked.kind, committee=locked.committee, unit=locked.unit,
        date_from=locked.date_from, date_to=locked.date_to, version=latest + 1, corrects=locked,
        created_by=user,
    )  # fmt: skip
    for section, text in locked.commentary.values_list("section", "text"):
        Commentary.objects.create(report=draft, section=section, text=text, updated_by=user)
    return draft
