"""Proposals, cases and actions as CSV for Swedish Excel (``;``, UTF-8 with BOM) and as JSON:
the hand-off to the quality management system (docs/oversight.md, "Export format")."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from utfall.core.spreadsheets import neutralise
from utfall.oversight.actions import action_summary, case_summary
from utfall.oversight.models import Case, CaseAction
from utfall.oversight.proposals import RULES, ProposalSet

PROPOSAL_COLUMNS = [
    "period", "direction", "provider_id", "provider_name", "rules", "strength", "tier", "new", "clients",
    "coverage_rate", "contracts", "last_case", "indicator", "indicator_name", "level", "n", "events", "rate",
    "ci_low", "ci_high", "lower_95", "upper_95", "lower_998", "upper_998", "reference",
    "previous_n", "previous_rate", "previous_outside_95",
]  # fmt: skip
CASE_COLUMNS = ["case", "provider_id", "provider_name", "contracts", "title", "origin", "period", "state",
                "owner", "opened_at", "closed_at"]  # fmt: skip
ACTION_COLUMNS = ["case", "provider_id", "kind", "kind_label", "description", "reason", "contract",
                  "decided_on", "deadline", "done_on"]  # fmt: skip


def _cell(value: Any) -> Any:
    if isinstance(value, bool):
        return "ja" if value else "nej"
    if isinstance(value, float):
        return f"{value:.4f}".replace(".", ",")
    if isinstance(value, list):
        return neutralise(" ".join(str(v) for v in value))
    return neutralise(value) if value is not None else ""


def excel_csv(columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> str:
    """CSV that Excel in Swedish opens as it is: BOM, ``;`` between fields, decimal comma;
    text that a spreadsheet would run as a formula starts with ``'`` (core.spreadsheets)."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(c)) for c in columns])
    return out.getvalue()


def proposal_rows(found: ProposalSet) -> list[dict[str, Any]]:
    """One row per proposal and piece of evidence (a proposal with three indicators: three rows)."""
    rows = []
    for p in [*found.deviations, *found.positives]:
        head = {
            "period": found.period.label, "direction": p.direction, "provider_id": p.provider_id,
            "provider_name": p.provider_name, "rules": p.rules, "strength": p.strength, "tier": p.tier,
            "new": p.new, "clients": p.clients, "coverage_rate": p.coverage.get("rate"),
            "contracts": [c["contract_id"] for c in p.contracts],
            "last_case": (p.last_case or {}).get("reference"),
        }  # fmt: skip
        for e in p.evidence:
            previous = e.previous or {}
            rows.append({
                **head, "indicator": e.indicator, "indicator_name": e.name, "level": e.level, "n": e.n,
                "events": e.events, "rate": e.rate, "ci_low": e.ci_low, "ci_high": e.ci_high,
                "lower_95": e.lower_95, "upper_95": e.upper_95, "lower_998": e.lower_998,
                "upper_998": e.upper_998, "reference": e.reference, "previous_n": previous.get("n"),
                "previous_rate": previous.get("rate"), "previous_outside_95": previous.get("outside_95"),
            })  # fmt: skip
    return rows


def proposals_csv(found: ProposalSet) -> str:
    return excel_csv(PROPOSAL_COLUMNS, proposal_rows(found))


def proposals_json(found: ProposalSet) -> dict[str, Any]:
    return {"rules": RULES, **found.as_json()}


def cases_json(cases: Iterable[Case]) -> list[dict[str, Any]]:
    return [{**case_summary(c), "actions": [action_summary(a) for a in c.actions.all()]} for c in cases]


def cases_csv(cases: Iterable[Case]) -> str:
    return excel_csv(CASE_COLUMNS, (case_summary(c) for c in cases))


def actions_csv(actions: Iterable[CaseAction]) -> str:
    return excel_csv(ACTION_COLUMNS, (action_summary(a) for a in actions))
