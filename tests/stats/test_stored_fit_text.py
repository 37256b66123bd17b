"""A fit written as text and read back is the same fit (utfall.stats.overdispersion.store):
every field's bits and type, and so every limit and flag, over a grid of seeded data sets of
every method and kind."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from utfall.stats.overdispersion import METHODS, fit_overdispersion
from utfall.stats.overdispersion.limits import OverdispersionFit
from utfall.stats.overdispersion.store import decode, encode, fit_key


def _data(seed: int, kind: str, groups: int, base: float, tau: float) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    m = np.maximum(1, np.round(rng.lognormal(np.log(60), 1.0, groups)))
    if kind == "proportion":
        eta = np.log(base / (1 - base)) + tau * rng.standard_normal(groups)
        x = rng.binomial(m.astype(int), 1 / (1 + np.exp(-eta))).astype(float)
    else:
        x = rng.poisson(m * np.exp(tau * rng.standard_normal(groups))).astype(float)
    return x, m


def _bits(value: object) -> object:
    if isinstance(value, float):  # np.float64 too
        return (type(value).__name__, np.float64(value).tobytes())
    return (type(value).__name__, value)


CASES = [
    (seed, kind, method, groups, base, tau, target)
    for seed, (kind, groups, base, tau) in enumerate(
        [
            ("proportion", 750, 0.7, 0.3),
            ("proportion", 40, 0.1, 0.0),
            ("proportion", 8, 0.95, 0.6),
            ("ratio", 300, 1.0, 0.2),
            ("ratio", 3, 1.0, 0.0),
            ("proportion", 2, 0.5, 0.1),
        ]
    )
    for method in METHODS
    for target in (None, 0.6 if kind == "proportion" else 1.0)
]


@pytest.mark.parametrize(("seed", "kind", "method", "groups", "base", "tau", "target"), CASES)
def test_a_fit_read_back_from_its_text_has_the_same_bits_types_limits_and_flags(
    seed: int, kind: str, method: str, groups: int, base: float, tau: float, target: float | None
) -> None:
    x, m = _data(seed, kind, groups, base, tau)
    fit = fit_overdispersion(x, m, kind=kind, method=method, target=target)  # type: ignore[arg-type]
    fit.limits(m[: groups // 2], 0.998)  # some limits worked out before it is stored, some after
    back = decode(encode(fit))
    assert isinstance(back, OverdispersionFit)
    names = [
        f for f in OverdispersionFit.__dataclass_fields__ if OverdispersionFit.__dataclass_fields__[f].init
    ]
    assert [_bits(getattr(back, f)) for f in names] == [_bits(getattr(fit, f)) for f in names]
    assert {
        level: {size: np.float64(pair).tobytes() for size, pair in at.items()}
        for level, at in back._known.items()
    } == {
        level: {size: np.float64(pair).tobytes() for size, pair in at.items()}
        for level, at in fit._known.items()
    }
    sizes = np.unique(np.concatenate([m, [1.0, 5.0, 77.0, 5000.0]]))
    for level in (0.95, 0.998):
        assert np.array_equal(
            np.asarray(back.limits(sizes, level)), np.asarray(fit.limits(sizes, level)), equal_nan=True
        )
    assert list(back.flags(x, m)) == list(fit.flags(x, m))


def test_every_text_that_is_not_a_whole_fit_is_refused() -> None:
    x, m = _data(1, "proportion", 50, 0.6, 0.2)
    good = json.loads(encode(fit_overdispersion(x, m)))
    missing = {k: v for k, v in good.items() if k != "tau2"}
    no_limits = {k: v for k, v in good.items() if k != "limits"}
    bad_limits = {**good, "limits": {"0x1.0p-1": ["AAAAAAAAIEA=", "AAAAAAAA0D8="]}}  # one size, half a pair
    not_base64 = {**good, "limits": {"0x1.0p-1": ["AAAAAAAAIEA=", "not base64!"]}}
    added = {**good, "weights": ["float", "0x1.0p+0"]}
    wrong_tag = {**good, "phi": ["pickle", "x"]}
    wrong_shape = {**good, "phi": 1.5}
    for text in ("", "null", "[]", "{", json.dumps(missing), json.dumps(added), json.dumps(wrong_tag),
                 json.dumps(wrong_shape), json.dumps(no_limits), json.dumps(bad_limits), json.dumps(not_base64)):  # fmt: skip
        assert decode(text) is None, text
    assert decode(json.dumps(good)) is not None


def test_the_key_changes_with_every_argument() -> None:
    x, m = _data(2, "proportion", 30, 0.5, 0.2)
    base = fit_key(x.tobytes(), m.tobytes(), "proportion", "truncated-ml", None)
    x2 = x.copy()
    x2[0] = math.nextafter(x2[0], math.inf)
    others = {
        fit_key(x2.tobytes(), m.tobytes(), "proportion", "truncated-ml", None),
        fit_key(m.tobytes(), x.tobytes(), "proportion", "truncated-ml", None),  # counts and sizes swapped
        fit_key(x.tobytes(), m.tobytes(), "ratio", "truncated-ml", None),
        fit_key(x.tobytes(), m.tobytes(), "proportion", "robust-re", None),
        fit_key(x.tobytes(), m.tobytes(), "proportion", "truncated-ml", 0.5),
        fit_key(x.tobytes(), m.tobytes(), "proportion", "truncated-ml", math.nextafter(0.5, 1.0)),
    }
    assert base not in others and len(others) == 6
    assert base == fit_key(x.tobytes(), m.tobytes(), "proportion", "truncated-ml", None)


class _Kept:
    """The store protocol over a dict (the database's own is tested in tests/core)."""

    def __init__(self) -> None:
        self.rows: dict[tuple[int, str], str] = {}
        self.saves: list[set[str]] = []

    def load(self, owner: int, key: str) -> str | None:
        return self.rows.get((owner, key))

    def save(self, owner: int, fits: dict[str, str]) -> None:
        self.saves.append(set(fits))
        self.rows.update({(owner, key): text for key, text in fits.items()})


def test_limits_worked_out_on_a_stored_fit_are_stored_with_it_and_not_worked_out_again(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from utfall.stats.overdispersion import clear_fit_cache, limits, stored_fits

    kept = _Kept()
    try:
        x, m = _data(4, "proportion", 200, 0.6, 0.3)
        first, second = m[:100], m[100:]
        clear_fit_cache()
        with stored_fits(7, kept):
            fresh = fit_overdispersion(x, m)
            at_first = fresh.limits(first)
        assert len(kept.saves) == 1 and kept.saves[0]
        clear_fit_cache()  # a new process
        with stored_fits(7, kept):
            fit = fit_overdispersion(x, m)
            with monkeypatch.context() as patched:  # the first sizes' limits come with the fit
                patched.setattr(limits, "adaptive_limits_at_levels", None)
                assert np.array_equal(np.asarray(fit.limits(first)), np.asarray(at_first), equal_nan=True)
            fit.limits(second)
        assert len(kept.saves) == 2  # the fit learnt the second sizes' limits: saved again
        clear_fit_cache()
        with stored_fits(7, kept):
            fit = fit_overdispersion(x, m)
            with monkeypatch.context() as patched:
                patched.setattr(limits, "adaptive_limits_at_levels", None)
                both = fit.limits(m)
        assert len(kept.saves) == 2  # nothing new: nothing written
        assert np.array_equal(np.asarray(both), np.asarray(fresh.limits(m)), equal_nan=True)
        clear_fit_cache()
        with stored_fits(8, kept):  # another owner: nothing of owner 7's
            fit_overdispersion(x, m)
        assert len(kept.saves) == 3 and {owner for owner, _ in kept.rows} == {7, 8}
        with stored_fits(None, kept), stored_fits(9, None):  # no owner, or no store: nothing kept
            clear_fit_cache()
            fit_overdispersion(x, m)
        assert len(kept.saves) == 3
    finally:
        clear_fit_cache()
