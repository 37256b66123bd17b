from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from utfall.stats.standardisation import (
    case_mix_expected,
    expected_from_case_mix,
    expected_from_reference_rates,
    poisson_ratio_ci,
)


@pytest.fixture
def isr(reference):
    cells = pd.read_csv(reference / "isr_phe_inputs.csv")
    ref = pd.read_csv(reference / "isr_phe_refdata.csv")
    expected = pd.read_csv(reference / "isr_phe_expected.csv")
    return cells, ref, expected


def _expected(cells, ref):
    return expected_from_reference_rates(
        cells,
        ref,
        group="area",
        stratum="ageband",
        events="count",
        n="pop",
        ref_events="refcount",
        ref_n="refpop",
    )


def test_it_reproduces_phe_expected_events(isr):
    cells, ref, _ = isr
    table = _expected(cells, ref)
    assert list(table.columns) == ["group", "n", "observed", "expected"]
    np.testing.assert_allclose(table["expected"], 835.88356123117433, rtol=1e-12)
    assert table.set_index("group")["observed"].to_dict() == {
        "testdata_big": 895,
        "testdata_small": 91,
        "testdata_tiny": 9,
    }


def test_it_matches_phe_isr_ratios_and_rates(isr):
    cells, ref, expected = isr
    table = _expected(cells, ref).set_index("group")
    overall_rate = ref["refcount"].sum() / ref["refpop"].sum()
    scale = {
        "indirectly standardised rate per 100000": overall_rate * 100000,
        "indirectly standardised rate per 1000": overall_rate * 1000,
        "indirectly standardised ratio x 1": 1.0,
        "indirectly standardised ratio x 100": 100.0,
    }
    for row in expected.itertuples():
        o, e = table.loc[row.area, "observed"], table.loc[row.area, "expected"]
        for level, lo_col, hi_col in (
            (0.95, "lower95_0cl", "upper95_0cl"),
            (0.998, "lower99_8cl", "upper99_8cl"),
        ):
            ours = poisson_ratio_ci(o, e, level=level, refvalue=scale[row.statistic]).iloc[0]
            assert ours["ratio"] == pytest.approx(row.value, rel=1e-9)
            assert ours["lower"] == pytest.approx(getattr(row, lo_col), rel=1e-9)
            assert ours["upper"] == pytest.approx(getattr(row, hi_col), rel=1e-9)
            assert ours["method"] == ("exact" if row.method == "Exact" else "byars")


def test_case_mix_model_reproduces_stratum_rates_when_saturated(isr):
    cells, ref, _ = isr
    # Fit on the reference population plus the three areas; a saturated model's fitted
    # rate per band is then the pooled band rate, so E must equal PHE's reference-rate E
    # with the pooled bands as reference. The zero-rate band is dropped because its
    # logit diverges (see the reference README).
    ref_cells = ref.rename(columns={"refcount": "count", "refpop": "pop"}).assign(area="ref")
    both = pd.concat([ref_cells, cells], ignore_index=True)
    both = both[both["ageband"] != "10-14"]
    fitted = expected_from_case_mix(both, ["ageband"], group="area", events="count", n="pop")
    pooled = (
        both.groupby("ageband", as_index=False)[["count", "pop"]]
        .sum()
        .rename(columns={"count": "refcount", "pop": "refpop"})
    )
    by_rate = _expected(both, pooled).set_index("group")["expected"]
    ours = fitted.set_index("group")["expected"]
    np.testing.assert_allclose(ours.loc[by_rate.index], by_rate, rtol=1e-6)


def test_case_mix_expected_sums_to_observed():
    rng = np.random.default_rng(7)
    rows = []
    for g in ("A", "B", "C", "D"):
        for sex in ("female", "male"):
            for age in ("13-15", "16-17", "18-24"):
                n = int(rng.integers(5, 60))
                rows.append({"group": g, "sex": sex, "age": age, "n": n, "events": int(rng.binomial(n, 0.7))})
    cells = pd.DataFrame(rows)
    table = expected_from_case_mix(cells, ["sex", "age"])
    assert table["expected"].sum() == pytest.approx(table["observed"].sum(), rel=1e-8)
    assert table["n"].sum() == cells["n"].sum()


def test_reference_rates_must_cover_every_stratum():
    cells = pd.DataFrame({"group": ["A"], "stratum": ["x"], "events": [1], "n": [10]})
    ref = pd.DataFrame({"stratum": ["y"], "ref_events": [1], "ref_n": [10]})
    with pytest.raises(ValueError, match="no reference rate"):
        expected_from_reference_rates(cells, ref)


