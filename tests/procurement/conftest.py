"""A municipality with three priced contracts and known truth, loaded through the real
importer (interchange v1.1 contracts file).

Period 2025. Each of A, B and C has 20 HVB placements (contract C-x, 3 000 kr per day) that
started 2024-07-01 and ended 2025-06-30 (181 days in 2025). A client whose placement is
followed within 90 days by a SiS placement (provider X, intensity 5) did not step down.

| provider | stepped down | plan goals fully | followed up in 2025 |
|---|---|---|---|
| A | 16 of 20 | 12 of 20 | 20 of 20 |
| B | 18 of 20 | 14 of 20 | 5 of 20 (coverage 25 %) |
| C | 8 of 20 | 4 of 20 | 20 of 20 |

The municipality's step_down rate is 42 / 60 = 0.7.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Group

from tests.comparisons.builders import FOLLOWUP_HEADER, DataSet
from tests.conftest import TODAY
from utfall.interchange.importer import Importer
from utfall.interchange.reading import Table
from utfall.interchange.schema import (
    CONTRACT_COLUMNS,
    CONTRACT_V11_COLUMNS,
    INTERVENTION_COLUMNS,
    PROVIDER_COLUMNS,
)
from utfall.organisations.models import Municipality, Role, Unit, User
from utfall.procurement.models import PaymentRule, RuleKind
from utfall.registry.models import Contract, Provider

PLAN = {"A": (16, 12, 20), "B": (18, 14, 5), "C": (8, 4, 20)}
CONTRACT_ROWS = [
    # contract_id, provider, valid_to, options, price, unit, value, manager, targets
    ("C-A", "A", "2026-09-30", "12 12", "3000", "day", "25000000", "Eva Avtalsson", "step_down:0.6:10 plan_goals_fully:0.5:10"),
    ("C-B", "B", "2027-03-31", "", "3000", "day", "", "Eva Avtalsson", "step_down:0.6:10"),
    ("C-C", "C", "2028-12-31", "24", "3000", "day", "", "Olle Förvaltare", "step_down:0.6:10"),
    ("C-X", "X", "", "", "", "", "", "", ""),
]  # fmt: skip


def load(municipality: Municipality, data: DataSet, contracts: list[dict[str, str]]) -> Any:
    tables = []
    for kind, header, rows in (
        ("providers", PROVIDER_COLUMNS, data.providers),
        ("contracts", [*CONTRACT_COLUMNS, *CONTRACT_V11_COLUMNS], contracts),
        ("interventions", INTERVENTION_COLUMNS, data.interventions),
        ("followups", FOLLOWUP_HEADER, data.followups),
    ):
        table = Table(Path(f"{kind}.csv"), f"{kind}.csv", list(header))
        table.rows = [(i + 2, [r[h] for h in header]) for i, r in enumerate(rows)]
        tables.append(table)
    report = Importer(municipality=municipality, today=TODAY).run(tables=tables)
    assert report.ok, report.issues[:5]
    return report


@pytest.fixture
def market(municipality: Municipality) -> Municipality:
    data = DataSet()
    for pid in ("A", "B", "C", "X"):
        data.provider(pid)
    for pid, (stepped, goals, followed) in PLAN.items():
        for i in range(20):
            person = data.person(female=i % 2 == 0)
            iid = data.intervention(
                f"I{pid}{i:02d}", pid, person_id=person, contract_id=f"C-{pid}", decided_on="2024-06-25",
                started_on="2024-07-01", ended_on="2025-06-30", end_reason="goals_met",
                goals_total=2, goals_fully=2 if i < goals else 0, goals_partly=0,
            )  # fmt: skip
            if i >= stepped:  # a SiS placement right after: a step up, not down
                data.intervention(f"S{pid}{i:02d}", "X", person_id=person, service="sis_youth",
                                  decided_on="2025-07-01", started_on="2025-07-05", contract_id="C-X")  # fmt: skip
            if i < followed:
                data.followup(iid, date="2025-03-01", q3="yes_mostly" if i % 3 else "no")
    # The data's reference date (its newest date) is 2025-12-20, so endings in June are counted.
    data.intervention("Z1", "X", decided_on="2025-12-18", started_on="2025-12-20", contract_id="C-X")
    contracts = []
    for cid, pid, valid_to, options, price, unit, value, manager, targets in CONTRACT_ROWS:
        contracts.append({"contract_id": cid, "provider_id": pid, "form": "lou",
                          "services": "hvb_youth sis_youth", "valid_from": "2024-01-01", "valid_to": valid_to,
                          "extension_options": options, "price": price, "price_unit": unit, "value": value,
                          "manager": manager, "targets": targets})  # fmt: skip
    load(municipality, data, contracts)
    for contract in Contract.objects.filter(municipality=municipality).exclude(contract_id="C-X"):
        PaymentRule.objects.create(municipality=municipality, contract=contract, name="Bonus för lägre insatsnivå",
                                   kind=RuleKind.BONUS_SHARE, indicator="step_down", share_percent=2, floor="0.5")  # fmt: skip
        PaymentRule.objects.create(municipality=municipality, contract=contract, name="Per klient med alla mål",
                                   kind=RuleKind.PER_CLIENT, indicator="plan_goals_fully", amount=5000)  # fmt: skip
    return municipality


def persona(municipality: Municipality, name: str, role: Role, **fields: Any) -> User:
    user = User.objects.create_user(name, municipality=municipality, **fields)
    user.groups.add(Group.objects.get(name=role))
    return user


@dataclass
class People:
    procurement: User
    provider_b: User
    provider_a: User
    manager: User
    analyst: User


@pytest.fixture
def people(market: Municipality) -> People:
    manager = persona(market, "chef", Role.UNIT_MANAGER)
    manager.units.add(Unit.objects.get(municipality=market, code="sodermalm"))
    return People(
        procurement=persona(market, "upphandlare", Role.PROCUREMENT),
        provider_b=persona(market, "utforare-b", Role.PROVIDER,
                           provider=Provider.objects.get(municipality=market, provider_id="B")),
        provider_a=persona(market, "utforare-a", Role.PROVIDER,
                           provider=Provider.objects.get(municipality=market, provider_id="A")),
        manager=manager,
        analyst=persona(market, "utredare", Role.ANALYST),
    )  # fmt: skip
