"""Workshop 09's generator, its time-series helpers and its exercise checks."""

import numpy as np
import pandas as pd
import pytest

from sparkcourse.data.crossings import (
    IMPACT_CHANCE,
    KINDS,
    READINGS,
    SQUARENESS,
    STEP_MINUTES,
    TAU_RANGE,
    crossings,
    daylight,
    departures,
    healing_hours,
)
from sparkcourse.exercises import NOT_ATTEMPTED
from sparkcourse.exercises.timeseries import (
    ANSWERS,
    check_hours_since_alarm,
    check_problem_types,
    hours_since_alarm,
)
from sparkcourse.timeseries import (
    co2_fold,
    co2_monthly,
    co2_weekly,
    fit_score,
    healing_time,
    r2,
    replay_error,
    rolling_origin_scores,
)


@pytest.fixture(scope="module")
def fleet():
    return {kind: crossings(12, seed=3, kind=kind) for kind in KINDS}


def test_crossings_are_seeded_and_shaped(fleet):
    frame = fleet["forecast"]
    assert len(frame) == 12 * READINGS and frame.equals(crossings(12, seed=3, kind="forecast"))
    assert not frame.equals(crossings(12, seed=4, kind="forecast"))
    assert (frame.groupby("vehicle_id").ts.diff().dropna() == pd.Timedelta(minutes=STEP_MINUTES)).all()
    assert departures(12).dt.hour.eq(6).all() and departures(12).is_monotonic_increasing
    assert (frame.impact > 0).mean() == pytest.approx(IMPACT_CHANCE, abs=0.01)
    assert frame.cloud.between(0, 1).all() and frame.daylight.between(0, 1).all()
    with pytest.raises(ValueError, match="kind must be one of"):
        crossings(2, seed=0, kind="nowcast")


def test_the_switch_changes_only_the_healing(fleet):
    """Same impacts in every kind; without healing the error is their running sum, each impact
    weighted by how squarely it hit (plus noise), so not the sum itself; healing makes it
    smaller, solar healing (slow at night) less so than steady healing."""
    for kind in KINDS:
        assert fleet[kind].impact.equals(fleet["sequence"].impact)
    sequence = fleet["sequence"]
    running_sum = sequence.groupby("vehicle_id").impact.cumsum()
    low, high = SQUARENESS
    assert sequence.error.between(low * running_sum - 0.3, high * running_sum + 0.3).all()
    assert np.abs(sequence.error - running_sum).max() > 1
    means = {kind: frame.error.mean() for kind, frame in fleet.items()}
    assert means["sequence"] > means["forecast"] > means["history"]


def test_daylight_is_zero_at_night_and_longer_in_summer():
    night = pd.DatetimeIndex(["2025-01-10 02:00", "2025-07-10 23:00"])
    assert (daylight(night) == 0).all()
    winter = daylight(pd.date_range("2025-01-10", periods=144, freq="10min"))
    summer = daylight(pd.date_range("2025-07-10", periods=144, freq="10min"))
    assert (summer > 0).sum() > (winter > 0).sum() + 30
    assert summer.max() == pytest.approx(1, abs=0.01)


def test_healing_time_recovers_each_vehicles_truth(fleet):
    truth = healing_hours(12, seed=3)
    assert truth.min() >= TAU_RANGE[0] and truth.max() <= TAU_RANGE[1]
    fitted = pd.concat([healing_time(rows) for _, rows in fleet["history"].groupby("vehicle_id")])
    relative = np.abs(fitted.tau_hours.to_numpy() / truth - 1)
    assert np.median(relative) < 0.1, relative


def test_replay_error_follows_the_healing_rule():
    rows = pd.DataFrame({"impact": [0.0, 2.0, 0.0, 0.0]})
    keep = np.exp(-STEP_MINUTES / 60 / 5.0)
    expected = [1.0 * keep, keep**2 + 2, (keep**2 + 2) * keep, (keep**2 + 2) * keep**2]
    assert replay_error(rows, 5.0, start=1.0) == pytest.approx(expected)


