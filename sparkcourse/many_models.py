"""One model per group (Workshop 04): the per-group functions, their output schemas and costs.

The same function runs in a plain pandas `groupby` loop and in Spark's
`groupBy(...).applyInPandas(fn, schema)`, so both results can be compared row for row.
Every function takes one argument, the rows of one group: a function of two arguments
would receive the group's key first.
"""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd

from .data.sales import FEATURES, TARGET
from .measure import spend_cpu
from .schema import columns

COEFFICIENTS_SCHEMA = ("store_id long, intercept double, price_effect double, promo_effect double, "
                       "price_se double, promo_se double, rows long, r2 double, error string")
TREE_SCHEMA = "store_id long, model binary, rows long, error string"
FORECAST_SCHEMA = "store_id long, week int, forecast double"
TREE_FEATURES = [*FEATURES, "week"]
TREES = 50  # boosted trees per store: a heavier model than OLS


def ols_coefficients(rows: pd.DataFrame) -> pd.DataFrame:
    """Least squares for one store: one row of coefficients and standard errors, or the error."""
    store = int(rows.store_id.iloc[0])
    try:
        design = np.column_stack([np.ones(len(rows)), rows[FEATURES].to_numpy(dtype=float)])
        target = rows[TARGET].to_numpy(dtype=float)
        dof = len(rows) - design.shape[1]
        if dof <= 0:
            raise ValueError(f"{len(rows)} rows for {design.shape[1]} coefficients")
        coef, *_ = np.linalg.lstsq(design, target, rcond=None)
        residual = target - design @ coef
        covariance = residual @ residual / dof * np.linalg.inv(design.T @ design)
        standard_errors = np.sqrt(np.diag(covariance))
        r2 = 1 - residual.var() / target.var()
        values = [store, *coef, *standard_errors[1:], len(rows), r2, None]
    except Exception as error:  # noqa: BLE001 - one bad group must not fail the whole job
        values = [store, *[np.nan] * 5, len(rows), np.nan, f"{type(error).__name__}: {error}"]
    return pd.DataFrame([values], columns=columns(COEFFICIENTS_SCHEMA))


def boosted_trees(rows: pd.DataFrame) -> pd.DataFrame:
    """`TREES` gradient-boosted trees for one store, pickled into a binary column."""
    from sklearn.ensemble import GradientBoostingRegressor

    store = int(rows.store_id.iloc[0])
    try:
        model = GradientBoostingRegressor(n_estimators=TREES, max_depth=2, random_state=store)
        model.fit(rows[TREE_FEATURES], rows[TARGET])
        values = [store, pickle.dumps(model), len(rows), None]
    except Exception as error:  # noqa: BLE001
        values = [store, None, len(rows), f"{type(error).__name__}: {error}"]
    return pd.DataFrame([values], columns=columns(TREE_SCHEMA))


def forecast_with_trees(future: pd.DataFrame, model: pd.DataFrame) -> pd.DataFrame:
    """A `cogroup` function: one store's future weeks and its pickled model, in; forecasts, out."""
    if future.empty or model.empty or model.model.iloc[0] is None:
        return pd.DataFrame(columns=columns(FORECAST_SCHEMA))
    fitted = pickle.loads(model.model.iloc[0])
    return pd.DataFrame({"store_id": future.store_id, "week": future.week,
                         "forecast": fitted.predict(future[TREE_FEATURES])})


def with_cost(fit, seconds: float):
    """`fit` made `seconds` of CPU more expensive per group: a stand-in for a heavier model."""
    def costly_fit(rows: pd.DataFrame) -> pd.DataFrame:
        spend_cpu(seconds)
        return fit(rows)

    return costly_fit


def pandas_loop(sales: pd.DataFrame, fit) -> pd.DataFrame:
    """The single-machine baseline: the same function, one group after another."""
    parts = [fit(rows) for _, rows in sales.groupby("store_id", sort=True)]
    return pd.concat(parts, ignore_index=True)


def cost_lines(table: pd.DataFrame) -> pd.DataFrame:
    """Seconds per model as a straight line in the model's own cost, for each way of running.

    `table` has the added cost per model (s) as its index and seconds per model as columns;
    the answer has, per column, the overhead per model (at zero cost) and the slope."""
    costs = table.index.to_numpy(dtype=float)
    lines = {name: np.polyfit(costs, table[name].to_numpy(dtype=float), 1) for name in table}
    return pd.DataFrame({name: {"overhead_s": b, "slope": a} for name, (a, b) in lines.items()}).T


def crossover_cost(lines: pd.DataFrame, baseline: str, challenger: str) -> float | None:
    """The cost per model above which `challenger` runs more models per second than `baseline`."""
    slope_gap = lines.slope[baseline] - lines.slope[challenger]
    overhead_gap = lines.overhead_s[challenger] - lines.overhead_s[baseline]
    if slope_gap <= 0:
        return None  # the challenger never catches up
    return max(overhead_gap / slope_gap, 0.0)
