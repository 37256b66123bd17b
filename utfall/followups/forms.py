"""The follow-up form, generated from the instrument version's questions (never per instrument).

Field names are the interchange column names (status, respondent, q1…, assessment, g1…),
so the shared rules' issues land on the field they name.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.core import signing
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from utfall.followups.models import Assessment, FollowUp, FollowUpStatus, GuidingAnswer, Respondent
from utfall.followups.services import GOAL_COLUMNS, CheckedFollowUp, check_followup_submission
from utfall.instruments.models import InstrumentVersion, Question
from utfall.records.rules import Catalogue
from utfall.registry.models import Intervention

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

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


def question_text(question: Question, provider_name: str) -> str:
    return question.text.replace("{provider}", provider_name)


class RadioChoice(forms.ChoiceField):
    widget = forms.RadioSelect

    def __init__(self, *, choices: Any, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(choices=choices, **kwargs)


class FollowUpForm(forms.Form):
    #: A checkbox per question: "the client found the question hard to understand" (pilot feedback).
    asks_feedback = True
    token = forms.CharField(widget=forms.HiddenInput)
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
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"required": _("Ange datum."), "invalid": _("Ange datum som ÅÅÅÅ-MM-DD.")},
    )
    respondent = RadioChoice(
        choices=Respondent.choices,
        label=_("Vem svarar?"),
        required=True,
        error_messages={"required": _("Välj vem som svarar.")},
    )
    assessment = RadioChoice(choices=Assessment.choices, label=_("Samlad bedömning av utföraren"))

    def __init__(
        self,
        *args: Any,
        intervention: Intervention,
        version: InstrumentVersion,
        catalogue: Catalogue,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.intervention, self.version, self.catalogue = intervention, version, catalogue
        self.checked: CheckedFollowUp | None = None
        cast(forms.ChoiceField, self.fields["respondent"]).choices = [
            c for c in Respondent.choices if c[0] in version.respondents
        ]
        self.questions = list(version.questions.all())
        for q in self.questions:
            field = RadioChoice(
                choices=[(o.code, o.label) for o in q.options.all()],
                label=question_text(q, intervention.provider.name),
                help_text=q.help_text.replace("{provider}", intervention.provider.name),
            )
            field.condition = (q.condition_question, list(q.condition_options))  # type: ignore[attr-defined]
            field.condition_hint = self._condition_hint(q)  # type: ignore[attr-defined]
            self.fields[q.code] = field
            if self.asks_feedback:
                self.fields[f"hard_{q.code}"] = forms.BooleanField(
                    required=False, label=_("Klienten tyckte att frågan var svår att förstå")
                )
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
        order = ["token", "status", "date", "respondent"]
        for q in self.questions:
            order += [q.code, f"hard_{q.code}"] if self.asks_feedback else [q.code]
        self.order_fields([*order, "assessment", *GUIDING_QUESTIONS, *GOAL_LABELS])

    def _condition_hint(self, question: Question) -> str:
        """'Asked only when question 4 is answered: Much better, Somewhat better' (shown
        without JavaScript, where the form cannot hide the question)."""
        if not question.condition_question:
            return ""
        earlier = {q.code: (n, q) for n, q in enumerate(self.questions, start=1)}
        number, target = earlier.get(question.condition_question, (None, None))
        if target is None:
            return ""
        labels = [o.label for o in target.options.all() if o.code in question.condition_options]
        return _("Frågan ställs bara när fråga %(n)s besvaras med: %(answers)s.") % {
            "n": number,
            "answers": ", ".join(labels),
        }

    @property
    def questions_heading(self) -> StrOrPromise:
        """Step 1's heading names who answers: the client, the guardian, or either."""
        respondents = set(self.version.respondents)
        if respondents == {Respondent.GUARDIAN}:
            return _("Steg 1: Frågor till vårdnadshavaren")
        if respondents == {Respondent.CLIENT}:
            return _("Steg 1: Frågor till klienten")
        return _("Steg 1: Frågor till den som svarar")

    # Groups for the template, in the order of the conversation.
    def question_fields(self) -> list[forms.BoundField]:
        return [self[q.code] for q in self.questions]

    def question_rows(self) -> list[tuple[forms.BoundField, forms.BoundField | None, str]]:
        """(answer field, "hard to understand" field, method-support link) per question."""
        from django.urls import reverse

        # The method support of the very version answered (a draft's, in the editor's preview).
        guidance = reverse("instruments:guidance", args=[self.version.instrument.code])
        guidance += f"?version={self.version.version}"
        return [
            (
                self[q.code],
                self[f"hard_{q.code}"] if self.asks_feedback else None,
                f"{guidance}#fraga-{q.code}",
            )
            for q in self.questions
        ]

    def hard_questions(self) -> list[str]:
        """Codes of the questions the caseworker marked as hard for the client to understand."""
        if not self.asks_feedback:
            return []
        return [q.code for q in self.questions if self.cleaned_data.get(f"hard_{q.code}")]

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
        for column, reason in issues:
            self.add_error(column if column in self.fields else None, reason)
        self.checked = checked
        return cleaned


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
