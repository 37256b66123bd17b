"""Counts cached per process until the data changes.

The results pages ask the same GROUP BY queries again and again while the data stays the
same (it changes when a caseworker saves a follow-up or an import runs). Each cached value
is stored under the :class:`~utfall.core.models.DataGeneration` token it was computed
under; every write that can change a count replaces the token in the writer's own
transaction, so a reader that sees the new data also sees the new token and never gets a
count from before the change. Reading the token is one primary-key lookup per count.

Writes are seen two ways: Django's ``post_save``/``post_delete`` signals for the models in
:data:`WATCHED` (everything written one object at a time), and the core's
:data:`~utfall.core.changes.data_changed`, which writers announce where rows are written in
bulk (the importer, answers saved with a follow-up, shipped instrument versions). Both call
:func:`bump`; no writer imports this module. Answers and a draft's questions are not watched one by one: answers
are always written with their follow-up, and drafts count nowhere until published (a save
of the version).
Decision and reason: docs/decisions.md (2026-11-23, "Cached counts").

Within one request the token is read once (:func:`current_token` remembers it until the
request ends, a :func:`bump` in this process or a transaction opened after the read): a
provider page asks for it about 260 times (docs/decisions.md, 2026-12-02, "One data token per
request").
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.core.signals import request_finished, request_started, setting_changed
from django.db import connection
from django.db.models.signals import post_delete, post_save

from utfall.core.changes import data_changed, inside_changing
from utfall.core.models import DataGeneration

T = TypeVar("T")

#: Models whose rows feed a count (or a code shown with one).
WATCHED = (
    "followups.FollowUp",
    "registry.Intervention",
    "registry.Client",
    "registry.Provider",
    "registry.Service",
    "organisations.Unit",
    "instruments.InstrumentVersion",
)
CACHE_ALIAS = "default"
#: A safety net only: a value is dropped after a day even if the token never changes.
TIMEOUT_SECONDS = 24 * 60 * 60


class Store(LocMemCache):
    """The counts' cache (``settings.CACHES["default"]``): Django's per-process memory cache,
    without its check of each key against memcached's rules (a warning only, ~6 µs a key; a
    provider page reads and writes ~350 keys). Every key is made here (:func:`_name`): a fixed
    prefix and a SHA-256 hex digest, which those rules allow (2026-12-08)."""

    def validate_key(self, key: str) -> None:
        return None


#: The store, looked up once (``caches[...]`` goes through a thread-local handler, ~4 µs a
#: lookup); forgotten when a test changes ``CACHES``.
_store: Store | Any = None


def _the_store() -> Any:
    global _store
    if _store is None:
        _store = caches[CACHE_ALIAS]
    return _store


def _forget_store(*, setting: str, **_: Any) -> None:
    global _store
    if setting == "CACHES":
        _store = None


setting_changed.connect(_forget_store, dispatch_uid="utfall-counts-store")


_TOKEN_SQL = f"SELECT token FROM {DataGeneration._meta.db_table} WHERE id = %s"  # noqa: S608 (our table)


@dataclass
class _Memo:
    """The token read in this request, at the transaction depth the request started at."""

    depth: int
    token: str | None = None
    known: bool = False


#: Set while a request runs (``request_started`` … ``request_finished``); None outside one.
_memo: ContextVar[_Memo | None] = ContextVar("utfall_token_memo", default=None)
#: The token :func:`seed` stores under while counts are being taken (:func:`pinned`, and a
#: :func:`cached` value's ``compute``): the one read before those counts, in a 1-tuple.
_pin: ContextVar[tuple[str | None] | None] = ContextVar("utfall_token_pin", default=None)


def _read_token() -> str | None:
    # One raw read (through the ORM 0.2 ms each, raw 0.02 ms; 2026-12-02, issue 17 point 14).
    with connection.cursor() as cursor:
        cursor.execute(_TOKEN_SQL, [1])
        row = cursor.fetchone()
    return None if row is None else str(row[0])


def current_token() -> str | None:
    """The token now (None if its row is missing, e.g. after a test flushed the tables: then
    nothing is cached).

    Inside a request it is read once and remembered, at the transaction depth the request
    started at only: a write of this request replaces it (:func:`bump` forgets it), and
    inside a transaction the request opens (which may be rolled back) it is read each time.
    A write another process commits during the request is seen by the next request, as a
    count computed a moment before that write would be."""
    memo = _memo.get()
    if memo is None or memo.depth != len(connection.atomic_blocks):
        return _read_token()
    if not memo.known:
        memo.token, memo.known = _read_token(), True
    return memo.token


@contextmanager
def pinned() -> Iterator[None]:
    """Read the token now, before the block counts anything, and :func:`seed` under it in the
    block: for code that counts several keys' values and then caches them. Read after the
    counts, a write committed in between (by another process, or by this one) would leave the
    older counts cached under the newer data's token until the next write (the oe6 second
    reader, 2026-12-06). A value stored under an older token than its data is never served
    as newer data; it is simply not found."""
    reset = _pin.set((current_token(),))
    try:
        yield
    finally:
        _pin.reset(reset)


def _request_started(**_: Any) -> None:
    _memo.set(_Memo(depth=len(connection.atomic_blocks)))


def _request_finished(**_: Any) -> None:
    _memo.set(None)


def bump(signal: Any = None, **_: Any) -> None:
    """Replace the token (call inside the writing transaction, after or among its writes).

    A single save inside a bracket of ``core.changes`` is left to the bracket, which ends
    with ``data_changed`` (one replacement per write instead of one per saved row: the token
    is one row every writer locks until it commits, issue 13 point 3). One UPDATE; the row
    is created only when it is missing (after a test flushed the tables)."""
    if signal is not data_changed and inside_changing():
        return
    memo = _memo.get()
    if memo is not None:
        memo.known = False  # this request's next count reads the new token
    token = uuid.uuid4().hex
    if not DataGeneration.objects.filter(pk=1).update(token=token):
        DataGeneration.objects.get_or_create(pk=1, defaults={"token": token})


def cached(key: tuple[Any, ...], compute: Callable[[], T]) -> T:
    """``compute()``, or its value from when the data was last the same. ``key`` must name
    everything the value depends on apart from the data (the function and its arguments)."""
    value = _cached(key, compute)
    record = _reads.get()
    if record is not None:  # a statement is being built (:func:`compiled`): what it read
        record.append((key, compute, value))
    return value


def _cached(key: tuple[Any, ...], compute: Callable[[], T]) -> T:
    token = current_token()
    if token is None:
        return compute()
    name = _name(token, key)
    store = _the_store()
    found = store.get(name)
    if found is not None:
        return found  # type: ignore[no-any-return]
    reset = _pin.set((token,))  # what ``compute`` seeds, it seeds under the token read before it
    try:
        value = compute()
    finally:
        _pin.reset(reset)
    store.set(name, value, TIMEOUT_SECONDS)
    return value


#: The cached values read while a statement is built (:func:`compiled`): (key, compute, value).
_reads: ContextVar[list[tuple[tuple[Any, ...], Callable[[], Any], Any]] | None] = ContextVar(
    "utfall_compiled_reads", default=None
)
#: Statements built by the ORM, by shape: (SQL, parameters, the cached values read to build them).
_statements: dict[tuple[Any, ...], tuple[str, tuple[Any, ...], tuple[tuple[Any, ...], ...]]] = {}
#: A bound only (a page has ~40 shapes, a process a few hundred): past it, all are built again.
MAX_STATEMENTS = 2048


def compiled(
    shape: tuple[Any, ...], build: Callable[[], tuple[str, Sequence[Any]]]
) -> tuple[str, Sequence[Any]]:
    """``build()``'s SQL and parameters, built once per process for each ``shape``.

    Building a count's statement through the ORM costs ~1 ms (its ``as_sql`` and the queryset's
    filters), more than SQLite takes for most of a page's reads; a server process asks the same
    statements after each change of the data. ``shape`` must name everything ``build`` reads
    apart from the data: the function and its arguments (the dates, filters and ids asked, as
    values). What it reads from the data (ids of codes and of a question's versions, the
    reference date: all read through :func:`cached`) is recorded beside the statement, and the
    statement is reused only while each of those reads gives the same value again (read again,
    so after a write as the build itself would read it). Nothing counted is kept here: the
    statement runs each time (docs/decisions.md, 2026-12-07, "Statements built once per shape")."""
    found = _statements.get(shape)
    if found is not None:
        kept, values, reads = found
        if all(_cached(key, compute) == value for key, compute, value in reads):
            return kept, values
    record: list[tuple[tuple[Any, ...], Callable[[], Any], Any]] = []
    reset = _reads.set(record)
    try:
        sql, params = build()
    finally:
        _reads.reset(reset)
    if len(_statements) >= MAX_STATEMENTS:
        _statements.clear()
        _read_values.clear()
    # One copy of each value read, shared by the statements that read it (a provider's codes are
    # read by most of them: 750 ids each at 1M).
    reads = tuple((key, compute, _shared(key, value)) for key, compute, value in record)
    _statements[shape] = (sql, tuple(params), reads)
    return sql, params


#: The last value read under each key while statements were built (:func:`compiled`).
_read_values: dict[tuple[Any, ...], Any] = {}


def _shared(key: tuple[Any, ...], value: Any) -> Any:
    try:
        held = _read_values.get(key, _read_values)
    except TypeError:  # a key with a list in it (cached keys need only a repr): not shared
        return value
    if held is not _read_values and held == value:
        return held
    _read_values[key] = value
    return value


def forget_statements() -> None:
    """Build every statement again (tests)."""
    _statements.clear()
    _read_values.clear()


def _name(token: str, key: tuple[Any, ...]) -> str:
    from utfall.instruments.services import chosen_series  # the series a page asked for counts too

    digest = hashlib.sha256(repr((token, key, chosen_series.get())).encode()).hexdigest()
    return f"utfall:counts:{digest}"


def holds(key: tuple[Any, ...]) -> bool:
    """Whether a value is cached under ``key`` for the data as it is now (without reading it):
    for a query that seeds several keys, to skip itself when they are seeded already."""
    token = current_token()
    return token is not None and _the_store().has_key(_name(token, key))


def seed(key: tuple[Any, ...], value: Any) -> None:
    """Cache ``value`` under ``key`` as :func:`cached` would have computed it, unless the key
    already holds a value: for a query that counts several keys' values at once. The value
    held is not read (``cached`` would unpickle it to return it: a comparison's 750 rows,
    ~0.4 ms each time a prefetch met its own seeds, 2026-12-05). Inside :func:`pinned` (and a
    :func:`cached` value's ``compute``) the token is the one read before the counts."""
    pin = _pin.get()
    token = current_token() if pin is None else pin[0]
    if token is None:
        return
    name = _name(token, key)
    store = _the_store()
    if not store.has_key(name):
        store.set(name, value, TIMEOUT_SECONDS)


def connect_signals() -> None:
    from django.apps import apps

    for label in WATCHED:
        model = apps.get_model(label)
        post_save.connect(bump, sender=model, dispatch_uid=f"utfall-counts-{label}-save")
        post_delete.connect(bump, sender=model, dispatch_uid=f"utfall-counts-{label}-delete")
    data_changed.connect(bump, dispatch_uid="utfall-counts-data-changed")
    request_started.connect(_request_started, dispatch_uid="utfall-token-memo-start")
    request_finished.connect(_request_finished, dispatch_uid="utfall-token-memo-end")