def test_r2():
    assert r2([1, 2, 3], [1, 2, 3]) == 1
    assert r2([1, 2, 3], [2, 2, 2]) == 0
    assert r2([1, 2, 3], [3, 2, 1]) == -3


def test_rolling_origin_trains_only_on_known_targets():
    ts = pd.date_range("2025-01-01", "2025-04-30 23:00", freq="h")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"ts": ts, "x": rng.normal(size=len(ts))})
    frame["y"] = 2 * frame.x + rng.normal(scale=0.1, size=len(ts))
    frame["now"] = frame.y.shift(fill_value=0)
    origins = pd.to_datetime(["2025-03-01", "2025-04-01"])
    scores = rolling_origin_scores(frame, ["x"], "y", origins, pd.Timedelta(hours=6), 0, "now")
    before_march = (frame.ts + pd.Timedelta(hours=6) <= "2025-03-01").sum()
    assert scores["train rows"].iloc[0] == before_march
    assert scores["test rows"].tolist() == [31 * 24, 30 * 24]
    assert (scores["model R²"] > 0.95).all() and (scores["persistence R²"] < 0.2).all()


def test_co2_is_the_published_record_and_holt_winters_beats_seasonal_naive():
    weekly = co2_weekly()
    assert weekly.count() == 2225  # the number of observations statsmodels documents
    monthly = co2_monthly(weekly)
    assert monthly.co2.notna().all() and len(monthly) == 526
    folds = pd.concat([co2_fold(monthly[monthly.month.dt.year <= year].assign(origin=year))
                       for year in (1995, 2000)])
    mae = folds.pivot(index="origin", columns="method", values="mae")
    assert (mae["Holt-Winters"] < mae["seasonal naive"]).all()
    assert (mae["Holt-Winters"] < 1).all()


def test_check_problem_types():
    assert check_problem_types(None) == NOT_ATTEMPTED
    assert check_problem_types({case: None for case in ANSWERS}) == NOT_ATTEMPTED
    assert check_problem_types(dict(ANSWERS)).correct
    written_otherwise = {"card fraud": ["Sequence", "out-of-sample"],
                         "battery fade": ("history_match", "OOT"),
                         "solar output": ("forecast", "Out of time and out of sample")}
    assert check_problem_types(written_otherwise).correct
    unknown = {**ANSWERS, "card fraud": ("sequential", "out of sample")}
    assert "is not (one of" in check_problem_types(unknown).message
    assert "out of time" not in check_problem_types(
        {**ANSWERS, "battery fade": ("history match", "both")}).message, "the hint gives no answer"
    swapped = {**ANSWERS, "battery fade": ("forecasting", "both")}
    assert "battery fade" in check_problem_types(swapped).message
    wrong_split = {**ANSWERS, "solar output": ("forecasting", "out of time")}
    assert not check_problem_types(wrong_split).correct


def test_check_hours_since_alarm(fleet):
    history = fleet["history"]
    expected = hours_since_alarm(history, 5.0)
    assert expected.hours_since_alarm.min() == 0 and expected.hours_since_alarm.isna().any()
    assert check_hours_since_alarm(None, history, 5.0) == NOT_ATTEMPTED
    assert check_hours_since_alarm(expected.sample(frac=1, random_state=0), history, 5.0).correct
    since_previous = expected.assign(hours_since_alarm=expected.hours_since_alarm.replace(0, np.nan))
    assert not check_hours_since_alarm(since_previous, history, 5.0).correct
    assert not check_hours_since_alarm(expected.drop(columns="ts"), history, 5.0).correct


def test_fit_score_scores_the_rows_it_is_given_and_refuses_an_overlap():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.random(400)})
    frame["y"] = 3 * frame.x + rng.normal(0, 0.01, 400)
    train = np.arange(400) < 300
    assert fit_score(frame, ["x"], "y", train, seed=0, test=np.arange(400) >= 350) > 0.95
    with pytest.raises(ValueError, match="overlap"):
        fit_score(frame, ["x"], "y", train, seed=0, test=np.arange(400) >= 250)
