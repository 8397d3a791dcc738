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
# # 04 · Many models at once with pandas UDFs
# *Strategy 4 of 4 · about 60 minutes*
#
# **Topics:** one model per group, `groupBy().applyInPandas`, the old `GROUPED_MAP` pandas UDF, `cogroup` and `mapInPandas`, throughput against model cost, scoring per group, MLflow summaries, skew and Arrow batches
#
# **Spark Connect:** yes. Pass `spark_master="sc://host:port"` to run it on a Connect server.
#
# A retailer has a thousand stores, and every store answers to price and promotions in its own
# way. One model for all of them averages the differences away; one model **per store** keeps
# them. The same holds for a model per device, per customer or per product: thousands or
# millions of small models, each trained on its own rows, retrained by a scheduled job.
# **Spark's part is to hand each group's rows to a plain Python function, on many cores at once.**
#
# | Strategy | Spark does | The model trains on | Workshop |
# |---|---|---|---|
# | 1 · Feature engineering | joins, windows, aggregations | one machine (pandas, sklearn) | 01 |
# | 2 · Parallel tuning | many trials at once | one machine per trial | 02 |
# | 3 · Distributed training | one model on all the data | the cluster | 03 |
# | **4 · Many models** | **one model per group** | **one core per group** | **04** |
#
# By the end you will be able to:
# - write a **grouped function** and its **output schema**, and run it with
#   `groupBy(...).applyInPandas` (and recognise the older `GROUPED_MAP` pandas UDF);
# - check that per-group models **recover known truths** and that Spark gives **the same
#   results** as a pandas loop;
# - measure **throughput** (models per second) against the **cost of one model**, and find where
#   Spark starts to win and where the number of cores caps it;
# - **store and score** per-group models (`cogroup`), and log **one MLflow run** with a
#   per-group table;
# - avoid the pitfalls: schemas, skewed groups, Arrow batches, one failing group.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Parameters
# `n_groups` stores are generated (0 takes the scale's default: 1,000 *small*, 10,000 *medium*,
# 100,000 *large*). `model_cost` is the most CPU one model costs in the throughput sweep of
# section 4, in seconds: the sweep adds work to the tiny model up to this cost.

# %% tags=["parameters"]
scale: str = "small"  # data size: ci (tests), small (Binder), medium (laptop), large (cluster)
spark_master: str = "local[*]"  # where Spark runs: local[*], local[N] or spark://host:port
seed: int = 42  # random seed for the data and the models
work_dir: str = "work"  # the driver's folder for this notebook's files (Spark's log, local MLflow)
data_root: str = ""  # folder or URI that driver and executors see, for data Spark reads; empty: work_dir
repeats: int = 0  # timed runs of each way in a comparison; 0 takes the scale's (3 at small)
tracking_uri: str = ""  # MLflow; empty: a local store, or on a cluster a server on the driver
n_groups: int = 0  # stores, one model each; 0 takes the scale's default
model_cost: float = 0.03  # seconds of CPU per model at the top of the throughput sweep

# %%
import time
import warnings
from collections.abc import Iterator

import matplotlib.pyplot as plt
import mlflow
import numpy as np
import pandas as pd
from pyspark.sql import functions as F

from sparkcourse import check_int, check_number, interleaved_seconds, record, setup_notebook
from sparkcourse.data.sales import (
    FEATURES,
    TARGET,
    future_weeks,
    store_sales,
)
from sparkcourse.exercises.many_models import check_plan, check_promo_uplift
from sparkcourse.many_models import (
    COEFFICIENTS_SCHEMA,
    FORECAST_SCHEMA,
    TREE_SCHEMA,
    boosted_trees,
    cost_lines,
    crossover_cost,
    forecast_with_trees,
    ols_coefficients,
    pandas_loop,
    with_cost,
)
from sparkcourse.measure import spend_cpu
from sparkcourse.spark import task_slots
from sparkcourse.storage import write_parquet
from sparkcourse.tracking import start_tracking

run = setup_notebook("04_many_models", scale=scale, spark_master=spark_master, seed=seed,
                     work_dir=work_dir, data_root=data_root, repeats=repeats)
