"""The rules of a valid record: each raw row becomes a canonical record or a list of issues.

This is the domain's rulebook. The follow-up and intervention forms, the API and the
interchange (import) all check what they are given here, with the column names of
interchange v1, so a record made anywhere exports and re-imports unchanged.

A canonical record holds the row's values as the export writes them (ISO dates, plain
integers, identity numbers replaced by ``pseudo:<pseudonym>``), so that "the same row as
stored" is a comparison of two dicts. References to other records are checked later, by
the importer, against the whole set and the database.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml
from django.utils import timezone
from django.utils.translation import gettext as _

from utfall.core.identity import (
    IDENTITY_NUMBER_REFUSED,
    InvalidIdentityNumber,
    contains_identity_number,
    luhn_ok,
    parse_identity_number,
)
from utfall.core.pseudonyms import PSEUDONYM_PREFIX, PSEUDONYM_RE, pseudonymise
from utfall.followups.models import Assessment, FollowUpStatus, GuidingAnswer
from utfall.instruments.models import Respondent
from utfall.registry.models import ContractForm, EndReason, Ownership, PriceUnit, Sex

Record = dict[str, Any]
_ORG_NUMBER = re.compile(r"^(\d{6})-?(\d{4})$")
MAX_MINUTES = 600
#: Nobody born before this year receives an intervention; an earlier year is a typing error
#: (a wrong century). Decided 2026-12-02, issue 17 point 6.
EARLIEST_BIRTH_YEAR = 1910
# Choices' .values builds a new list on every call; rows are checked by the ten thousand.
_VALUES = {
    enum: tuple(enum.values)
    for enum in (
        Ownership,
        ContractForm,
        Sex,
        EndReason,
        Respondent,
        FollowUpStatus,
        Assessment,
        GuidingAnswer,
        PriceUnit,
    )
}
#: Interchange v1.1: optional columns of a contracts file (docs/interchange.md). A file
#: without them is a v1 file and leaves what is stored for them as it is.
CONTRACT_V11 = ("extension_options", "price", "price_unit", "value", "manager", "targets")
_TARGET = re.compile(r"^([a-z0-9_]+):(0(?:\.\d{1,3})?|1(?:\.0{1,3})?):(\d{1,5})$")


@dataclass(frozen=True)
class Issue:
    """One reason a row (or file) cannot be imported, as ``file:line: column: reason``."""

    file: str
    line: int
    column: str
    reason: str
    #: The reason in words for a person at a form (field labels, the page's language); the
    #: ``reason`` names columns, for the interchange's audience. Empty when they say the same.
    said: str = ""

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.column}: {self.reason}"

    @property
    def for_person(self) -> str:
        return self.said or self.reason


@dataclass
class QuestionInfo:
    pk: int
    options: dict[str, int]
    condition_question: str
    condition_options: frozenset[str]


@dataclass
class InstrumentInfo:
    pk: int
    key: str
    respondents: frozenset[str]
    services: frozenset[str]
    questions: dict[str, QuestionInfo] = field(default_factory=dict)
    #: The version is valid for follow-ups on and after this date (its publication date).
    valid_from: dt.date | None = None


@dataclass
class Catalogue:
    """What rows are checked against that does not change during an import."""

    today: dt.date
    services: dict[str, int]
    instruments: dict[str, InstrumentInfo]
    #: Indicator codes an outcome target may name (interchange v1.1 ``targets``).
    indicators: frozenset[str] = frozenset()

    #: question_columns' answers by the row's columns (a file's rows all have the same ones).
    _columns: dict[tuple[str, ...], list[str]] = field(default_factory=dict, repr=False, compare=False)

    @cached_property
    def question_codes(self) -> list[str]:
        return sorted({code for info in self.instruments.values() for code in info.questions})

    def question_columns(self, raw: dict[str, str]) -> list[str]:
        """The question codes among ``raw``'s columns, in ``question_codes``' order."""
        key = tuple(raw)
        found = self._columns.get(key)
        if found is None:
            found = self._columns[key] = [code for code in self.question_codes if code in raw]
        return found


def load_catalogue(today: dt.date, municipality_id: int | None = None) -> Catalogue:
    """The services and the published instrument versions a municipality may use: the shared
    instruments and its own local ones, never another municipality's (docs/access.md)."""
    from utfall.instruments.access import visible_versions
    from utfall.instruments.models import InstrumentVersion, Option, Question
    from utfall.registry.models import Service

    instruments: dict[str, InstrumentInfo] = {}
    versions = InstrumentVersion.objects.filter(
        visible_versions(municipality_id), status=InstrumentVersion.Status.PUBLISHED
    )
    for v in versions.select_related("instrument").prefetch_related("services"):
        instruments[v.key] = InstrumentInfo(
            pk=v.pk,
            key=v.key,
            respondents=frozenset(v.respondents),
            services=frozenset(s.code for s in v.services.all()),
            valid_from=v.published_on,
        )
    by_pk = {info.pk: info for info in instruments.values()}
    questions: dict[int, QuestionInfo] = {}
    for q in Question.objects.filter(version__in=list(by_pk)).order_by("version", "position"):
        questions[q.pk] = QuestionInfo(q.pk, {}, q.condition_question, frozenset(q.condition_options))
        by_pk[q.version_id].questions[q.code] = questions[q.pk]
    for o in Option.objects.filter(question__in=list(questions)).values("pk", "code", "question"):
        questions[o["question"]].options[o["code"]] = o["pk"]
    services = dict(Service.objects.values_list("code", "pk"))
    return Catalogue(today=today, services=services, instruments=instruments, indicators=indicator_codes())


