from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from utfall.instruments.models import InstrumentVersion, Option, Question, Respondent
from utfall.organisations.access import case_unit_ids, is_unit_manager
from utfall.organisations.models import Municipality
from utfall.registry.models import Intervention


class FollowUpStatus(models.TextChoices):
    COMPLETED = "completed", "Genomförd"
    DECLINED = "declined", "Klienten avböjde"
    UNREACHABLE = "unreachable", "Klienten nåddes inte"


class NoAnswerReason(models.TextChoices):
    """Why a completed follow-up has none of the client's answers (issue 17 point 2): the
    conversation took place but the questions could not be put, so coverage stays honest."""

    COULD_NOT_ANSWER = "could_not_answer", _("Klienten kunde inte svara (t.ex. hälsa, språk eller ålder)")
    NOT_ASKED = "not_asked", _("Frågorna passade inte att ställa i samtalet")
    OTHER = "other", _("Annat skäl")


class Assessment(models.TextChoices):
    """The caseworker's overall assessment of the provider (samlad bedömning)."""

    DEFICIENT = "deficient", "Bristande"
    APPROVED = "approved", "Godkänt"
    VERY_GOOD = "very_good", "Mycket bra"


class GuidingAnswer(models.TextChoices):
    YES = "yes", "Ja"
    PARTLY = "partly", "Delvis"
    NO = "no", "Nej"


class FollowUpQuerySet(models.QuerySet["FollowUp"]):
    def for_user(self, user: Any) -> FollowUpQuerySet:
        """The only way views and the API reach follow-ups: those of the user's own units' cases."""
        units = case_unit_ids(user)
        if not units:
            return self.none()
        return self.filter(municipality_id=user.municipality_id, intervention__unit_id__in=units)


class FollowUp(models.Model):
    """One individual follow-up of an intervention: the client's answers and the assessment.

    This row always holds the current version; earlier versions are ChangeRecords
    (kind ``followups``) with who, when and why.
    """

    # No single-column indexes on the municipality and the intervention: the unique constraint
    # and the (intervention, date) index begin with them, and each index less is one write
    # less per imported row (issue 13.2, docs/decisions.md 2026-12-02).
    municipality = models.ForeignKey(Municipality, on_delete=models.PROTECT, related_name="+", db_index=False)
    followup_id = models.CharField(max_length=60)
    intervention = models.ForeignKey(
        Intervention, on_delete=models.PROTECT, related_name="followups", db_index=False
    )
    date = models.DateField()
    instrument_version = models.ForeignKey(InstrumentVersion, on_delete=models.PROTECT, related_name="+")
    respondent = models.CharField(max_length=10, choices=Respondent.choices)
    status = models.CharField(max_length=12, choices=FollowUpStatus.choices)
    assessment = models.CharField(max_length=10, choices=Assessment.choices, blank=True)
    #: Set when the follow-up is completed but none of the client's questions is answered.
    no_answer_reason = models.CharField(
        max_length=20, choices=NoAnswerReason.choices, blank=True, default="", db_default=""
    )  # db_default: the import writes follow-ups by COPY / INSERT without this column
    g1 = models.CharField(max_length=6, choices=GuidingAnswer.choices, blank=True)
    g2 = models.CharField(max_length=6, choices=GuidingAnswer.choices, blank=True)
    g3 = models.CharField(max_length=6, choices=GuidingAnswer.choices, blank=True)
    minutes = models.PositiveSmallIntegerField(null=True, blank=True)
    form_seconds = models.PositiveIntegerField(
        null=True, blank=True, help_text="Seconds from opening the web form to submitting it."
    )
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    objects = FollowUpQuerySet.as_manager()

    class Meta:
        verbose_name = "uppföljning"
        verbose_name_plural = "uppföljningar"
        ordering = ["followup_id"]
        constraints = [
            models.UniqueConstraint(fields=["municipality", "followup_id"], name="followup_id_unique"),
        ]
        indexes = [
            # Covering index for the comparisons: a period's follow-ups with everything the
            # indicator queries read, without visiting the table (see docs/indicators.md).
            models.Index(
                fields=["municipality", "date", "status", "intervention", "assessment"],
                name="followup_period_cover",
            ),
            models.Index(fields=["intervention", "date"]),
        ]

    def __str__(self) -> str:
        return self.followup_id

    def can_be_corrected_by(self, user: Any) -> bool:
        """Its author, or a manager of the intervention's unit (who can see it at all)."""
        if self.intervention.unit_id not in case_unit_ids(user):
            return False
        return self.created_by_id == user.pk or is_unit_manager(user)


