"""An instrument version as form fields: who answers, its questions, their conditions.

The builder that turns a version into fields belongs to the instruments (a catalogue below
the follow-ups); the follow-up form (``utfall.followups.forms``) is built on it and adds
what every follow-up asks besides (status, date, the overall assessment, goals). Field
names are the question codes, which are also the interchange columns.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from utfall.instruments.models import InstrumentVersion, Question, Respondent

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


def question_text(question: Question, provider_name: str) -> str:
    return question.text.replace("{provider}", provider_name)


class RadioChoice(forms.ChoiceField):
    widget = forms.RadioSelect

    def __init__(self, *, choices: Any, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(choices=choices, **kwargs)


class VersionForm(forms.Form):
    """The questions of one instrument version, asked about one provider.

    ``respondent`` offers only the version's respondents; each question is a radio field
    named by its code, with its condition (shown as a hint without JavaScript) and, when
    ``asks_feedback``, a checkbox "the client found the question hard to understand".
    """

    #: A checkbox per question: "the client found the question hard to understand" (pilot feedback).
    asks_feedback = True
    respondent = RadioChoice(
        choices=Respondent.choices,
        label=_("Vem svarar?"),
        required=True,
        error_messages={"required": _("Välj vem som svarar.")},
    )

    def __init__(self, *args: Any, version: InstrumentVersion, provider_name: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.version = version
        cast(forms.ChoiceField, self.fields["respondent"]).choices = [
            c for c in Respondent.choices if c[0] in version.respondents
        ]
        self.questions = list(version.questions.all())
        for q in self.questions:
            field = RadioChoice(
                choices=[(o.code, o.label) for o in q.options.all()],
                label=question_text(q, provider_name),
                help_text=q.help_text.replace("{provider}", provider_name),
            )
            field.condition = (q.condition_question, list(q.condition_options))  # type: ignore[attr-defined]
            field.condition_hint = self._condition_hint(q)  # type: ignore[attr-defined]
            self.fields[q.code] = field
            if self.asks_feedback:
                self.fields[f"hard_{q.code}"] = forms.BooleanField(
                    required=False, label=_("Klienten tyckte att frågan var svår att förstå")
                )

    def question_order(self) -> list[str]:
        """The question fields' names in the order of the conversation (for ``order_fields``)."""
        order: list[str] = []
        for q in self.questions:
            order += [q.code, f"hard_{q.code}"] if self.asks_feedback else [q.code]
        return order

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

    @property
    def guidance_url(self) -> str:
        """The method support of the very version answered, all its questions on one page."""
        from django.urls import reverse

        url = reverse("instruments:guidance", args=[self.version.instrument.code])
        return f"{url}?version={self.version.version}"

    def hard_marked(self) -> bool:
        """Whether any "hard to understand" box is ticked (the group then opens by itself)."""
        return self.asks_feedback and any(self[f"hard_{q.code}"].value() for q in self.questions)

    def hard_questions(self) -> list[str]:
        """Codes of the questions the caseworker marked as hard for the client to understand."""
        if not self.asks_feedback:
            return []
        return [q.code for q in self.questions if self.cleaned_data.get(f"hard_{q.code}")]