INDICATOR_DEFINITIONS = Path(__file__).resolve().parents[1] / "comparisons" / "definitions"


@functools.cache
def indicator_codes() -> frozenset[str]:
    """The indicator codes of the shipped definitions. Read as data from the comparisons'
    YAML files (the records layer may not import comparisons, docs/architecture.md), once per
    process: the files ship with the package, and parsing them took ~25 ms of every API
    submission and form (issue 13 point 3, docs/performance.md "Load and faults")."""
    codes: set[str] = set()
    for path in sorted(INDICATOR_DEFINITIONS.glob("indicators-v*.yaml")):
        codes.update(e["code"] for e in yaml.safe_load(path.read_text(encoding="utf-8"))["indicators"])
    return frozenset(codes)


def catalogue_for(today: dt.date | None = None, *, municipality_id: int | None = None) -> Catalogue:
    """The municipality's catalogue as of ``today`` (default: the local date), for a form or an
    API call (without a municipality: the shared instruments only)."""
    return load_catalogue(today or timezone.localdate(), municipality_id)


def shown(value: str) -> str:
    """A value as an error message may repeat it: quoted and at most 40 characters, and not at
    all when it holds an identity number (then the message names only the column)."""
    if contains_identity_number(value):
        return "(värdet visas inte: det liknar ett personnummer)"
    return "'" + (value if len(value) <= 40 else value[:37] + "…") + "'"


