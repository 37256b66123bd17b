"""Domain functions of instruments: comparability across versions and the editor's writes (a new
draft version, its definition, publishing). Pilot feedback, which counts follow-ups, is in
``utfall.followups.feedback``.

A draft is edited as its definition (the shape of the shipped YAML files, see
``loading.definition_of``); publishing freezes it (``PublishedVersionIsReadOnly``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
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
    """Which versions a question indicator counts: those whose question has the same series
    wording (its text, or the text an editorial change kept the meaning of) and the same
    positive and counted options as the reference version's (the newest published one, or the
    series asked for)."""

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

#: The series a results page asked for (``?serie=<code>@<n>``): instrument code → the published
#: version whose series its question indicators show instead of the newest's. Set for one
#: request by ``series_scope``; part of every cached count's key (``comparisons.cache``).
chosen_series: ContextVar[tuple[tuple[str, int], ...]] = ContextVar("utfall_chosen_series", default=())


@contextmanager
def series_scope(series: dict[str, int]) -> Iterator[None]:
    token = chosen_series.set(tuple(sorted(series.items())))
    try:
        yield
    finally:
        chosen_series.reset(token)


def published_series(municipality_id: int | None) -> list[InstrumentVersion]:
    """Published versions a results page may show the series of: those of instruments (shared or
    the municipality's own) with more than one published version."""
    from utfall.instruments.access import visible_versions

    versions = list(
        InstrumentVersion.objects.filter(
            visible_versions(municipality_id), status=InstrumentVersion.Status.PUBLISHED
        )
        .select_related("instrument")
        .order_by("instrument__code", "version")
    )
    counts: dict[int, int] = {}
    for v in versions:
        counts[v.instrument_id] = counts.get(v.instrument_id, 0) + 1
    return [v for v in versions if counts[v.instrument_id] > 1]


def _signature(text: str, options: list[tuple[str, bool, bool]]) -> Signature:
    """What must stay the same for an indicator to compare versions: the question text, the
    positive counted options and the counted options (options as (code, positive, counts))."""
    return (
        text.strip(),
        frozenset(code for code, positive, counts in options if positive and counts),
        frozenset(code for code, _positive, counts in options if counts),
    )


def _signature_of(question: Question) -> Signature:
    return _signature(
        question.series_wording, [(o.code, o.positive, o.counts) for o in question.options.all()]
    )


def comparability(instrument: str, question: str, series: dict[str, int] | None = None) -> Comparability:
    """The comparable versions of one question (one query on the tiny option table, read before
    the comparison's big query)."""
    return comparabilities([(instrument, question)], series)[(instrument, question)]


def comparabilities(
    pairs: list[tuple[str, str]], series: dict[str, int] | None = None
) -> dict[tuple[str, str], Comparability]:
    """``comparability`` for several (instrument, question) pairs in one query. ``series`` maps
    an instrument code to the published version whose series to show (default: the newest);
    a version without the question falls back to the newest."""
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
        "question__series_text",
        "question__version__version",
        "question__version__instrument__code",
        "question__code",
    )
    found: dict[tuple[str, str], dict[int, dict[str, Any]]] = {}
    for pk, code, positive, counts, question_id, text, series_text, number, instrument, question in rows:
        versions = found.setdefault((instrument, question), {})
        wording = (series_text or text).strip()
        entry = versions.setdefault(number, {"q": question_id, "text": wording, "options": []})
        entry["options"].append((pk, code, positive, counts))
    series = series if series is not None else dict(chosen_series.get())
    return {pair: _spans(pair[0], found.get(pair, {}), series.get(pair[0])) for pair in pairs}


def _spans(
    instrument: str, by_version: dict[int, dict[str, Any]], reference_version: int | None = None
) -> Comparability:
    out = Comparability([], [], [])
    if not by_version:
        return out

    def signature(entry: dict[str, Any]) -> Signature:
        return _signature(entry["text"], [(code, p, n) for _pk, code, p, n in entry["options"]])

    chosen = reference_version if reference_version in by_version else max(by_version)
    reference = signature(by_version[chosen])
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


