"""Results of the statistics kept between processes beside the fits
(``utfall.stats.overdispersion.store.kept_result``, 2026-12-06): the case-mix model's p̂ and the
reliability's profile likelihood. A value read back is the value computed, to the last bit and
type, over seeded data sets; nothing is computed when it is stored; every input is in the key;
a damaged text is computed again; outside a block nothing is kept."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.stats.test_stored_fit_text import _Kept
from utfall.stats import assessment, standardisation
from utfall.stats.assessment import assess
from utfall.stats.overdispersion import clear_fit_cache, fit_overdispersion, stored_fits
from utfall.stats.overdispersion.store import result_key
from utfall.stats.standardisation import case_mix_expected, expected_from_case_mix


def _cells(seed: int, *, categorical: bool, missing: bool, groups: int = 150) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for group in range(groups):
        for sex in ("female", "male", "other"):
            for age in ("0-12", "13-15", "16-17", "18-20", "21-64")[: int(rng.integers(1, 6))]:
                for service in rng.choice(9, int(rng.integers(1, 4)), replace=False):
                    size = int(rng.integers(0, 40))  # cells of 0 too, which the model leaves out
                    rows.append({"group": f"P{group:04d}", "sex": sex, "age": age, "service": f"s{service}",
                                 "n": size, "events": int(rng.binomial(size, 0.5 + 0.04 * int(service)))})  # fmt: skip
    cells = pd.DataFrame(rows)
    if missing:
        cells.loc[::13, "sex"] = None
    if categorical:
        for column in ("group", "sex", "age", "service"):
            levels = sorted({v for v in cells[column] if pd.notna(v)} | {f"{column}-unused"})
            cells[column] = pd.Categorical(cells[column], categories=levels[::-1])
    return cells


def _bits(values: Any) -> bytes:
    array = np.asarray(values)
    return array.dtype.str.encode() + array.tobytes()


CASE_MIX = [
    (seed, categorical, missing, covariates)
    for seed, (categorical, missing) in enumerate(
        [(False, False), (True, False), (False, True), (True, True)]
    )
    for covariates in (["sex", "age", "service"], ["service", "sex"], ["age"])
]


@pytest.mark.parametrize(("seed", "categorical", "missing", "covariates"), CASE_MIX)
def test_the_case_mix_predictions_read_back_are_the_ones_computed_to_the_last_bit(
    monkeypatch: pytest.MonkeyPatch, seed: int, categorical: bool, missing: bool, covariates: list[str]
) -> None:
    cells = _cells(seed, categorical=categorical, missing=missing)
    want = case_mix_expected(cells, covariates)  # outside a block: computed, nothing kept
    kept = _Kept()
    clear_fit_cache()
    with stored_fits(3, kept):
        first = case_mix_expected(cells, covariates)
    assert _bits(first) == _bits(want)
    assert len(kept.saves) == 1 and len(kept.saves[0]) == 1  # one pattern's p̂ each: stored
    with monkeypatch.context() as patched:  # no model fitted: in this process, or in a new one
        patched.setattr(standardisation.sm, "GLM", None)
        for new_process in (False, True):
            if new_process:
                clear_fit_cache()
            with stored_fits(3, kept):
                again = case_mix_expected(cells, covariates)
                table = expected_from_case_mix(cells, covariates, fitted=again)
            assert _bits(again) == _bits(want)
    assert table.equals(expected_from_case_mix(cells, covariates))
    assert len(kept.saves) == 1  # nothing new: nothing written
    clear_fit_cache()
    with stored_fits(4, kept):  # another owner: computed and kept apart
        case_mix_expected(cells, covariates)
    assert len(kept.saves) == 2 and {owner for owner, _ in kept.rows} == {3, 4}
    clear_fit_cache()


def _keys_asked(monkeypatch: pytest.MonkeyPatch, module: Any) -> list[str]:
    """The keys ``module``'s ``kept_result`` is asked for from now on, in order."""
    keys: list[str] = []
    real = module.kept_result

    def spy(kind: str, parts: list[bytes], *rest: Any) -> Any:
        keys.append(result_key(kind, parts))
        return real(kind, parts, *rest)

    monkeypatch.setattr(module, "kept_result", spy)
    return keys


def test_the_case_mix_key_changes_with_every_input(monkeypatch: pytest.MonkeyPatch) -> None:
    """Counts that differ in one cell (the same pattern sums but another cell's n: the same
    model, another p̂ per cell) and patterns in another order are other keys."""
    keys = _keys_asked(monkeypatch, standardisation)
    cells = _cells(9, categorical=False, missing=False, groups=40)
    clear_fit_cache()
    with stored_fits(1, _Kept()):
        case_mix_expected(cells, ["sex", "age"])
        case_mix_expected(cells, ["sex", "age"])
        more = cells.copy()
        more.loc[5, "events"] = more.loc[5, "events"] + (
            1 if more.loc[5, "events"] < more.loc[5, "n"] else -1
        )
        case_mix_expected(more, ["sex", "age"])
        case_mix_expected(cells.iloc[::-1], ["sex", "age"])
        case_mix_expected(cells, ["age", "sex"])
        case_mix_expected(cells, ["sex", "age", "service"])
    assert keys[0] == keys[1]
    assert len(set(keys)) == 5