def test_the_case_mix_fit_on_one_row_per_pattern_equals_the_fit_on_every_cell() -> None:
    """The model is fitted on the cells summed per covariate pattern (it has no group term);
    E per group is that of a binomial GLM fitted on every cell as it stands."""
    import statsmodels.api as sm

    rng = np.random.default_rng(13)
    rows = []
    for group in range(40):
        for sex in ("female", "male"):
            for age in ("18-24", "25-44", "65+"):
                for service in rng.choice(6, 2, replace=False):
                    size = int(rng.integers(1, 40))
                    rate = 0.5 + 0.1 * (sex == "female") + 0.05 * int(service)
                    rows.append({"group": f"G{group}", "sex": sex, "age": age, "service": f"S{service}",
                                 "n": size, "events": int(rng.binomial(size, rate))})  # fmt: skip
    cells = pd.DataFrame(rows)
    covariates = ["sex", "age", "service"]
    design = pd.get_dummies(cells[covariates].astype("category"), drop_first=True, dtype=np.float64)
    design.insert(0, "const", 1.0)
    endog = np.column_stack([cells["events"], cells["n"] - cells["events"]]).astype(float)
    every_cell = sm.GLM(endog, design.to_numpy(), family=sm.families.Binomial()).fit()
    want = (cells["n"] * every_cell.predict(design.to_numpy())).groupby(cells["group"], sort=False).sum()
    got = expected_from_case_mix(cells, covariates).set_index("group")["expected"]
    assert len(got) == 40
    assert np.allclose(got.loc[want.index].to_numpy(), want.to_numpy(), rtol=1e-9, atol=0)


def test_the_case_mix_patterns_from_codes_give_exactly_the_figures_of_the_dummies_grouped() -> None:
    """The patterns are found from each covariate's codes, not by grouping every cell's dummy
    columns (2026-12-04): the same table to the last bit — the O/E page's figures must not
    move — with a missing level, empty cells and integer levels among them."""
    import statsmodels.api as sm

    def by_dummies(cells: pd.DataFrame, covariates: list[str]) -> pd.DataFrame:  # the code before
        df = cells.loc[cells["n"] > 0].copy()
        design = pd.get_dummies(df[covariates].astype("category"), drop_first=True, dtype=np.float64)
        design.insert(0, "const", 1.0)
        pattern = design.columns.tolist()
        collapsed = design.assign(_x=df["events"].to_numpy(float), _m=df["n"].to_numpy(float))
        collapsed = collapsed.groupby(pattern, sort=False, as_index=False)[["_x", "_m"]].sum()
        endog = np.column_stack([collapsed["_x"].to_numpy(), (collapsed["_m"] - collapsed["_x"]).to_numpy()])
        fit = sm.GLM(endog, collapsed[pattern].to_numpy(), family=sm.families.Binomial()).fit()
        df["_e"] = df["n"].to_numpy(float) * fit.predict(design.to_numpy())
        out = df.groupby("group", sort=False).agg(
            n=("n", "sum"), observed=("events", "sum"), expected=("_e", "sum")
        )
        return out.reset_index()[["group", "n", "observed", "expected"]]

    rng = np.random.default_rng(29)
    rows = []
    for group in range(300):
        for sex in ("female", "male", "unknown"):
            for age in ("0-12", "13-15", "16-17", "18-20", "21-64")[: int(rng.integers(2, 6))]:
                for service in rng.choice(7, int(rng.integers(1, 4)), replace=False):
                    size = int(rng.integers(0, 40))
                    rows.append({"group": f"P{group:04d}", "sex": sex, "age": age, "service": int(service),
                                 "n": size, "events": int(rng.binomial(size, 0.6 + 0.04 * int(service)))})  # fmt: skip
    cells = pd.DataFrame(rows)
    cells.loc[::11, "sex"] = None
    for covariates in (["sex", "age", "service"], ["service", "sex"], ["age"]):
        want, got = by_dummies(cells, covariates), expected_from_case_mix(cells, covariates)
        assert got.equals(want), covariates


def test_categorical_columns_give_exactly_the_figures_of_the_same_values_as_text() -> None:
    """Covariates and the group as categorical columns (the O/E's cells read as columns,
    2026-12-04, oe3) are numbered from their codes: the same table to the last bit as the same
    values as text, whatever order the categories are in and with categories no cell has."""
    rng = np.random.default_rng(41)
    rows = []
    for group in range(200):
        for sex in ("female", "male", "other"):
            for age in ("0-12", "13-15", "16-17", "18-20", "21-64")[: int(rng.integers(2, 6))]:
                for service in rng.choice(7, int(rng.integers(1, 4)), replace=False):
                    size = int(rng.integers(1, 40))
                    rows.append({"group": f"P{group:04d}", "sex": sex, "age": age, "service": f"s{service}",
                                 "n": size, "events": int(rng.binomial(size, 0.6 + 0.04 * int(service)))})  # fmt: skip
    text = pd.DataFrame(rows).sort_values(["group", "sex", "age", "service"], ignore_index=True)
    columns = ["group", "sex", "age", "service"]
    for order in ("sorted", "reversed", "shuffled"):
        categorical = text.copy()
        for column in columns:
            levels = sorted({*text[column], f"{column}-unused"})
            if order != "sorted":
                levels = levels[::-1] if order == "reversed" else list(rng.permutation(levels))
            categorical[column] = pd.Categorical(text[column], categories=levels)
        for covariates in (["sex", "age", "service"], ["service", "sex"], ["age"]):
            want = expected_from_case_mix(text, covariates)
            got = expected_from_case_mix(categorical, covariates)
            assert got["group"].tolist() == want["group"].tolist(), (order, covariates)
            assert got.drop(columns="group").equals(want.drop(columns="group")), (order, covariates)


