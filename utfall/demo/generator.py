"""A synthetic, Stockholm-like municipality in interchange v1 form.

Only synthetic data: identity numbers are random and valid in form (date and Luhn check
digit), never taken from anywhere; provider names are made up. The same generator, with a
size parameter, feeds the demo, the tests and the benchmarks. Deterministic for a seed and
a reference date. (Just over 400 lines on purpose: one story of the data, read top to
bottom; its output is the demo export that must stay byte-identical.)
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import random
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TypedDict

from utfall.core.identity import format_identity_number

DISTRICTS = [
    ("rinkeby-kista", "Rinkeby-Kista"),
    ("spanga-tensta", "Spånga-Tensta"),
    ("hasselby-vallingby", "Hässelby-Vällingby"),
    ("bromma", "Bromma"),
    ("kungsholmen", "Kungsholmen"),
    ("norrmalm", "Norrmalm"),
    ("ostermalm", "Östermalm"),
    ("sodermalm", "Södermalm"),
    ("enskede-arsta-vantor", "Enskede-Årsta-Vantör"),
    ("skarpnack", "Skarpnäck"),
    ("farsta", "Farsta"),
    ("hagersten-alvsjo", "Hägersten-Älvsjö"),
    ("skarholmen", "Skärholmen"),
]

# service: (intensity, typical months, youth?, weight)
SERVICES = {
    "sis_youth": (5, 8, True, 2),
    "sis_adult": (5, 6, False, 2),
    "hvb_youth": (4, 12, True, 14),
    "hvb_adult": (4, 8, False, 14),
    "tfco": (4, 12, True, 2),
    "foster_home": (3, 24, True, 10),
    "supported_housing_youth": (3, 12, True, 7),
    "supported_housing_adult": (3, 14, False, 8),
    "ihf": (2, 6, True, 8),
    "mst": (2, 5, True, 4),
    "outpatient_youth": (1, 7, True, 9),
    "outpatient_adult": (1, 8, False, 11),
    "contact_person": (1, 18, True, 5),
    "labour_market": (1, 6, False, 8),
}
GROUPS = {
    "youth_care": ["hvb_youth", "supported_housing_youth", "tfco", "foster_home", "sis_youth"],
    "adult_care": ["hvb_adult", "supported_housing_adult", "sis_adult"],
    "youth_open": ["ihf", "mst", "outpatient_youth", "contact_person"],
    "adult_open": ["outpatient_adult", "labour_market"],
}
NAME_PARTS = (
    ["Solgläntan", "Björkhagen", "Ekudden", "Lärkan", "Tallbacken", "Sjöviken", "Granlunda", "Ängsbacka",
     "Klippan", "Lindgården", "Ljungbacken", "Vårdkasen", "Havsbris", "Stensätra", "Furuhöjden",
     "Rönnängen", "Mossen", "Bryggan", "Fyren", "Kompassen"],
    ["HVB", "Behandlingshem", "Stödboende", "Familjevård", "Öppenvård", "Omsorg", "Resurs", "Gården",
     "Vård AB", "Stiftelse"],
)  # fmt: skip

Q_AGREE = ["yes_completely", "yes_mostly", "yes_somewhat", "no"]
Q4 = ["much_better", "somewhat_better", "unchanged", "somewhat_worse", "much_worse"]
Q5 = ["very_large", "fairly_large", "fairly_small", "none"]
# Seed 004's third measure: the family instruments, asked after an ended IHF or MST.
FAMILY_SERVICES = ("ihf", "mst")
FAMILY_INSTRUMENTS = ("family-guardian-2026@1", "family-child-2026@1")


@cache
def valid_from(key: str) -> dt.date:
    """The date an instrument version is valid from (its shipped ``published_on``): a follow-up
    may only use a version valid on its date (issue 17 point 20)."""
    from utfall.instruments.loading import DEFINITIONS, read_definition

    published = read_definition(DEFINITIONS / f"{key}.yaml")["published_on"]
    return published if isinstance(published, dt.date) else dt.date.fromisoformat(str(published))


#: question: (positive options, other options)
FAMILY_GUARDIAN = {
    "fg_helped": (["yes_completely", "yes_mostly"], ["yes_somewhat", "no"]),
    "fg_situation": (["much_better", "somewhat_better"], ["unchanged", "worse"]),
    "fg_listened": (["yes_completely", "yes_mostly"], ["yes_somewhat", "no"]),
    "fg_recommend": (["yes"], ["maybe", "no"]),
}
FAMILY_CHILD = {
    "fc_better_home": (["yes"], ["a_little", "no"]),
    "fc_listened": (["yes"], ["a_little", "no"]),
    "fc_safe_home": (["yes"], ["a_little", "no"]),
}
FOLLOWUP_COLUMNS = [
    "followup_id", "intervention_id", "date", "instrument", "respondent", "status",
    "q1", "q2", "q3", "q4", "q5", *FAMILY_GUARDIAN, *FAMILY_CHILD,
    "assessment", "g1", "g2", "g3", "minutes",
]  # fmt: skip


class _Provider(TypedDict):
    """One roster entry: a generated provider and its hidden true quality."""

    id: str
    ownership: str
    services: list[str]
    weight: float
    quality: float


@dataclass
class DemoData:
    """Rows per kind, as interchange v1 dicts, plus the planted truth for tests."""

    providers: list[dict[str, str]] = field(default_factory=list)
    contracts: list[dict[str, str]] = field(default_factory=list)
    interventions: list[dict[str, str]] = field(default_factory=list)
    followups: list[dict[str, str]] = field(default_factory=list)
    planted_low: list[str] = field(default_factory=list)
    planted_high: list[str] = field(default_factory=list)

    def kinds(self) -> dict[str, list[dict[str, str]]]:
        return {
            "providers": self.providers,
            "contracts": self.contracts,
            "interventions": self.interventions,
            "followups": self.followups,
        }

    def write_csv(self, directory: Path, *, delimiter: str = ",") -> list[Path]:
        directory.mkdir(parents=True, exist_ok=True)
        paths = []
        for kind, rows in self.kinds().items():
            if not rows:
                continue
            path = directory / f"{kind}.csv"
            header = list(rows[0])
            with path.open("w", encoding="utf-8", newline="") as fh:
                writer = csv.DictWriter(fh, header, delimiter=delimiter, lineterminator="\n")
                writer.writeheader()
                writer.writerows(rows)
            paths.append(path)
        return paths


def _org_number(rng: random.Random) -> str:
    from utfall.core.identity import luhn_check_digit

    body = f"{rng.choice('25789')}{rng.randrange(10**8):08d}"
    return body + luhn_check_digit(body)


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


def _expit(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def generate(
    *,
    size: float = 1.0,
    seed: int = 2021,
    today: dt.date | None = None,
    years: int = 3,
    providers: int | None = None,
) -> DemoData:
    """A municipality with ~160·size providers, ~22,500·size interventions and ~2 follow-ups each.

    Providers' true quality varies (logit-normal, sd 0.4); six providers are planted far
    below and three far above. Follow-ups include declines, unreachable clients, 'dont_know'
    and missing answers.
    """
    rng = random.Random(seed)
    today = today or dt.date.today()
    start = today - dt.timedelta(days=365 * years)
    data = DemoData()

    n_providers = providers or max(12, round(160 * size))
    roster: list[_Provider] = []
    for i in range(n_providers):
        pid = f"P{i + 1:04d}"
        ownership = rng.choices(["municipal", "private", "nonprofit"], weights=[3, 5, 2])[0]
        group = rng.choice(list(GROUPS))
        offered = rng.sample(GROUPS[group], k=min(len(GROUPS[group]), rng.choice([1, 1, 2, 3])))
        weight = rng.lognormvariate(0, 1.2)
        quality = rng.gauss(0, 0.4)
        name = (
            f"{NAME_PARTS[0][i % len(NAME_PARTS[0])]} {NAME_PARTS[1][(i * 7 + i // 20) % len(NAME_PARTS[1])]}"
        )
        if i >= len(NAME_PARTS[0]):
            name += f" {i // len(NAME_PARTS[0]) + 1}"
        roster.append(
            {"id": pid, "ownership": ownership, "services": offered, "weight": weight, "quality": quality}
        )
        data.providers.append(
            {
                "provider_id": pid,
                "name": name,
                "org_number": "" if ownership == "municipal" else _org_number(rng),
                "ownership": ownership,
            }
        )
    # Plant deviating providers among the larger ones, so that the deviation is detectable.
    by_weight = sorted(roster, key=lambda p: -p["weight"])
    candidates = by_weight[: max(12, n_providers // 3)]
    rng.shuffle(candidates)
    for p in candidates[:6]:
        p["quality"], p["weight"] = -1.7, max(p["weight"], 1.5)
        data.planted_low.append(p["id"])
    for p in candidates[6:9]:
        p["quality"], p["weight"] = 2.2, max(p["weight"], 1.5)
        data.planted_high.append(p["id"])

    contract_of: dict[str, str] = {}
    for n, p in enumerate(roster, start=1):
        form = "own" if p["ownership"] == "municipal" else rng.choice(["lou", "lou", "lov", "direct"])
        cid = f"K{n:04d}"
        contract_of[p["id"]] = cid
        data.contracts.append(
            {
                "contract_id": cid,
                "provider_id": p["id"],
                "form": form,
                "services": " ".join(sorted(p["services"])),
                "valid_from": (start - dt.timedelta(days=400)).isoformat(),
                "valid_to": "",
                **_contract_terms(n, form, today),
            }
        )

    offering: dict[str, list[_Provider]] = {}
    for p in roster:
        for s in p["services"]:
            offering.setdefault(s, []).append(p)
    services = [s for s in SERVICES if s in offering]
    service_weights = [SERVICES[s][3] for s in services]

    n_interventions = max(40, round(22500 * size))
    serials: set[str] = set()
    followup_no = 0
    made = 0
    client_no = 0
    while made < n_interventions:
        client_no += 1
        service = rng.choices(services, weights=service_weights)[0]
        youth = SERVICES[service][2]
        age = rng.randint(8, 17) if youth else rng.randint(19, 70)
        first_start = start - dt.timedelta(days=300) + dt.timedelta(days=rng.randrange(365 * years + 250))
        born = first_start - dt.timedelta(days=365 * age + rng.randrange(365))
        female = rng.random() < (0.45 if not youth else 0.5)
        serial = rng.randrange(0, 100) * 10 + rng.choice([0, 2, 4, 6, 8] if female else [1, 3, 5, 7, 9])
        number = format_identity_number(born, serial, coordination=rng.random() < 0.03)
        if number in serials:
            continue
        serials.add(number)
        sex = "other" if rng.random() < 0.004 else ""
        unit = rng.choice(DISTRICTS)[0]
        begin = first_start
        for _step in range(rng.choice([1, 1, 1, 2, 2, 3])):
            if made >= n_interventions or begin >= today:
                break
            provider = rng.choices(offering[service], weights=[p["weight"] for p in offering[service]])[0]
            made += 1
            iid = f"I{made:06d}"
            months = SERVICES[service][1]
            length = max(30, int(rng.gauss(months * 30, months * 10)))
            end = begin + dt.timedelta(days=length)
            ended = end < today - dt.timedelta(days=5)
            decided = begin - dt.timedelta(days=rng.choice([0, 0, 3, 7, 14, 30]))
            if rng.random() < 0.05:
                decided = begin + dt.timedelta(days=rng.randint(1, 3))  # emergency placement
            decided = min(decided, today)
            quality = float(provider["quality"])
            row = {
                "intervention_id": iid, "person_id": number, "sex": sex, "birth_year": "",
                "service": service, "provider_id": provider["id"],
                "contract_id": contract_of[str(provider["id"])], "unit": unit,
                "decided_on": decided.isoformat(), "started_on": begin.isoformat(),
                "ended_on": "", "end_reason": "", "goals_total": "", "goals_fully": "", "goals_partly": "",
            }  # fmt: skip
            if ended:
                p_good = _expit(0.3 + quality)
                reason = rng.choices(
                    ["goals_met", "step_down", "step_up", "breakdown", "moved", "client_ended", "other"],
                    weights=[30 * p_good, 30 * p_good, 12 * (1 - p_good), 10 * (1 - p_good), 6, 8, 4],
                )[0]
                total = rng.randint(1, 5) if rng.random() < 0.85 else None
                row.update(ended_on=end.isoformat(), end_reason=reason)
                if total is not None:
                    fully = sum(rng.random() < p_good * 0.7 for _ in range(total))
                    partly = sum(rng.random() < 0.5 for _ in range(total - fully))
                    row.update(goals_total=str(total), goals_fully=str(fully), goals_partly=str(partly))
            data.interventions.append(row)
            # Follow-ups every ~6 months and at the end, within the window.
            dates = []
            d = begin + dt.timedelta(days=rng.randint(75, 110))
            last = end if ended else today
            while d <= last:
                dates.append(d)
                d += dt.timedelta(days=rng.randint(150, 190))
            if ended and (not dates or (end - dates[-1]).days > 45):
                dates.append(end)
            for fdate in dates:
                if fdate < start or fdate > today or rng.random() < 0.06:
                    continue  # outside the window, or never followed up
                followup_no += 1
                data.followups.append(_followup(rng, f"F{followup_no:07d}", iid, fdate, age, quality))
            if ended and service in FAMILY_SERVICES and start <= end <= today:
                # Seed 004: guardians and children assess the completed treatment. A generator
                # of its own, so the rest of the municipality is the same with or without it.
                family = random.Random(f"{seed}-{iid}")
                for instrument in FAMILY_INSTRUMENTS:
                    if instrument == "family-child-2026@1" and age < 10:
                        continue  # the child questions are for about 10 years and up
                    if family.random() < 0.15:
                        continue  # not asked
                    if end < valid_from(instrument):
                        continue  # the instrument was not in use yet
                    followup_no += 1
                    fid = f"F{followup_no:07d}"
                    data.followups.append(_family_followup(family, fid, iid, end, instrument, quality))
            if not ended:
                break
            # The client's next step: lower intensity more often after a good stay.
            gap = rng.randint(0, 120)
            begin = end + dt.timedelta(days=gap)
            lower = [s for s in services if SERVICES[s][0] < SERVICES[service][0] and SERVICES[s][2] == youth]
            higher = [
                s for s in services if SERVICES[s][0] > SERVICES[service][0] and SERVICES[s][2] == youth
            ]
            if lower and rng.random() < _expit(0.5 + quality):
                service = rng.choice(lower)
            elif higher:
                service = rng.choice(higher)
    return data


def _followup(
    rng: random.Random, fid: str, iid: str, date: dt.date, age: int, quality: float
) -> dict[str, str]:
    status = rng.choices(["completed", "declined", "unreachable"], weights=[86, 7, 7])[0]
    row = dict.fromkeys(FOLLOWUP_COLUMNS, "")
    row.update(followup_id=fid, intervention_id=iid, date=date.isoformat(), instrument="stockholm-2021@1",
               respondent="guardian" if age < 13 and rng.random() < 0.6 else "client", status=status)  # fmt: skip
    if status != "completed":
        return row

    def agree(shift: float) -> str:
        roll = rng.random()
        if roll < 0.05:
            return "dont_know"
        if roll < 0.08:
            return ""  # not answered
        return Q_AGREE[0] if rng.random() < _expit(1.1 + quality + shift) else rng.choice(Q_AGREE[1:])

    row["q1"], row["q2"], row["q3"] = agree(0.6), agree(-0.3), agree(0.0)
    roll = rng.random()
    if roll < 0.06:
        row["q4"] = "dont_know"
    elif roll > 0.97:
        row["q4"] = ""
    else:
        p_better = _expit(0.4 + quality)
        row["q4"] = rng.choice(Q4[:2]) if rng.random() < p_better else rng.choice(Q4[2:])
    if row["q4"] in Q4[:2] and rng.random() < 0.93:
        row["q5"] = (
            "dont_know" if rng.random() < 0.05 else rng.choice(Q5[:2] if rng.random() < 0.8 else Q5[2:])
        )
    # Fix q1-q3: the agreement scale's two first options are positive.
    for q in ("q1", "q2", "q3"):
        if row[q] == Q_AGREE[0] and rng.random() < 0.4:
            row[q] = "yes_mostly"
    p_ok = _expit(1.8 + 1.2 * quality)
    row["assessment"] = (
        "deficient"
        if rng.random() > p_ok
        else ("very_good" if rng.random() < _expit(-1 + quality) else "approved")
    )
    for g in ("g1", "g2", "g3"):
        row[g] = "yes" if rng.random() < p_ok else rng.choice(["partly", "no"])
    row["minutes"] = str(max(3, int(rng.gauss(12, 4))))
    return row


def _family_followup(
    rng: random.Random, fid: str, iid: str, date: dt.date, instrument: str, quality: float
) -> dict[str, str]:
    """A guardian's (family-guardian) or child's (family-child) follow-up after IHF/MST."""
    row = dict.fromkeys(FOLLOWUP_COLUMNS, "")
    guardian = instrument.startswith("family-guardian")
    row.update(followup_id=fid, intervention_id=iid, date=date.isoformat(), instrument=instrument,
               respondent="guardian" if guardian else "client")  # fmt: skip
    row["status"] = rng.choices(["completed", "declined", "unreachable"], weights=[85, 8, 7])[0]
    if row["status"] != "completed":
        return row
    p_good = _expit(1.0 + quality)
    for question, (positive, other) in (FAMILY_GUARDIAN if guardian else FAMILY_CHILD).items():
        roll = rng.random()
        row[question] = "dont_know" if roll < 0.05 else rng.choice(positive if roll < p_good else other)
    p_ok = _expit(1.8 + 1.2 * quality)
    row["assessment"] = "approved" if rng.random() < p_ok else "deficient"
    return row


MANAGERS = ("Avtalsförvaltare Norr", "Avtalsförvaltare Söder", "Upphandlingsenheten")


def _contract_terms(n: int, form: str, today: dt.date) -> dict[str, str]:
    """Interchange v1.1 terms, derived from the contract's number (not from the random stream,
    so the planted truth above stays as it was): end dates spread over the next three years,
    options on procured contracts, a price per day, and targets on every other contract."""
    if form == "own":
        return {"extension_options": "", "price": "", "price_unit": "", "value": "", "manager": "",
                "targets": ""}  # fmt: skip
    price = 1800 + (n * 37 % 20) * 150
    return {
        "extension_options": "12 12" if form == "lou" else "",
        "price": str(price),
        "price_unit": "day",
        "value": str(price * 365 * (4 + n % 9)),
        "manager": MANAGERS[n % len(MANAGERS)],
        "targets": "plan_goals_reached:0.6:20 step_down:0.6:20" if n % 2 else "",
    } | ({"valid_to": (today + dt.timedelta(days=20 + n * 53 % 1080)).isoformat()} if form != "lov" else {})


def as_tables(data: DemoData) -> list[object]:
    """The generated rows as in-memory interchange tables, for the importer."""
    from utfall.interchange.reading import Table

    tables: list[object] = []
    for kind, rows in data.kinds().items():
        if rows:
            header = list(rows[0])
            table = Table(Path(f"demo/{kind}.csv"), f"demo/{kind}.csv", header)
            table.rows = [(n, [row[h] for h in header]) for n, row in enumerate(rows, start=2)]
            tables.append(table)
    return tables
