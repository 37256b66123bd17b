"""The write pass of an import: bulk inserts for new rows, versioned updates for changed ones.

Follow-ups are written by :mod:`utfall.interchange.followup_rows`. The maintained counts
(``utfall.aggregates``) hear of every change: new follow-ups add their own counts (taken in
memory while they are written), and changes of stored rows (an intervention or follow-up
replaced with ``--update``, a client's facts) are bracketed by ``core.changes.changing`` over
the interventions whose rows change; new interventions are announced with their keys, so the
outcomes of their clients' other interventions are stored again (docs/aggregates.md).
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import Any

from django.db import connection

from utfall.core.bulk import insert_rows, one_of
from utfall.core.changes import changing
from utfall.core.models import ChangeRecord
from utfall.core.pseudonyms import PSEUDONYM_PREFIX
from utfall.followups.models import Answer, FollowUp
from utfall.interchange.batch import Batch, Pending
from utfall.interchange.followup_rows import FollowUpRows
from utfall.organisations.models import Unit
from utfall.records.canonical import public
from utfall.registry.models import Client, Contract, ContractTarget, Intervention, Provider, Service

BATCH = 2000
#: A new intervention's columns after its key and municipality (``Writer._intervention_row``).
INTERVENTION_FIELDS = [
    "client_id", "service_id", "provider_id", "contract_id", "unit_id", "decided_on", "started_on",
    "ended_on", "end_reason", "goals_total", "goals_fully", "goals_partly",
]  # fmt: skip


def _date(value: str) -> Any:
    import datetime as dt

    return dt.date.fromisoformat(value) if value else None


def _int(value: str) -> int | None:
    return int(value) if value != "" else None


class Writer:
    def __init__(self, importer: Batch) -> None:
        self.importer = importer
        self.municipality = importer.municipality
        self.report = importer.report
        self.services = dict(Service.objects.values_list("code", "pk"))
        self.pks: dict[str, dict[str, int]] = {}
        self.existing_clients: dict[str, tuple[int, str, int]] = {}
        #: Interventions' facts for their follow-ups, kept across SQLite's slices (FollowUpRows).
        self.facts: dict[int, tuple[Any, ...]] = {}

    def write(self, kind: str, rows: list[Pending]) -> None:
        new = [p for p in rows if p.action == "create"]
        changed = [p for p in rows if p.action == "update"]
        total = len(new) + len(changed)
        self.importer.progress(f"sparar {kind}", 0, total)
        if kind == "followups":
            followups = FollowUpRows(self.importer, self.pks, self.facts)
            if changed:
                with changing(self.municipality.pk, self._touched_followups(changed), followups_only=True):
                    followups.replace(changed)
            followups.add(new, len(changed), total)
        elif kind == "interventions":
            if new or changed:
                # Only stored interventions whose rows change are counted before and after; the
                # new ones (which have no follow-ups yet: those are written after every
                # intervention) are named as created, for their clients' outcomes alone.
                created: list[int] = []
                with changing(
                    self.municipality.pk, self._touched_interventions(new, changed), created=created
                ):
                    self._write_interventions(new, changed)
                    created += [self.pks["interventions"][p.key] for p in new]
        else:
            getattr(self, f"_write_{kind}")(new, changed)
        self.report.created.update({kind: len(new)} if new else {})
        self.report.updated.update({kind: len(changed)} if changed else {})
        if changed:
            self._history(kind, changed)
        self.importer.progress(f"sparar {kind}", total, total)

    def _touched_followups(self, changed: list[Pending]) -> list[int]:
        """The interventions of replaced follow-ups: the new one and the one each leaves."""
        touched = [self._pk("interventions", p.record["intervention_id"]) for p in changed]
        stored = [int(p.stored["_pk"]) for p in changed if p.stored]
        for i in range(0, len(stored), BATCH):
            touched += FollowUp.objects.filter(pk__in=stored[i : i + BATCH]).values_list(
                "intervention_id", flat=True
            )
        return touched

    def _touched_interventions(self, new: list[Pending], changed: list[Pending]) -> list[int]:
        """The stored interventions whose counted rows this write changes: those replaced, and
        every intervention of a client whose sex or birth year changes (their answers repeat
        them). Reads the stored clients of the rows for :meth:`_clients`."""
        touched = [int(p.stored["_pk"]) for p in changed if p.stored]
        wanted = {p.record["person_id"][len(PSEUDONYM_PREFIX) :]: p.record for p in [*new, *changed]}
        self.existing_clients = {}
        keys = sorted(wanted)
        for i in range(0, len(keys), BATCH):
            for pk, pseudo, sex, year in Client.objects.filter(
                municipality=self.municipality, pseudonym__in=keys[i : i + BATCH]
            ).values_list("pk", "pseudonym", "sex", "birth_year"):
                self.existing_clients[pseudo] = (pk, sex, year)
        moved = [
            pk
            for pseudo, (pk, sex, year) in self.existing_clients.items()
            if (wanted[pseudo]["sex"], str(wanted[pseudo]["birth_year"])) != (sex, str(year))
        ]
        for i in range(0, len(moved), BATCH):
            touched += Intervention.objects.filter(client_id__in=moved[i : i + BATCH]).values_list(
                "pk", flat=True
            )
        return touched

    def _history(self, kind: str, changed: list[Pending]) -> None:
        # Follow-ups count their versions; other records are numbered by their earlier changes.
        earlier = Counter(
            ChangeRecord.objects.filter(
                municipality=self.municipality, kind=kind, record_id__in=[p.key for p in changed]
            ).values_list("record_id", flat=True)
        )
        ChangeRecord.objects.bulk_create(
            ChangeRecord(
                municipality=self.municipality,
                kind=kind,
                record_id=p.key,
                version=int((p.stored or {}).get("_version", earlier[p.key] + 1)),
                data=public(p.stored or {}),
                changed_by=self.importer.user,
                changed_by_label=self.importer.actor,
                reason="import --update",
            )
            for p in changed
        )

    def _pk(self, kind: str, key: str) -> int:
        if key in self.pks.get(kind, {}):
            return self.pks[kind][key]
        stored = self.importer.stored[kind].get(key)
        assert stored is not None, f"{kind} {key} was resolved but is neither written nor stored"
        return int(stored["_pk"])

    # -- providers ----------------------------------------------------------------------

    def _write_providers(self, new: list[Pending], changed: list[Pending]) -> None:
        objs = Provider.objects.bulk_create(
            [Provider(municipality=self.municipality, **p.record) for p in new], batch_size=BATCH
        )
        self.pks.setdefault("providers", {}).update({o.provider_id: o.pk for o in objs})
        for p in changed:
            Provider.objects.filter(pk=p.stored["_pk"]).update(**p.record)  # type: ignore[index]

    # -- contracts ----------------------------------------------------------------------

    def _contract_fields(self, record: dict[str, Any]) -> dict[str, Any]:
        return {
            "contract_id": record["contract_id"],
            "provider_id": self._pk("providers", record["provider_id"]),
            "form": record["form"],
            "valid_from": _date(record["valid_from"]),
            "valid_to": _date(record["valid_to"]),
            **{
                name: (record[name] or None) if name in ("price", "value") else record[name]
                for name in ("extension_options", "price", "price_unit", "value", "manager")
                if name in record  # a v1 file leaves the v1.1 terms as they are
            },
        }

    def _write_contracts(self, new: list[Pending], changed: list[Pending]) -> None:
        objs = Contract.objects.bulk_create(
            [Contract(municipality=self.municipality, **self._contract_fields(p.record)) for p in new],
            batch_size=BATCH,
        )
        self.pks.setdefault("contracts", {}).update({o.contract_id: o.pk for o in objs})
        through = Contract.services.through
        for p in changed:
            Contract.objects.filter(pk=p.stored["_pk"]).update(**self._contract_fields(p.record))  # type: ignore[index]
            through.objects.filter(contract_id=p.stored["_pk"]).delete()  # type: ignore[index]
        links = [
            through(contract_id=self._pk("contracts", p.key), service_id=self.services[code])
            for p in [*new, *changed]
            for code in p.record["services"].split()
        ]
        through.objects.bulk_create(links, batch_size=BATCH)
        with_targets = [p for p in [*new, *changed] if "targets" in p.record]
        ContractTarget.objects.filter(
            contract_id__in=[self._pk("contracts", p.key) for p in with_targets]
        ).delete()
        ContractTarget.objects.bulk_create(
            [
                ContractTarget(
                    municipality=self.municipality,
                    contract_id=self._pk("contracts", p.key),
                    indicator=indicator,
                    level=Decimal(level),
                    min_n=int(min_n),
                )
                for p in with_targets
                for indicator, level, min_n in (t.split(":") for t in p.record["targets"].split())
            ],
            batch_size=BATCH,
        )

    # -- interventions ------------------------------------------------------------------

    def _clients(self, rows: list[Pending]) -> dict[str, int]:
        wanted = {p.record["person_id"][len(PSEUDONYM_PREFIX) :]: p.record for p in rows}
        existing = self.existing_clients  # read by _touched_interventions, in this transaction
        fresh = [pseudo for pseudo in wanted if pseudo not in existing]
        pks = self._insert(
            Client,
            "pseudonym",
            ["pseudonym", "municipality_id", "sex", "birth_year"],
            [
                [pseudo, self.municipality.pk, wanted[pseudo]["sex"], int(wanted[pseudo]["birth_year"])]
                for pseudo in fresh
            ],
        )
        for pseudo, (pk, sex, year) in existing.items():
            pks[pseudo] = pk
            record = wanted[pseudo]
            if (record["sex"], str(record["birth_year"])) != (sex, str(year)):
                # Only reached with --update: the importer rejects the difference otherwise.
                Client.objects.filter(pk=pk).update(sex=record["sex"], birth_year=int(record["birth_year"]))
                Answer.objects.filter(followup__intervention__client_id=pk).refresh_facts()
        return pks

    def _units(self, rows: list[Pending]) -> dict[str, int]:
        codes = {p.record["unit"] for p in rows}
        units = dict(Unit.objects.filter(municipality=self.municipality).values_list("code", "pk"))
        for code in sorted(codes - set(units)):
            units[code] = Unit.objects.create(municipality=self.municipality, code=code, name=code).pk
            self.report.new_units.append(code)
        return units

    def _intervention_fields(
        self, r: dict[str, Any], clients: dict[str, int], units: dict[str, int]
    ) -> dict[str, Any]:
        return {
            "intervention_id": r["intervention_id"],
            "client_id": clients[r["person_id"][len(PSEUDONYM_PREFIX) :]],
            "service_id": self.services[r["service"]],
            "provider_id": self._pk("providers", r["provider_id"]),
            "contract_id": self._pk("contracts", r["contract_id"]) if r["contract_id"] else None,
            "unit_id": units[r["unit"]],
            "decided_on": _date(r["decided_on"]),
            "started_on": _date(r["started_on"]),
            "ended_on": _date(r["ended_on"]),
            "end_reason": r["end_reason"],
            "goals_total": _int(r["goals_total"]),
            "goals_fully": _int(r["goals_fully"]),
            "goals_partly": _int(r["goals_partly"]),
        }

    def _intervention_row(
        self, r: dict[str, Any], clients: dict[str, int], units: dict[str, int]
    ) -> list[Any]:
        """A new intervention's values in ``INTERVENTION_FIELDS`` order (dates as ISO text)."""
        return [
            clients[r["person_id"][len(PSEUDONYM_PREFIX) :]], self.services[r["service"]],
            self._pk("providers", r["provider_id"]),
            self._pk("contracts", r["contract_id"]) if r["contract_id"] else None, units[r["unit"]],
            r["decided_on"], r["started_on"], r["ended_on"] or None, r["end_reason"],
            _int(r["goals_total"]), _int(r["goals_fully"]), _int(r["goals_partly"]),
        ]  # fmt: skip

    def _insert(self, model: Any, key: str, columns: list[str], rows: list[list[Any]]) -> dict[str, int]:
        """Insert rows (the first value each row's key) without model instances, and read their
        new primary keys back by key: one query per ``BATCH`` rows."""
        table = connection.ops.quote_name(model._meta.db_table)
        pks: dict[str, int] = {}
        with connection.cursor() as cursor:
            for start in range(0, len(rows), BATCH):
                chunk = rows[start : start + BATCH]
                insert_rows(cursor, model._meta.db_table, columns, chunk)
                where, params = one_of(key, [row[0] for row in chunk])
                cursor.execute(
                    f"SELECT {key}, id FROM {table} WHERE municipality_id = %s AND {where}",  # noqa: S608 (our table and column; values are parameters)
                    [self.municipality.pk, *params],
                )
                pks.update(cursor.fetchall())
        return pks

    def _write_interventions(self, new: list[Pending], changed: list[Pending]) -> None:
        rows = [*new, *changed]
        if not rows:
            return
        clients, units = self._clients(rows), self._units(rows)
        columns = ["intervention_id", "municipality_id", *INTERVENTION_FIELDS]
        self.pks.setdefault("interventions", {}).update(
            self._insert(Intervention, "intervention_id", columns, [
                [p.key, self.municipality.pk, *self._intervention_row(p.record, clients, units)] for p in new
            ])
        )  # fmt: skip
        for p in changed:
            Intervention.objects.filter(pk=p.stored["_pk"]).update(  # type: ignore[index]
                **self._intervention_fields(p.record, clients, units)
            )
        if changed:
            # An intervention may have moved to another provider, service or unit: its answers follow.
            Answer.objects.filter(
                followup__intervention_id__in=[p.stored["_pk"] for p in changed]  # type: ignore[index]
            ).refresh_facts()
