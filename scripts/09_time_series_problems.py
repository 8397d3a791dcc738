# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3.11 (Scaling ML with Spark)
#     language: python
#     name: scaling-ml-spark
# ---

# %% [markdown] slideshow={"slide_type": "slide"}
# # 09 · What kind of time-series problem do you have?
# *Problem types, the features they need, and honest validation · about 75 minutes*
#
# **Topics:** sequence, history-match and forecasting problems, window features in Spark (running sums, time since the last event, rolling sums over time, leads and lags, calendar and weather features), leakage from a random split, out-of-time and rolling-origin evaluation, one model per series with `applyInPandas`, a real series (Mauna Loa CO₂), when a CNN or RNN is worth it
#
# **Spark Connect:** yes. Pass `spark_master="sc://host:port"` to run it on a Connect server.
#
# "Time series" covers problems that need different features and, above all, different
# validation. Three questions sort them: does the **order** of events matter, does the **time
# between** them matter, does the **date** (the absolute time) matter? The answers decide which
# features a model needs and which split tells the truth about it.
#
# By the end you will be able to:
# - name a problem's **type** (sequence, history match, forecasting) and its **honest validation**;
# - build **window features** with Spark: running sums, time since the last event, rolling sums
#   over hours, leads for the target, calendar and weather features;
# - show **leakage**: why a random split flatters a forecast, and measure the collapse out of time;
# - run a **rolling-origin** evaluation, and fit **one model per series** with `applyInPandas`.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Parameters
# `vehicles` sets the fleet (0 takes the scale's default: 60 *small*, 600 *medium*, 6,000
# *large*); `horizon_hours` is how far ahead the forecast of section 5 looks.

# %% tags=["parameters"]
scale: str = "small"  # data size: ci (tests), small (Binder), medium (laptop), large (cluster)
spark_master: str = "local[*]"  # where Spark runs: local[*], local[N] or spark://host:port
seed: int = 42  # random seed for the generated crossings and the models
work_dir: str = "work"  # the driver's folder for this notebook's files (Spark's log, local MLflow)
data_root: str = ""  # folder or URI that driver and executors see, for data Spark reads; empty: work_dir
vehicles: int = 0  # vehicles in the fleet; 0 takes the scale's default
horizon_hours: int = 6  # how far ahead the forecast looks, in hours

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from pyspark.sql import Window
from pyspark.sql import functions as F

from sparkcourse import check_int, record, setup_notebook
from sparkcourse.data.crossings import (
    KINDS,
    LIMIT,
    STEP_MINUTES,
    crossings,
    healing_hours,
)
from sparkcourse.exercises.timeseries import CASES, check_hours_since_alarm, check_problem_types
from sparkcourse.timeseries import (
    CO2_FOLD_SCHEMA,
    HEALING_SCHEMA,
    co2_fold,
    co2_monthly,
    co2_weekly,
    fit_score,
    healing_time,
    r2,
    random_rows,
    replay_error,
    rolling_origin_scores,
)

run = setup_notebook("09_time_series_problems", scale=scale, spark_master=spark_master, seed=seed,
                     work_dir=work_dir, data_root=data_root)
vehicles = check_int("vehicles", vehicles, minimum=12) if vehicles else run.scale.vehicles
horizon_hours = check_int("horizon_hours", horizon_hours, minimum=1)
spark = run.spark()
print(f"Spark {spark.version}; {vehicles} vehicles; forecasts {horizon_hours} h ahead")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 1 · Three questions, three problem types
# | | order | time between events | date and weather | honest validation |
# |---|---|---|---|---|
# | **sequence** | matters | does not | does not | out of sample (new series) |
# | **history match** | matters | matters | does not | out of time (later than training) |
# | **forecasting** | matters | matters | matters | both: later dates *and* new series |
#
# The running example: a fleet of **autonomous vehicles**, each crossing from A to B in two days
# and carrying an **instrument** whose calibration error grows with every impact on the road; past
# an error of 5 it needs recalibrating. One seeded generator makes all three problems with one
# switch:
# - **sequence**: the error is the sum of the impacts so far: only their order counts;
# - **history match**: the instrument **heals** between impacts, exponentially, with a healing
#   time of 4 to 12 hours that differs per vehicle: the time between impacts counts too;
# - **forecasting**: the healing is **solar powered**: fast in sunshine, slow at night and under
#   clouds, so the date (day length), the hour and the weather count too.
#
# Every vehicle departs at 06:00 on its own day of 2025 and logs a reading every 10 minutes: the
# impact since the last reading (0 if none), the clear-sky daylight (0 to 1, known from the
# calendar), the cloud cover and the measured error.

