"""Time-series problems (Workshop 09): the three problem types, honest splits, rolling origins,
and the per-series functions that Spark runs with `groupBy().applyInPandas`."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .data.crossings import STEP_MINUTES
from .schema import columns


def r2(actual, predicted) -> float:
    """The share of the target's variance a prediction explains (1 is perfect, 0 is the mean)."""
    actual, predicted = np.asarray(actual, float), np.asarray(predicted, float)
    return float(1 - np.sum((actual - predicted) ** 2) / np.sum((actual - actual.mean()) ** 2))


def fit_score(frame: pd.DataFrame, features: list[str], target: str, train, seed: int,
              test=None) -> float:
    """Fit gradient-boosted trees on the `train` rows, return R² on the `test` rows (default:
    all the others)."""
    from sklearn.ensemble import HistGradientBoostingRegressor

    train = np.asarray(train, bool)
    test = ~train if test is None else np.asarray(test, bool)
    if (train & test).any():
        raise ValueError("the test rows overlap the training rows")
    model = HistGradientBoostingRegressor(random_state=seed)
    model.fit(frame.loc[train, features], frame.loc[train, target])
    return r2(frame.loc[test, target], model.predict(frame.loc[test, features]))


def random_rows(frame: pd.DataFrame, share: float, seed: int) -> np.ndarray:
    """A random `share` of the rows (the split that ignores time)."""
    return np.random.default_rng(seed).random(len(frame)) < share


def rolling_origin_scores(frame: pd.DataFrame, features: list[str], target: str, origins,
                          horizon: pd.Timedelta, seed: int, baseline: str) -> pd.DataFrame:
    """One fold per origin: train on rows whose target was known before the origin (`ts` plus
    the horizon), test on the month from the origin. R² of the model and of `baseline` (a
    column used as the forecast as it is)."""
    rows = []
    for origin in pd.DatetimeIndex(origins):
        train = frame.ts + horizon <= origin
        test = (frame.ts >= origin) & (frame.ts < origin + pd.DateOffset(months=1))
        part = frame[train | test]
        rows.append({"origin": origin.date(), "train rows": int(train.sum()),
                     "test rows": int(test.sum()),
                     "model R²": fit_score(part, features, target, train[train | test], seed),
                     "persistence R²": r2(frame.loc[test, target], frame.loc[test, baseline])})
    return pd.DataFrame(rows).set_index("origin")


HEALING_SCHEMA = "vehicle_id long, tau_hours double, readings long"


def healing_time(rows: pd.DataFrame) -> pd.DataFrame:
    """One vehicle's healing time constant, from its history (a per-series model).

    Between readings the error keeps a share `exp(-step / tau)` of itself and gains the impact:
    least squares of (error - impact) on the previous error, through the origin."""
    rows = rows.sort_values("ts")
    previous = rows.error.shift().to_numpy()
    gained = (rows.error - rows.impact).to_numpy()
    usable = previous > 0.5  # where the error is well above the measurement noise
    kept = np.sum(previous[usable] * gained[usable]) / np.sum(previous[usable] ** 2)
    tau = -STEP_MINUTES / 60 / np.log(kept) if 0 < kept < 1 else np.nan
    return pd.DataFrame({"vehicle_id": [int(rows.vehicle_id.iloc[0])], "tau_hours": [tau],
                         "readings": [int(usable.sum())]})


def co2_weekly() -> pd.Series:
    """Mauna Loa CO2 (ppm), the weekly series that ships with statsmodels (weeks without a
    measurement are missing)."""
    import statsmodels.api as sm

    return sm.datasets.co2.load_pandas().data.co2


def co2_monthly(weekly: pd.Series) -> pd.DataFrame:
    """Monthly means of the weekly series; the few months without a measurement interpolated."""
    monthly = weekly.resample("MS").mean().interpolate()
    return pd.DataFrame({"month": monthly.index, "co2": monthly.to_numpy()})


CO2_FOLD_SCHEMA = "origin int, method string, mae double"


def co2_fold(rows: pd.DataFrame) -> pd.DataFrame:
    """One rolling-origin fold: fit on the months before January of `origin`, forecast its 12
    months with a seasonal naive forecast (the same month last year) and with Holt-Winters."""
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    origin = int(rows.origin.iloc[0])
    series = rows.set_index("month").co2.sort_index().asfreq("MS")
    history = series[series.index.year < origin]
    actual = series[series.index.year == origin].to_numpy()
    naive = history.iloc[-12:].to_numpy()
    model = ExponentialSmoothing(history, trend="add", seasonal="add", seasonal_periods=12)
    holt_winters = model.fit().forecast(12).to_numpy()
    return pd.DataFrame({"origin": origin, "method": ["seasonal naive", "Holt-Winters"],
                         "mae": [np.abs(actual - naive).mean(), np.abs(actual - holt_winters).mean()]},
                        columns=columns(CO2_FOLD_SCHEMA))


def replay_error(rows: pd.DataFrame, tau_hours: float, start: float) -> np.ndarray:
    """The error a healing instrument would show, from `start` on, given its impacts: the
    history-match model once `tau_hours` has been fitted."""
    keep = np.exp(-STEP_MINUTES / 60 / tau_hours)
    error, path = start, []
    for impact in rows.impact.to_numpy():
        error = error * keep + impact
        path.append(error)
    return np.array(path)
