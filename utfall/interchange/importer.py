"""``utfall import``: interchange v1 files into the database, all rules checked, all errors at once.

The import runs in three passes. (1) Every file is read and every row checked on its own
(``utfall.records.rules``). (2) Kind by kind, in dependency order, references are resolved against the
rows accepted so far in this set and against what is stored, and each row is compared with
its stored version. (3) Only then is anything written, in one transaction. By default one
bad row stores nothing; with ``partial`` the good rows are stored and the rejected ones are
written, with their reasons, to files that can be fixed and imported again.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import os
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from utfall.core.changes import announce_data_changed
from utfall.core.pseudonyms import PSEUDONYM_PREFIX
from utfall.core.spreadsheets import neutralised
from utfall.interchange.batch import ImportReport, Pending, Progress
from utfall.interchange.reading import Table, UnreadableFile, read_table
from utfall.interchange.schema import (
    CONTRACT_COLUMNS,
    CONTRACT_V11_COLUMNS,
    ERROR_COLUMN,
    FOLLOWUP_FIXED_AFTER,
    FOLLOWUP_FIXED_BEFORE,
    ID_COLUMN,
    INTERVENTION_COLUMNS,
    KINDS,
    PROVIDER_COLUMNS,
    REQUIRED,
    detect_kind,
)
from utfall.interchange.writing import Writer
from utfall.organisations.models import Municipality, User
from utfall.records import canonical
from utfall.records.followup_fast import compile_followup_check
from utfall.records.rules import (
    CHECKS,
    Catalogue,
    Issue,
    Record,
    RowChecker,
    check_followup_of,
    load_catalogue,
    shown,
)

#: Between two committed slices on SQLite: long enough for a web request's write that waits in
#: SQLite's busy handler (it sleeps up to 100 ms at a time) to take the lock.
SLICE_PAUSE_SECONDS = 0.15
#: How long a slice on SQLite writes before it commits and pauses (wall clock). The first slice
#: has ``UTFALL_IMPORT_COMMIT_ROWS`` rows; later ones are sized from the rate seen so far, so the
#: pause costs about a ninth of the time however fast the rows go in, and a waiting web request
#: waits about this long whatever the machine's load (issue 13.2, docs/interchange.md).
SLICE_SECONDS = 1.0


def next_slice(rows: int, seconds: float, *, smallest: int) -> int:
    """The rows of the next slice: as many as the last one's rate writes in ``SLICE_SECONDS``,
    at most twice and at least half the last slice, never fewer than ``smallest``."""
    wanted = rows * SLICE_SECONDS / max(seconds, 0.001)
    return max(smallest, int(min(2 * rows, max(rows / 2, wanted))))


def known_columns(kind: str, catalogue: Catalogue) -> set[str]:
    if kind == "providers":
        return set(PROVIDER_COLUMNS)
    if kind == "contracts":
        return set(CONTRACT_COLUMNS) | set(CONTRACT_V11_COLUMNS)
    if kind == "interventions":
        return set(INTERVENTION_COLUMNS)
    return set(FOLLOWUP_FIXED_BEFORE) | set(FOLLOWUP_FIXED_AFTER) | set(catalogue.question_codes)


class Importer:
    def __init__(
        self,
        *,
        municipality: Municipality,
        partial: bool = False,
        update: bool = False,
        user: User | None = None,
        actor: str = "import",
        today: dt.date | None = None,
        rejected_dir: Path | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.municipality = municipality
        self.partial, self.update = partial, update
        self.user, self.actor = user, (user.get_username() if user else actor)
        self.catalogue = load_catalogue(today or dt.date.today(), municipality.pk)
        self.rejected_dir = rejected_dir
        self.progress = progress or (lambda stage, done, total: None)
        self.report = ImportReport()
        self.pending: dict[str, list[Pending]] = {kind: [] for kind in KINDS}
        self.rejected_tables: dict[Path, tuple[Table, list[Pending]]] = {}

    # -- pass 1: files and rows -------------------------------------------------------------

    def read(self, paths: Sequence[Path]) -> None:
        seen: set[Path] = set()
        for path in paths:
            label = str(path)
            if path.resolve() in seen:
                self.report.issues.append(Issue(label, 0, "-", "filen är angiven två gånger"))
                continue
            seen.add(path.resolve())
            try:
                table = read_table(path, label)
            except UnreadableFile as exc:
                self.report.issues.append(Issue(label, 0, "-", str(exc).split(": ", 1)[-1]))
                continue
            self.read_table(table)

    def read_table(self, table: Table) -> None:
        kind = detect_kind(table.header, table.path.stem)
        if kind is None:
            self.report.issues.append(
                Issue(
                    table.label,
                    1,
                    "-",
                    "kan inte avgöra vilken sorts fil det är "
                    "(providers, contracts, interventions eller followups)",
                )
            )
        elif self._header_ok(kind, table):
            self._check_rows(kind, table)

    def _header_ok(self, kind: str, table: Table) -> bool:
        issues = []
        known = known_columns(kind, self.catalogue) | {ERROR_COLUMN}
        counts = Counter(table.header)
        for column in table.header:
            if column == "":
                issues.append(Issue(table.label, 1, "-", "en kolumn saknar rubrik"))
            elif column not in known:
                # The heading as the user wrote it, unless it is long or holds an identity number.
                name = column if shown(column) == f"'{column}'" else "-"
                issues.append(Issue(table.label, 1, name, f"okänd kolumn {shown(column)} för {kind}"))
            elif counts[column] > 1:
                issues.append(Issue(table.label, 1, column, "kolumnen förekommer mer än en gång"))
        for column in sorted(REQUIRED[kind] - set(table.header)):
            issues.append(Issue(table.label, 1, column, "obligatorisk kolumn saknas"))
        self.report.issues.extend(dict.fromkeys(issues))
        if issues:
            self.report.rejected[kind] += len(table.rows)
        return not issues

    def _check_rows(self, kind: str, table: Table) -> None:
        width = len(table.header)
        check = CHECKS[kind]
        # Follow-up rows are the many: the valid ones skip the RowChecker (records.followup_fast).
        fast = compile_followup_check(table.header, self.catalogue) if kind == "followups" else None
        pending_rows = self.pending[kind]
        for line, cells in table.rows:
            if fast is not None and len(cells) == width:
                record = fast(cells)
                if record is not None:
                    pending_rows.append(Pending(kind, table, line, cells, record))
                    continue
            if len(cells) != width:
                pending = Pending(kind, table, line, cells, {ID_COLUMN[kind]: ""})
                pending.issues.append(
                    Issue(table.label, line, "-", f"raden har {len(cells)} fält men rubriken har {width}")
                )
                self._reject(pending)
                continue
            raw = dict(zip(table.header, cells, strict=True))
            raw.pop(ERROR_COLUMN, None)
            checker = RowChecker(
                table.label, line, raw, self.catalogue, municipality_code=self.municipality.code
            )
            record = check(checker)
            pending = Pending(kind, table, line, cells, record, checker.issues)
            self.pending[kind].append(pending)

    def _reject(self, pending: Pending) -> None:
        self.report.issues.extend(pending.issues)
        self.report.rejected[pending.kind] += 1
        entry = self.rejected_tables.setdefault(pending.table.path, (pending.table, []))
        entry[1].append(pending)

    # -- pass 2: references and comparison with what is stored -------------------------------

    def resolve(self) -> None:
        self.accepted: dict[str, dict[str, Pending]] = {kind: {} for kind in KINDS}
        self.stored: dict[str, dict[str, Record]] = {}
        for kind in KINDS:
            rows = self.pending[kind]
            self.progress(f"kontrollerar {kind}", 0, len(rows))
            self.stored[kind] = canonical.READERS[kind](self.municipality, [p.key for p in rows if p.key])
            self._extra_lookups(kind, rows)
            first_line: dict[str, Pending] = {}
            for pending in rows:
                if pending.key:
                    twin = first_line.setdefault(pending.key, pending)
                    if twin is not pending:
                        pending.issues.append(
                            Issue(
                                pending.table.label,
                                pending.line,
                                ID_COLUMN[kind],
                                f"dubblett: '{pending.key}' finns redan på {twin.table.label} rad {twin.line}",
                            )
                        )
                getattr(self, f"_resolve_{kind}")(pending)
                self._compare(pending)
                if pending.issues:
                    self._reject(pending)
                else:
                    self.accepted[kind][pending.key] = pending
            self.progress(f"kontrollerar {kind}", len(rows), len(rows))

    def _extra_lookups(self, kind: str, rows: list[Pending]) -> None:
        """Stored records that rows refer to but are not themselves in the set."""
        refs: dict[str, set[str]] = defaultdict(set)
        if kind == "contracts":
            refs["providers"] = {p.record["provider_id"] for p in rows}
        elif kind == "interventions":
            refs["providers"] = {p.record["provider_id"] for p in rows}
            refs["contracts"] = {p.record["contract_id"] for p in rows if p.record["contract_id"]}
            from utfall.registry.models import Client

            pseudonyms = {
                p.record["person_id"][len(PSEUDONYM_PREFIX) :] for p in rows if p.record["person_id"]
            }
            self.clients: dict[str, tuple[str, int]] = {}
            pseudo_list = sorted(pseudonyms)
            for i in range(0, len(pseudo_list), canonical.CHUNK):
                for pseudo, sex, year in Client.objects.filter(
                    municipality=self.municipality, pseudonym__in=pseudo_list[i : i + canonical.CHUNK]
                ).values_list("pseudonym", "sex", "birth_year"):
                    self.clients[pseudo] = (sex, year)
            self.set_clients: dict[str, Pending] = {}
        elif kind == "followups":
            refs["interventions"] = {p.record["intervention_id"] for p in rows}
        for ref_kind, ids in refs.items():
            missing = ids - set(self.stored[ref_kind]) - {""}
            if missing:
                self.stored[ref_kind].update(canonical.READERS[ref_kind](self.municipality, missing))

    def _exists(self, kind: str, key: str) -> Record | None:
        if key in self.accepted[kind]:
            return self.accepted[kind][key].record
        return self.stored[kind].get(key)

    def _missing_reference(self, pending: Pending, column: str, kind: str, key: str) -> None:
        reason = f"'{key}' finns inte bland {kind} i filerna eller i databasen"
        if any(p.key == key for p in self.pending[kind]):
            reason = f"'{key}' finns i {kind} men den raden avvisades"
        pending.issues.append(Issue(pending.table.label, pending.line, column, reason))

    def _resolve_providers(self, pending: Pending) -> None:
        return

    def _resolve_contracts(self, pending: Pending) -> None:
        provider_id = pending.record["provider_id"]
        if provider_id and self._exists("providers", provider_id) is None:
            self._missing_reference(pending, "provider_id", "providers", provider_id)

    def _resolve_interventions(self, pending: Pending) -> None:
        record = pending.record
        if record["provider_id"] and self._exists("providers", record["provider_id"]) is None:
            self._missing_reference(pending, "provider_id", "providers", record["provider_id"])
        if record["contract_id"]:
            contract = self._exists("contracts", record["contract_id"])
            if contract is None:
                self._missing_reference(pending, "contract_id", "contracts", record["contract_id"])
            elif record["provider_id"] and contract["provider_id"] != record["provider_id"]:
                pending.issues.append(
                    Issue(
                        pending.table.label,
                        pending.line,
                        "contract_id",
                        f"avtalet '{record['contract_id']}' gäller utföraren '{contract['provider_id']}', "
                        f"inte '{record['provider_id']}'",
                    )
                )
        if not record["person_id"]:
            return
        pseudonym = record["person_id"][len(PSEUDONYM_PREFIX) :]
        earlier = self.set_clients.get(pseudonym)
        known = (
            (earlier.record["sex"], int(earlier.record["birth_year"]))
            if earlier
            else self.clients.get(pseudonym)
        )
        for column, index in (("sex", 0), ("birth_year", 1)):
            if record[column] == "":
                if known is None:
                    pending.issues.append(
                        Issue(
                            pending.table.label,
                            pending.line,
                            column,
                            "värde saknas och kan inte härledas ur en pseudonym",
                        )
                    )
                else:
                    record[column] = str(known[index])
            elif known is not None and record[column] != str(known[index]):
                if earlier is not None:
                    reason = f"samma person har '{known[index]}' på {earlier.table.label} rad {earlier.line}"
                elif not self.update:
                    reason = (
                        f"personen finns redan med {column} '{known[index]}'; använd --update för att ändra"
                    )
                else:
                    continue
                pending.issues.append(Issue(pending.table.label, pending.line, column, reason))
        if earlier is None and not pending.issues:
            self.set_clients[pseudonym] = pending

    def _resolve_followups(self, pending: Pending) -> None:
        record = pending.record
        intervention = (
            self._exists("interventions", record["intervention_id"]) if record["intervention_id"] else None
        )
        if record["intervention_id"] and intervention is None:
            self._missing_reference(pending, "intervention_id", "interventions", record["intervention_id"])
            return
        if intervention is None:
            return
        for column, reason, _said in check_followup_of(record, intervention, self.catalogue):
            pending.issues.append(Issue(pending.table.label, pending.line, column, reason))

    def _compare(self, pending: Pending) -> None:
        stored = self.stored[pending.kind].get(pending.key)
        if stored is None:
            pending.action = "create"
            return
        pending.stored = stored
        differing = [k for k, v in pending.record.items() if stored.get(k) != v]
        if not differing:
            pending.action = "unchanged"
        elif self.update:
            pending.action = "update"
        else:
            columns = ", ".join("svar" if k == "answers" else k for k in differing)
            pending.issues.append(
                Issue(
                    pending.table.label,
                    pending.line,
                    ID_COLUMN[pending.kind],
                    f"'{pending.key}' finns redan med annat innehåll ({columns}); "
                    "använd --update för att ersätta (den gamla versionen sparas i historiken)",
                )
            )

    # -- pass 3: writing ------------------------------------------------------------------

    def write(self) -> None:
        """Store the accepted rows: in one transaction on PostgreSQL (readers and writers are
        not blocked by it). SQLite has one write lock for the whole file, so there the rows are
        committed in slices (the first of ``UTFALL_IMPORT_COMMIT_ROWS`` rows, then sized to take
        about ``SLICE_SECONDS``) with a pause between them, and a web request's write waits its
        turn (busy timeout) instead of failing for the length of the import. An import stopped half-way on SQLite has stored whole slices; running
        it again stores the rest (rows already stored are unchanged), docs/interchange.md."""
        slice_rows = getattr(settings, "UTFALL_IMPORT_COMMIT_ROWS", 0)
        if connection.vendor != "sqlite" or slice_rows <= 0:
            with transaction.atomic():
                writer = Writer(self)
                for kind in KINDS:
                    writer.write(kind, self._in_write_order(kind))
                announce_data_changed()  # rows were written in bulk, past the model signals
            self.report.stored = True
            return
        writer = Writer(self)
        big = sum(len(rows) for rows in self.accepted.values()) > slice_rows
        first = True
        size = slice_rows
        for kind in KINDS:
            rows = self._in_write_order(kind)
            start = 0
            while start < len(rows):
                if big and not first:
                    time.sleep(SLICE_PAUSE_SECONDS)  # let a waiting web request take the lock
                first = False
                began = time.perf_counter()
                with transaction.atomic():
                    writer.write(kind, rows[start : start + size])
                    announce_data_changed()
                written = min(size, len(rows) - start)
                start += written
                if written == size:  # a whole slice: its rate sizes the next one
                    size = next_slice(size, time.perf_counter() - began, smallest=max(1, slice_rows // 10))
        self.report.stored = True

    def _in_write_order(self, kind: str) -> list[Pending]:
        """Follow-ups by date (stable: file order within a date): each slice then adds counts
        to a few months, mostly ones with no row yet (``aggregates.tally``), and the answers
        go into the period index near each other. Other kinds in file order."""
        rows = list(self.accepted[kind].values())
        if kind == "followups":
            rows.sort(key=lambda p: p.record["date"])
        return rows

    def write_rejected(self) -> None:
        for path, (table, rows) in self.rejected_tables.items():
            directory = self.rejected_dir or path.parent
            directory.mkdir(parents=True, exist_ok=True)
            target = directory / f"{path.stem}.rejected.csv"
            header = [h for h in table.header if h != ERROR_COLUMN] + [ERROR_COLUMN]
            with target.open("w", encoding="utf-8", newline="") as fh:
                out = csv.writer(fh)
                out.writerow(header)
                for pending in sorted(rows, key=lambda p: p.line):
                    cells = dict(zip(table.header, pending.raw, strict=False))
                    reasons = "; ".join(f"{i.column}: {i.reason}" for i in pending.issues)
                    values = [cells.get(h, "") for h in header[:-1]]
                    if len(pending.raw) != len(table.header):
                        values = (pending.raw + [""] * len(header))[: len(header) - 1]
                    out.writerow(neutralised([*values, reasons]))
            self.report.rejected_files.append(target)

    def run(self, paths: Sequence[Path] = (), tables: Sequence[Table] = ()) -> ImportReport:
        try:
            with exclusive_import():
                return self._run(paths, tables)
        except ImportInProgress as exc:
            self.report.issues.append(Issue("-", 0, "-", str(exc)))
            return self.report

    def _run(self, paths: Sequence[Path], tables: Sequence[Table]) -> ImportReport:
        self.read(paths)
        for table in tables:
            self.read_table(table)
        self.resolve()
        for kind in KINDS:
            unchanged = sum(p.action == "unchanged" for p in self.accepted[kind].values())
            self.report.unchanged.update({kind: unchanged} if unchanged else {})
        self.report.issues.sort(key=lambda i: (i.file, i.line))
        shown = max(1, settings.UTFALL_IMPORT_MAX_ERRORS)
        if len(self.report.issues) > shown:
            self.report.hidden_issues = len(self.report.issues) - shown
            del self.report.issues[shown:]
        if self.report.issues and not self.partial:
            return self.report
        self.write()
        if self.partial and self.rejected_tables:
            self.write_rejected()
        return self.report


class ImportInProgress(Exception):
    """Another import is running on the same database."""


IMPORT_IN_PROGRESS = (
    "en annan import pågår mot samma databas; vänta tills den är klar och kör sedan den här igen "
    "(två importer samtidigt skulle kontrollera raderna mot ett läge som ändras under dem)"
)
#: pg_advisory_lock key of the import (any constant; "utfall-import" as an integer).
IMPORT_LOCK_KEY = 0x75746661_6C6C_0001


@contextmanager
def exclusive_import() -> Iterator[None]:
    """One import at a time per database: its checks read what is stored, and its writes (on
    SQLite in slices) must not interleave with another's. PostgreSQL: an advisory lock;
    SQLite: an exclusive lock on a file beside the database (docs/interchange.md)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [IMPORT_LOCK_KEY])
            row = cursor.fetchone()
        if not (row and row[0]):
            raise ImportInProgress(IMPORT_IN_PROGRESS)
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [IMPORT_LOCK_KEY])
        return
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock, as before
        yield
        return
    name = str(connection.settings_dict["NAME"])
    if "memory" in name or not name:
        # An in-memory database lives in one process only: the lock is that process's (else
        # two processes' test runs on one machine would block each other's imports).
        digest = hashlib.sha256(f"{name}:{os.getpid()}".encode()).hexdigest()[:16]
        lock_path = Path(tempfile.gettempdir()) / f"utfall-import-{digest}.lock"
    else:
        lock_path = Path(name + ".import-lock")
    with lock_path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ImportInProgress(IMPORT_IN_PROGRESS) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def import_files(paths: Sequence[Path], **options: Any) -> ImportReport:
    """Import interchange v1 files; see Importer for the options."""
    return Importer(**options).run(paths)