# %%
fleet = {kind: crossings(vehicles, run.seed, kind) for kind in KINDS}
readings = {kind: spark.createDataFrame(frame) for kind, frame in fleet.items()}
readings["forecast"].orderBy("vehicle_id", "ts").show(4)
print(f"{readings['forecast'].count():,} readings per kind: {vehicles} vehicles x 2 days x "
      f"{24 * 60 // STEP_MINUTES} a day")

# %%
sunny = fleet["forecast"].assign(sun=lambda f: f.daylight * (1 - f.cloud)).groupby("vehicle_id").sun.mean()
one = {kind: frame[frame.vehicle_id == sunny.idxmax()] for kind, frame in fleet.items()}
fig, ax = plt.subplots(figsize=(10, 3.6))
for kind, rows in one.items():
    ax.plot(rows.ts, rows.error, label=kind, lw=1.4)
hits = one["sequence"][one["sequence"].impact > 0]
ax.scatter(hits.ts, np.zeros(len(hits)) - 0.4, marker="|", color="black", s=80, label="impacts")
ax.fill_between(one["forecast"].ts, 0, one["forecast"].daylight * (1 - one["forecast"].cloud) * 5,
                color="gold", alpha=0.3, label="sunshine (scaled)")
ax.axhline(LIMIT, color="grey", ls=":", lw=1)
ax.set(title=f"The sunniest crossing (vehicle {sunny.idxmax()}), three kinds of instrument",
       ylabel="calibration error")
ax.legend(ncols=5, loc="upper left")
plt.show()

# %% [markdown]
# The same impacts drive all three. Without healing the error only climbs; with healing it decays
# between impacts; with solar healing it decays fast by day and hardly at night.
#
# ## 2 · Features with Spark window functions
# Every feature is computed per vehicle, in time order, from **the past only**: a window
# partitioned by vehicle and ordered by time. Three kinds of window:
# - a **running** window (`rowsBetween(unboundedPreceding, currentRow)`): everything so far;
# - a **time range** (`rangeBetween` on the timestamp in seconds): the last 1, 6 or 24 hours,
#   whatever the number of rows in them;
# - `F.last(..., ignorenulls=True)` over the running window: the time of the last event.

# %%
seconds_since_epoch = F.col("ts").cast("long")
by_vehicle = Window.partitionBy("vehicle_id").orderBy("ts")
so_far = by_vehicle.rowsBetween(Window.unboundedPreceding, Window.currentRow)


def past_hours(hours):
    """The readings of the last `hours` hours, this one included."""
    return (Window.partitionBy("vehicle_id").orderBy(seconds_since_epoch)
            .rangeBetween(-hours * 3600 + 1, 0))


def with_features(frame):
    last_impact = F.last(F.when(F.col("impact") > 0, F.col("ts")), ignorenulls=True).over(so_far)
    sunshine = F.col("daylight") * (1 - F.col("cloud"))
    return (frame
            # order only
            .withColumn("impacts_so_far", F.sum("impact").over(so_far))
            .withColumn("impact_count", F.sum((F.col("impact") > 0).cast("int")).over(so_far))
            # elapsed time
            .withColumn("hours_since_impact",
                        (seconds_since_epoch - last_impact.cast("long")) / 3600)
            .withColumn("impact_1h", F.sum("impact").over(past_hours(1)))
            .withColumn("impact_6h", F.sum("impact").over(past_hours(6)))
            .withColumn("impact_24h", F.sum("impact").over(past_hours(24)))
            # calendar and weather
            .withColumn("hour", F.hour("ts"))
            .withColumn("sunshine_6h", F.avg(sunshine).over(past_hours(6)))
            .withColumn("sunshine_24h", F.avg(sunshine).over(past_hours(24))))