n_groups = check_int("n_groups", n_groups, minimum=0) or run.scale.stores
model_cost = check_number("model_cost", model_cost, minimum=0.001)
tracking = start_tracking(run, "04_many_models", tracking_uri)
spark = run.spark()
cores = task_slots(spark)  # tasks Spark runs at once: its cores
print(f"{n_groups:,} stores; Spark has {cores} cores")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 1 · The data: weekly sales of many stores
# A seeded generator makes the weekly sales of every store from its price and whether a
# promotion ran:
#
#     sales = intercept + price_effect × price + promo_effect × promo + noise
#
# Every store has its own coefficients, kept in the `truth` table, so the models can be checked
# against them. Stores opened at different times (20 to 104 weeks of history), and three
# *flagship* stores have ten times more: skewed groups, as in real data.

# %%
stores = store_sales(n_groups, run.seed, flagships=3)
sales, truth = stores.sales, stores.truth
sales_sdf = spark.read.parquet(write_parquet(sales, run.path("sales.parquet")))
print(f"{len(sales):,} weekly rows for {n_groups:,} stores")
sales_sdf.orderBy("store_id", "week").show(4)
print(truth.head(4).to_string(index=False))

# %% [markdown]
# One pooled model for all stores finds one price effect, the average. The stores' true
# effects spread widely around it:

# %%
pooled = ols_coefficients(sales.assign(store_id=-1))
fig, ax = plt.subplots(figsize=(7, 3))
ax.hist(truth.price_effect, bins=40, color="tab:blue", alpha=0.7, label="true effect of each store")
ax.axvline(pooled.price_effect[0], color="black", lw=2, label="one pooled model")
ax.set(xlabel="sales per unit of price", ylabel="stores", title="One effect per store, or one for all?")
ax.legend()
plt.show()

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 2 · A function per group: from `GROUPED_MAP` to `applyInPandas`
# The pattern first appeared in Spark 2.3 as a *grouped-map pandas UDF*: a function decorated
# with its output schema and `PandasUDFType.GROUPED_MAP`, applied with `groupby().apply()`.
# The classic example fits an ordinary least squares model per group with statsmodels. It
# still runs on Spark 4, with warnings:

# %%
import statsmodels.api as sm
from pyspark.sql.functions import PandasUDFType, pandas_udf

with warnings.catch_warnings(record=True) as told:
    warnings.simplefilter("always")

    @pandas_udf("store_id long, intercept double, price_effect double, promo_effect double",
                PandasUDFType.GROUPED_MAP)
    def ols_per_store(rows):
        rows = rows.sort_values("week")  # a group's rows arrive in no fixed order
        fit = sm.OLS(rows[TARGET], sm.add_constant(rows[FEATURES])).fit()
        return pd.DataFrame({"store_id": [rows.store_id.iloc[0]], "intercept": [fit.params["const"]],
                             "price_effect": [fit.params["price"]], "promo_effect": [fit.params["promo"]]})

    classic = sales_sdf.groupby("store_id").apply(ols_per_store)
for warning in told:
    print(f"{warning.category.__name__}: {str(warning.message).split('. ')[0]}.")
classic.orderBy("store_id").show(3)


# %% [markdown]
# Since Spark 3.0 the function is plain Python, and the schema goes to **`applyInPandas`**:
#
# ```python
# sales_sdf.groupBy("store_id").applyInPandas(function, schema)
# ```
#
# - `function` receives one group's rows as a pandas DataFrame and returns a DataFrame (any
#   number of rows). A function with **two** parameters receives the group's key first.
# - `schema` (a DDL string or a `StructType`) declares the returned columns and types. Spark
#   needs it before it runs anything: the plan is built without calling your function.
# - Spark shuffles the rows so that each group sits in one partition, turns each group into
#   pandas through **Arrow**, and runs the function in Python workers, one per core.
#
# ### How many cores did that use?
# Spark decides how many tasks a grouped job gets from the **bytes** of data, not from the work
# your function does per group. The sales came from one Parquet file, so one partition; the
# grouping shuffle would spread them over `spark.sql.shuffle.partitions`, but adaptive query
# execution (AQE) merges small shuffle partitions. With
# `spark.sql.adaptive.coalescePartitions.parallelismFirst` (true by default) it aims at
# *shuffled bytes ÷ default parallelism* per partition, but never less than 1 MB
# (`coalescePartitions.minPartitionSize`) nor more than 64 MB (`advisoryPartitionSizeInBytes`,
# the only target when that setting is false). The sales shuffle, compressed, to no more than that
# minimum, so they become **one task, on one core**. Count the tasks that returned results:

