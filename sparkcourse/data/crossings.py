"""Seeded autonomous-vehicle crossings with an instrument that drifts (Workshop 09).

A fleet of vehicles each crosses from A to B in two days, starting on a different day of one
year. Every `STEP_MINUTES` the vehicle logs a reading: the magnitude of any impact since the
last reading (0 if none), the cloud cover, and the instrument's calibration error as measured
against a reference. Impacts add to the error; what happens between impacts is the switch that
makes three kinds of time-series problem out of one scenario:

- ``"sequence"``: the error is the sum of the impacts so far. Only their order matters.

Every impact moves the error by its logged magnitude times how squarely it hit (0.6 to 1.4,
not logged), so no feature set explains the error exactly.
- ``"history"``: the instrument heals: the error decays with time constant ``tau_hours`` (one
  per vehicle, see `healing_hours`). Order and elapsed time matter.
- ``"forecast"``: the healing is solar powered: fast in sunshine, slow at night and under
  clouds. The date, the hour and the weather matter too.

The ground truth (each vehicle's healing time, the solar model) is exported so a notebook can
check what its models recover.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

KINDS = ("sequence", "history", "forecast")
STEP_MINUTES = 10
READINGS = 2 * 24 * 60 // STEP_MINUTES  # two days
YEAR = 2025
DEPARTURE_HOUR = 6
IMPACT_CHANCE = 0.06  # per reading: about 17 impacts per crossing
TAU_RANGE = (4.0, 12.0)  # hours: how fast an instrument heals (history)
NIGHT_SHARE = 0.25  # forecast: share of the healing rate left at night and under full cloud
NOISE = 0.05  # sd of the error measurement
SQUARENESS = (0.6, 1.4)  # an impact's effect on the error, per unit of its logged magnitude
LIMIT = 5.0  # recalibrate when the error exceeds this


def departures(vehicles: int) -> pd.Series:
    """Departure time of each vehicle: spread evenly over the year, at 06:00."""
    days = np.floor(np.arange(vehicles) * 365 / vehicles)
    start = pd.Timestamp(f"{YEAR}-01-01 {DEPARTURE_HOUR:02d}:00")
    return pd.Series(start + pd.to_timedelta(days, unit="D"), name="departure")


def healing_hours(vehicles: int, seed: int) -> np.ndarray:
    """The true healing time constant of each vehicle's instrument, in hours."""
    return np.random.default_rng([seed, 1]).uniform(*TAU_RANGE, vehicles)


def daylight(ts: pd.Series | pd.DatetimeIndex) -> np.ndarray:
    """Clear-sky sunshine between 0 and 1: zero at night, longer days in summer."""
    ts = pd.DatetimeIndex(ts)
    hours = ts.hour + ts.minute / 60
    day_length = 12 + 4 * np.sin(2 * np.pi * (ts.dayofyear - 80) / 365)
    sunrise = 12 - day_length / 2
    return np.clip(np.sin(np.pi * (hours - sunrise) / day_length), 0, None).to_numpy()


def cloud_cover(seed: int) -> pd.Series:
    """Hourly cloud cover (0 to 1) over the year and a week more: persistent weather."""
    hours = pd.date_range(f"{YEAR}-01-01", periods=(365 + 7) * 24, freq="h")
    rng = np.random.default_rng([seed, 2])
    state = np.zeros(len(hours))
    shocks = rng.normal(0, 0.35, len(hours))
    for i in range(1, len(hours)):
        state[i] = 0.97 * state[i - 1] + shocks[i]
    return pd.Series(1 / (1 + np.exp(-state)), index=hours, name="cloud")


def crossings(vehicles: int, seed: int, kind: str = "forecast") -> pd.DataFrame:
    """One row per vehicle and reading: vehicle_id, ts, impact, daylight (clear-sky sunshine, a
    calendar feature), cloud (the weather) and error (as measured)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}; got {kind!r}")
    rng = np.random.default_rng([seed, 0])
    step = pd.Timedelta(minutes=STEP_MINUTES)
    ts = (departures(vehicles).to_numpy()[:, None] + np.arange(READINGS) * step).ravel()
    ts = pd.DatetimeIndex(ts)
    hit = rng.random(ts.size) < IMPACT_CHANCE
    impact = np.where(hit, rng.exponential(1.0, ts.size).round(3), 0.0).reshape(vehicles, READINGS)
    squareness = np.random.default_rng([seed, 3]).uniform(*SQUARENESS, impact.shape)  # not logged
    cloud = cloud_cover(seed).reindex(ts.floor("h")).to_numpy()
    rate = np.repeat(1 / healing_hours(vehicles, seed), READINGS).reshape(vehicles, READINGS)
    clear_sky = daylight(ts)
    if kind == "sequence":
        rate[:] = 0.0
    elif kind == "forecast":
        sun = clear_sky * (1 - cloud)
        rate = rate * (NIGHT_SHARE + 2 * sun.reshape(vehicles, READINGS))
    keep = np.exp(-rate * STEP_MINUTES / 60)  # share of the error left after one step
    error = np.zeros_like(impact)
    for k in range(READINGS):
        error[:, k] = (error[:, k - 1] * keep[:, k] if k else 0) + impact[:, k] * squareness[:, k]
    measured = np.clip(error + rng.normal(0, NOISE, error.shape), 0, None).round(3)
    return pd.DataFrame({
        "vehicle_id": np.repeat(np.arange(vehicles), READINGS).astype("int64"),
        "ts": ts,
        "impact": impact.ravel(),
        "daylight": clear_sky.round(3),
        "cloud": cloud.round(3),
        "error": measured.ravel(),
    })
