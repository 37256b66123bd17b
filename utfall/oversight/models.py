"""Oversight: in-depth follow-up cases of providers, their actions and history, documents,
contract and operations follow-up records, plan reviews of alerting follow-ups, and the
outgoing webhook's messages (docs/oversight.md).

No row here holds client data: a case concerns a provider; a plan review names a follow-up
by its key only, and is read through the follow-up's own access rule.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from utfall.followups.models import FollowUp
from utfall.organisations.models import Municipality
from utfall.registry.models import Contract, Provider


class CaseState(models.TextChoices):
    OPEN = "open", _("Öppen")
    INVESTIGATING = "investigating", _("Utreds")
    ACTION_DECIDED = "action_decided", _("Åtgärd beslutad")
    CLOSED = "closed", _("Avslutad")


#: The steps a case may take, forward and (with a comment) back.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    CaseState.OPEN: (CaseState.INVESTIGATING,),
    CaseState.INVESTIGATING: (CaseState.ACTION_DECIDED, CaseState.OPEN),
    CaseState.ACTION_DECIDED: (CaseState.CLOSED, CaseState.INVESTIGATING),
    CaseState.CLOSED: (CaseState.INVESTIGATING,),
}


class CaseOrigin(models.TextChoices):
    PROPOSAL = "proposal", _("Avvikelseförslag")
    MANUAL = "manual", _("Manuellt")


class CaseQuerySet(models.QuerySet["Case"]):
    def of(self, municipality_id: int | None) -> CaseQuerySet:
        return self.filter(municipality_id=municipality_id) if municipality_id else self.none()


class Case(models.Model):
    """An in-depth follow-up (fördjupad uppföljning) of one provider."""

    municipality = models.ForeignKey(Municipality, on_delete=models.PROTECT, related_name="+")
    number = models.PositiveIntegerField(help_text="Löpnummer inom kommunen.")
    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="oversight_cases")
    contracts = models.ManyToManyField(Contract, blank=True, related_name="oversight_cases")
    title = models.CharField(max_length=200)
    reason = models.TextField(blank=True)
    origin = models.CharField(max_length=10, choices=CaseOrigin.choices, default=CaseOrigin.MANUAL)
    period = models.CharField(max_length=10, blank=True, help_text="The proposal's period, e.g. 2025.")
    evidence = models.JSONField(default=dict, blank=True, help_text="The proposal as it was when opened.")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    state = models.CharField(max_length=16, choices=CaseState.choices, default=CaseState.OPEN)
    opened_at = models.DateTimeField(auto_now_add=True)
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    closed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CaseQuerySet.as_manager()

    class Meta:
        verbose_name = "fördjupad uppföljning"
        verbose_name_plural = "fördjupade uppföljningar"
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["municipality", "number"], name="oversight_case_number_unique"),
        ]
        indexes = [models.Index(fields=["municipality", "provider"])]

    def __str__(self) -> str:
        return f"{self.reference}: {self.title}"

    @property
    def reference(self) -> str:
        return f"FU-{self.number:04d}"

    def can_move_to(self, state: str) -> bool:
        return state in TRANSITIONS.get(self.state, ())


class ActionKind(models.TextChoices):
    DIALOGUE = "dialogue", _("Dialog med utföraren")
    ACTION_PLAN = "action_plan", _("Åtgärdsplan med tidsfrist")
    SANCTION = "sanction", _("Sanktion (vite, avdrag)")
    TERMINATION = "termination", _("Hävning av avtalet")
    NO_ACTION = "no_action", _("Ingen åtgärd")


class CaseAction(models.Model):
    """An action decided in a case: dialogue, action plan with deadline, sanction, termination,
    or no action with its reason."""

    municipality = models.ForeignKey(Municipality, on_delete=models.PROTECT, related_name="+")
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="actions")
    kind = models.CharField(max_length=12, choices=ActionKind.choices)
    description = models.TextField(blank=True)
    reason = models.TextField(blank=True)
    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    decided_on = models.DateField()
    deadline = models.DateField(null=True, blank=True)
    done_on = models.DateField(null=True, blank=True)
    reminded_on = models.DateField(null=True, blank=True, help_text="Last overdue e-mail about it.")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = "åtgärd"
        verbose_name_plural = "åtgärder"
        ordering = ["decided_on", "pk"]

    def __str__(self) -> str:
        return self.get_kind_display()

    def is_overdue(self, today: dt.date) -> bool:
        return self.deadline is not None and self.done_on is None and self.deadline < today


class CaseEvent(models.Model):
    """One line of a case's history: opened, state changed, note, document, action, owner."""

    class Kind(models.TextChoices):
        OPENED = "opened", _("Öppnad")
        STATE = "state", _("Status ändrad")
        NOTE = "note", _("Anteckning")
        DOCUMENT = "document", _("Dokument bifogat")
        ACTION = "action", _("Åtgärd beslutad")
        ACTION_DONE = "action_done", _("Åtgärd genomförd")
        OWNER = "owner", _("Ansvarig ändrad")

    municipality = models.ForeignKey(Municipality, on_delete=models.PROTECT, related_name="+")
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="events")
    at = models.DateTimeField(auto_now_add=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    text = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = "händelse"
        verbose_name_plural = "händelser"
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.case_id} {self.kind}"


