"""Build small data sets with known truth through the real importer."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from tests.conftest import TODAY
from utfall.core.identity import format_identity_number
from utfall.interchange.importer import Importer
from utfall.interchange.reading import Table
from utfall.interchange.schema import CONTRACT_COLUMNS, INTERVENTION_COLUMNS, PROVIDER_COLUMNS

FOLLOWUP_HEADER = [
    "followup_id", "intervention_id", "date", "instrument", "respondent", "status",
    "q1", "q2", "q3", "q4", "q5", "assessment", "g1", "g2", "g3", "minutes",
    "fg_helped", "fg_situation", "fg_listened", "fg_recommend", "fc_better_home", "fc_listened", "fc_safe_home",
]  # fmt: skip


class DataSet:
    def __init__(self) -> None:
        self.providers: list[dict[str, str]] = []
        self.interventions: list[dict[str, str]] = []
        self.followups: list[dict[str, str]] = []
        self._person = 0

    def provider(self, pid: str) -> str:
        self.providers.append(
            {"provider_id": pid, "name": f"Utförare {pid}", "org_number": "", "ownership": "private"}
        )
        return pid

    def person(self, *, born: dt.date = dt.date(2008, 6, 1), female: bool = True) -> str:
        self._person += 1
        serial = (self._person % 100) * 10 + (2 if female else 1)
        return format_identity_number(born + dt.timedelta(days=self._person // 100), serial)

    def intervention(self, iid: str, provider: str, **fields: Any) -> str:
        row = dict.fromkeys(INTERVENTION_COLUMNS, "")
        row.update(intervention_id=iid, provider_id=provider, service="hvb_youth", unit="sodermalm",
                   decided_on="2024-01-01", started_on="2024-01-02")  # fmt: skip
        if "person_id" not in fields:
            row["person_id"] = self.person()
        row.update({k: str(v) for k, v in fields.items()})
        self.interventions.append(row)
        return iid

    def followup(
        self,
        intervention: str,
        date: str = "2025-06-01",
        status: str = "completed",
        instrument: str = "stockholm-2021@1",
        respondent: str = "client",
        **answers: str,
    ) -> None:
        row = dict.fromkeys(FOLLOWUP_HEADER, "")
        row.update(followup_id=f"F{len(self.followups) + 1}", intervention_id=intervention, date=date,
                   instrument=instrument, respondent=respondent, status=status)  # fmt: skip
        if status == "completed":
            row["assessment"] = "approved"
        row.update(answers)
        self.followups.append(row)

    def load(self, municipality: Any) -> None:
        contracts = [
            {"contract_id": f"C-{p['provider_id']}", "provider_id": p["provider_id"], "form": "lou",
             "services": "hvb_youth sis_youth outpatient_youth foster_home", "valid_from": "2020-01-01",
             "valid_to": ""}
            for p in self.providers
        ]  # fmt: skip
        tables = []
        for kind, header, rows in (
            ("providers", PROVIDER_COLUMNS, self.providers),
            ("contracts", CONTRACT_COLUMNS, contracts),
            ("interventions", INTERVENTION_COLUMNS, self.interventions),
            ("followups", FOLLOWUP_HEADER, self.followups),
        ):
            table = Table(Path(f"{kind}.csv"), f"{kind}.csv", list(header))
            table.rows = [(i + 2, [r[h] for h in header]) for i, r in enumerate(rows)]
            tables.append(table)
        report = Importer(municipality=municipality, today=TODAY).run(tables=tables)
        assert report.ok, report.issues[:5]
