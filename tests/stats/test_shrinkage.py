from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from utfall.stats.shrinkage import beta_binomial_shrinkage, james_stein


@pytest.fixture
def baseball(reference):
    return pd.read_csv(reference / "efron_morris_1975_baseball.csv")


def test_james_stein_reproduces_efron_morris(reference, baseball):
    constants = json.loads((reference / "efron_morris_constants.json").read_text())
    js, c, ybar = james_stein(baseball["hits"] / 45, 45)
    assert round(c, 3) == constants["published"]["c"]
    assert round(ybar, 3) == constants["published"]["ybar"]
    assert c == pytest.approx(constants["derived_by_us_from_hits_over_45"]["c"], rel=1e-9)
    np.testing.assert_allclose(js, baseball["js_derived_exact"], rtol=1e-9)
    truth = baseball["remaining_avg_em"]
    assert np.sum((js - truth) ** 2) == pytest.approx(0.0213, abs=5e-4)


def test_empirical_bayes_beats_the_raw_rates(baseball):
    table = beta_binomial_shrinkage(baseball["hits"], baseball["at_bats"])
    truth = baseball["remaining_avg_em"]
    raw_error = np.sum((table["raw"] - truth) ** 2)
    eb_error = np.sum((table["estimate"] - truth) ** 2)
    assert raw_error == pytest.approx(0.0753, abs=5e-4)
    assert eb_error < raw_error / 3
    assert (np.diff(table["estimate"]) <= 1e-12).all()  # the file is sorted by hits
    assert ((table["lower"] <= table["estimate"]) & (table["estimate"] <= table["upper"])).all()


def test_small_groups_shrink_more():
    table = beta_binomial_shrinkage([2, 20, 200, 150], [4, 40, 400, 200])
    assert table.loc[0, "weight"] < table.loc[1, "weight"] < table.loc[2, "weight"]