class RecordKind(models.TextChoices):
    CONTRACT = "contract", _("Avtalsuppföljning")
    OPERATIONS = "operations", _("Verksamhetsuppföljning")


class Verdict(models.TextChoices):
    NO_REMARKS = "no_remarks", _("Utan anmärkning")
    REMARKS = "remarks", _("Med anmärkning")
    SERIOUS = "serious", _("Allvarliga brister")


class FollowUpRecord(models.Model):
    """A contract or operations follow-up (avtals-/verksamhetsuppföljning) of a provider: the
    other two directions of seed 002, beside the individual follow-ups' results."""

    municipality = models.ForeignKey(Municipality, on_delete=models.PROTECT, related_name="+")
    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="oversight_records")
    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    kind = models.CharField(max_length=10, choices=RecordKind.choices)
    date = models.DateField()
    scope = models.TextField()
    findings = models.TextField()
    verdict = models.CharField(max_length=10, choices=Verdict.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = "avtals- eller verksamhetsuppföljning"
        verbose_name_plural = "avtals- och verksamhetsuppföljningar"
        ordering = ["-date", "-pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.date}"


class Document(models.Model):
    """A file attached to a case or a follow-up record, stored outside the static files under
    a random name (``UTFALL_DOCUMENT_DIR``) and read only through the download view."""

    municipality = models.ForeignKey(Municipality, on_delete=models.PROTECT, related_name="+")
    case = models.ForeignKey(Case, on_delete=models.PROTECT, null=True, blank=True, related_name="documents")
    record = models.ForeignKey(
        FollowUpRecord, on_delete=models.PROTECT, null=True, blank=True, related_name="documents"
    )
    stored_name = models.CharField(max_length=64, unique=True)
    original_name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_at = models.DateTimeField(auto_now_add=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = "dokument"
        verbose_name_plural = "dokument"
        ordering = ["uploaded_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(case__isnull=False) ^ models.Q(record__isnull=False),
                name="oversight_document_one_owner",
            )
        ]

    def __str__(self) -> str:
        return self.original_name


class PlanReview(models.Model):
    """ "Plan reviewed": the caseworker's or unit manager's answer to an alert on one follow-up."""

    municipality = models.ForeignKey(Municipality, on_delete=models.PROTECT, related_name="+")
    followup = models.OneToOneField(FollowUp, on_delete=models.CASCADE, related_name="plan_review")
    reviewed_on = models.DateField()
    note = models.TextField()
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "genomgången plan"
        verbose_name_plural = "genomgångna planer"

    def __str__(self) -> str:
        return f"{self.followup_id} {self.reviewed_on}"


class WebhookEndpoint(models.Model):
    """A receiver of oversight events (e.g. the quality management system): URL and secret."""

    municipality = models.ForeignKey(Municipality, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=100)
    url = models.URLField(max_length=500)
    secret = models.CharField(
        max_length=200, help_text="whsec_… (Standard Webhooks), base64 after the prefix."
    )
    active = models.BooleanField(default=True)

    class Meta:
        verbose_name = "webhook-mottagare"
        verbose_name_plural = "webhook-mottagare"

    def __str__(self) -> str:
        return self.name


class WebhookMessage(models.Model):
    """One event for one endpoint, delivered until acknowledged (2xx), then never again."""

    class Status(models.TextChoices):
        PENDING = "pending", "Väntar"
        DELIVERED = "delivered", "Levererad"
        FAILED = "failed", "Gav upp"

    municipality = models.ForeignKey(Municipality, on_delete=models.PROTECT, related_name="+")
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.PROTECT, related_name="messages")
    message_id = models.CharField(max_length=40, unique=True)
    event_type = models.CharField(max_length=40)
    payload = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "webhook-meddelande"
        verbose_name_plural = "webhook-meddelanden"
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.message_id} {self.event_type}"


class WebhookAttempt(models.Model):
    """The log of every delivery attempt: when, the answer's status or the error."""

    municipality = models.ForeignKey(Municipality, on_delete=models.PROTECT, related_name="+")
    message = models.ForeignKey(WebhookMessage, on_delete=models.CASCADE, related_name="log")
    at = models.DateTimeField(auto_now_add=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    acknowledged = models.BooleanField(default=False)

    class Meta:
        verbose_name = "leveransförsök"
        verbose_name_plural = "leveransförsök"
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.message_id} {self.status_code or self.error}"


def case_number_for(municipality: Any) -> int:
    last = Case.objects.filter(municipality=municipality).aggregate(m=models.Max("number"))["m"]
    return (last or 0) + 1
