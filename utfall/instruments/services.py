"""Domain functions of instruments: comparability across versions and the editor's writes (a new
draft version, its definition, publishing). Pilot feedback, which counts follow-ups, is in
``utfall.followups.feedback``.

A draft is edited as its definition (the shape of the shipped YAML files, see
``loading.definition_of``); publishing freezes it (``PublishedVersionIsReadOnly``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from utfall.instruments.loading import definition_of, write_questions
from utfall.instruments.models import (
    Instrument,
    InstrumentVersion,
    Option,
    PublishedVersionIsReadOnly,
    Question,
)

# Comparability across versions -------------------------------------------------------------


@dataclass
class Comparability:
    """Which versions a question indicator counts: those whose question has the same text and the
    same positive and counted options as the newest published version's."""

    included: list[str]
    excluded: list[str]
    question_ids: list[int]
    counting_option_ids: list[int] = field(default_factory=list)
    positive_option_ids: list[int] = field(default_factory=list)

    @property
    def note(self) -> str:
        if not self.excluded:
            return ""
        return (
            f"Räknar bara {', '.join(self.included)}; {', '.join(self.excluded)} har en annan "
            "frågetext eller andra positiva svar och är inte jämförbar."
        )

    def as_json(self) -> dict[str, Any]:
        return {"versions": self.included, "excluded_versions": self.excluded, "note": self.note}


Signature = tuple[str, frozenset[str], frozenset[str]]


def _signature(text: str, options: list[tuple[str, bool, bool]]) -> Signature:
    """What must stay the same for an indicator to compare versions: the question text, the
    positive counted options and the counted options (options as (code, positive, counts))."""
    return (
        text.strip(),
        frozenset(code for code, positive, counts in options if positive and counts),
        frozenset(code for code, _positive, counts in options if counts),
    )


def _signature_of(question: Question) -> Signature:
    return _signature(question.text, [(o.code, o.positive, o.counts) for o in question.options.all()])


def comparability(instrument: str, question: str) -> Comparability:
    """The comparable versions of one question (one query on the tiny option table, read before
    the comparison's big query)."""
    return comparabilities([(instrument, question)])[(instrument, question)]


def comparabilities(pairs: list[tuple[str, str]]) -> dict[tuple[str, str], Comparability]:
    """``comparability`` for several (instrument, question) pairs in one query."""
    instruments = {i for i, _ in pairs}
    codes = {q for _, q in pairs}
    rows = Option.objects.filter(
        question__version__instrument__code__in=instruments,
        question__version__status=InstrumentVersion.Status.PUBLISHED,
        question__code__in=codes,
    ).values_list(
        "pk",
        "code",
        "positive",
        "counts",
        "question_id",
        "question__text",
        "question__version__version",
        "question__version__instrument__code",
        "question__code",
    )
    found: dict[tuple[str, str], dict[int, dict[str, Any]]] = {}
    for pk, code, positive, counts, question_id, text, number, instrument, question in rows:
        versions = found.setdefault((instrument, question), {})
        entry = versions.setdefault(number, {"q": question_id, "text": text.strip(), "options": []})
        entry["options"].append((pk, code, positive, counts))
    return {pair: _spans(pair[0], found.get(pair, {})) for pair in pairs}


def _spans(instrument: str, by_version: dict[int, dict[str, Any]]) -> Comparability:
    out = Comparability([], [], [])
    if not by_version:
        return out

    def signature(entry: dict[str, Any]) -> Signature:
        return _signature(entry["text"], [(code, p, n) for _pk, code, p, n in entry["options"]])

    reference = signature(by_version[max(by_version)])
    for number in sorted(by_version):
        entry = by_version[number]
        key = f"{instrument}@{number}"
        if signature(entry) != reference:
            out.excluded.append(key)
            continue
        out.included.append(key)
        out.question_ids.append(entry["q"])
        out.counting_option_ids += [pk for pk, _, _p, n in entry["options"] if n]
        out.positive_option_ids += [pk for pk, _, p, n in entry["options"] if p and n]
    return out


# The editor --------------------------------------------------------------------------------


class DefinitionError(ValueError):
    """A draft's definition is not valid; the message says where."""


