"""Small interchange files for tests; identity numbers are synthetic, made on the fly."""

from __future__ import annotations

import datetime as dt

from utfall.core.identity import format_identity_number

PERSON_A = format_identity_number(dt.date(2009, 4, 12), 242)  # a girl
PERSON_B = format_identity_number(dt.date(1979, 11, 3), 351)  # a man
PERSON_C = format_identity_number(dt.date(1990, 1, 30), 466, coordination=True)

PROVIDERS = [
    "provider_id,name,org_number,ownership",
    "P1,Solgläntan HVB,5560000001,private",
    "P2,Kommunens behandlingshem,,municipal",
]
CONTRACTS = [
    "contract_id,provider_id,form,services,valid_from,valid_to",
    "C1,P1,lou,hvb_youth hvb_adult,2024-01-01,",
    "C2,P2,own,outpatient_adult,2023-01-01,2027-12-31",
]
INTERVENTIONS = [
    "intervention_id,person_id,sex,birth_year,service,provider_id,contract_id,unit,decided_on,started_on,"
    "ended_on,end_reason,goals_total,goals_fully,goals_partly",
    f"I1,{PERSON_A},,,hvb_youth,P1,C1,sodermalm,2025-01-10,2025-01-15,2025-12-20,step_down,3,1,1",
    f"I2,{PERSON_B},,,outpatient_adult,P2,C2,bromma,2025-02-01,2025-02-01,,,,,",
    f"I3,{PERSON_C},other,,hvb_adult,P1,,bromma,2025-03-02,2025-03-01,,,,,",
]
FOLLOWUPS = [
    "followup_id,intervention_id,date,instrument,respondent,status,q1,q2,q3,q4,q5,assessment,g1,g2,g3,minutes",
    "F1,I1,2025-07-01,stockholm-2021@1,client,completed,yes_completely,yes_somewhat,dont_know,much_better,"
    "very_large,approved,yes,partly,yes,14",
    "F2,I1,2025-12-20,stockholm-2021@1,guardian,completed,no,,yes_mostly,unchanged,,deficient,no,no,partly,",
    "F3,I2,2025-08-01,stockholm-2021@1,client,declined,,,,,,,,,,5",
    "F4,I3,2025-09-01,stockholm-2021@1,client,unreachable,,,,,,,,,,",
]


def write_set(write_csv, delimiter: str = ",") -> list:  # type: ignore[no-untyped-def]
    files = []
    for name, lines in (
        ("providers.csv", PROVIDERS),
        ("contracts.csv", CONTRACTS),
        ("interventions.csv", INTERVENTIONS),
        ("followups.csv", FOLLOWUPS),
    ):
        files.append(write_csv(name, *[line.replace(",", delimiter) for line in lines]))
    return files
