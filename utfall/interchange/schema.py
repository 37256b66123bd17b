"""The interchange v1 columns (spec/interchange-v1.md). Names here are the contract: keep them exact."""

from __future__ import annotations

KINDS = ("providers", "contracts", "interventions", "followups")

PROVIDER_COLUMNS = ["provider_id", "name", "org_number", "ownership"]
CONTRACT_COLUMNS = ["contract_id", "provider_id", "form", "services", "valid_from", "valid_to"]
#: Interchange v1.1 (docs/interchange.md): optional, after the v1 columns; a file without
#: them is a v1 file and imports unchanged.
CONTRACT_V11_COLUMNS = ["extension_options", "price", "price_unit", "value", "manager", "targets"]
INTERVENTION_COLUMNS = [
    "intervention_id", "person_id", "sex", "birth_year", "service", "provider_id", "contract_id",
    "unit", "decided_on", "started_on", "ended_on", "end_reason",
    "goals_total", "goals_fully", "goals_partly",
]  # fmt: skip
# Question columns (one per question code of the instruments in use) go between
# "status" and "assessment" in an export.
FOLLOWUP_FIXED_BEFORE = ["followup_id", "intervention_id", "date", "instrument", "respondent", "status"]
FOLLOWUP_FIXED_AFTER = ["assessment", "g1", "g2", "g3", "minutes"]

REQUIRED = {
    "providers": {"provider_id", "name", "ownership"},
    "contracts": {"contract_id", "provider_id", "form", "services", "valid_from"},
    "interventions": {
        "intervention_id", "person_id", "service", "provider_id", "unit", "decided_on", "started_on",
    },
    "followups": {"followup_id", "intervention_id", "date", "instrument", "respondent", "status"},
}  # fmt: skip

ID_COLUMN = {
    "providers": "provider_id",
    "contracts": "contract_id",
    "interventions": "intervention_id",
    "followups": "followup_id",
}

# Written by `utfall import --partial` beside each rejected row; ignored when read back,
# so that a fixed rejected file can be imported as it is.
ERROR_COLUMN = "utfall_error"

KIND_NAMES_SV = {
    "providers": "utförare",
    "contracts": "avtal",
    "interventions": "insatser",
    "followups": "uppföljningar",
}


def detect_kind(header: list[str], stem: str) -> str | None:
    """Which of the four kinds a file holds, by its header (or, failing that, its name)."""
    columns = set(header)
    if "followup_id" in columns:
        return "followups"
    if "intervention_id" in columns and "person_id" in columns:
        return "interventions"
    if "contract_id" in columns and "form" in columns:
        return "contracts"
    if "provider_id" in columns and "ownership" in columns:
        return "providers"
    for kind in KINDS:
        if stem.lower().startswith(kind):
            return kind
    return None