# %%
def tasks_used(frame) -> int:
    """How many tasks (partitions) the per-store OLS job ran in."""
    fitted = frame.groupBy("store_id").applyInPandas(ols_coefficients, COEFFICIENTS_SCHEMA)
    return fitted.select(F.spark_partition_id()).distinct().count()


by_store = sales_sdf.repartition(4 * cores, "store_id").cache()
print(f"As read: {tasks_used(sales_sdf)} task; repartitioned by store: {tasks_used(by_store)} tasks")


# %% [markdown]
# `repartition(n, "store_id")` fixes the number of tasks, and `groupBy("store_id")` reuses that
# partitioning without a second shuffle. A few partitions per core let large and small groups
# even out across the cores. From here on, every job starts from `by_store`.
#
# The course's `ols_coefficients` solves the same least squares with NumPy. Its core, for one
# store's rows:

# %%
def least_squares(rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients (intercept, price, promo) and their standard errors."""
    design = np.column_stack([np.ones(len(rows)), rows[FEATURES].to_numpy(dtype=float)])
    target = rows[TARGET].to_numpy(dtype=float)
    coef, *_ = np.linalg.lstsq(design, target, rcond=None)
    residual = target - design @ coef
    dof = len(rows) - design.shape[1]  # rows minus coefficients
    covariance = residual @ residual / dof * np.linalg.inv(design.T @ design)
    return coef, np.sqrt(np.diag(covariance))


coef, se = least_squares(sales[sales.store_id == 0])
print(f"store 0: intercept {coef[0]:.2f}, price {coef[1]:.2f} (SE {se[1]:.2f}), "
      f"promo {coef[2]:.2f} (SE {se[2]:.2f})")

# %% [markdown]
# `ols_coefficients` wraps it for `applyInPandas`: one row per store with the coefficients, their
# standard errors, the fit's R², and an `error` column for a store it cannot fit (section 7 says
# why). Store 0 comes out the same:

# %%
coefficients_sdf = by_store.groupBy("store_id").applyInPandas(ols_coefficients, COEFFICIENTS_SCHEMA)
coefficients_sdf.printSchema()
coefficients = coefficients_sdf.toPandas().sort_values("store_id", ignore_index=True)
print(coefficients.head(3).round(2).to_string(index=False))

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 3 · Do the models recover the truth, and does Spark equal pandas?
# Three checks, all measured: the statsmodels and NumPy fits agree; Spark gives the same numbers
# as a plain pandas loop over the groups; and the fitted effects land near the true ones, within
# their standard errors about as often as statistics says they should (99.7% within ±3 SE).

# %%
loop_coefficients = pandas_loop(sales, ols_coefficients)
classic_coefficients = classic.toPandas().sort_values("store_id", ignore_index=True)
effects = ["intercept", "price_effect", "promo_effect"]
same_as_loop = np.allclose(coefficients[effects], loop_coefficients[effects], rtol=1e-9)
same_as_classic = np.allclose(coefficients[effects], classic_coefficients[effects], rtol=1e-6)
within = {name: (abs(coefficients[name] - truth[name]) <= 3 * coefficients[se]).mean()
          for name, se in (("price_effect", "price_se"), ("promo_effect", "promo_se"))}
print(f"Spark equals the pandas loop: {same_as_loop}; equals the classic statsmodels UDF: {same_as_classic}")
for name, share in within.items():
    print(f"{name}: true value within 3 standard errors for {share:.1%} of stores")
record(price_within_3se=within["price_effect"], promo_within_3se=within["promo_effect"])
assert same_as_loop and same_as_classic and min(within.values()) > 0.98

# %%
fig, axes = plt.subplots(1, 2, figsize=(8, 3.3))
for ax, name in zip(axes, ["price_effect", "promo_effect"], strict=True):
    ax.scatter(truth[name], coefficients[name], s=6, alpha=0.5)
    low, high = truth[name].min(), truth[name].max()
    ax.plot([low, high], [low, high], color="black", lw=1)
    ax.set(xlabel=f"true {name}", ylabel=f"fitted {name}")
fig.suptitle("One model per store recovers each store's own effects")
plt.tight_layout()
plt.show()


# %% [markdown]
# ### Exercise 1 · Your own grouped function and schema
# The marketing team wants each store's **promotion uplift**: the mean sales of promotion weeks
# minus the mean sales of the other weeks. Write `promo_uplift(rows)`, which returns one row with
# `store_id`, `uplift` and `weeks` (the store's number of rows), write its schema `UPLIFT_SCHEMA`
# as a DDL string, and run it on every store with `applyInPandas` into `uplifts`.

# %%
# BEGIN SOLUTION
# STUDENT: promo_uplift = None  # a function of one store's rows
# STUDENT: UPLIFT_SCHEMA = None  # "store_id long, ..."
# STUDENT: uplifts = None  # by_store.groupBy(...).applyInPandas(...)
def promo_uplift(rows: pd.DataFrame) -> pd.DataFrame:
    promo = rows.promo == 1
    uplift = rows[TARGET][promo].mean() - rows[TARGET][~promo].mean()
    return pd.DataFrame({"store_id": [rows.store_id.iloc[0]], "uplift": [uplift], "weeks": [len(rows)]})


UPLIFT_SCHEMA = "store_id long, uplift double, weeks long"
uplifts = by_store.groupBy("store_id").applyInPandas(promo_uplift, UPLIFT_SCHEMA)
# END SOLUTION

# %%
check_promo_uplift(uplifts, UPLIFT_SCHEMA, sales)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 4 · Throughput: when does Spark win?
# The work is embarrassingly parallel, so with `cores` cores Spark could at best run `cores`
# times as many models per second as a loop. It also pays for every group: a shuffle, an Arrow
# conversion in and out, Python workers. Whether it wins depends on **how much work one model
# is**, so time both ways over a range of model costs, in this run (each time is the median of
# three runs in which the loop and Spark take turns; both warm up once, before the first):
#
# - the tiny OLS model, on all stores;
# - the same model with extra CPU work per store (up to `model_cost` seconds), standing in for
#   heavier models, on a subset of stores;
# - a real heavier model: 50 gradient-boosted trees per store (scikit-learn).

# %% tags=["nbval-ignore-output"]
sweep_stores = min(n_groups, run.scale.sweep_stores)
subset = sales[sales.store_id < sweep_stores]
subset_sdf = by_store.filter(F.col("store_id") < sweep_stores).cache()
subset_sdf.count()


def seconds_per_model(fit, schema: str, local: pd.DataFrame, distributed, warm_up=None) -> dict:
    """Seconds per model of the pandas loop and of Spark, for the same function: the median
    of `run.scale.repeats` runs each (3 at `small`), taking turns."""
    models = local.store_id.nunique()
    median = interleaved_seconds({
        "pandas loop": lambda: pandas_loop(local, fit),
        "Spark": lambda: distributed.groupBy("store_id").applyInPandas(fit, schema).collect(),
    }, repeat=run.scale.repeats, warm_up=warm_up)
    return {"models": models} | {way: took / models for way, took in median.items()}


timings = {"OLS, all stores": seconds_per_model(ols_coefficients, COEFFICIENTS_SCHEMA, sales, by_store)}
for cost in (0, model_cost / 10, model_cost / 3, model_cost):
    costly = with_cost(ols_coefficients, cost)
    timings[f"OLS + {cost * 1000:.0f} ms"] = seconds_per_model(costly, COEFFICIENTS_SCHEMA, subset,
                                                               subset_sdf, warm_up=False)
timings["50 boosted trees"] = seconds_per_model(boosted_trees, TREE_SCHEMA, subset, subset_sdf,
                                               warm_up=False)
throughput = pd.DataFrame(timings).T
throughput["work_ms"] = throughput["pandas loop"] * 1000  # one model's work on one core
throughput["pandas models/s"] = 1 / throughput["pandas loop"]
throughput["Spark models/s"] = 1 / throughput["Spark"]
throughput["speedup"] = throughput["pandas loop"] / throughput["Spark"]
per_model = throughput.set_index(throughput.work_ms / 1000)[["pandas loop", "Spark"]]
lines = cost_lines(per_model)  # seconds per model against one model's work, as straight lines
crossover = crossover_cost(lines, "pandas loop", "Spark")
shown = ["models", "work_ms", "pandas models/s", "Spark models/s", "speedup"]
print(throughput[shown].round(2).to_string())
print(f"Spark: {lines.overhead_s['Spark'] * 1000:.1f} ms per model on top of "
      f"{lines.slope['Spark']:.2f} x its work; pandas: {lines.slope['pandas loop']:.2f} x")
print(f"Crossover: Spark runs more models per second once a model costs more than "
      f"{crossover * 1000:.0f} ms of work" if crossover is not None else "No crossover in this run")
record(ols_speedup=throughput.speedup.iloc[0], trees_speedup=throughput.speedup.iloc[-1],
       crossover_ms=None if crossover is None else crossover * 1000,
       ols_models_per_s_pandas=throughput["pandas models/s"].iloc[0],
       ols_models_per_s_spark=throughput["Spark models/s"].iloc[0])

# %% tags=["nbval-ignore-output"]
# Varies from run to run: a plot of the timings above
work = np.geomspace(throughput.work_ms.min() / 1.5, throughput.work_ms.max() * 1.5, 50)
fig, ax = plt.subplots(figsize=(7.5, 4))
ax.plot(work, 1000 / work, color="tab:blue", label="pandas loop: 1 / work")
ax.plot(work, cores * 1000 / work, color="grey", ls="--", label=f"limit with {cores} cores: {cores} / work")
spark_line = 1 / (lines.overhead_s["Spark"] + lines.slope["Spark"] * work / 1000)
ax.plot(work, spark_line, color="tab:orange", lw=1, label="Spark, fitted")
ax.scatter(throughput.work_ms, throughput["pandas models/s"], color="tab:blue", zorder=3)
ax.scatter(throughput.work_ms, throughput["Spark models/s"], color="tab:orange", zorder=3,
           label="Spark, measured")
ax.annotate("50 trees", (throughput.work_ms.iloc[-1], throughput["Spark models/s"].iloc[-1]),
            textcoords="offset points", xytext=(6, 6))
if crossover is not None:
    ax.axvline(crossover * 1000, color="black", lw=0.8)
    ax.text(crossover * 1000, 0.05, f" crossover: {crossover * 1000:.0f} ms",
            transform=ax.get_xaxis_transform())
ax.set(xscale="log", yscale="log", xlabel="work per model on one core (ms)",
       ylabel="models per second", title="Throughput against the cost of one model (this run)")
ax.legend(fontsize=8)
plt.tight_layout()
plt.show()

# %% [markdown]
# How to read it:
# - For **tiny models** the loop wins: a NumPy least squares takes about a millisecond, less
#   than Spark's cost per group (shuffle, Arrow in and out, a pandas frame per group, result
#   rows back). No number of cores fixes that; a vectorised solution over all groups at once
#   would.
# - As a model's work grows, Spark's fixed cost per group matters less, and its throughput bends
#   towards the **dashed limit**, `cores` times the loop's. It never crosses it: with 2 cores,
#   2× is the ceiling. On a laptop the Spark JVM also competes with the Python workers for the
#   same cores, so the fitted slope stays above the ideal 1 / `cores`.
# - On a cluster the limit is the total number of cores: 100 cores turn a night of per-store
#   training into minutes, *if* each model is heavy enough to pay for its group's overhead.
#
# ### Exercise 2 · Plan a nightly job
# A chain has **50,000 stores** and a forecasting model that takes **0.2 s** of work per store
# on one core. Using the fitted lines measured above (`lines`: seconds per model =
# `overhead_s + slope × work`), how many **minutes** would the nightly job take as a pandas
# loop and on Spark on this machine? Give `plan = {"pandas loop": ..., "Spark": ...}`.

# %%
# BEGIN SOLUTION
# STUDENT: plan = None  # {"pandas loop": minutes, "Spark": minutes}
plan = {way: (lines.overhead_s[way] + lines.slope[way] * 0.2) * 50_000 / 60 for way in lines.index}
# END SOLUTION

# %%
check_plan(plan, lines, stores=50_000, model_seconds=0.2)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 5 · Store the models, then score per group
# A nightly job trains; another scores. Between them the models are **stored**: the OLS models
# are just their coefficients, a table; the tree models are pickled into a binary column. Both
# go to Parquet, keyed by store.

# %%
trees_sdf = subset_sdf.groupBy("store_id").applyInPandas(boosted_trees, TREE_SCHEMA)
coefficients_sdf.write.mode("overwrite").parquet(run.path("models", "ols"))
trees_sdf.write.mode("overwrite").parquet(run.path("models", "trees"))
ols_models = spark.read.parquet(run.path("models", "ols"))
tree_models = spark.read.parquet(run.path("models", "trees"))
size = tree_models.select(F.avg(F.length("model"))).first()[0]
print(f"{ols_models.count():,} OLS models (a row of coefficients each); "
      f"{tree_models.count():,} tree models ({size / 1024:.0f} KiB pickled each)")

# %% [markdown]
# Next come 8 weeks of planned prices and promotions; the generator also knows the sales to
# expect. **Linear models score without Python**: a join with the coefficients and an expression.
# **Pickled models need their own Python**: `cogroup` brings each store's future rows and its
# model row together, and `applyInPandas` runs the function on each pair.

# %%
future = future_weeks(truth, weeks=8, seed=run.seed)
future_sdf = spark.createDataFrame(future)
ols_forecast = (future_sdf.join(ols_models, "store_id")
                .withColumn("forecast", F.col("intercept") + F.col("price_effect") * F.col("price")
                            + F.col("promo_effect") * F.col("promo")))
tree_forecast = (future_sdf.filter(F.col("store_id") < sweep_stores).groupBy("store_id")
                 .cogroup(tree_models.groupBy("store_id"))
                 .applyInPandas(forecast_with_trees, FORECAST_SCHEMA))


def rmse(forecast) -> float:
    """Root mean squared error against the sales to expect."""
    scored = forecast.select("store_id", "week", "forecast").join(future_sdf, ["store_id", "week"])
    return scored.select(F.sqrt(F.avg((F.col("forecast") - F.col("expected_sales")) ** 2))).first()[0]


forecast_rmse = {"OLS per store": rmse(ols_forecast.filter(F.col("store_id") < sweep_stores)),
                 "50 boosted trees per store": rmse(tree_forecast)}
for name, error in forecast_rmse.items():
    print(f"{name}: RMSE {error:.1f} against the expected sales ({sweep_stores} stores, 8 weeks)")
tree_forecast.orderBy("store_id", "week").show(3)

# %% [markdown]
# The heavier model costs many times more work, and is **worse**: the sales really are linear in price, and
# 20 to 104 weeks are few rows for trees. Per-group models should be as simple as the groups'
# data allow; throughput is not the only reason.
#
# `mapInPandas` is the third member of the family: a function over **batches of rows**, without
# groups. It suits scoring with one model shared by all rows (a broadcast model), or any
# row-wise pandas code.
#
# ## 6 · One MLflow run, not a thousand
# Logging each store's model as its own run would make thousands of runs a night and a useless
# UI. Log **one run** per job: its parameters, summary metrics, and the per-store metrics as a
# **table artifact**, which can be read back and queried.

# %%
per_store = coefficients.merge(truth[["store_id", "price_effect"]], on="store_id", suffixes=("", "_true"))
per_store["price_error"] = per_store.price_effect - per_store.price_effect_true
mlflow.set_experiment(experiment_id=tracking.experiment_id)
with mlflow.start_run(run_name="ols-per-store") as logged:
    mlflow.log_params({"model": "OLS per store", "stores": n_groups, "features": ",".join(FEATURES)})
    mlflow.log_metrics({"failed_stores": int(per_store.error.notna().sum()),
                        "median_r2": float(per_store.r2.median()),
                        "median_abs_price_error": float(per_store.price_error.abs().median())})
    mlflow.log_table(per_store[["store_id", "rows", "r2", "price_effect", "price_error", "error"]],
                     artifact_file="per_store_metrics.json")
summary = mlflow.get_run(logged.info.run_id).data.metrics
print({name: round(value, 3) for name, value in sorted(summary.items())})
worst = mlflow.load_table("per_store_metrics.json", run_ids=[logged.info.run_id])
print(worst.sort_values(["r2", "store_id"]).head(3).round(3).to_string(index=False))


# %% [markdown] slideshow={"slide_type": "slide"}
# ## 7 · Pitfalls
# **Declare the schema the function returns.** Columns are matched by name; a missing column or
# a wrong type fails the job when the first group returns, on an executor, long after the plan
# was accepted:

# %%
def forgot_a_column(rows: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"store_id": [rows.store_id.iloc[0]]})


try:
    by_store.groupBy("store_id").applyInPandas(forgot_a_column, "store_id long, uplift double").collect()
except Exception as error:
    print(f"{type(error).__name__}: {str(error).strip().splitlines()[-1].split(': ', 1)[-1]}")

# %% [markdown]
# **One bad group must not fail a million.** A store with too little data makes the solver fail
# (or worse, return nonsense). Catching the error inside the function and returning it as a
# value keeps the job alive, and the failed groups can be counted, logged and retried.
# `ols_coefficients` does that; here a new store with only two weeks of sales joins the data:

# %%
new_store = pd.DataFrame({"store_id": [n_groups] * 2, "week": [0, 1], "price": [3.0, 4.0],
                          "promo": [0, 1], TARGET: [410.0, 455.0]})
with_new_store = by_store.unionByName(spark.createDataFrame(new_store, schema=by_store.schema))
fitted = with_new_store.groupBy("store_id").applyInPandas(ols_coefficients, COEFFICIENTS_SCHEMA)
fitted.filter(F.col("error").isNotNull()).select("store_id", "rows", "error").show(truncate=False)
print(f"Stores fitted: {fitted.filter(F.col('error').isNull()).count():,}")

# %% [markdown]
# **Skewed groups.** Spark holds **all rows of a group in one task's memory**, as one pandas
# DataFrame; the largest group sets both the memory each executor needs and the time of the
# slowest task. Look at the group sizes before a job runs at scale:

# %%
sizes = sales.groupby("store_id").size()
print(f"rows per store: median {sizes.median():.0f}, largest {sizes.max()} "
      f"(stores {', '.join(map(str, sizes.nlargest(3).index))})")

# %% [markdown]
# Sizes are a warning; time is the proof. Give each store a model whose work grows with its rows,
# as most models' work does (here `spend_cpu`, at `model_cost` per median store), time each fit
# **where it runs**, and add the times up per task (`spark_partition_id()`). A job ends when its
# slowest task ends:

# %% tags=["nbval-ignore-output"]
# Varies from run to run: task times
per_row = model_cost / sizes.median()


def timed_fit(rows: pd.DataFrame) -> pd.DataFrame:
    """One store's model, its work proportional to its rows, timed inside the task."""
    start = time.perf_counter()
    spend_cpu(per_row * len(rows))
    return pd.DataFrame({"store_id": [rows.store_id.iloc[0]], "rows": [len(rows)],
                         "seconds": [time.perf_counter() - start]})


skew_tasks = 8 * cores  # a few stores per task, as when a job has many cores
per_task = (subset_sdf.repartition(skew_tasks, "store_id").groupBy("store_id")
            .applyInPandas(timed_fit, "store_id long, rows long, seconds double")
            .groupBy(F.spark_partition_id().alias("task"))
            .agg(F.sum("rows").alias("rows"), F.sum("seconds").alias("seconds"),
                 F.max("rows").alias("largest_store"))
            .orderBy("task").toPandas())
slowest = per_task.loc[per_task.seconds.idxmax()]
skew_ratio = slowest.seconds / per_task.seconds.median()
print(f"{len(per_task)} tasks: median {per_task.seconds.median():.2f} s, longest {slowest.seconds:.2f} s "
      f"({skew_ratio:.1f}x the median), the task holding a store of {int(slowest.largest_store)} rows")
flagship = per_task.largest_store > 2 * sizes.median()
fig, ax = plt.subplots(figsize=(6, 3))
ax.scatter(per_task.rows[~flagship], per_task.seconds[~flagship], label="tasks of ordinary stores")
ax.scatter(per_task.rows[flagship], per_task.seconds[flagship], color="tab:red",
           label="tasks holding a flagship store")
ax.axhline(per_task.seconds.median(), color="grey", ls="--", lw=1, label="median task")
ax.set(xlabel="rows in the task", ylabel="seconds of work", ylim=(0, None),
       title="A task's time follows its rows; the largest groups set the job's end")
ax.legend(fontsize=8)
plt.show()
record(skew_longest_over_median=skew_ratio)

# %% [markdown]
# For groups too big for memory, split them (store × year), sample them, or, since Spark 4.1,
# write the function over an **iterator** of DataFrames (type hints tell Spark which form you
# mean): the group then arrives in Arrow batches of at most
# `spark.sql.execution.arrow.maxRecordsPerBatch` rows (10,000 by default) and never sits in
# memory whole.
#
# **Arrow batch size.** The same setting cuts the input of `mapInPandas` and scalar pandas UDFs
# into batches. Larger batches mean fewer calls but more memory per call. Here with 100 rows per
# batch:

# %%
spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", 100)


def batch_sizes(frames: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    sizes = [len(frame) for frame in frames]
    yield pd.DataFrame({"batches": [len(sizes)], "largest_batch": [max(sizes)], "rows": [sum(sizes)]})


largest = int(sizes.idxmax())  # a Python int: Spark Connect takes no NumPy scalars
streamed = (by_store.filter(F.col("store_id") == largest).groupBy("store_id")
            .applyInPandas(batch_sizes, "batches long, largest_batch long, rows long"))
print(f"Store {largest} (iterator form of applyInPandas): {streamed.first().asDict()}")
mapped = by_store.mapInPandas(batch_sizes, "batches long, largest_batch long, rows long")
print(f"mapInPandas over all rows: {mapped.agg(F.sum('batches'), F.max('largest_batch')).first()}")
spark.conf.unset("spark.sql.execution.arrow.maxRecordsPerBatch")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Summary
# - One model per group is **strategy 4**: `groupBy(key).applyInPandas(function, schema)` gives
#   each group's rows to a plain pandas function, on every core of the cluster. The older
#   `pandas_udf(..., GROUPED_MAP)` + `groupby().apply()` form still runs, with a warning.
# - Check per-group models against **known truths** and against a **pandas loop**: the same
#   function must give the same numbers in both.
# - **Throughput** depends on the work per model: Spark pays a fixed cost per group, so tiny
#   models run faster in a loop; heavier ones approach, but never pass, `cores` times the loop's
#   throughput. Measure the crossover on your own hardware.
# - **Store** models keyed by group (coefficients as columns, pickles as binary), and **score**
#   with a join, or with `cogroup` + `applyInPandas` for pickled models; `mapInPandas` for batch
#   scoring without groups.
# - Log **one MLflow run** per job with a per-group **table artifact**.
# - Spark sizes grouped jobs by **bytes**: `repartition(n, key)` so the work uses every core.
# - Declare the **schema** exactly, **return errors** per group, watch **skewed groups** (the task that holds the largest ends last), and size
#   **Arrow batches**.
#
# Next: **05 · The pandas API on Spark**, pandas code that runs on Spark.