features = {kind: with_features(frame) for kind, frame in readings.items()}
(features["history"].where(F.col("vehicle_id") == int(sunny.idxmax())).orderBy("ts")
 .select("ts", "impact", "impacts_so_far", "hours_since_impact", "impact_6h", "error").show(6))

# %% [markdown]
# `hours_since_impact` is null before the first impact: the trees used below take nulls as a
# value of their own, which is the honest answer ("no impact yet").
#
# ## 3 · Which features each problem needs
# Three feature sets, each adding to the one before: **order only**, **+ elapsed time**, **+
# calendar and weather**. The target is the error now; the model never sees it, only the features.
# So that one validation is honest for all three kinds, the test set is the strictest one: the
# vehicles that depart from October on (out of sample *and* out of time).

# %%
FEATURE_SETS = {
    "order only": ["impacts_so_far", "impact_count"],
    "+ elapsed time": ["impacts_so_far", "impact_count", "hours_since_impact", "impact_1h",
                       "impact_6h", "impact_24h"],
    "+ calendar, weather": ["impacts_so_far", "impact_count", "hours_since_impact", "impact_1h",
                            "impact_6h", "impact_24h", "hour", "daylight", "cloud", "sunshine_6h",
                            "sunshine_24h"],
}
tables = {kind: frame.orderBy("vehicle_id", "ts").toPandas() for kind, frame in features.items()}
departs_early = {kind: table.groupby("vehicle_id").ts.transform("min") < "2025-10-01"
                 for kind, table in tables.items()}
needs = pd.DataFrame(
    {name: [fit_score(tables[kind], columns, "error", departs_early[kind], run.seed) for kind in KINDS]
     for name, columns in FEATURE_SETS.items()}, index=pd.Index(KINDS, name="kind"))
print("R² on the vehicles departing from October on")
print(needs.round(2))

# %% [markdown]
# The pattern is the point: a **sequence** problem is solved by order-only features; the
# **history** problem needs elapsed time; the **forecasting** problem needs the calendar and the
# weather as well. Extra features do not hurt the simpler problems, but a model given only
# the features of a simpler type cannot solve a harder one. The history row stays low: every
# instrument heals at its own rate, which no feature says. Section 4 learns it from each
# vehicle's own history.
#
# ### Exercise 1 · Hours since the last alarm
# Recalibration crews want, for every reading, the **hours since the error last exceeded
# `LIMIT`** on that vehicle (0 at a reading above the limit, null before the first one). Build
# it on the history readings with a window, as a DataFrame with `vehicle_id`, `ts` and
# `hours_since_alarm`.

# %%
# BEGIN SOLUTION
last_alarm = F.last(F.when(F.col("error") > LIMIT, F.col("ts")), ignorenulls=True).over(so_far)
alarms = readings["history"].select(
    "vehicle_id", "ts", ((seconds_since_epoch - last_alarm.cast("long")) / 3600).alias("hours_since_alarm"))
# STUDENT: alarms = None  # readings["history"] with vehicle_id, ts and hours_since_alarm
# END SOLUTION

# %%
check_hours_since_alarm(alarms, fleet["history"], LIMIT)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 4 · History match: one model per vehicle with `applyInPandas`
# A history-match model learns each series' own dynamics from its past. Between two readings the
# error keeps a share `exp(-10 min / τ)` of itself and gains the new impact, so one least-squares
# slope per vehicle gives its healing time τ. `healing_time` fits one vehicle from a pandas
# frame; Spark runs it on every vehicle in parallel, each group on one task.
#
# The honest check is **out of time**: fit on the first day only, then replay the second day from
# the impacts alone and compare with what the instrument measured.

# %%
departure = F.min("ts").over(Window.partitionBy("vehicle_id"))
day_one = (readings["history"].withColumn("departure", departure)
           .where(F.col("ts") < F.col("departure") + F.expr("INTERVAL 1 DAY")))
fitted = (day_one.groupBy("vehicle_id").applyInPandas(healing_time, schema=HEALING_SCHEMA)
          .orderBy("vehicle_id").toPandas())
