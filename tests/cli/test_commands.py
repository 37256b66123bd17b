"""The utfall console script, run as a user runs it: a separate process on an SQLite file."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import TEST_KEY
from tests.interchange.helpers import FOLLOWUPS, PERSON_A, PERSON_B, PERSON_C, write_set
from utfall.demo.generator import generate

pytestmark = pytest.mark.slow


def utfall(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {
        k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "UTFALL_PSEUDONYM_KEY", "DEBUG")
    }
    environment |= {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'utfall.sqlite3'}",
        "UTFALL_DATA_DIR": str(tmp_path / "data"),
        "UTFALL_PSEUDONYM_KEY": TEST_KEY,
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "utfall", *args],
        capture_output=True,
        text=True,
        env=environment,
        timeout=300,
        check=False,
    )


def count(tmp_path: Path, table: str) -> int:
    with sqlite3.connect(tmp_path / "utfall.sqlite3") as db:
        return int(db.execute(f"select count(*) from {table}").fetchone()[0])  # noqa: S608


def test_it_imports_and_no_identity_number_is_anywhere_in_the_database_file(write_csv, tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert utfall(tmp_path, "migrate", "-v0").returncode == 0
    data = generate(size=0.02, seed=3)
    generated = data.write_csv(tmp_path / "set")
    small = write_set(write_csv)
    result = utfall(tmp_path, "import", "--municipality", "default", *map(str, generated))
    assert result.returncode == 0, result.stderr
    assert f"uppföljningar: {len(data.followups)} nya" in result.stdout
    assert utfall(tmp_path, "import", *map(str, small)).returncode == 0

    numbers = {row["person_id"] for row in data.interventions} | {PERSON_A, PERSON_B, PERSON_C}
    forms = set()
    for number in numbers:
        digits = number.replace("-", "")
        forms |= {number, digits, digits[2:], number[2:]}
    database = b"".join(p.read_bytes() for p in tmp_path.glob("utfall.sqlite3*"))
    assert len(database) > 100_000
    leaked = [f for f in forms if f.encode() in database]
    assert leaked == []
    output = result.stdout + result.stderr
    assert not any(f in output for f in forms)


def test_a_bad_file_exits_non_zero_names_the_line_and_stores_nothing(write_csv, tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert utfall(tmp_path, "migrate", "-v0").returncode == 0
    files = write_set(write_csv)
    bad = write_csv(
        "followups.csv", *FOLLOWUPS, "F9,I1,2025-13-01,stockholm-2021@1,client,declined,,,,,,,,,,"
    )
    result = utfall(tmp_path, "import", *map(str, files[:3]), str(bad))
    assert result.returncode == 1
    assert f"{bad}:6: date: '2025-13-01' är inte ett datum på formen ÅÅÅÅ-MM-DD" in result.stderr
    assert "ingenting sparades" in result.stderr
    assert "Traceback" not in result.stderr
    assert count(tmp_path, "registry_provider") == 0


def test_export_writes_the_four_files(write_csv, tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert utfall(tmp_path, "migrate", "-v0").returncode == 0
    assert utfall(tmp_path, "import", *map(str, write_set(write_csv))).returncode == 0
    result = utfall(tmp_path, "export", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "contracts.csv",
        "followups.csv",
        "interventions.csv",
        "providers.csv",
    ]


def test_production_refuses_to_start_without_a_pseudonym_key(tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = utfall(
        tmp_path,
        "check",
        DEBUG="false",
        SECRET_KEY="x" * 50,
        ALLOWED_HOSTS="localhost",
        UTFALL_PSEUDONYM_KEY="",
    )
    assert result.returncode != 0
    assert "UTFALL_PSEUDONYM_KEY or UTFALL_PSEUDONYM_KEY_FILE must be set when DEBUG is off" in result.stderr


def test_the_key_can_come_from_a_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    key_file = tmp_path / "key"
    key_file.write_text("k" * 40)
    result = utfall(
        tmp_path, "check", DEBUG="false", SECRET_KEY="x" * 50, ALLOWED_HOSTS="localhost", UTFALL_PSEUDONYM_KEY="",
        UTFALL_PSEUDONYM_KEY_FILE=str(key_file),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


def test_development_mode_creates_a_local_key_file_and_says_so(write_csv, tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert utfall(tmp_path, "migrate", "-v0", UTFALL_PSEUDONYM_KEY="").returncode == 0
    result = utfall(tmp_path, "import", *map(str, write_set(write_csv)), UTFALL_PSEUDONYM_KEY="")
    assert result.returncode == 0, result.stderr
    assert "skapade en lokal nyckel" in result.stderr
    key = tmp_path / "data" / "pseudonym.key"
    assert len(key.read_text()) == 64
    assert oct(key.stat().st_mode & 0o777) == "0o600"


def test_a_wrong_setting_fails_at_start_with_a_clear_message(tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = utfall(tmp_path, "check", DATABASE_URL="mysql://localhost/x")
    assert result.returncode != 0
    assert "DATABASE_URL must start with postgres:// or sqlite:///" in result.stderr
    result = utfall(tmp_path, "check", UTFALL_MIN_COUNT="2")
    assert "never set below 3" in result.stderr


def test_demo_loads_once_and_creates_the_demo_users(tmp_path) -> None:  # type: ignore[no-untyped-def]
    first = utfall(tmp_path, "demo", "--no-server", "--size", "0.02")
    assert first.returncode == 0, first.stderr
    assert "caseworker, manager, analyst, procurement, board, admin" in first.stdout
    interventions = count(tmp_path, "registry_intervention")
    followups = count(tmp_path, "followups_followup")
    assert interventions >= 400 and followups >= 700
    assert count(tmp_path, "organisations_unit") >= 13
    second = utfall(tmp_path, "demo", "--no-server", "--size", "0.02")
    assert second.returncode == 0, second.stderr
    assert "Demodata finns redan" in second.stdout
    assert (count(tmp_path, "registry_intervention"), count(tmp_path, "followups_followup")) == (
        interventions,
        followups,
    )
    # The six demo users (the board member too, who reads for a committee), the provider account
    # and the caseworker's two colleagues (coverage per caseworker, issue 17 point 9).
    assert count(tmp_path, "organisations_user") == 9
    assert count(tmp_path, "organisations_committee_members") == 1
    assert "Utförarkontot 'provider'" in first.stdout
    assert count(tmp_path, "procurement_paymentrule") > 0 and count(tmp_path, "registry_contracttarget") > 0
    in_production = utfall(
        tmp_path, "demo", "--no-server", DEBUG="false", SECRET_KEY="x" * 50, ALLOWED_HOSTS="localhost"
    )
    assert in_production.returncode != 0
    assert "aldrig i produktion" in in_production.stderr


#: What `utfall api_token` must not import: the statistics, the API framework, the spreadsheet,
#: document, PDF and chart stacks (each costs start-up time for a command that writes one row).
HEAVY_STACKS = ("scipy", "pandas", "numpy", "statsmodels", "ninja", "pydantic", "openpyxl", "docx",
                "weasyprint", "vl_convert")  # fmt: skip


def test_api_token_does_not_load_the_statistics(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`utfall api_token` writes one row: it skips the system checks, which import the URL map
    and with it scipy and pandas (12.6 s on the demo machine; issue 17 point 18)."""
    import os
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from utfall.cli import main\n"
        "sys.argv = ['utfall', 'api_token', 'nobody']\n"
        "try:\n    main()\nexcept BaseException:\n    pass\n"
        "print(sorted(m for m in STACKS if m in sys.modules))\n"
    ).replace("STACKS", repr(HEAVY_STACKS))
    env = {**os.environ, "DEBUG": "true", "DATABASE_URL": f"sqlite:///{tmp_path}/empty.sqlite3"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout + out.stderr
