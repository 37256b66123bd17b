"""The repository itself: no merge left half-done in any text file of the project."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MARKER = re.compile(r"^(<{7} |>{7} |={7}$)", re.MULTILINE)
SUFFIXES = {".py", ".md", ".html", ".txt", ".yaml", ".yml", ".toml", ".css", ".js", ".po", ".sh", ".json"}


def test_no_file_holds_a_merge_conflict_marker() -> None:
    files = [ROOT / "README.md", ROOT / "pyproject.toml", ROOT / "dev"]
    for folder in ("utfall", "docs", "tests", "bench", "deploy", ".ci"):
        files += [p for p in (ROOT / folder).rglob("*") if p.suffix in SUFFIXES and p.is_file()]
    found = [
        str(p.relative_to(ROOT))
        for p in files
        if p.exists() and MARKER.search(p.read_text(encoding="utf-8", errors="replace"))
    ]
    assert not found, f"merge conflict markers in: {found}"
