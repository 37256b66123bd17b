"""Binomial O/E limits and intervals; women and men adjusted for service and age."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import special, stats

from utfall.stats.casemix import (
    adjusted_difference,
    adjusted_offsets,
    binomial_oe_interval,
    binomial_oe_limits,
)
from utfall.stats.proportions import wilson_interval
from utfall.stats.standardisation import poisson_ratio_ci


def test_one_stratum_gives_the_proportion_funnel():
    n, p = np.array([30.0, 200.0, 800.0]), 0.9
    low, high = binomial_oe_limits(n * p, n * p * (1 - p), 0.998)
    half = stats.norm.ppf(0.999) * np.sqrt(p * (1 - p) / n)
    np.testing.assert_allclose(low, (p - half) / p)
    np.testing.assert_allclose(high, (p + half) / p)
    lo, hi = binomial_oe_interval([25.0], [27.0], [30.0])
    w_lo, w_hi = wilson_interval(np.array([25.0]), np.array([30.0]), 0.95)
    assert lo[0] == pytest.approx(w_lo[0] / 0.9) and hi[0] == pytest.approx(w_hi[0] / 0.9)
    np.testing.assert_allclose(adjusted_offsets(n * p, n), 0.0, atol=1e-12)


def test_the_variance_is_the_poisson_binomial_one():
    rng = np.random.default_rng(3)
    p = rng.uniform(0.6, 0.98, 300)
    draws = (rng.random((20000, 300)) < p).sum(axis=1)
    assert np.var(draws) == pytest.approx(np.sum(p * (1 - p)), rel=0.05)
    assert np.var(draws) < 0.3 * p.sum()  # the Poisson variance the old view used


def test_at_base_0_9_the_binomial_view_finds_what_the_unadjusted_view_finds():
    """The audit: with no case mix the adjusted (Poisson) view found 3/60 planted providers
    where the unadjusted found 17/60. With the binomial variance the two views agree."""
    rng = np.random.default_rng(11)
    found_binomial = found_poisson = found_plain = 0
    for _ in range(60):
        n = 400.0
        x = rng.binomial(400, 0.84)  # planted: well below the base 0.9
        e, v = n * 0.9, n * 0.9 * 0.1
        low, _ = binomial_oe_limits(e, v, 0.998)
        found_binomial += x / e < low
        found_poisson += poisson_ratio_ci([x], [e], level=0.998)["upper"].iloc[0] < 1
        found_plain += x / n < 0.9 - stats.norm.ppf(0.999) * np.sqrt(0.09 / n)
    assert found_binomial == found_plain
    assert found_poisson < found_binomial / 2


def _cells(rng, effect=0.0, clients=4000):
    rows = []
    for service, base in (("hvb", 0.4), ("open", 0.8)):
        for age, shift in (("13-15", -0.2), ("16-17", 0.2)):
            for sex, share in (
                ("female", 0.8 if service == "open" else 0.2),
                ("male", 0.2 if service == "open" else 0.8),
            ):
                n = rng.binomial(clients // 4, share)
                p = special.expit(special.logit(base) + shift + (effect if sex == "female" else 0.0))
                rows.append(
                    {"service": service, "age_group": age, "sex": sex, "n": n, "events": rng.binomial(n, p)}
                )
    return pd.DataFrame(rows)


def test_one_stratum_is_the_crude_difference_with_the_wald_interval():
    cells = pd.DataFrame(
        {"sex": ["female", "male"], "service": ["a", "a"], "n": [120, 90], "events": [80, 45]}
    )
    got = adjusted_difference(cells, ["service"])
    p1, p2 = 80 / 120, 45 / 90
    se = np.sqrt(p1 * (1 - p1) / 120 + p2 * (1 - p2) / 90)
    assert got["estimate"] == pytest.approx(p1 - p2)
    assert got["lower"] == pytest.approx(p1 - p2 - 1.959964 * se, abs=1e-6)


def test_the_adjusted_difference_removes_a_difference_made_by_the_mix_of_services():
    rng = np.random.default_rng(5)
    cover, crude = 0, []
    for _ in range(200):
        cells = _cells(rng)
        got = adjusted_difference(cells, ["service", "age_group"])
        cover += got["lower"] <= 0 <= got["upper"]
        women, men = cells[cells.sex == "female"], cells[cells.sex == "male"]
        crude.append(women.events.sum() / women.n.sum() - men.events.sum() / men.n.sum())
    assert np.mean(crude) > 0.15  # women are mostly in the service with the higher rate
    assert 0.92 <= cover / 200 <= 0.98


def _statsmodels_difference(cells: pd.DataFrame, covariates: list[str]) -> dict[str, float]:
    """The adjusted difference as it was computed before 2026-12-04: the design by pandas'
    get_dummies and the model by statsmodels' GLM (the reference for the figures)."""
    import statsmodels.api as sm

    df = cells.loc[cells["sex"].isin(["female", "male"]) & (cells["n"] > 0)].copy()
    if df["sex"].nunique() < 2:
        raise ValueError("both sexes need answers")
    keep = [c for c in covariates if df[c].nunique() > 1]
    frame = df[["sex", *keep]].astype(str)
    design = pd.get_dummies(frame, drop_first=False, dtype=np.float64)
    columns = ["sex_female"]
    for c in keep:
        columns += [f"{c}_{v}" for v in sorted(frame[c].unique())[1:]]
    x = np.column_stack([np.ones(len(df)), design[columns].to_numpy()])
    y = np.column_stack([df["events"].to_numpy(float), (df["n"] - df["events"]).to_numpy(float)])
    result = sm.GLM(y, x, family=sm.families.Binomial()).fit()
    beta, cov = np.asarray(result.params), np.asarray(result.cov_params())
    weights = df["n"].to_numpy(float) / df["n"].sum()
    as_first, as_second = x.copy(), x.copy()
    as_first[:, 1], as_second[:, 1] = 1.0, 0.0
    p1, p2 = special.expit(as_first @ beta), special.expit(as_second @ beta)
    rate1, rate2 = float(weights @ p1), float(weights @ p2)
    grad = (weights * p1 * (1 - p1)) @ as_first - (weights * p2 * (1 - p2)) @ as_second
    se = float(np.sqrt(grad @ cov @ grad))
    diff = rate1 - rate2
    z = float(stats.norm.ppf(0.975))
    return {"rate_first": rate1, "rate_second": rate2, "estimate": diff, "lower": diff - z * se,
            "upper": diff + z * se}  # fmt: skip