# Editorial and substantive changes (docs/instruments.md) -----------------------------------

CHANGE_KINDS = ("editorial", "substantive")


def previous_published(version: InstrumentVersion) -> InstrumentVersion | None:
    """The newest published version before ``version`` (what a draft's changes are measured from)."""
    return (
        InstrumentVersion.objects.filter(
            instrument_id=version.instrument_id,
            status=InstrumentVersion.Status.PUBLISHED,
            version__lt=version.version,
        )
        .order_by("-version")
        .first()
    )


def previous_questions(version: InstrumentVersion) -> dict[str, Question]:
    previous = previous_published(version)
    return {q.code: q for q in previous.questions.all()} if previous is not None else {}


def classify(version: InstrumentVersion, questions: list[dict[str, Any]]) -> None:
    """Mark each question of a draft's definition by how its text changed from the previous
    published version's question of the same code, in place.

    Unchanged text: no change, and the series wording carries on. Changed text: ``change``
    ``editorial`` (same meaning: the question stays in its series and comparable; needs a
    ``change_reason``) or ``substantive`` (a new series; earlier answers are no longer compared
    with it). A changed text without a choice (the YAML editor) is substantive: the safe side,
    which the publish page then shows as lost history."""
    before = previous_questions(version)
    for q in questions:
        code = str(q["code"])
        prev = before.get(code)
        if prev is None or str(q["text"]).strip() == prev.text.strip():
            for key in ("change", "change_reason", "series_text"):
                q.pop(key, None)
            if prev is not None and prev.series_text:
                q["series_text"] = prev.series_text
            continue
        change = str(q.get("change") or "substantive")
        if change not in CHANGE_KINDS:
            raise DefinitionError(f"Fråga {code}: 'change' ska vara editorial eller substantive.")
        if change == "editorial":
            if not str(q.get("change_reason", "")).strip():
                raise DefinitionError(
                    f"Fråga {code}: skriv varför ändringen av frågetexten är redaktionell (change_reason)."
                )
            q["series_text"] = prev.series_text or prev.text
        else:
            q.pop("series_text", None)
        q["change"] = change


#: Set at start-up by ``utfall.comparisons`` (a higher layer, which knows the indicators and
#: counts answers): (instrument code, {question code: ids of the questions left out}) → rows
#: ``{"indicator", "name", "question", "versions", "answers"}``.
LossDescriber = Callable[[str, dict[str, list[int]]], list[dict[str, Any]]]
_describe_loss: LossDescriber | None = None


def set_loss_describer(describer: LossDescriber) -> None:
    global _describe_loss
    _describe_loss = describer


def history_loss(version: InstrumentVersion) -> list[dict[str, Any]]:
    """What publishing a draft leaves out of its indicators: per question, the published versions
    whose question is not comparable with the draft's (another series wording or other positive
    or counted options), and, with the comparisons app, per indicator the answers no longer
    counted. Empty when nothing is lost."""
    draft = {q.code: _signature_of(q) for q in version.questions.prefetch_related("options")}
    lost: dict[str, list[int]] = {}
    versions: dict[str, list[str]] = {}
    published = (
        Question.objects.filter(
            version__instrument_id=version.instrument_id,
            version__status=InstrumentVersion.Status.PUBLISHED,
            code__in=list(draft),
        )
        .select_related("version__instrument")
        .prefetch_related("options")
        .order_by("version__version")
    )
    for q in published:
        if _signature_of(q) != draft[q.code]:
            lost.setdefault(q.code, []).append(q.pk)
            versions.setdefault(q.code, []).append(q.version.key)
    if not lost:
        return []
    if _describe_loss is not None:
        return _describe_loss(version.instrument.code, lost)
    return [{"indicator": "", "name": "", "question": code, "versions": versions[code], "answers": None}
            for code in lost]  # fmt: skip


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
        questions = definition_of(source)["questions"]
        classify(draft, questions)  # the copy starts unchanged: the source's reasons stay with it
        write_questions(draft, questions)
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
    classify(version, questions)
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
    classify(version, questions)
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
