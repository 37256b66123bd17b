"""The write pass for follow-ups: new ones in bulk with their counts taken in memory, changed
ones replaced as a new version (issue 13.2, docs/interchange.md "Import speed").

New follow-ups and their answers are written as plain rows (COPY on PostgreSQL, executemany on
SQLite: no model instance per row), and the maintained counts get the new rows' share from a
:class:`~utfall.aggregates.tally.Tally` filled while the rows are built: nothing of a new row
existed before, so nothing is read back or taken out. Changed follow-ups (``--update``) are few
and go through ``core.changes.changing`` like every other change of stored rows.
"""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.utils import timezone

from utfall.aggregates import coverage
from utfall.aggregates.tally import Tally
from utfall.core.bulk import insert_rows, one_of
from utfall.followups.models import Answer, FollowUp
from utfall.interchange.batch import Batch, Pending
from utfall.registry.models import Intervention

BATCH = 2000
#: New follow-ups per addition to the count tables inside one transaction (bounded memory).
TALLY_ROWS = 20_000

FOLLOWUP_COLUMNS = [
    "followup_id", "intervention_id", "date", "instrument_version_id", "respondent", "status",
    "assessment", "g1", "g2", "g3", "minutes",
]  # fmt: skip
ANSWER_COLUMNS = [
    "municipality_id", "followup_id", "question_id", "option_id", "date",
    "provider_id", "service_id", "unit_id", "client_sex", "client_birth_year",
]  # fmt: skip
#: What a follow-up's counts and answers repeat of its intervention and client, in this order.
FACTS = (
    "provider_id",
    "service_id",
    "unit_id",
    "contract_id",
    "client__sex",
    "client__birth_year",
    "client_id",
)
Facts = tuple[Any, ...]


def _int(value: str) -> int | None:
    return int(value) if value != "" else None