fitted["true_tau_hours"] = healing_hours(vehicles, run.seed)[fitted.vehicle_id]
relative_error = (fitted.tau_hours / fitted.true_tau_hours - 1).abs()
print(fitted.head(4).round(2).to_string(index=False))
print(f"healing time recovered within {relative_error.median():.1%} (median), "
      f"{relative_error.max():.1%} (worst of {len(fitted)} vehicles)")

# %%
history = tables["history"].merge(fitted[["vehicle_id", "tau_hours"]], on="vehicle_id")
first_day = history.ts < history.groupby("vehicle_id").ts.transform("min") + pd.Timedelta(days=1)
history["day"] = np.where(first_day, 1, 2)


def replay_day_two(rows):
    day_one, day_two = rows[rows.day == 1], rows[rows.day == 2]
    return pd.Series(replay_error(day_two, day_two.tau_hours.iloc[0], day_one.error.iloc[-1]),
                     index=day_two.index)


day_two = history[history.day == 2].copy()
day_two["replayed"] = history.groupby("vehicle_id")[history.columns].apply(replay_day_two).droplevel(0)
trees_day_two = fit_score(history, FEATURE_SETS["+ elapsed time"], "error", history.day == 1, run.seed)
history_scores = pd.Series({"trees on elapsed-time features": trees_day_two,
                            "history match (τ per vehicle)": r2(day_two.error, day_two.replayed)})
print("R² on day two, fitted on day one\n" + history_scores.round(3).to_string())

# %% [markdown]
# The per-vehicle physics wins: it has learned what the pooled trees cannot know, how fast *this*
# instrument heals. The pooled trees do worse than the mean on day two: their running sums climb
# to values never seen on day one, and trees cannot extrapolate. Out-of-time validation shows
# that; a random split of the rows would have hidden it. With many series (sensors, machines, patients), one small model per series
# with `applyInPandas` is often the right shape: Workshop 04 measures when it pays.
#
# ## 5 · Forecasting: the target is in the future
# The forecast is the error **`horizon_hours` ahead**, `F.lead` over the vehicle's window. Its
# features are what is known now: the error now, the recent impacts, the hour, and the weather
# forecast for the next hours (here the cloud cover that did come, a stand-in for a forecast: an
# optimistic one). `day_of_year` is the kind of calendar feature one adds without thinking.

# %%
ahead = horizon_hours * 60 // STEP_MINUTES
next_hours = (Window.partitionBy("vehicle_id").orderBy(seconds_since_epoch)
              .rangeBetween(1, horizon_hours * 3600))
forecasting = (features["forecast"]
               .withColumn("error_ahead", F.lead("error", ahead).over(by_vehicle))
               .withColumn("sunshine_ahead", F.avg(F.col("daylight") * (1 - F.col("cloud"))).over(next_hours))
               .withColumn("day_of_year", F.dayofyear("ts"))
               .where(F.col("error_ahead").isNotNull())
               .orderBy("vehicle_id", "ts").toPandas())
HONEST = ["error", "impact_1h", "impact_6h", "hours_since_impact", "hour", "daylight", "cloud",
          "sunshine_ahead"]
WITH_DAY = [*HONEST, "day_of_year"]
print(f"{len(forecasting):,} rows with a known error {horizon_hours} h later; features: {', '.join(HONEST)}")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 6 · Leakage: a random split flatters a forecast
# The same model, trained two ways and scored on **the same rows**: a random fifth of the
# readings of the vehicles departing from October on. The **random split** trains on the other
# four fifths of all readings, October to December included; the **out-of-time** split trains only
# on the vehicles that departed before October. Same test rows, same months: any difference comes
# from what the training set holds. With a random split, the reading 10 minutes before a test
# row, with almost the same future, is in the training set, and the model can look up the
# answer. `day_of_year` makes that look-up easy, since it names the crossing.

# %%
late = forecasting.groupby("vehicle_id").ts.transform("min") >= "2025-10-01"
held_out = ~random_rows(forecasting, 0.8, run.seed)
test = late & held_out  # the same test rows for both splits
splits = {"random 80/20 split": ~held_out, "out of time (Oct-Dec)": ~late}
FEATURES = {"with day_of_year": WITH_DAY, "honest features": HONEST}
leakage = pd.DataFrame({split: {name: fit_score(forecasting, columns, "error_ahead", train, run.seed,
                                                test=test)
                                for name, columns in FEATURES.items()}
                        for split, train in splits.items()})