class RowChecker:
    """Collects the issues of one row while its values are read."""

    def __init__(
        self, file: str, line: int, raw: dict[str, str], catalogue: Catalogue, *, municipality_code: str = ""
    ) -> None:
        self.file, self.line, self.raw, self.catalogue = file, line, raw, catalogue
        #: Whose pseudonym an identity number becomes (each municipality has its own key).
        self.municipality_code = municipality_code
        self.issues: list[Issue] = []

    def fail(self, column: str, reason: str, said: str = "") -> None:
        """Record an issue: ``reason`` names columns (interchange); ``said`` is the same in
        words for a form, with the fields' labels (issue 17 point 1)."""
        self.issues.append(Issue(self.file, self.line, column, reason, said))

    def text(self, column: str, *, required: bool = False, max_length: int = 200, screen: bool = True) -> str:
        """The column's text. Ids and names are screened: nothing in them may parse as an
        identity number (DESIGN.md invariant 1); the reason does not repeat the value."""
        value = self.raw.get(column, "").strip()
        if required and not value:
            self.fail(column, "värde saknas (obligatorisk kolumn)")
        elif len(value) > max_length:
            self.fail(column, f"för långt värde ({len(value)} tecken, högst {max_length})")
        elif screen and value and contains_identity_number(value, today=self.catalogue.today):
            self.fail(column, IDENTITY_NUMBER_REFUSED)
            return ""
        return value

    def choice(self, column: str, allowed: tuple[str, ...], *, required: bool = False) -> str:
        value = self.text(column, required=required, screen=False)
        if value and value not in allowed:
            self.fail(column, f"okänt värde {shown(value)}; tillåtna: {', '.join(allowed)}")
            return ""
        return value

    def date(self, column: str, *, required: bool = False, not_future: bool = False) -> dt.date | None:
        value = self.text(column, required=required, screen=False)
        if not value:
            return None
        try:
            parsed = dt.date.fromisoformat(value)
            if len(value) != 10:
                raise ValueError
        except ValueError:
            self.fail(column, f"{shown(value)} är inte ett datum på formen ÅÅÅÅ-MM-DD")
            return None
        if not_future and parsed > self.catalogue.today:
            self.fail(column, f"datumet {value} ligger i framtiden")
        return parsed

    def count(self, column: str, *, maximum: int = 999) -> int | None:
        value = self.text(column)
        if not value:
            return None
        # ASCII digits only: "²".isdigit() is true but int() refuses it (the import crashed).
        if not (value.isascii() and value.isdigit()) or int(value) > maximum:
            self.fail(column, f"{shown(value)} är inte ett heltal mellan 0 och {maximum}")
            return None
        return int(value)


def _iso(value: dt.date | None) -> str:
    return value.isoformat() if value else ""


def _str(value: int | None) -> str:
    return "" if value is None else str(value)


def check_provider(row: RowChecker) -> Record:
    org_number = row.text("org_number", screen=False)  # a sole trader's is a personnummer, and public
    if org_number:
        m = _ORG_NUMBER.match(org_number)
        if not m:
            row.fail("org_number", "organisationsnumret ska ha 10 siffror (NNNNNN-NNNN)")
        elif not luhn_ok(m.group(1) + m.group(2)):
            row.fail("org_number", "organisationsnumrets kontrollsiffra stämmer inte")
        else:
            org_number = m.group(1) + m.group(2)
    return {
        "provider_id": row.text("provider_id", required=True, max_length=60),
        "name": row.text("name", required=True),
        "org_number": org_number,
        "ownership": row.choice("ownership", _VALUES[Ownership], required=True),
    }


def check_contract(row: RowChecker) -> Record:
    codes = row.text("services", required=True, max_length=2000).split()
    for code in codes:
        if code not in row.catalogue.services:
            row.fail("services", f"okänd tjänstekod '{code}'")
    if len(set(codes)) != len(codes):
        row.fail("services", "samma tjänstekod förekommer flera gånger")
    valid_from = row.date("valid_from", required=True)
    valid_to = row.date("valid_to")
    if valid_from and valid_to and valid_to < valid_from:
        row.fail("valid_to", "avtalet slutar innan det börjar (valid_to < valid_from)")
    record = {
        "contract_id": row.text("contract_id", required=True, max_length=60),
        "provider_id": row.text("provider_id", required=True, max_length=60),
        "form": row.choice("form", _VALUES[ContractForm], required=True),
        "services": " ".join(sorted(set(codes))),
        "valid_from": _iso(valid_from),
        "valid_to": _iso(valid_to),
    }
    if any(column in row.raw for column in CONTRACT_V11):
        record.update(_contract_terms(row))
    return record


def _kronor(row: RowChecker, column: str, *, decimals: int) -> str:
    value = row.text(column, max_length=20, screen=False).replace(",", ".")
    if not value:
        return ""
    try:
        amount = Decimal(value)
    except InvalidOperation:
        amount = Decimal(-1)
    if not amount.is_finite() or amount < 0 or amount >= 10**12 or -amount.as_tuple().exponent > decimals:  # type: ignore[operator]
        row.fail(
            column, f"{shown(value)} är inte ett belopp i kronor (högst {decimals} decimaler, inte negativt)"
        )
        return ""
    return f"{amount:.{decimals}f}"


