"""The follow-up form, generated from the instrument version's questions (never per instrument).

The version's questions come from the instruments' builder (``utfall.instruments.fields``);
this form adds what every follow-up asks besides: status, date, the overall assessment and
its guiding questions, and the goals at the end of an intervention. Field names are the
interchange column names (status, respondent, q1…, assessment, g1…), so the shared rules'
issues land on the field they name.
"""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.core import signing
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from utfall.core.identity import IDENTITY_NUMBER_REFUSED, contains_identity_number
from utfall.followups.models import Assessment, FollowUp, FollowUpStatus, GuidingAnswer, NoAnswerReason
from utfall.followups.services import GOAL_COLUMNS, CheckedFollowUp, check_followup_submission
from utfall.instruments.fields import RadioChoice, VersionForm
from utfall.instruments.models import InstrumentVersion
from utfall.records.rules import Catalogue
from utfall.registry.models import Intervention

TOKEN_SALT = "utfall.followups.form"  # noqa: S105 - a namespace for signing, not a secret
MAX_FORM_AGE = 60 * 60 * 24  # a form opened a day ago is still accepted

GUIDING_QUESTIONS = {
    "g1": _(
        "Har utföraren genomfört uppdraget som ni har kommit överens om (fokus på kompetens och frekvens)?"
    ),
    "g2": _("Har utföraren arbetat eller försökt arbeta med aktiviteter som ni kommit överens om?"),
    "g3": _("Har utföraren arbetat enligt plan och informerat om när plan inte kunnat hållas?"),
}
GOAL_LABELS = {
    "goals_total": _("Antal mål i genomförandeplanen"),
    "goals_fully": _("Varav helt uppnådda"),
    "goals_partly": _("Varav delvis uppnådda"),
}


def new_token() -> str:
    """A signed hidden value: the idempotency key and when the form was opened."""
    return signing.dumps({"k": uuid.uuid4().hex, "t": int(timezone.now().timestamp())}, salt=TOKEN_SALT)


def read_token(token: str) -> tuple[str, int] | None:
    try:
        data = signing.loads(token, salt=TOKEN_SALT, max_age=MAX_FORM_AGE)
    except signing.BadSignature:
        return None
    return str(data["k"]), int(data["t"])


