"""Disposal (gallring, SoL 12 kap.): individual-level data older than the retention period
is made anonymous, while every count the results and reports are made of stays.

An intervention that ended more than ``UTFALL_RETENTION_YEARS`` (default 5) years ago, and
its follow-ups, keep their dates, service, provider, unit, answers, assessment and goals
(what aggregates are made of) but lose what links them to a person:

- the intervention's and follow-ups' ids (which the case system knows) become random ones;
- their earlier versions (change history, which repeat the ids and the pseudonym) and their
  idempotency keys are deleted;
- the client's pseudonym becomes random once every intervention of that client is disposed
  (sex and birth year stay: they are counted), so a new import of the same identity number
  can no longer find them.

Each disposed intervention is marked (``disposed_on``): a second run finds nothing to do.
The audit log keeps its entries (they name the old ids, now pointing at nothing) and gets one
entry per run and municipality with the counts. Results and comparisons give the same
numbers before and after (tested).
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Exists, OuterRef

from utfall.core.models import AuditEntry, ChangeRecord, IdempotencyKey
from utfall.followups.models import FollowUp
from utfall.organisations.models import Municipality
from utfall.registry.models import Client, Intervention

BATCH = 1000
ACTOR = "utfall dispose"


@dataclass
class DisposalReport:
    cutoff: dt.date
    interventions: int = 0
    followups: int = 0
    clients: int = 0
    history: int = 0
    per_municipality: dict[str, int] = field(default_factory=dict)

    def __str__(self) -> str:
        return (
            f"Gallring av insatser som avslutades före {self.cutoff:%Y-%m-%d}: "
            f"{self.interventions} insatser och {self.followups} uppföljningar anonymiserade, "
            f"{self.clients} klientpseudonymer ersatta, {self.history} historikposter borttagna."
        )


def cutoff_for(today: dt.date, years: int) -> dt.date:
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return today.replace(year=today.year - years, day=28)


def _random_id(prefix: str) -> str:
    return prefix + secrets.token_hex(8).upper()


def dispose(*, today: dt.date, years: int, municipality: Municipality | None = None,
            dry_run: bool = False) -> DisposalReport:  # fmt: skip
    """Anonymise what ended before ``today`` minus ``years``; see the module's docstring."""
    report = DisposalReport(cutoff=cutoff_for(today, years))
    due = Intervention.objects.filter(disposed_on__isnull=True, ended_on__lt=report.cutoff)
    if municipality is not None:
        due = due.filter(municipality=municipality)
    for m_id, code in Municipality.objects.filter(pk__in=due.values("municipality_id")).values_list(
        "pk", "code"
    ):
        with transaction.atomic():
            count = _dispose_municipality(m_id, due.filter(municipality_id=m_id), today, report, dry_run)
            report.per_municipality[code] = count
            if not dry_run and count:
                AuditEntry.objects.create(
                    municipality_id=m_id, user=None, username=ACTOR, action=AuditEntry.Action.DISPOSE,
                    kind="interventions", where="utfall dispose",
                    record_ids=[f"{count} insatser avslutade före {report.cutoff:%Y-%m-%d}"],
                )  # fmt: skip
            if dry_run:
                transaction.set_rollback(True)
    return report


def _dispose_municipality(
    m_id: int, due: object, today: dt.date, report: DisposalReport, dry_run: bool
) -> int:
    interventions = list(Intervention.objects.select_for_update().filter(pk__in=due.values("pk")))  # type: ignore[attr-defined]
    old_ids = [i.intervention_id for i in interventions]
    followups = list(FollowUp.objects.select_for_update().filter(intervention__in=interventions))
    old_followup_ids = [f.followup_id for f in followups]
    report.history += ChangeRecord.objects.filter(
        municipality_id=m_id, kind="interventions", record_id__in=old_ids
    ).delete()[0]
    report.history += ChangeRecord.objects.filter(
        municipality_id=m_id, kind="followups", record_id__in=old_followup_ids
    ).delete()[0]
    IdempotencyKey.objects.filter(municipality_id=m_id, kind="interventions",
                                  record_pk__in=[i.pk for i in interventions]).delete()  # fmt: skip
    IdempotencyKey.objects.filter(municipality_id=m_id, kind="followups",
                                  record_pk__in=[f.pk for f in followups]).delete()  # fmt: skip
    for item in interventions:
        item.intervention_id = _random_id("G")
        item.disposed_on = today
    for followup in followups:
        followup.followup_id = _random_id("G")
    # Ids and pseudonyms only: no count changes, so the maintained counts stay as they are (tested).
    Intervention.objects.bulk_update(interventions, ["intervention_id", "disposed_on"], batch_size=BATCH)
    FollowUp.objects.bulk_update(followups, ["followup_id"], batch_size=BATCH)
    # Clients all of whose interventions are now disposed lose their pseudonym.
    still_active = Intervention.objects.filter(client=OuterRef("pk"), disposed_on__isnull=True)
    clients = list(
        Client.objects.filter(municipality_id=m_id, interventions__in=interventions)
        .exclude(Exists(still_active))
        .distinct()
    )
    for client in clients:
        client.pseudonym = secrets.token_hex(32)
    Client.objects.bulk_update(clients, ["pseudonym"], batch_size=BATCH)
    report.interventions += len(interventions)
    report.followups += len(followups)
    report.clients += len(clients)
    return len(interventions)