def _contract_terms(row: RowChecker) -> Record:
    """The v1.1 columns: extension options, price and its unit, value, manager, targets."""
    options = row.text("extension_options", max_length=60, screen=False).split()
    if any(not m.isdigit() or not 1 <= int(m) <= 120 for m in options):
        row.fail("extension_options", "ange optionernas längd i hela månader (1–120), åtskilda av mellanslag")
        options = []
    price = _kronor(row, "price", decimals=2)
    unit = row.choice("price_unit", _VALUES[PriceUnit])
    if price and not unit:
        row.fail("price_unit", "ange vad priset gäller: day (per dygn) eller intervention (per insats)")
    targets: dict[str, str] = {}
    for entry in row.text("targets", max_length=2000, screen=False).split():
        m = _TARGET.match(entry)
        if not m:
            row.fail(
                "targets", f"{shown(entry)} ska ha formen indikator:nivå:minsta_n, t.ex. step_down:0.6:20"
            )
        elif m.group(1) not in row.catalogue.indicators:
            row.fail("targets", f"okänd indikator '{m.group(1)}'")
        elif m.group(1) in targets:
            row.fail("targets", f"indikatorn '{m.group(1)}' har två mål")
        elif int(m.group(3)) < 1:
            row.fail("targets", "minsta n måste vara minst 1")
        else:
            level = Decimal(m.group(2)).quantize(Decimal("0.001")).normalize()
            targets[m.group(1)] = f"{m.group(1)}:{level:f}:{int(m.group(3))}"
    return {
        "extension_options": " ".join(str(int(m)) for m in options),
        "price": price,
        "price_unit": unit,
        "value": _kronor(row, "value", decimals=0),
        "manager": row.text("manager", max_length=200),
        "targets": " ".join(targets[k] for k in sorted(targets)),
    }


