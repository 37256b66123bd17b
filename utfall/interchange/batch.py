"""What an import holds between its passes, shared by the importer (which reads and checks)
and the writer (which stores): the rows on their way in, the report, and the state the
write pass reads (:class:`Batch`). The importer imports the writer; the writer reads the
import through ``Batch`` and never imports the importer, so the two form no cycle.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Protocol

from utfall.interchange.reading import Table
from utfall.interchange.schema import ID_COLUMN
from utfall.organisations.models import Municipality, User
from utfall.records.rules import Catalogue, Issue, Record

Progress = Callable[[str, int, int], None]


@dataclass
class Pending:
    """A checked row on its way in, with where it came from."""

    kind: str
    table: Table
    line: int
    raw: list[str]
    record: Record
    issues: list[Issue] = field(default_factory=list)
    action: str = ""  # create | update | unchanged
    stored: Record | None = None

    @cached_property
    def key(self) -> str:
        return str(self.record[ID_COLUMN[self.kind]])


@dataclass
class ImportReport:
    created: Counter[str] = field(default_factory=Counter)
    updated: Counter[str] = field(default_factory=Counter)
    unchanged: Counter[str] = field(default_factory=Counter)
    rejected: Counter[str] = field(default_factory=Counter)
    issues: list[Issue] = field(default_factory=list)
    #: Errors past UTFALL_IMPORT_MAX_ERRORS: counted, not listed (the rejected files have them all).
    hidden_issues: int = 0
    stored: bool = False
    new_units: list[str] = field(default_factory=list)
    rejected_files: list[Path] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.issues

    @property
    def error_count(self) -> int:
        return len(self.issues) + self.hidden_issues


class Batch(Protocol):
    """What the write pass reads of the import that checked the rows (``Importer``)."""

    municipality: Municipality
    user: User | None
    actor: str
    report: ImportReport
    catalogue: Catalogue
    stored: dict[str, dict[str, Record]]
    #: The rows accepted by the check, by kind and key.
    accepted: dict[str, dict[str, Pending]]
    #: ``--update``: stored rows may be replaced.
    update: bool
    progress: Progress
