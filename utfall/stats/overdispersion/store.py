"""Fits kept between processes: a second tier under :func:`fit_overdispersion`'s memo.

A fit is a pure function of its arguments (the groups' counts and sizes, the kind, the method,
a fixed target) and of this package's code. The in-process memo forgets everything when a
server process starts (a deploy, a worker recycled, a second worker), and a 750-provider fit
costs ~20 ms, so a cold provider page paid ~270 ms for its 13 fits of unchanged counts. A
*store* keeps the fitted parameters (method, target, φ, τ², centre, the groups left out, …:
:class:`~.limits.OverdispersionFit`'s fields, never the counts) and the limits worked out on it
(level → size → lower, upper) under a key that is the SHA-256 of those arguments and of this
code, so a stored fit is used only for exactly the inputs and the code that made it: nothing to
invalidate when data change (new counts are a new key) or when the code changes (a new hash).

The stats layer knows no database: a caller that knows whose counts it fits opens a block with
the owner and a store (:func:`stored_fits`; the project's is ``utfall.core.fits``, the
municipality's id and a table): fits are kept per owner, never shared between municipalities.
Outside a block (the statistics' own tests, a benchmark of
the fit itself) every fit is computed as before. At the end of the outermost block the fits it
computed, and the stored ones it worked out new limits on, are saved together (one write, not
one per fit). A decoded fit is the same object field for field — the same floats to the last
bit and the same types (Python float or numpy float64) — with the same limits, so every output
is the same as with a fit computed there (tested). Decision and reason: docs/decisions.md
(2026-12-06, "Stored fits").
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import platform
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Protocol, TypeVar

import numpy as np
import scipy
from numpy.typing import NDArray

from utfall.stats.overdispersion.limits import OverdispersionFit

__all__ = [
    "FitStore",
    "Memo",
    "decode",
    "encode",
    "fit_key",
    "kept_result",
    "result_key",
    "stored_fits",
    "tagged",
    "untagged",
]

T = TypeVar("T")


class FitStore(Protocol):
    """Where fits are kept: ``load`` the encoded fit of an owner's key (None when unknown),
    ``save`` many at once (a failure to save must not fail the caller's request)."""

    def load(self, owner: int, key: str) -> str | None: ...

    def save(self, owner: int, fits: dict[str, str]) -> None: ...


@dataclass
class _Block:
    owner: int
    store: FitStore
    #: The fits this block computed or loaded: key → (fit, how many limits it knew when loaded;
    #: -1 when computed here). At the end, those computed and those that learnt limits are saved.
    fits: dict[str, tuple[OverdispersionFit, int]] = field(default_factory=dict)
    #: Other results kept the same way (:func:`kept_result`): key → the text of one computed
    #: here, saved at the end (None: found stored, nothing to save).
    results: dict[str, str | None] = field(default_factory=dict)


_block: ContextVar[_Block | None] = ContextVar("utfall_stored_fits", default=None)


@contextmanager
def stored_fits(owner: int | None, store: FitStore | None) -> Iterator[None]:
    """Inside this block, fits are looked up in and saved to ``store`` under ``owner`` (the
    municipality whose counts are fitted). Nested blocks join the outermost one; its end saves
    what was computed. ``owner`` or ``store`` None: nothing stored inside."""
    outer = _block.get()
    if outer is not None or owner is None or store is None:
        yield
        return
    block = _Block(owner, store)
    token = _block.set(block)
    try:
        yield
    finally:
        _block.reset(token)
    # Only after a block that ended normally (an exception leaves the computed fits unsaved).
    changed = {key: encode(fit) for key, (fit, known) in block.fits.items() if _limits_known(fit) != known}
    changed.update((key, text) for key, text in block.results.items() if text is not None)
    if changed:
        store.save(block.owner, changed)


def lookup(
    key_parts: tuple[bytes, bytes, str, str, float | None],
) -> tuple[OverdispersionFit | None, str | None]:
    """The fit of these arguments this block already has or its store holds; when unknown, None
    and the key to :func:`remember` it under; (None, None) outside a block."""
    block = _block.get()
    if block is None:
        return None, None
    key = fit_key(*key_parts)
    if key in block.fits:
        return block.fits[key][0], None
    text = block.store.load(block.owner, key)
    fit = decode(text) if text is not None else None
    if fit is None:
        return None, key
    block.fits[key] = (fit, _limits_known(fit))
    return fit, None


def remember(key: str, fit: OverdispersionFit) -> None:
    """Save ``fit`` (and the limits worked out on it by then) under ``key`` at the end of the
    current block."""
    block = _block.get()
    if block is not None:
        block.fits[key] = (fit, -1)


def kept_result(
    kind: str,
    parts: Sequence[bytes],
    compute: Callable[[], T],
    encode: Callable[[T], str | None],
    decode: Callable[[str], T | None],
) -> T:
    """``compute()``, or the value an earlier process stored for the same ``kind``, ``parts`` and
    code inside a :func:`stored_fits` block (outside one: ``compute()``, nothing stored).

    For the other pure functions of the statistics that a cold page pays for beside its fits (the
    case-mix model's predictions, the reliability's profile likelihood; 2026-12-06, mgroe3):
    ``parts`` are every input of ``compute`` as bytes, exactly (:func:`result_key`);
    ``encode`` writes the value as text that ``decode`` reads back to the same bits and types
    (None from ``encode``: not stored; None from ``decode``: damaged, computed again). Saved with
    the block's fits, in the same store, under the same owner."""
    block = _block.get()
    if block is None:
        return compute()
    key = result_key(kind, parts)
    known = _RESULTS.get(key, _MISSING)  # this process's own, as the fits' memo (emptied by clear_fit_cache)
    if known is not _MISSING:
        return known  # type: ignore[no-any-return]  # a result may be None (no reliability)
    text = block.results.get(key)
    if text is None:
        text = block.store.load(block.owner, key)
        if text is not None:
            block.results.setdefault(key, None)
    found = decode(text) if text is not None else None
    if found is None:
        found = compute()
        written = encode(found)
        if written is not None:
            block.results[key] = written
    _RESULTS.put(key, found)
    return found


class Memo:
    """The last ``kept`` values asked for in this process, by key (thread-safe; the fits' memo and
    :func:`kept_result`'s)."""

    def __init__(self, kept: int) -> None:
        self._values: OrderedDict[Any, Any] = OrderedDict()
        self._kept = kept
        self._lock = threading.Lock()

    def get(self, key: Any, missing: Any = None) -> Any:
        """The value kept under ``key`` (now the last used), or ``missing``."""
        with self._lock:
            if key not in self._values:
                return missing
            self._values.move_to_end(key)
            return self._values[key]

    def put(self, key: Any, value: Any) -> None:
        with self._lock:
            self._values[key] = value
            if len(self._values) > self._kept:
                self._values.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._values.clear()


_RESULTS = Memo(64)
_MISSING = object()


def clear_results() -> None:
    """Forget the results this process has (:func:`kept_result`; the store keeps its own)."""
    _RESULTS.clear()


def _limits_known(fit: OverdispersionFit) -> int:
    return sum(len(at) for at in fit._known.values())


# -- the key ---------------------------------------------------------------------------------
@functools.cache
def _code_version() -> str:
    """A hash of every statistics module's source, numpy's, scipy's and Python's versions and the
    machine's architecture: any change to the code a fit runs through (or a database moved to
    another kind of machine) makes every stored fit unknown. Read once per process."""
    digest = hashlib.sha256(
        f"numpy {np.__version__} scipy {scipy.__version__} python {sys.version} on {platform.machine()}".encode()
    )
    root = Path(__file__).resolve().parent.parent  # utfall/stats
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def fit_key(x: bytes, m: bytes, kind: str, method: str, target: float | None) -> str:
    """The SHA-256 (hex) of a fit's arguments and of the code (:func:`_code_version`)."""
    digest = hashlib.sha256(_code_version().encode())
    for part in (kind, method, repr(target) if target is None else float(target).hex()):
        digest.update(b"\x1f" + part.encode())
    digest.update(b"\x1f" + len(x).to_bytes(8, "little") + x + m)
    return digest.hexdigest()


def result_key(kind: str, parts: Sequence[bytes]) -> str:
    """The SHA-256 (hex) of a :func:`kept_result`'s kind and inputs and of the code; never a fit's
    key (a fit's digest has no ``result`` tag after the code's hash)."""
    digest = hashlib.sha256(_code_version().encode())
    digest.update(b"\x1eresult\x1f" + kind.encode())
    for part in parts:
        digest.update(b"\x1f" + len(part).to_bytes(8, "little") + part)
    return digest.hexdigest()


# -- the fit as text -------------------------------------------------------------------------
_FIELDS = tuple(f.name for f in fields(OverdispersionFit) if f.init)


def tagged(value: Any) -> list[Any]:
    """A field's value tagged with its type, floats as their exact hex form (a fit's fields, and
    :func:`kept_result`'s texts)."""
    if isinstance(value, np.float64):
        return ["f64", float(value).hex()]
    if isinstance(value, float):
        return ["float", value.hex()]
    if isinstance(value, bool):
        return ["bool", value]
    if isinstance(value, int):
        return ["int", value]
    if isinstance(value, str):
        return ["str", value]
    if isinstance(value, tuple) and all(type(v) is int for v in value):
        return ["ints", list(value)]
    raise TypeError(f"a fit's field of type {type(value).__name__} cannot be stored")


#: Each tag's way back from the JSON value.
_RESTORE: dict[str, Callable[[Any], Any]] = {
    "f64": lambda v: np.float64(float.fromhex(v)),
    "float": float.fromhex,
    "bool": bool,
    "int": int,
    "str": str,
    "ints": lambda v: tuple(int(i) for i in v),
}


def untagged(value: Any) -> Any:
    """:func:`tagged`'s value back, of its type."""
    kind, written = value
    return _RESTORE[kind](written)


def encode(fit: OverdispersionFit) -> str:
    """The fit's fields as JSON, each value with its type, and the limits worked out on it so
    far: per level (its hex form) the sizes and the (lower, upper) pairs as little-endian
    float64 bytes in base64 (exact, and ~20× quicker to write and read than a hex text per
    float for the ~1,500 limits of a 750-provider page)."""
    data: dict[str, Any] = {name: tagged(getattr(fit, name)) for name in _FIELDS}
    data["limits"] = {
        level.hex(): [
            _packed(np.fromiter(at.keys(), dtype="<f8", count=len(at))),
            _packed(np.array(list(at.values()), dtype="<f8").reshape(len(at), 2)),
        ]
        for level, at in fit._known.items()
    }
    return json.dumps(data, separators=(",", ":"))


def _packed(values: NDArray[np.float64]) -> str:
    return base64.b64encode(values.tobytes()).decode("ascii")


def _unpacked(text: str) -> NDArray[np.float64]:
    return np.frombuffer(base64.b64decode(text.encode("ascii"), validate=True), dtype="<f8")


def decode(text: str) -> OverdispersionFit | None:
    """The fit :func:`encode` wrote, with its limits; None for anything else (a field missing,
    added or malformed), so a damaged row is computed again rather than trusted."""
    try:
        data = json.loads(text)
        if not isinstance(data, dict) or set(data) != {*_FIELDS, "limits"}:
            return None
        fit = OverdispersionFit(**{name: untagged(data[name]) for name in _FIELDS})
        for level, (sizes, pairs) in data["limits"].items():
            at, both = _unpacked(sizes).tolist(), _unpacked(pairs)
            if both.size != 2 * len(at):
                return None
            pairs_at = both.reshape(-1, 2).tolist()
            fit._known[float.fromhex(level)] = {
                size: (lo, hi) for size, (lo, hi) in zip(at, pairs_at, strict=True)
            }
    except (ValueError, TypeError, KeyError, AttributeError):  # binascii.Error is a ValueError
        return None
    return fit