def check_intervention(row: RowChecker) -> Record:
    person = row.text("person_id", required=True, max_length=80, screen=False)
    pseudonym, derived_sex, derived_year = "", "", None
    if person.startswith(PSEUDONYM_PREFIX):
        pseudonym = person[len(PSEUDONYM_PREFIX) :]
        if not PSEUDONYM_RE.match(pseudonym):
            row.fail("person_id", "en pseudonym ska vara 'pseudo:' följt av 64 hexadecimala tecken")
            pseudonym = ""
    elif person:
        try:
            number = parse_identity_number(person, today=row.catalogue.today)
        except InvalidIdentityNumber as exc:  # the reason never repeats the number
            row.fail("person_id", f"ogiltigt person- eller samordningsnummer: {exc}")
        else:
            pseudonym = pseudonymise(number, row.municipality_code)
            derived_sex, derived_year = number.sex, number.birth_year
    sex = row.choice("sex", _VALUES[Sex]) or derived_sex
    birth_year = row.count("birth_year", maximum=row.catalogue.today.year)
    if birth_year is not None and birth_year < EARLIEST_BIRTH_YEAR:
        row.fail(
            "birth_year",
            f"födelseåret {birth_year} är orimligt (tidigast {EARLIEST_BIRTH_YEAR})",
            _("Födelseåret %(year)s är orimligt: tidigast %(earliest)s.")
            % {"year": birth_year, "earliest": EARLIEST_BIRTH_YEAR},
        )
    elif birth_year is None and derived_year is not None and derived_year < EARLIEST_BIRTH_YEAR:
        row.fail(
            "person_id",
            f"födelseåret {derived_year} är orimligt (tidigast {EARLIEST_BIRTH_YEAR})",
            _(
                "Numret ger födelseåret %(year)s, vilket är orimligt (tidigast %(earliest)s). "
                "Kontrollera århundradet."
            )
            % {"year": derived_year, "earliest": EARLIEST_BIRTH_YEAR},
        )
    birth_year = birth_year if birth_year is not None else derived_year

    service = row.text("service", required=True)
    if service and service not in row.catalogue.services:
        row.fail("service", f"okänd tjänstekod '{service}'")
    decided_on = row.date("decided_on", required=True, not_future=True)
    started_on = row.date("started_on", required=True)
    ended_on = row.date("ended_on", not_future=True)
    if started_on and ended_on and ended_on < started_on:
        row.fail(
            "ended_on",
            "insatsen slutar innan den börjar (ended_on < started_on)",
            _("Slutdatum (%(ended)s) är före startdatum (%(started)s).")
            % {"ended": ended_on.isoformat(), "started": started_on.isoformat()},
        )
    end_reason = row.choice("end_reason", _VALUES[EndReason])
    if ended_on and not end_reason and row.raw.get("end_reason", "").strip() == "":
        row.fail(
            "end_reason",
            "avslutsorsak krävs när ended_on är ifyllt",
            _("Välj avslutsorsak när slutdatum är ifyllt."),
        )
    if end_reason and not ended_on and not row.raw.get("ended_on", "").strip():
        row.fail(
            "end_reason",
            "avslutsorsak får bara anges för en avslutad insats (ended_on saknas)",
            _("Avslutsorsak anges bara för en avslutad insats: fyll i slutdatum eller ta bort orsaken."),
        )
    total, fully, partly = check_goals(row)
    return {
        "intervention_id": row.text("intervention_id", required=True, max_length=60),
        "person_id": PSEUDONYM_PREFIX + pseudonym if pseudonym else "",
        "sex": sex,
        "birth_year": _str(birth_year),
        "service": service,
        "provider_id": row.text("provider_id", required=True, max_length=60),
        "contract_id": row.text("contract_id", max_length=60),
        "unit": row.text("unit", required=True, max_length=60),
        "decided_on": _iso(decided_on),
        "started_on": _iso(started_on),
        "ended_on": _iso(ended_on),
        "end_reason": end_reason,
        "goals_total": _str(total),
        "goals_fully": _str(fully),
        "goals_partly": _str(partly),
    }


def check_goals(row: RowChecker) -> tuple[int | None, int | None, int | None]:
    """The implementation plan's goals at the end: total, fully and partly reached."""
    total = row.count("goals_total")
    fully = row.count("goals_fully")
    partly = row.count("goals_partly")
    if (fully is not None or partly is not None) and total is None:
        row.fail(
            "goals_total",
            "goals_total krävs när goals_fully eller goals_partly är ifyllt",
            _("Ange antal mål i genomförandeplanen när uppnådda mål är ifyllda."),
        )
    elif total is not None and (fully or 0) + (partly or 0) > total:
        row.fail(
            "goals_fully",
            f"goals_fully + goals_partly ({(fully or 0) + (partly or 0)}) är större än goals_total ({total})",
            _(
                "Helt och delvis uppnådda mål är tillsammans %(sum)s, fler än antalet mål i "
                "genomförandeplanen (%(total)s)."
            )
            % {"sum": (fully or 0) + (partly or 0), "total": total},
        )
    return total, fully, partly


def check_followup_of(
    record: Record, intervention: Record, catalogue: Catalogue
) -> list[tuple[str, str, str]]:
    """Rules between a follow-up and its intervention, as (column, reason, said) (``said``:
    the reason in words for a form, see ``Issue``).

    ``intervention`` needs its canonical ``started_on`` and ``service``. Shared by the
    import, the caseworker's form and the API.
    """
    issues = []
    if record["date"] and intervention["started_on"] and record["date"] < intervention["started_on"]:
        issues.append(
            (
                "date",
                f"uppföljningen ({record['date']}) är före insatsens start ({intervention['started_on']})",
                _("Datumet (%(date)s) är före insatsens startdatum (%(started)s).")
                % {"date": record["date"], "started": intervention["started_on"]},
            )
        )
    info = catalogue.instruments.get(record["instrument"])
    if info and intervention["service"] not in info.services:
        issues.append(
            (
                "instrument",
                f"{info.key} används inte för insatsen '{intervention['service']}'",
                _("Frågeformuläret används inte för den här insatsen."),
            )
        )
    return issues