@transaction.atomic
def create_local_instrument(*, municipality: Any, code: str, name: str) -> Instrument:
    """A municipality's own instrument (seen and used only there) with an empty draft version 1."""
    instrument = Instrument.objects.create(code=code, name=name, municipality=municipality)
    InstrumentVersion.objects.create(instrument=instrument, version=1, respondents=["client"])
    return instrument


@transaction.atomic
def new_version(*, instrument: Instrument, source: InstrumentVersion | None = None) -> InstrumentVersion:
    """A draft with the next version number, copied from ``source`` (default: the newest version)."""
    instrument = Instrument.objects.select_for_update().get(pk=instrument.pk)
    versions = instrument.versions.order_by("-version")
    source = source or versions.first()
    number = (versions.values_list("version", flat=True).first() or 0) + 1
    draft = InstrumentVersion.objects.create(
        instrument=instrument, version=number, respondents=list(source.respondents) if source else ["client"]
    )
    if source is not None:
        draft.services.set(source.services.all())
        write_questions(draft, definition_of(source)["questions"])
    return draft


def check_definition(data: Any) -> list[dict[str, Any]]:
    """The questions of a definition, checked; raises DefinitionError with a Swedish message."""
    if not isinstance(data, dict) or not isinstance(data.get("questions"), list) or not data["questions"]:
        raise DefinitionError("Definitionen ska ha en lista 'questions' med minst en fråga.")
    seen: dict[str, set[str]] = {}
    for n, q in enumerate(data["questions"], start=1):
        if not isinstance(q, dict) or not q.get("code") or not q.get("text"):
            raise DefinitionError(f"Fråga {n}: 'code' och 'text' krävs.")
        code = str(q["code"])
        if code in seen:
            raise DefinitionError(f"Fråga {n}: koden '{code}' finns redan.")
        options = q.get("options")
        if not isinstance(options, list) or len(options) < 2:
            raise DefinitionError(f"Fråga {code}: minst två svarsalternativ ('options') krävs.")
        codes = set()
        for o in options:
            if not isinstance(o, dict) or not o.get("code") or not o.get("label"):
                raise DefinitionError(f"Fråga {code}: varje svarsalternativ behöver 'code' och 'label'.")
            codes.add(str(o["code"]))
        if len(codes) != len(options):
            raise DefinitionError(f"Fråga {code}: två svarsalternativ har samma kod.")
        condition = q.get("condition")
        if condition:
            target = seen.get(str(condition.get("question", "")))
            if target is None:
                raise DefinitionError(f"Fråga {code}: villkoret ska gälla en tidigare fråga.")
            unknown = {str(c) for c in condition.get("in", [])} - target
            if unknown or not condition.get("in"):
                raise DefinitionError(f"Fråga {code}: villkorets svar finns inte i den frågan.")
        seen[code] = codes
    return list(data["questions"])


def _replace_questions(version: InstrumentVersion, questions: list[dict[str, Any]]) -> None:
    Option.objects.filter(question__version=version).delete()
    version.questions.all().delete()
    write_questions(version, questions)


def _set_settings(version: InstrumentVersion, respondents: list[str], services: list[Any]) -> None:
    version.respondents = respondents
    version.save(update_fields=["respondents"])
    version.services.set(services)


@transaction.atomic
def replace_definition(
    *,
    version: InstrumentVersion,
    questions: list[dict[str, Any]],
    respondents: list[str],
    services: list[Any],
) -> None:
    """Replace a draft's questions, respondents and services (a published version raises)."""
    version = _draft(version)
    _replace_questions(version, questions)
    _set_settings(version, respondents, services)


def codes_taken_elsewhere(instrument: Instrument, codes: list[str]) -> list[str]:
    """Question codes already used by another instrument (the follow-ups file has one column
    per code, shared by all instruments)."""
    return sorted(
        set(
            Question.objects.filter(code__in=codes)
            .exclude(version__instrument=instrument)
            .values_list("code", flat=True)
        )
    )


def _draft(version: InstrumentVersion) -> InstrumentVersion:
    locked = InstrumentVersion.objects.select_for_update().select_related("instrument").get(pk=version.pk)
    if locked.is_read_only:
        raise PublishedVersionIsReadOnly(f"{locked} är publicerad och kan inte ändras")
    return locked