class FollowUpForm(VersionForm):
    token = forms.CharField(widget=forms.HiddenInput)
    #: Shown only when the intervention already has a follow-up on the date (views.create).
    same_day = forms.BooleanField(
        required=False,
        label=_("Ja, det här är en ny uppföljning, inte samma samtal en gång till"),
    )
    status = RadioChoice(
        choices=FollowUpStatus.choices,
        label=_("Hur gick uppföljningen?"),
        required=True,
        error_messages={
            "required": _("Välj om uppföljningen genomfördes, avböjdes eller inte nådde klienten.")
        },
    )
    date = forms.DateField(
        label=_("Datum för uppföljningen"),
        help_text=_("ÅÅÅÅ-MM-DD"),
        # A text field, not type=date: Chromium's date field takes a Tab per part (year, month,
        # day), three Tabs to pass a date that is usually today's (issue 17 point 4).
        widget=forms.DateInput(
            format="%Y-%m-%d", attrs={"inputmode": "numeric", "autocomplete": "off", "size": "10"}
        ),
        error_messages={"required": _("Ange datum."), "invalid": _("Ange datum som ÅÅÅÅ-MM-DD.")},
    )
    assessment = RadioChoice(choices=Assessment.choices, label=_("Samlad bedömning av utföraren"))
    #: Asked only when a completed follow-up has none of the client's answers (issue 17 point 2).
    no_answer_reason = RadioChoice(
        choices=NoAnswerReason.choices,
        label=_("Ingen av klientens frågor är besvarad. Varför?"),
    )

    def __init__(
        self,
        *args: Any,
        intervention: Intervention,
        version: InstrumentVersion,
        catalogue: Catalogue,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, version=version, provider_name=intervention.provider.name, **kwargs)
        self.intervention, self.catalogue = intervention, catalogue
        self.checked: CheckedFollowUp | None = None
        for code, text in GUIDING_QUESTIONS.items():
            self.fields[code] = RadioChoice(choices=GuidingAnswer.choices, label=text)
        self.with_goals = intervention.ended_on is not None
        if self.with_goals:
            for name, label in GOAL_LABELS.items():
                self.fields[name] = forms.IntegerField(
                    label=label,
                    required=False,
                    min_value=0,
                    max_value=999,
                    widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
                )
        # The assessment and guiding questions come after the client's questions.
        order = ["token", "status", "date", "respondent", *self.question_order()]
        self.order_fields([*order, "no_answer_reason", "assessment", *GUIDING_QUESTIONS, *GOAL_LABELS])

    def guiding_fields(self) -> list[forms.BoundField]:
        return [self[code] for code in GUIDING_QUESTIONS]

    def goal_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in GOAL_LABELS] if self.with_goals else []

    def clean_token(self) -> str:
        token = self.cleaned_data["token"]
        if read_token(token) is None:
            raise forms.ValidationError(_("Formuläret är för gammalt eller skadat. Ladda om sidan."))
        return str(token)

    def raw(self) -> dict[str, str]:
        """The submission in interchange columns, as text (what the shared rules read)."""
        data = self.cleaned_data
        raw = {
            "followup_id": self.followup_id(),
            "date": data["date"].isoformat() if data.get("date") else "",
            "instrument": self.version.key,
            "minutes": str(self.minutes() or ""),
        }
        for name in (
            "respondent",
            "status",
            "assessment",
            *GUIDING_QUESTIONS,
            *self.catalogue.question_codes,
        ):
            raw[name] = str(data.get(name) or "")
        for name in GOAL_COLUMNS if self.with_goals else ():
            raw[name] = "" if data.get(name) is None else str(data[name])
        return raw

    def followup_id(self) -> str:
        from utfall.followups.services import new_followup_id

        return new_followup_id()

    def seconds_open(self) -> int | None:
        parsed = read_token(self.data.get(self.add_prefix("token"), ""))
        if parsed is None:
            return None
        return max(0, int(timezone.now().timestamp()) - parsed[1])

    def minutes(self) -> int | None:
        seconds = self.seconds_open()
        return None if seconds is None else min(600, max(1, round(seconds / 60)))

    def idempotency_key(self) -> str:
        parsed = read_token(self.cleaned_data["token"])
        assert parsed is not None
        return parsed[0]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        checked, issues = check_followup_submission(
            self.raw(), intervention=self.intervention, catalogue=self.catalogue, with_goals=self.with_goals
        )
        for column, _reason, said in issues:
            self.add_error(column if column in self.fields else None, said)
        if (
            not issues
            and checked.record["status"] == FollowUpStatus.COMPLETED
            and not checked.record["answers"]
            and not cleaned.get("no_answer_reason")
        ):
            # Saved silently, it would count as a follow-up with the client's answers.
            self.add_error(
                "no_answer_reason",
                _(
                    "Uppföljningen är markerad som genomförd men ingen av klientens frågor är "
                    "besvarad. Fyll i svaren, eller välj varför klienten inte svarade."
                ),
            )
        self.checked = checked
        return cleaned

    def asks_no_answer_reason(self) -> bool:
        """The question is shown once it is needed (an error) or answered, never in the way."""
        return bool(self.is_bound and (self["no_answer_reason"].errors or self["no_answer_reason"].value()))


class CorrectionForm(FollowUpForm):
    """The same form, filled with the current version, plus why it is corrected."""

    asks_feedback = False  # feedback is given once, when the follow-up is recorded

    base_version = forms.IntegerField(widget=forms.HiddenInput)
    reason = forms.CharField(
        label=_("Varför rättas uppföljningen?"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=1000,
        error_messages={"required": _("Skriv varför uppföljningen rättas.")},
    )

    def __init__(self, *args: Any, followup: FollowUp, **kwargs: Any) -> None:
        self.followup = followup
        super().__init__(*args, **kwargs)
        self.order_fields([*self.fields, "reason"])

    def clean_reason(self) -> str:
        reason = str(self.cleaned_data["reason"])
        if contains_identity_number(reason):
            raise forms.ValidationError(_("Skälet %(refused)s.") % {"refused": IDENTITY_NUMBER_REFUSED})
        return reason

    def followup_id(self) -> str:
        return self.followup.followup_id

    def minutes(self) -> int | None:
        return self.followup.minutes  # the correction does not change how long the follow-up took


def initial_for_correction(followup: FollowUp) -> dict[str, Any]:
    initial: dict[str, Any] = {
        "token": new_token(),
        "base_version": followup.version,
        "status": followup.status,
        "date": followup.date,
        "respondent": followup.respondent,
        "assessment": followup.assessment,
        "no_answer_reason": followup.no_answer_reason,
        "g1": followup.g1,
        "g2": followup.g2,
        "g3": followup.g3,
    }
    for answer in followup.answers.select_related("question", "option"):
        initial[answer.question.code] = answer.option.code
    intervention = followup.intervention
    for name in GOAL_COLUMNS:
        initial[name] = getattr(intervention, name)
    return initial