class FollowUpRows:
    """Writes a batch's follow-ups. ``pks`` holds the primary keys of the records this import
    has written so far, by kind and key (the interventions the follow-ups refer to); ``facts``
    the facts of interventions (:data:`FACTS`) known so far in this import, kept by the caller
    across SQLite's slices (follow-ups change no intervention, and every intervention of an
    import is written before its first follow-up)."""

    def __init__(self, importer: Batch, pks: dict[str, dict[str, int]], facts: dict[int, Facts]) -> None:
        self.importer = importer
        self.municipality_id = importer.municipality.pk
        self.pks = pks
        self.facts = facts
        #: The stored interventions' facts as the import's check read them (canonical ``_facts``)
        #: hold while this import writes no intervention with ``--update`` (without it neither an
        #: intervention nor its client's sex or birth year can change); else they are read again.
        self.stored_facts_hold = not importer.update or not any(
            p.action in ("create", "update") for p in importer.accepted["interventions"].values()
        )

    def intervention_pk(self, key: str) -> int:
        written = self.pks.get("interventions", {})
        if key in written:
            return written[key]
        stored = self.importer.stored["interventions"][key]
        pk = int(stored["_pk"])
        if self.stored_facts_hold and "_facts" in stored:
            self.facts[pk] = stored["_facts"]
        return pk

    def facts_of(self, intervention_pks: set[int]) -> dict[int, Facts]:
        known = self.facts
        pks = sorted(pk for pk in intervention_pks if pk not in known)
        for i in range(0, len(pks), BATCH):
            rows = Intervention.objects.filter(pk__in=pks[i : i + BATCH]).values_list("pk", *FACTS)
            known.update((row[0], row[1:]) for row in rows)
        return {pk: known[pk] for pk in intervention_pks}

    # -- new follow-ups ---------------------------------------------------------------------

    def add(self, new: list[Pending], done: int = 0, total: int = 0) -> None:
        """Insert new follow-ups and their answers, and add their counts."""
        user = self.importer.user.pk if self.importer.user else None
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        tail = [self.municipality_id, 1, now, user]
        columns = [*FOLLOWUP_COLUMNS, "municipality_id", "version", "created_at", "created_by_id"]
        tally = Tally(self.municipality_id)
        added: list[int] = []  # since the last tally: their interventions' coverage flips then
        with connection.cursor() as cursor:
            for start in range(0, len(new), BATCH):
                chunk = new[start : start + BATCH]
                rows = self._followup_rows(chunk, tail)
                insert_rows(cursor, FollowUp._meta.db_table, columns, rows)
                ids = self._followup_pks(cursor, [p.key for p in chunk])
                facts = self.facts_of({row[1] for row in rows})
                answers = self._answer_rows(chunk, rows, ids, facts, tally, user)
                insert_rows(cursor, Answer._meta.db_table, ANSWER_COLUMNS, answers)
                added += ids.values()
                if (start + len(chunk)) % TALLY_ROWS == 0:
                    tally.apply()
                    coverage.flip(self.municipality_id, added)
                    added = []
                self.importer.progress("sparar followups", done + start + len(chunk), total)
        tally.apply()
        coverage.flip(self.municipality_id, added)

    def _followup_rows(self, chunk: list[Pending], tail: list[Any]) -> list[list[Any]]:
        """The follow-up table's rows, in ``FOLLOWUP_COLUMNS`` order then ``tail``. Built from
        the canonical records (dates are already ISO, which both databases take as a date)."""
        instruments = self.importer.catalogue.instruments
        rows = []
        for p in chunk:
            r = p.record
            rows.append([
                r["followup_id"], self.intervention_pk(r["intervention_id"]), r["date"],
                instruments[r["instrument"]].pk, r["respondent"], r["status"], r["assessment"],
                r["g1"], r["g2"], r["g3"], _int(r["minutes"]), *tail,
            ])  # fmt: skip
        return rows

    def _answer_rows(
        self,
        chunk: list[Pending],
        rows: list[list[Any]],
        ids: dict[str, int],
        facts: dict[int, Facts],
        tally: Tally,
        user: int | None,
    ) -> list[tuple[Any, ...]]:
        """The answer table's rows (``ANSWER_COLUMNS``); counts each follow-up and answer."""
        instruments = self.importer.catalogue.instruments
        municipality = self.municipality_id
        answers = tally.answers
        out = []
        for p, row in zip(chunk, rows, strict=True):
            r = p.record
            provider, service, unit, contract, sex, year, client = facts[row[1]]
            date = r["date"]
            common = tally.common(date, provider, service, unit, contract, sex, year)
            tally.followup(common, r["status"], r["assessment"], user)
            pk = ids[p.key]
            pairs: list[tuple[int, int]] = []
            # For the rollups by client (Tally.new): what the follow-up and its answers are.
            tally.new.append(
                (pk, client, row[3], date, r["assessment"], common[1], provider, service, unit, pairs)
            )
            if not r["answers"]:
                continue
            questions = instruments[r["instrument"]].questions
            for code, option in r["answers"].items():
                question = questions[code]
                option_pk = question.options[option]
                out.append(
                    (municipality, pk, question.pk, option_pk, date, provider, service, unit, sex, year)
                )
                answers[(*common, question.pk, option_pk)] += 1  # Tally.answer, inlined: per answer
                pairs.append((question.pk, option_pk))
        return out

    def _followup_pks(self, cursor: Any, keys: list[str]) -> dict[str, int]:
        """The primary keys just given to these follow-ups (one query, no ORM lookup per id)."""
        table = connection.ops.quote_name(FollowUp._meta.db_table)
        where, params = one_of("followup_id", keys)
        cursor.execute(
            f"SELECT followup_id, id FROM {table} WHERE municipality_id = %s AND {where}",  # noqa: S608 (our table; values are parameters)
            [self.municipality_id, *params],
        )
        return dict(cursor.fetchall())

    # -- changed follow-ups (--update), inside a ``changing`` bracket --------------------------

    def replace(self, changed: list[Pending]) -> None:
        instruments = self.importer.catalogue.instruments
        for p in changed:
            r = p.record
            pk = int(p.stored["_pk"])  # type: ignore[index]
            intervention = self.intervention_pk(r["intervention_id"])
            FollowUp.objects.filter(pk=pk).update(
                version=int(p.stored["_version"]) + 1,  # type: ignore[index]
                followup_id=r["followup_id"],
                intervention_id=intervention,
                date=r["date"],
                instrument_version_id=instruments[r["instrument"]].pk,
                respondent=r["respondent"],
                status=r["status"],
                assessment=r["assessment"],
                g1=r["g1"],
                g2=r["g2"],
                g3=r["g3"],
                minutes=_int(r["minutes"]),
            )
            Answer.objects.filter(followup_id=pk).delete()
            provider, service, unit, _, sex, year, _client = self.facts_of({intervention})[intervention]
            questions = instruments[r["instrument"]].questions
            answers = [
                (self.municipality_id, pk, questions[code].pk, questions[code].options[option], r["date"],
                 provider, service, unit, sex, year)
                for code, option in r["answers"].items()
            ]  # fmt: skip
            with connection.cursor() as cursor:
                insert_rows(cursor, Answer._meta.db_table, ANSWER_COLUMNS, answers)
