"""Many rows into a table without a model instance each: the bulk path of the import and of
the maintained aggregates (COPY on PostgreSQL, executemany on SQLite)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection

__all__ = ["insert_rows", "one_of"]


def insert_rows(cursor: Any, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Insert ``rows`` (values in the order of ``columns``) into ``table``. Names are quoted
    here (a name already quoted is left as it is, as Django's ``quote_name`` does). COPY is
    PostgreSQL's bulk path; a long parameterised INSERT spends its time in the driver."""
    quote = connection.ops.quote_name
    table, listed = quote(table), ", ".join(quote(c) for c in columns)
    if connection.vendor == "postgresql":
        with cursor.cursor.copy(f"COPY {table} ({listed}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    marks = ", ".join(["%s"] * len(columns))
    cursor.executemany(f"INSERT INTO {table} ({listed}) VALUES ({marks})", list(rows))  # noqa: S608 (our table; values are parameters)


def one_of(column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
    """A condition "``column`` is one of ``values``" and its parameters, for a look-up of many
    keys (``column`` is quoted by the caller). PostgreSQL: ``= ANY(%s)`` with one array
    parameter, so the statement's text is the same for any number of values and psycopg parses
    it once (an ``IN`` of 2,000 placeholders cost ~20 ms of the importer's CPU per query to
    parse, ~1.5 s of a 41,000-row import, issue 13.2, 2026-12-03). SQLite: a plain ``IN`` of
    parameters."""
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s)", [list(values)]
    return f"{column} IN ({', '.join(['%s'] * len(values))})", list(values)