#: What an answer repeats (field: path from its follow-up) so that comparisons on one question
#: read the answers alone: the date and provider (every comparison), the service, unit, and
#: the client's sex and birth year (filters, women and men, age groups, case-mix adjustment).
FACTS = {
    "date": "date",
    "provider_id": "intervention__provider_id",
    "service_id": "intervention__service_id",
    "unit_id": "intervention__unit_id",
    "client_sex": "intervention__client__sex",
    "client_birth_year": "intervention__client__birth_year",
}


class AnswerQuerySet(models.QuerySet["Answer"]):
    def refresh_facts(self) -> int:
        """Copy each answer's facts (:data:`FACTS`) from its follow-up, intervention and client again.

        Writers that change a follow-up's date, an intervention's provider, service or unit, or
        a client's sex or birth year call this for the answers concerned; tests check that the
        copies never differ.
        """
        followup = FollowUp.objects.filter(pk=models.OuterRef("followup_id"))
        return self.update(
            **{name: models.Subquery(followup.values(path)[:1]) for name, path in FACTS.items()}
        )


class Answer(models.Model):
    """The option a respondent chose for one question of a follow-up.

    ``date``, ``provider``, ``service``, ``unit``, ``client_sex`` and ``client_birth_year``
    repeat the follow-up's date, its intervention's provider, service and unit and its
    client's sex and birth year (:data:`FACTS`), so that a comparison on one question reads the
    answers and nothing else (docs/decisions.md, 2026-11-23). Answers exist only for completed
    follow-ups.
    """

    # No single-column indexes on the municipality, the follow-up and the question: the
    # answer_period_cover, the unique (followup, question) and the (question, option) indexes
    # begin with them; an import writes ~7 answers per follow-up (issue 13.2).
    # No database constraint on the copied facts (municipality, provider, service, unit): they
    # are copies of the follow-up's (whose own constraints hold), written only by code that
    # copies them; PROTECT still guards a delete (Django checks it). Seven deferred checks per
    # answer at commit were ~40% of PostgreSQL's work in an import (issue 13.2, 2026-12-02).
    municipality = models.ForeignKey(
        Municipality, on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False
    )
    followup = models.ForeignKey(FollowUp, on_delete=models.CASCADE, related_name="answers", db_index=False)
    question = models.ForeignKey(Question, on_delete=models.PROTECT, related_name="+", db_index=False)
    option = models.ForeignKey(Option, on_delete=models.PROTECT, related_name="+")
    date = models.DateField()
    # No index of their own on the copied facts either (issue 13.2, docs/decisions.md
    # 2026-12-02): every read goes through answer_period_cover, and the only query by one of
    # them alone is the check before a provider, service or unit is deleted (rare, admin).
    provider = models.ForeignKey(
        "registry.Provider", on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False
    )
    service = models.ForeignKey(
        "registry.Service", on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False
    )
    unit = models.ForeignKey(
        "organisations.Unit", on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False
    )
    client_sex = models.CharField(max_length=8)
    client_birth_year = models.PositiveSmallIntegerField()

    objects = AnswerQuerySet.as_manager()

    class Meta:
        verbose_name = "svar"
        verbose_name_plural = "svar"
        constraints = [
            models.UniqueConstraint(fields=["followup", "question"], name="answer_once_per_question"),
        ]
        indexes = [
            models.Index(fields=["question", "option"]),
            # Covering: a follow-up's answer to one question, read from the index alone.
            models.Index(fields=["followup", "question", "option"], name="answer_followup_cover"),
            # Covering: one question's answers in a period by provider (the comparison).
            # Also covers the case-mix and the breakdowns (service, unit, sex, birth year).
            models.Index(
                fields=[
                    "municipality",
                    "question",
                    "date",
                    "provider",
                    "option",
                    "service",
                    "unit",
                    "client_sex",
                    "client_birth_year",
                ],
                name="answer_period_cover",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.followup_id}:{self.option}"