def check_followup(row: RowChecker) -> Record:
    key = row.text("instrument", required=True)
    instrument = row.catalogue.instruments.get(key)
    if key and instrument is None:
        known = ", ".join(sorted(row.catalogue.instruments)) or "inga"
        row.fail("instrument", f"okänt eller opublicerat instrument '{key}' (kända: {known})")
    respondent = row.choice("respondent", _VALUES[Respondent], required=True)
    if instrument and respondent and respondent not in instrument.respondents:
        row.fail("respondent", f"{key} besvaras inte av '{respondent}'")
    status = row.choice("status", _VALUES[FollowUpStatus], required=True)
    answers: dict[str, str] = {}
    # Only the row's question columns are looked at (not every code of every instrument), and
    # none without a known instrument (its own error is reported above).
    asked = instrument.questions if instrument is not None else {}
    for code in row.catalogue.question_columns(row.raw) if instrument is not None else ():
        value = row.raw[code].strip()
        if not value:
            continue
        question = asked.get(code)
        if question is None:
            row.fail(code, f"frågan '{code}' finns inte i {key}")
        elif value not in question.options:
            row.fail(code, f"okänt svar {shown(value)}; tillåtna: {', '.join(question.options)}")
        else:
            answers[code] = value
    if status and status != FollowUpStatus.COMPLETED and answers:
        row.fail(
            next(iter(answers)),
            f"svar får bara finnas när uppföljningen är genomförd (status completed, inte {status})",
            _("Klientens svar sparas bara när uppföljningen är genomförd, inte när den är '%(status)s'.")
            % {"status": FollowUpStatus(status).label},
        )
    if instrument:
        for code, question in instrument.questions.items():
            if (
                code in answers
                and question.condition_question
                and answers.get(question.condition_question) not in question.condition_options
            ):
                row.fail(
                    code,
                    f"'{code}' ställs bara när {question.condition_question} är "
                    f"{' eller '.join(sorted(question.condition_options))}",
                    _("Frågan ställs bara efter vissa svar på fråga %(n)s; ta bort svaret.")
                    % {"n": list(instrument.questions).index(question.condition_question) + 1},
                )
    assessment = row.choice("assessment", _VALUES[Assessment])
    if status == FollowUpStatus.COMPLETED and not assessment and not row.raw.get("assessment", "").strip():
        row.fail(
            "assessment",
            "samlad bedömning krävs när uppföljningen är genomförd (status completed)",
            _("Välj en samlad bedömning när uppföljningen är genomförd."),
        )
    date = row.date("date", required=True, not_future=True)
    if instrument and instrument.valid_from and date and date < instrument.valid_from:
        # A follow-up answers the version valid on its date (issue 17 point 20).
        row.fail(
            "date",
            f"{key} gäller från {instrument.valid_from.isoformat()}; uppföljningen är daterad {date.isoformat()}",
            _(
                "Frågeformuläret gäller från %(valid_from)s, men uppföljningen är daterad %(date)s. "
                "Ändra datumet eller använd det frågeformulär som gällde då."
            )
            % {"valid_from": instrument.valid_from.isoformat(), "date": date.isoformat()},
        )
    record: Record = {
        "followup_id": row.text("followup_id", required=True, max_length=60),
        "intervention_id": row.text("intervention_id", required=True, max_length=60),
        "date": _iso(date),
        "instrument": key,
        "respondent": respondent,
        "status": status,
        "answers": answers,
        "assessment": assessment,
        "g1": row.choice("g1", _VALUES[GuidingAnswer]),
        "g2": row.choice("g2", _VALUES[GuidingAnswer]),
        "g3": row.choice("g3", _VALUES[GuidingAnswer]),
        "minutes": _str(row.count("minutes", maximum=MAX_MINUTES)),
    }
    return record


CHECKS = {
    "providers": check_provider,
    "contracts": check_contract,
    "interventions": check_intervention,
    "followups": check_followup,
}