def _rewrite(version: InstrumentVersion, questions: list[dict[str, Any]]) -> None:
    """Check the whole draft as it would become, then store it (nothing changes on an error)."""
    check_definition({"questions": questions})
    taken = codes_taken_elsewhere(version.instrument, [str(q["code"]) for q in questions])
    if taken:
        raise DefinitionError(f"Frågekoden används redan i ett annat frågeformulär: {', '.join(taken)}")
    _replace_questions(version, questions)


@transaction.atomic
def save_question(*, version: InstrumentVersion, original: str | None, question: dict[str, Any]) -> None:
    """Add a question to a draft (``original`` None: last) or replace the one coded ``original``
    in place. Conditions on it follow a changed code."""
    version = _draft(version)
    questions = definition_of(version)["questions"]
    codes = [q["code"] for q in questions]
    if original is None:
        questions.append(question)
    else:
        if original not in codes:
            raise DefinitionError(f"Frågan '{original}' finns inte i utkastet.")
        questions[codes.index(original)] = question
        if question["code"] != original:
            for q in questions:
                if (q.get("condition") or {}).get("question") == original:
                    q["condition"]["question"] = question["code"]
    _rewrite(version, questions)


@transaction.atomic
def delete_question(*, version: InstrumentVersion, code: str) -> None:
    version = _draft(version)
    questions = definition_of(version)["questions"]
    dependent = [q["code"] for q in questions if (q.get("condition") or {}).get("question") == code]
    if dependent:
        raise DefinitionError(
            f"Frågan {code} kan inte tas bort: {', '.join(dependent)} ställs bara vid vissa svar på den. "
            "Ta bort eller ändra villkoret först."
        )
    remaining = [q for q in questions if q["code"] != code]
    if len(remaining) == len(questions):
        raise DefinitionError(f"Frågan '{code}' finns inte i utkastet.")
    if not remaining:
        raise DefinitionError("Ett utkast behöver minst en fråga.")
    _rewrite(version, remaining)


@transaction.atomic
def move_question(*, version: InstrumentVersion, code: str, step: int) -> None:
    """Move a question one place up (step −1) or down (+1); a condition must stay on an earlier question."""
    version = _draft(version)
    questions = definition_of(version)["questions"]
    codes = [q["code"] for q in questions]
    if code not in codes:
        raise DefinitionError(f"Frågan '{code}' finns inte i utkastet.")
    i = codes.index(code)
    j = i + step
    if not 0 <= j < len(questions):
        return
    questions[i], questions[j] = questions[j], questions[i]
    try:
        check_definition({"questions": questions})
    except DefinitionError:
        raise DefinitionError(
            f"Frågan {code} kan inte flyttas dit: en fråga med villkor måste komma efter frågan villkoret gäller."
        ) from None
    _rewrite(version, questions)


@transaction.atomic
def update_settings(*, version: InstrumentVersion, respondents: list[str], services: list[Any]) -> None:
    _set_settings(_draft(version), respondents, services)


@transaction.atomic
def delete_draft(*, version: InstrumentVersion) -> None:
    """Throw a draft away (a published version raises: answers may refer to it)."""
    version = _draft(version)
    _replace_questions(version, [])
    version.delete()


@transaction.atomic
def publish(*, version: InstrumentVersion, published_on: dt.date) -> InstrumentVersion:
    """Publish a draft from ``published_on``; from then on it is read-only."""
    version = InstrumentVersion.objects.select_for_update().get(pk=version.pk)
    if version.is_read_only:
        raise PublishedVersionIsReadOnly(f"{version} är redan publicerad")
    if not version.questions.exists():
        raise DefinitionError("En version utan frågor kan inte publiceras.")
    version.status = InstrumentVersion.Status.PUBLISHED
    version.published_on = published_on
    version.save(update_fields=["status", "published_on"])
    return version


def differences(version: InstrumentVersion) -> list[str]:
    """Codes of the version's questions whose indicator would not be comparable with the previous
    published version (new question, other text, other positive or counted options)."""
    previous = (
        InstrumentVersion.objects.filter(
            instrument=version.instrument,
            status=InstrumentVersion.Status.PUBLISHED,
            version__lt=version.version,
        )
        .order_by("-version")
        .first()
    )
    if previous is None:
        return []
    before = {q.code: _signature_of(q) for q in previous.questions.prefetch_related("options")}
    return [
        q.code
        for q in version.questions.prefetch_related("options")
        if before.get(q.code) != _signature_of(q)
    ]
