"""A follow-up file's valid rows checked without a ``RowChecker`` each (issue 13.2).

:func:`check_followup` is the rulebook; this is a shortcut for the rows it would accept. A
file's rows all have the same columns and repeat a handful of values (the instrument, the
respondent, the status, the dates, the options), so each distinct value is checked once per
file and remembered, and a row is read by column position, not through a dict. The shortcut
answers only "valid, and this is the record" or "don't know": every row it is not sure of
(any value it has not seen valid, anything that would be an issue) goes through
:func:`check_followup` as before, which gives the issues with their line and reason. So the
records are the same and the errors are the same; ``tests/records/test_followup_fast.py``
checks both against :func:`check_followup` on valid and broken rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from utfall.core.identity import contains_identity_number
from utfall.followups.models import Assessment, FollowUpStatus, GuidingAnswer
from utfall.instruments.models import Respondent
from utfall.records.rules import MAX_MINUTES, Catalogue, InstrumentInfo, Record

_RESPONDENTS = frozenset(Respondent.values)
_STATUSES = frozenset(FollowUpStatus.values)
_ASSESSMENTS = frozenset(Assessment.values)
_GUIDING = frozenset(GuidingAnswer.values)
_COMPLETED = str(FollowUpStatus.COMPLETED)
_ID_LENGTH = 60

FastCheck = Callable[[Sequence[str]], "Record | None"]


class _Instrument:
    """What a row needs of one instrument, by the file's column positions."""

    def __init__(self, info: InstrumentInfo, asked: list[tuple[int, str]]) -> None:
        self.info = info
        #: (position, code, options) of the file's question columns, in check_followup's order;
        #: options is None for a column the instrument does not ask (a value there is an issue).
        self.columns = [
            (i, code, info.questions[code].options if code in info.questions else None) for i, code in asked
        ]
        self.conditional = [
            (code, q.condition_question, q.condition_options)
            for code, q in info.questions.items()
            if q.condition_question
        ]


def compile_followup_check(header: Sequence[str], catalogue: Catalogue) -> FastCheck:
    """A function of a row's cells (in ``header``'s order) that returns the record
    :func:`~utfall.records.rules.check_followup` would, or ``None`` when that row needs the full
    check (it may have issues). ``header`` has passed the importer's column checks."""
    position = {column: i for i, column in enumerate(header)}
    today = catalogue.today

    def at(column: str) -> int | None:
        return position.get(column)

    i_fid, i_iid, i_date = at("followup_id"), at("intervention_id"), at("date")
    i_instrument, i_respondent, i_status = at("instrument"), at("respondent"), at("status")
    i_assessment, i_minutes = at("assessment"), at("minutes")
    i_guiding = [at("g1"), at("g2"), at("g3")]
    if None in (i_fid, i_iid, i_date, i_instrument, i_respondent, i_status):
        return lambda cells: None  # a required column is missing: the full check says so
    asked = [(position[code], code) for code in catalogue.question_codes if code in position]
    instruments: dict[str, _Instrument | None] = {}
    dates: dict[str, tuple[dt.date, str] | None] = {}

    def instrument_of(value: str) -> _Instrument | None:
        found = instruments.get(value, False)
        if found is False:
            info = catalogue.instruments.get(value)
            ok = info is not None and len(value) <= 200 and not contains_identity_number(value, today=today)
            found = instruments[value] = _Instrument(info, asked) if ok and info else None
        return found  # type: ignore[return-value]

    def date_of(value: str) -> tuple[dt.date, str] | None:
        found = dates.get(value, False)
        if found is False:
            found = None
            if len(value) == 10:
                try:
                    parsed = dt.date.fromisoformat(value)
                except ValueError:
                    parsed = None
                if parsed is not None and parsed <= today:
                    found = (parsed, parsed.isoformat())
            dates[value] = found
        return found  # type: ignore[return-value]

    def valid_id(value: str) -> bool:
        return bool(value) and len(value) <= _ID_LENGTH and not contains_identity_number(value, today=today)

    def check(cells: Sequence[str]) -> Record | None:
        instrument_key = cells[i_instrument].strip()  # type: ignore[index]
        instrument = instrument_of(instrument_key)
        if instrument is None:
            return None
        info = instrument.info
        respondent = cells[i_respondent].strip()  # type: ignore[index]
        status = cells[i_status].strip()  # type: ignore[index]
        if respondent not in _RESPONDENTS or respondent not in info.respondents or status not in _STATUSES:
            return None
        answers: dict[str, str] = {}
        for index, code, options in instrument.columns:
            value = cells[index].strip()
            if not value:
                continue
            if options is None or value not in options:
                return None
            answers[code] = value
        if answers and status != _COMPLETED:
            return None
        for code, condition, allowed in instrument.conditional:
            if code in answers and answers.get(condition) not in allowed:
                return None
        assessment = cells[i_assessment].strip() if i_assessment is not None else ""
        if assessment:
            if assessment not in _ASSESSMENTS:
                return None
        elif status == _COMPLETED:
            return None
        date = date_of(cells[i_date].strip())  # type: ignore[index]
        if date is None or (info.valid_from and date[0] < info.valid_from):
            return None
        followup_id = cells[i_fid].strip()  # type: ignore[index]
        intervention_id = cells[i_iid].strip()  # type: ignore[index]
        if not valid_id(followup_id) or not valid_id(intervention_id):
            return None
        guiding = []
        for at_guiding in i_guiding:
            value = cells[at_guiding].strip() if at_guiding is not None else ""
            if value and value not in _GUIDING:
                return None
            guiding.append(value)
        minutes = cells[i_minutes].strip() if i_minutes is not None else ""
        if minutes:
            if not (minutes.isascii() and minutes.isdigit()) or int(minutes) > MAX_MINUTES:
                return None
            minutes = str(int(minutes))
        return {
            "followup_id": followup_id,
            "intervention_id": intervention_id,
            "date": date[1],
            "instrument": instrument_key,
            "respondent": respondent,
            "status": status,
            "answers": answers,
            "assessment": assessment,
            "g1": guiding[0],
            "g2": guiding[1],
            "g3": guiding[2],
            "minutes": minutes,
        }

    return check