persistence = r2(forecasting.error_ahead[test], forecasting.error[test])
print(leakage.round(2))
print(f"{test.sum():,} test rows; persistence (the error now, as the forecast): {persistence:.2f}")

# %%
ax = leakage.T.plot.bar(figsize=(7, 3.4), rot=0, color=["tab:red", "tab:blue"])
ax.axhline(persistence, color="grey", ls="--", lw=1, label="persistence, out of time")
ax.set(ylabel="R²", title=f"Forecasting the error {horizon_hours} h ahead: what each split promises")
ax.legend(loc="upper right")
plt.show()

# %% [markdown]
# One leaked pair, concretely: a test row and the row 10 minutes before it on the same vehicle,
# which the random split trained on. Their targets, the error `horizon_hours` ahead, differ in
# the second decimal:

# %%
ordered = forecasting.assign(trained_on=~held_out, tested=test).sort_values(["vehicle_id", "ts"])
same_vehicle = ordered.vehicle_id.eq(ordered.vehicle_id.shift())
leaked = ordered.tested & ordered.trained_on.shift(fill_value=False) & same_vehicle
after = ordered.index.get_loc(leaked[leaked].index[0])
print(ordered.iloc[after - 1:after + 1][["vehicle_id", "ts", "day_of_year", "error", "error_ahead",
                                        "trained_on", "tested"]].to_string(index=False))

# %% [markdown]
# On the same test rows, the random split's model scores far higher than the out-of-time one;
# only the training rows differ. Part of that gap is leakage: neighbours such as the pair above.
# Part is the season: the random split also trained on October to December, which a forecast
# made at the end of September cannot have seen. A random split credits the model with both.
# Dropping `day_of_year` helps out
# of time (it cannot be learned from one year: the test months were never seen) but the random
# split flatters even the honest features. Report the **out-of-time** figure, next to a naive
# baseline such as persistence.
#
# ## 7 · Rolling-origin evaluation
# One out-of-time split is one number. A **rolling origin** repeats it: train on everything known
# before each origin (a row counts once its target, `horizon_hours` later, is known), test on the
# month after, move the origin one month on. The spread over origins shows how stable the model
# is, and how it does in seasons it has seen little of.

# %%
origins = pd.date_range("2025-06-01", "2025-12-01", freq="MS")
rolling = rolling_origin_scores(forecasting, HONEST, "error_ahead", origins,
                                pd.Timedelta(hours=horizon_hours), run.seed, baseline="error")
print(rolling.round(2))
beats = (rolling["model R²"] > rolling["persistence R²"]).sum()
print(f"the model beats persistence at {beats} of {len(rolling)} origins")

# %%
ax = rolling[["model R²", "persistence R²"]].plot(marker="o", figsize=(7, 3.2))
ax.set(xlabel="origin (first day of the test month)", ylabel="R²", title="Rolling-origin evaluation")
plt.show()

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 8 · A real series: Mauna Loa CO₂
# The weekly CO₂ readings at Mauna Loa, 1958 to 2001, ship with statsmodels (Keeling and
# colleagues, Scripps Institution of Oceanography). A trend plus a yearly cycle: a forecasting
# problem, where the date matters. Each rolling-origin fold (forecast a calendar year from
# everything before it) is independent, so Spark fits the folds in parallel: the folds are the
# groups of `applyInPandas`, each with its own copy of the history. Two methods per fold: the
# **seasonal naive** forecast (each month as a year earlier) and **Holt-Winters** (additive trend
# and season, statsmodels).

# %%
weekly = co2_weekly()
first, last = weekly.index.min(), weekly.index.max()
print(f"{weekly.count():,} weekly observations, {first:%Y-%m-%d} to {last:%Y-%m-%d}, "
      f"{weekly.isna().sum()} weeks without one")
