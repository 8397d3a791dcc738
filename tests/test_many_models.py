import inspect
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from sparkcourse.data.sales import FEATURES, TARGET, future_weeks, store_sales
from sparkcourse.exercises import NOT_ATTEMPTED
from sparkcourse.exercises.many_models import check_plan, check_promo_uplift, promo_uplift
from sparkcourse.many_models import (
    boosted_trees,
    cost_lines,
    crossover_cost,
    forecast_with_trees,
    ols_coefficients,
    pandas_loop,
    with_cost,
)
from sparkcourse.schema import columns

SALES = store_sales(30, seed=3, flagships=2)


def test_store_sales_are_seeded_and_skewed():
    again = store_sales(30, seed=3, flagships=2)
    assert SALES.sales.equals(again.sales) and SALES.truth.equals(again.truth)
    sizes = SALES.sales.groupby("store_id").size()
    assert (sizes.to_numpy() == SALES.truth.rows.to_numpy()).all()
    assert sizes.iloc[:2].min() >= 200 and sizes.iloc[2:].max() <= 104


def test_future_weeks_follow_each_store_and_carry_the_truth():
    future = future_weeks(SALES.truth, weeks=4, seed=3)
    first = future[future.store_id == 5]
    truth = SALES.truth.set_index("store_id").loc[5]
    assert list(first.week) == list(range(int(truth.rows), int(truth.rows) + 4))
    expected = truth.intercept + truth.price_effect * first.price + truth.promo_effect * first.promo
    assert np.allclose(first.expected_sales, expected)


@pytest.mark.parametrize("fit", [ols_coefficients, boosted_trees, with_cost(ols_coefficients, 0.001)])
def test_group_functions_take_only_the_rows(fit):
    # applyInPandas passes the key first to a function of two parameters
    assert len(inspect.signature(fit).parameters) == 1


def test_ols_matches_statsmodels_and_covers_the_truth():
    fitted = pandas_loop(SALES.sales, ols_coefficients)
    assert list(fitted.columns) == columns("store_id long, intercept double, price_effect double, "
                                           "promo_effect double, price_se double, promo_se double, "
                                           "rows long, r2 double, error string")
    for store, rows in SALES.sales.groupby("store_id"):
        reference = sm.OLS(rows[TARGET], sm.add_constant(rows[FEATURES])).fit()
        mine = fitted.loc[store]
        assert np.allclose(mine[["intercept", "price_effect", "promo_effect"]].astype(float),
                           reference.params.to_numpy())
        assert np.allclose(mine[["price_se", "promo_se"]].astype(float), reference.bse.iloc[1:])
    truth = SALES.truth
    assert ((fitted.price_effect - truth.price_effect).abs() < 4 * fitted.price_se).all()


def test_a_failing_group_returns_its_error():
    rows = SALES.sales[SALES.sales.store_id == 4].head(3)
    result = ols_coefficients(rows)
    assert result.error[0] == "ValueError: 3 rows for 3 coefficients"
    assert result.rows[0] == 3 and np.isnan(result.price_effect[0])


def test_pickled_trees_forecast_their_store():
    rows = SALES.sales[SALES.sales.store_id == 7]
    model = boosted_trees(rows)
    assert model.error[0] is None and isinstance(model.model[0], bytes)
    future = future_weeks(SALES.truth, weeks=3, seed=3).query("store_id == 7")
    forecast = forecast_with_trees(future, model)
    assert list(forecast.columns) == ["store_id", "week", "forecast"] and len(forecast) == 3
    assert forecast_with_trees(future, model.iloc[:0]).empty


def test_cost_lines_and_crossover():
    work = pd.Index([0.001, 0.01, 0.03])
    table = pd.DataFrame({"pandas loop": work + 0.0002, "Spark": 0.004 + 0.5 * work}, index=work)
    lines = cost_lines(table)
    assert np.allclose(lines.loc["Spark"], [0.004, 0.5])
    assert crossover_cost(lines, "pandas loop", "Spark") == pytest.approx(0.0038 / 0.5)
    assert crossover_cost(lines, "Spark", "pandas loop") is None


class FakeSparkFrame:
    def __init__(self, frame, types):
        self.frame = frame
        self.schema = SimpleNamespace(fields=[
            SimpleNamespace(name=name, dataType=SimpleNamespace(simpleString=lambda t=t: t))
            for name, t in types.items()])

    def toPandas(self):
        return self.frame


def test_promo_uplift_check():
    expected = promo_uplift(SALES.sales)
    types = {"store_id": "bigint", "uplift": "double", "weeks": "bigint"}
    assert check_promo_uplift(None, None, SALES.sales) == NOT_ATTEMPTED
    assert check_promo_uplift(FakeSparkFrame(expected, types), "schema", SALES.sales).correct
    assert "Spark DataFrame" in check_promo_uplift(expected, "schema", SALES.sales).message
    as_int = FakeSparkFrame(expected, {**types, "weeks": "int", "store_id": "int"})
    assert check_promo_uplift(as_int, "store_id int, uplift double, weeks int", SALES.sales).correct
    uplift_as_int = FakeSparkFrame(expected, {**types, "uplift": "bigint"})
    assert "declare store_id and weeks" in check_promo_uplift(uplift_as_int, "schema", SALES.sales).message
    reversed_sign = FakeSparkFrame(expected.assign(uplift=-expected.uplift), types)
    assert "values of uplift differ" in check_promo_uplift(reversed_sign, "s", SALES.sales).message


def test_plan_check():
    lines = pd.DataFrame({"overhead_s": [0.0, 0.004], "slope": [1.0, 0.5]},
                         index=["pandas loop", "Spark"])
    right = {"pandas loop": 0.2 * 1000 / 60, "Spark": (0.004 + 0.1) * 1000 / 60}
    assert check_plan(None, lines, 1000, 0.2) == NOT_ATTEMPTED
    assert check_plan(right, lines, 1000, 0.2).correct
    assert "keys" in check_plan({"pandas": 1}, lines, 1000, 0.2).message
    assert "Spark: " in check_plan({**right, "Spark": 1.0}, lines, 1000, 0.2).message