def test_a_damaged_or_foreign_case_mix_text_is_computed_again() -> None:
    cells = _cells(5, categorical=True, missing=True)
    want = case_mix_expected(cells, ["sex", "age"])
    kept = _Kept()
    clear_fit_cache()
    with stored_fits(2, kept):
        case_mix_expected(cells, ["sex", "age"])
    [(owner, key)] = list(kept.rows)
    good = json.loads(kept.rows[owner, key])
    short = {"p_by_pattern": good["p_by_pattern"][:-12]}
    for text in ("", "null", "[]", "{", json.dumps({**good, "more": 1}), json.dumps(short),
                 json.dumps({"p_by_pattern": "not base64!"}), json.dumps({"p_by_pattern": 3})):  # fmt: skip
        kept.rows[owner, key] = text
        kept.saves.clear()
        clear_fit_cache()
        with stored_fits(2, kept):
            assert _bits(case_mix_expected(cells, ["sex", "age"])) == _bits(want)
        assert kept.saves and key in kept.saves[0]  # written over with the good text
        assert json.loads(kept.rows[owner, key]) == good


def test_predictions_whose_cells_of_one_pattern_differ_are_not_stored() -> None:
    pattern_of = np.array([0, 1, 0, 2, 1], dtype=np.int64)
    first = np.array([0, 1, 3], dtype=np.int64)
    same = np.array([0.25, 0.5, 0.25, 0.75, 0.5])
    text = standardisation._by_pattern(first, pattern_of)(same)
    assert text is not None
    back = standardisation._of_pattern(pattern_of)(text)
    assert back is not None and _bits(back) == _bits(same)
    apart = same.copy()
    apart[2] = math.nextafter(0.25, 1.0)
    assert standardisation._by_pattern(first, pattern_of)(apart) is None
    assert standardisation._of_pattern(np.array([0, 1, 0, 3], dtype=np.int64))(text) is None  # four patterns


def _counts(seed: int, groups: int, base: float, tau: float) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    m = np.maximum(1, np.round(rng.lognormal(np.log(60), 1.0, groups)))
    eta = np.log(base / (1 - base)) + tau * rng.standard_normal(groups)
    return rng.binomial(m.astype(int), 1 / (1 + np.exp(-eta))).astype(float), m


def _reliability_bits(spread: Any) -> Any:
    if spread is None:
        return None
    return [(type(v).__name__, np.float64(v).tobytes()) for v in (spread.value, spread.lower, spread.upper,
                                                                  spread.tau_lower, spread.tau_upper)]  # fmt: skip


RELIABILITY = [(seed, groups, base, tau) for seed, (groups, base, tau) in enumerate(
    [(750, 0.8, 0.3), (60, 0.6, 0.0), (200, 0.9, 0.6), (12, 0.4, 0.2), (40, 0.97, 0.1)]
)]  # fmt: skip


@pytest.mark.parametrize(("seed", "groups", "base", "tau"), RELIABILITY)
def test_the_reliability_read_back_is_the_one_computed_to_the_last_bit(
    monkeypatch: pytest.MonkeyPatch, seed: int, groups: int, base: float, tau: float
) -> None:
    x, m = _counts(seed, groups, base, tau)
    clear_fit_cache()
    fit = fit_overdispersion(x, m)
    used = np.arange(x.size)
    want = assess(fit, x, m, used=used)
    kept = _Kept()
    for scale, only in ((1.0, None), (0.9, [])):
        clear_fit_cache()
        with stored_fits(5, kept):
            first = assess(fit, x, m, used=used, scale=scale, only=only)
        clear_fit_cache()
        with monkeypatch.context() as patched, stored_fits(5, kept):
            patched.setattr(assessment, "rankability", None)  # a new process: no profile likelihood
            patched.setattr(assessment, "profile_loglik", None)
            again = assess(fit, x, m, used=used, scale=scale, only=only)
        assert _reliability_bits(first.reliability) == _reliability_bits(want.reliability)
        assert _reliability_bits(again.reliability) == _reliability_bits(want.reliability)
        assert again.reliability_dict() == want.reliability_dict()
        assert repr(again.rows) == repr(first.rows)
    assert len(kept.saves) == 1  # the same counts at another scale: the same reliability, stored once
    clear_fit_cache()


def test_the_reliability_key_changes_with_every_input(monkeypatch: pytest.MonkeyPatch) -> None:
    keys = _keys_asked(monkeypatch, assessment)
    x, m = _counts(11, 80, 0.7, 0.3)
    fit = fit_overdispersion(x, m)
    used = np.arange(x.size)
    x2 = x.copy()
    x2[3] += 1 if x2[3] < m[3] else -1
    clear_fit_cache()
    with stored_fits(1, _Kept()):
        assess(fit, x, m, used=used)
        assess(fit, x, m, used=used, only=[])
        assess(fit, x2, m, used=used)
        assess(fit, x, m, used=used[1:])
        assess(fit, x, m, used=used, level=0.9)
        assess(fit_overdispersion(x, m, method="robust-re"), x, m, used=used)
    assert keys[0] == keys[1]
    assert len(set(keys)) == 5


def test_a_damaged_reliability_text_is_computed_again_and_none_is_never_stored() -> None:
    x, m = _counts(13, 90, 0.75, 0.25)
    fit = fit_overdispersion(x, m)
    used = np.arange(x.size)
    want = _reliability_bits(assess(fit, x, m, used=used).reliability)
    kept = _Kept()
    clear_fit_cache()
    with stored_fits(6, kept):
        assess(fit, x, m, used=used)
    [(owner, key)] = list(kept.rows)
    good = json.loads(kept.rows[owner, key])
    for text in ("", "null", "{", json.dumps({**good, "extra": ["float", "0x1p+0"]}),
                 json.dumps({**good, "value": ["str", "x"]}), json.dumps({**good, "lower": ["pickle", "x"]}),
                 json.dumps({k: v for k, v in good.items() if k != "upper"})):  # fmt: skip
        kept.rows[owner, key] = text
        clear_fit_cache()
        with stored_fits(6, kept):
            assert _reliability_bits(assess(fit, x, m, used=used).reliability) == want
        assert json.loads(kept.rows[owner, key]) == good
    assert assessment._rankability_text(None) is None