def test_the_adjusted_difference_is_statsmodels_glm_to_the_last_bit():
    """The model is fitted by statsmodels' IRLS written out (``casemix._binomial_glm``): on
    seeded random tables — many or few services and ages, empty and tiny cells, cells where
    everyone or no one answered yes, a third sex — every figure equals the statsmodels fit
    exactly, or both fail alike. The same cells given as columns (a mapping of lists, as the
    women-and-men page passes them) give the same figures to the last bit."""
    rng = np.random.default_rng(13)
    compared = 0
    for trial in range(300):
        rows = []
        for service in [f"s{i}" for i in range(rng.integers(1, 12))]:
            for age in ["0-12", "13-15", "16-17", "18-24", "25-44", "45-64", "65+"][: rng.integers(1, 8)]:
                for sex in ("female", "male", "other"):
                    if rng.random() < 0.15:
                        continue
                    n = int(rng.choice([0, 1, 2, 3, 5, 10, 50, 400, 5000]))
                    p = rng.choice([0.0, 1.0]) if rng.random() < 0.05 else rng.uniform(0.3, 0.95)
                    rows.append({"service": service, "age_group": age, "sex": sex, "n": n,
                                 "events": int(rng.binomial(n, p))})  # fmt: skip
        cells = pd.DataFrame(rows)
        columns = {key: [row[key] for row in rows] for key in rows[0]}
        covariates = [["service"], ["age_group"], ["service", "age_group"]][trial % 3]
        try:
            expected = _statsmodels_difference(cells, covariates)
        except (ValueError, np.linalg.LinAlgError) as error:
            with pytest.raises(type(error)):
                adjusted_difference(cells, covariates)
            with pytest.raises(type(error)):
                adjusted_difference(columns, covariates)
            continue
        got = adjusted_difference(cells, covariates)
        from_columns = adjusted_difference(columns, covariates)
        for key, value in expected.items():
            assert got[key] == value or (np.isnan(got[key]) and np.isnan(value)), (trial, key)
            assert from_columns[key] == got[key] or (np.isnan(got[key]) and np.isnan(from_columns[key])), (
                trial,
                key,
            )
        compared += 1
    assert compared > 250