def test_the_same_cells_grouped_another_way_need_no_second_fit() -> None:
    """``fitted`` (the model's expected events of the cells, ``case_mix_expected``) gives the table
    of a fit of its own to the last bit, grouped by the group or by another column (the unit
    manager's O/E groups the reference cells by provider and by covariate pattern, 2026-12-06)."""
    rng = np.random.default_rng(43)
    rows = []
    for group in range(120):
        for sex in ("female", "male"):
            for age in ("0-12", "13-15", "16-17", "21-64")[: int(rng.integers(1, 5))]:
                size = int(rng.integers(0, 30))  # with cells of n = 0, which the model leaves out
                rows.append({"group": f"P{group:04d}", "sex": sex, "age": age, "n": size,
                             "events": int(rng.binomial(size, 0.55 + 0.1 * (sex == "male")))})  # fmt: skip
    cells = pd.DataFrame(rows)
    cells["pattern"] = cells["sex"] + "|" + cells["age"]
    covariates = ["sex", "age"]
    fitted = case_mix_expected(cells, covariates)
    assert len(fitted) == int((cells["n"] > 0).sum())
    for group in ("group", "pattern", "sex"):
        want = expected_from_case_mix(cells, covariates, group=group)
        got = expected_from_case_mix(cells, covariates, group=group, fitted=fitted)
        assert got.equals(want), group


def test_the_case_mix_patterns_numbered_by_hashing_are_those_numbered_by_sorting() -> None:
    """``case_mix_expected`` numbers the covariate patterns by first appearance through pandas'
    hash table (2026-12-06, oe8); before, by ranking ``np.unique``'s first positions. The same
    numbers, the same first cells, so the same fit and the same n·p̂ to the last bit, with a
    missing level, empty cells and integer levels among the cells."""
    import statsmodels.api as sm

    from utfall.stats.standardisation import _sorted_codes

    def by_sorting(cells: pd.DataFrame, covariates: list[str]) -> np.ndarray:  # the code before
        df = cells.loc[cells["n"] > 0]
        codes, sizes = [], []
        for covariate in covariates:
            code, size = _sorted_codes(df[covariate])
            codes.append(np.maximum(code, 0))
            sizes.append(size)
        combined = np.zeros(len(df), dtype=np.int64)
        for code, size in zip(codes, sizes, strict=True):
            combined = combined * size + code
        _, first, inverse = np.unique(combined, return_index=True, return_inverse=True)
        order = np.argsort(first, kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(order.size)
        pattern_of = rank[inverse.ravel()]
        x = np.bincount(pattern_of, weights=df["events"].to_numpy(float), minlength=order.size)
        m = np.bincount(pattern_of, weights=df["n"].to_numpy(float), minlength=order.size)
        design = np.zeros((order.size, 1 + sum(size - 1 for size in sizes)), order="F")
        design[:, 0] = 1.0
        column = 1
        for code, size in zip(codes, sizes, strict=True):
            level = code[first[order]]
            has = np.flatnonzero(level > 0)
            design[has, column + level[has] - 1] = 1.0
            column += size - 1
        result = sm.GLM(np.column_stack([x, m - x]), design, family=sm.families.Binomial()).fit()
        return np.asarray(df["n"].to_numpy(float) * result.predict(np.asfortranarray(design[pattern_of])))

    rng = np.random.default_rng(31)
    rows = []
    for group in range(400):
        ages = ("0-12", "13-15", "16-17", "18-24", "25-44", "45-64", "65+")
        for sex in ("female", "male", "other"):
            for age in ages[: int(rng.integers(1, 8))]:
                for service in rng.choice(14, int(rng.integers(1, 5)), replace=False):
                    size = int(rng.integers(0, 30))
                    rows.append({"group": f"P{group:04d}", "sex": sex, "age": age, "service": int(service),
                                 "n": size, "events": int(rng.binomial(size, 0.5 + 0.03 * int(service)))})  # fmt: skip
    cells = pd.DataFrame(rows).sample(frac=1.0, random_state=3).reset_index(drop=True)
    cells.loc[::13, "age"] = None
    categorical = cells.assign(**{c: cells[c].astype("category") for c in ("sex", "age", "service")})
    for frame in (cells, categorical):
        for covariates in (["sex", "age", "service"], ["service"], ["age", "sex"]):
            want, got = by_sorting(frame, covariates), case_mix_expected(frame, covariates)
            assert got.tobytes() == want.tobytes(), covariates