monthly = spark.createDataFrame(co2_monthly(weekly))
years = spark.range(1991, 2002).select(F.col("id").cast("int").alias("origin"))
folds = (monthly.crossJoin(years).where(F.year("month") <= F.col("origin"))
         .groupBy("origin").applyInPandas(co2_fold, schema=CO2_FOLD_SCHEMA))
co2_errors = folds.groupBy("origin").pivot("method").agg(F.first("mae")).orderBy("origin").toPandas()
co2_errors = co2_errors.set_index("origin")[["seasonal naive", "Holt-Winters"]]
print("mean absolute error of the 12 monthly forecasts (ppm)")
print(co2_errors.round(2).T.to_string())
print(f"mean over {len(co2_errors)} origins: " + ", ".join(
    f"{method} {value:.2f} ppm" for method, value in co2_errors.mean().items()))

# %%
fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.4))
co2 = co2_monthly(weekly).set_index("month").co2
left.plot(co2.index, co2, lw=1)
left.set(title="Mauna Loa CO₂, monthly", ylabel="ppm")
co2_errors.plot(ax=right, marker="o")
right.set(title="Forecast error per origin year", ylabel="MAE (ppm)", xlabel="forecast year")
plt.show()

# %% [markdown]
# The published record is the 2,225 weekly observations the statsmodels documentation lists. The
# seasonal naive forecast misses by the trend (about 1.5 ppm a year); Holt-Winters learns the
# trend and is about three times closer. Same evaluation, one fold per task: a rolling origin over
# many series and origins is a natural `applyInPandas` job.
#
# ## 9 · When is a CNN or an RNN worth it?
# Gradient-boosted trees on window features are the baseline to beat, and they win on most
# tabular series. A sequence model (1-D CNN, LSTM/GRU, transformer) is worth its cost when:
# - the raw signal is **long and dense** (vibration, audio, ECG at hundreds of readings a second)
#   and the useful features are hard to write by hand;
# - there are **many related series** to learn one shared model from (thousands of sensors);
# - there is **enough data**, and the time to tune them.
# Its validation is the same as here: the problem's type decides the split, not the model. To
# train one on Spark, Workshop 03's `TorchDistributor` applies as it is.
#
# ### Exercise 2 · Which type, which validation?
# For each case in `CASES`, give the problem type (`"sequence"`, `"history match"` or
# `"forecasting"`) and its honest validation (`"out of sample"`, `"out of time"` or `"both"`).

# %%
for case, text in CASES.items():
    print(f"{case}: {text}")

# %%
# BEGIN SOLUTION
answers = {"card fraud": ("sequence", "out of sample"),
           "battery fade": ("history match", "out of time"),
           "solar output": ("forecasting", "both")}
# STUDENT: answers = {"card fraud": None, "battery fade": None, "solar output": None}
# END SOLUTION

# %%
check_problem_types(answers)

# %%
record(r2_sequence_order_only=needs.loc["sequence", "order only"],
       r2_forecast_all_features=needs.loc["forecast", "+ calendar, weather"],
       tau_median_relative_error=relative_error.median(),
       r2_history_match_day_two=history_scores["history match (τ per vehicle)"],
       r2_random_split=leakage.loc["with day_of_year", "random 80/20 split"],
       r2_out_of_time=leakage.loc["with day_of_year", "out of time (Oct-Dec)"],
       co2_mae_holt_winters=co2_errors["Holt-Winters"].mean())
spark.stop()

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Summary
# - Three questions type a time-series problem: do **order**, **elapsed time** and the **date**
#   matter? Sequence, history match and forecasting need richer features in that order, and a
#   model given the features of a simpler type cannot solve a harder one.
# - Spark windows build the features from the past only: **running** windows, **time ranges**
#   (`rangeBetween` on seconds), `F.last(..., ignorenulls=True)` for the last event, `F.lead` for a
#   target in the future.
# - Honest validation follows the type: **out of sample** for sequences, **out of time** for
#   history matches, **both** for forecasts. A **random split leaks** the future into a forecast's
#   training set, and an identifier-like feature (`day_of_year`) makes the leak worse.
# - **Rolling origins** turn one out-of-time score into a series of them; per-series models and
#   per-fold fits are independent, so `applyInPandas` runs them in parallel.
#
# Next: **10 · Causality pitfalls**.
