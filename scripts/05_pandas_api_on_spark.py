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
# # 05 · Koalas, now the pandas API on Spark
# *pandas code on a cluster · about 45 minutes*
#
# **Topics:** Koalas and `pyspark.pandas`, the same code on pandas and on Spark, `to_spark()` and `pandas_api()`, default index types, differences and unsupported operations, options, pandas against pandas-on-Spark measured
#
# **Spark Connect:** yes. Pass `spark_master="sc://host:port"` to run it on a Connect server.
#
# Workshop 01 rewrote pandas code in Spark's own API. The **pandas API on Spark** lets much
# pandas code run on Spark as it is: `import pyspark.pandas as ps`, and `ps.read_parquet`,
# `groupby`, `merge` and `plot` build Spark plans instead of computing in memory. It began as
# Databricks' **Koalas** library and became part of Spark in 3.2.
#
# By the end you will be able to:
# - migrate Koalas code to `pyspark.pandas` in one line, and say why Koalas no longer runs;
# - run the **same pandas code** on pandas and on Spark, and move between pandas-on-Spark,
#   Spark and pandas DataFrames;
# - choose a **default index** type, and explain why the index matters at scale;
# - recognise operations that **behave differently** or are **not supported**, and set the
#   options that matter;
# - **measure** when pandas-on-Spark is worth it, against pandas on one machine.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Parameters
# `n_stores` stores of weekly sales (0 takes the scale's default: 2,000 *small*, 20,000
# *medium*, 200,000 *large*, about 62 rows each); section 6 also measures ten times as many.

# %% tags=["parameters"]
scale: str = "small"  # data size: ci (tests), small (Binder), medium (laptop), large (cluster)
spark_master: str = "local[*]"  # where Spark runs: local[*], local[N] or spark://host:port
seed: int = 42  # random seed for the data
work_dir: str = "work"  # the driver's folder for this notebook's files (Spark's log, local MLflow)
data_root: str = ""  # folder or URI that driver and executors see, for data Spark reads; empty: work_dir
repeats: int = 0  # timed runs of each way in a comparison; 0 takes the scale's (3 at small)
n_stores: int = 0  # stores of weekly sales; 0 takes the scale's default

# %%
import matplotlib.pyplot as plt
import pandas as pd
from pyspark.sql import functions as F

from sparkcourse import compare, plot_comparison, record, setup_notebook, verdict
from sparkcourse.data.sales import store_directory, store_sales
from sparkcourse.exercises.pandas_api import check_promo_share, check_store_index
from sparkcourse.pandas_api import quiet_advice, with_advice
from sparkcourse.params import check_int

run = setup_notebook("05_pandas_api_on_spark", scale=scale, spark_master=spark_master, seed=seed,
                     work_dir=work_dir, data_root=data_root, repeats=repeats)
n_stores = check_int("n_stores", n_stores, minimum=0) or run.scale.pandas_stores
spark = run.spark()
import pyspark.pandas as ps  # noqa: E402 - after the session, so that it uses the course's one

ps.set_option("plotting.backend", "matplotlib")  # plotly by default: interactive, not in this kit
print(f"{n_stores:,} stores; Spark {spark.version}, pandas {pd.__version__}")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 1 · From Koalas to `pyspark.pandas`
# Koalas (2019-2021) was a separate package, `databricks.koalas`. Spark 3.2 merged it as
# `pyspark.pandas`. Koalas' own notes say it supports Spark 3.1 and below, and that from Spark
# 3.2 on you should use PySpark directly; its last release, 1.8.2 (October 2021), is in
# maintenance mode. The course does not install it, so in this environment old code fails at
# its first line:

# %%
try:
    import databricks.koalas  # noqa: F401
except ImportError as error:
    print(f"import databricks.koalas -> {type(error).__name__}: {error}")


# %% [markdown]
# The migration is mostly one line:
#
# | Koalas | pandas API on Spark |
# |---|---|
# | `import databricks.koalas as ks` | `import pyspark.pandas as ps` |
# | `ks.read_parquet(...)`, `ks.DataFrame(...)` | `ps.read_parquet(...)`, `ps.DataFrame(...)` |
# | `spark_df.to_koalas()` | `spark_df.pandas_api()` |
# | `kdf.to_spark()`, `kdf.to_pandas()` | the same |
# | `kdf.koalas.apply_batch(...)` | `psdf.pandas_on_spark.apply_batch(...)` |
# | `ks.set_option(...)` | `ps.set_option(...)` |
#
# ## 2 · The same code on pandas and on Spark
# The data: weekly sales of many stores (workshop 04's generator) and a small table of stores
# with their region and format. The analysis below is plain pandas. It takes the module as an
# argument, `pd` or `ps`, and runs unchanged on both.

# %%
def write_data(stores: int, folder) -> tuple[str, str]:
    """Sales and store directory of `stores` stores as Parquet; their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    store_sales(stores, run.seed).sales.to_parquet(folder / "sales.parquet", index=False)
    store_directory(stores, run.seed).to_parquet(folder / "stores.parquet", index=False)
    return str(folder / "sales.parquet"), str(folder / "stores.parquet")


def region_report(xp, sales_path: str, stores_path: str):
    """Mean weekly sales and promotion share per region and format, for the second year."""
    sales = xp.read_parquet(sales_path)
    stores = xp.read_parquet(stores_path)
    second_year = sales[sales.week >= 52][["store_id", "promo", "sales"]]
    with_region = second_year.merge(stores, on="store_id")
    report = with_region.groupby(["region", "format"]).agg(
        stores=("store_id", "nunique"), mean_sales=("sales", "mean"), promo_share=("promo", "mean"))
    return report.sort_index()


sales_path, stores_path = write_data(n_stores, run.local_path("data"))
on_pandas = region_report(pd, sales_path, stores_path)
on_spark, advice = with_advice(lambda: region_report(ps, sales_path, stores_path))
print(f"pandas: {type(on_pandas).__module__}.DataFrame; pandas API on Spark: "
      f"{type(on_spark).__module__}.DataFrame")
collected, more_advice = with_advice(on_spark.to_pandas)
pd.testing.assert_frame_equal(collected, on_pandas, check_dtype=False)
print("Same numbers from both engines.")
on_pandas.round(2).head(6)

# %% [markdown]
# `on_spark` holds no data: it is a Spark plan, computed when it is shown, converted or
# written. pandas-on-Spark also gave advice while building it:

# %%
for line in dict.fromkeys(advice + more_advice):
    print("-", line)

# %% [markdown]
# Plots work too, drawn by matplotlib from the (small) aggregated result. `unstack()` on Spark
# returns the regions in any order, so sort them first:

# %%
fig, axes = plt.subplots(1, 2, figsize=(9, 3.2), sharey=True)
on_pandas.stores.unstack().plot.bar(ax=axes[0], rot=0, title="pandas")
on_spark.stores.unstack().sort_index().plot.bar(ax=axes[1], rot=0, title="pandas API on Spark")
axes[0].set_ylabel("stores")
for ax in axes:
    ax.set_ylim(0, ax.get_ylim()[1] * 1.3)
    ax.legend(title="format", fontsize=8, ncol=3, loc="upper center")
plt.tight_layout()
plt.show()

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 3 · Between pandas-on-Spark, Spark and pandas
# Three kinds of DataFrame, and the conversions between them:
#
# | from \\ to | pandas-on-Spark | Spark | pandas |
# |---|---|---|---|
# | **pandas-on-Spark** | | `psdf.to_spark(index_col=...)` | `psdf.to_pandas()` (collects!) |
# | **Spark** | `sdf.pandas_api(index_col=...)` | | `sdf.toPandas()` (collects!) |
# | **pandas** | `ps.from_pandas(pdf)` | `spark.createDataFrame(pdf)` | |
#
# A Spark DataFrame has no index; a pandas-on-Spark one always has one. Without `index_col`
# the index is dropped going to Spark, and a new *default index* is made coming back:

# %%
quiet_advice()  # the advice has been seen; from here on it would repeat
stores_ps = ps.read_parquet(stores_path, index_col="store_id")
stores_sdf = stores_ps.to_spark()
print(f"to_spark():                   {stores_sdf.columns}")
print(f"to_spark(index_col=...):      {stores_ps.to_spark(index_col='store_id').columns}")
print(f"pandas_api(): a new index, {stores_sdf.pandas_api().head(3).index.to_list()} ...")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 4 · The default index, and why it matters at scale
# A pandas index is a sequence 0, 1, 2, ... . On Spark, numbering rows needs to know how many
# rows come before each partition. pandas-on-Spark offers three ways to attach one
# (`compute.default_index_type`):
#
# | type | values | how | cost |
# |---|---|---|---|
# | `sequence` | 0, 1, 2, ... | a window over **all rows in one partition** | one core, one machine's memory: avoid at scale |
# | `distributed-sequence` (default) | 0, 1, 2, ... | counts rows per partition, then numbers each | an extra pass, distributed |
# | `distributed` | increasing, with gaps | `monotonically_increasing_id()` | free, but not consecutive |
#
# The same three partitions of ten rows under each:

# %%
ten_rows = spark.range(0, 10, 1, numPartitions=3)
for index_type in ("sequence", "distributed-sequence", "distributed"):
    with ps.option_context("compute.default_index_type", index_type):
        print(f"{index_type:>21}: {ten_rows.pandas_api().index.to_list()}")

# %% [markdown]
# What `sequence` does to the work: the sales spread over 8 partitions, given each index, then
# counted per partition. Everything after a `sequence` index runs as **one task**:

# %%
sales_sdf = spark.read.parquet(sales_path).repartition(8)
for index_type in ("sequence", "distributed-sequence", "distributed"):
    with ps.option_context("compute.default_index_type", index_type):
        indexed = sales_sdf.pandas_api().to_spark(index_col="index")
        # The partitions holding rows; reading the index keeps the step that makes it.
        partitions = (indexed.select(F.spark_partition_id().alias("partition"), "index")
                      .agg(F.count_distinct("partition"), F.max("index")).first()[0])
        print(f"{index_type:>21}: {partitions} partition(s)")

# %% [markdown]
# So read with `index_col=` when the data have a key, and use `distributed` when any unique
# number will do.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 5 · What behaves differently
# The API follows pandas closely, not exactly. Four differences a learner meets first:
#
# **Some aggregations mean something else.** In pandas `("sales", "size")` counts rows; on
# Spark it becomes SQL's `size()`, which measures arrays, and the plan fails. Use `"count"`:

# %%
sales_ps = ps.read_parquet(sales_path)
try:
    sales_ps.groupby("store_id").agg(weeks=("sales", "size")).head()
except Exception as error:
    print(f"{type(error).__name__}: {str(error).split(', however')[0]}")
print(sales_ps.groupby("store_id").agg(weeks=("sales", "count")).sort_index().head(3))

# %% [markdown]
# **Some operations are not implemented**, and say so instead of running slowly:

# %%
try:
    sales_ps.head(5).to_xarray()
except Exception as error:
    print(f"{type(error).__name__}: {str(error).split(' If ')[0]}")

# %% [markdown]
# **Row order is not guaranteed** unless you sort: results come back partition by partition, and
# after a `groupby` a key's partition follows its hash, not its value. Sort (`sort_index`,
# `sort_values`) before `head()` or a comparison. Per-store totals:

# %%
totals = sales_ps.groupby("store_id").sales.sum()
print("as computed:", totals.head(5).index.to_list())
print("sorted:     ", totals.sort_index().head(5).index.to_list())

# %% [markdown]
# **Combining two different DataFrames** (`df1.x + df2.y`) is a join on their indexes, which
# is expensive. This Spark version allows it by default (`compute.ops_on_diff_frames`); turning
# the option off makes such hidden joins an error:

# %%
other = ps.read_parquet(sales_path)
with ps.option_context("compute.ops_on_diff_frames", False):
    try:
        (sales_ps.sales - other.sales).sum()
    except ValueError as error:
        print(f"ValueError: {str(error).split('.')[0]}.")
print(f"Default: ops_on_diff_frames={ps.get_option('compute.ops_on_diff_frames')}")

# %% [markdown]
# **Functions you `apply`** run on Spark's workers. Without a return type hint, the pandas API
# on Spark's user guide (*Type Hints in Pandas API on Spark*) says it first runs the function on
# a sample (`compute.shortcut_limit` rows) to infer the output type; a hint
# (`def f(x) -> float:`) saves that extra job.
#
# ### The options worth knowing

# %%
options = ["compute.default_index_type", "compute.ops_on_diff_frames", "compute.shortcut_limit",
           "compute.max_rows", "display.max_rows", "plotting.backend", "plotting.max_rows"]
print(pd.Series({name: ps.get_option(name) for name in options}).to_string())

# %% [markdown]
# `ps.set_option(name, value)` changes one for the session; `with ps.option_context(...)` for a
# block, as above.
#
# ## 6 · pandas against pandas-on-Spark, measured
# The same `region_report` at two sizes, `n_stores` and ten times as many, both timed in this
# run (the files are written first, so reading them is part of the work):

# %% tags=["nbval-ignore-output"]
sizes = {}
for stores in (n_stores, 10 * n_stores):
    paths = write_data(stores, run.local_path(f"data_{stores}"))
    sizes[len(pd.read_parquet(paths[0], columns=["week"]))] = paths
engines = {"pandas": lambda rows: region_report(pd, *sizes[rows]),
           "pandas API on Spark": lambda rows: region_report(ps, *sizes[rows]).to_pandas()}
report_seconds = compare(list(sizes), engines, repeat=run.scale.repeats)
print(report_seconds.round(2).to_string())
print(verdict(report_seconds, "pandas", "pandas API on Spark"))
ratios = report_seconds["pandas"] / report_seconds["pandas API on Spark"]
record(speedup_small=ratios.iloc[0], speedup_large=ratios.iloc[1])

# %% tags=["nbval-ignore-output"]
# Varies from run to run: a plot of the timings above
plot_comparison(report_seconds, xlabel="rows of sales", title="region_report (this run)")
plt.show()

# %% [markdown]
# On one laptop, pandas wins while the data fit in its memory: every pandas-on-Spark call plans
# and runs Spark jobs (several per report: the index, the join, the aggregation), each with a
# fixed cost, while pandas computes in place. Compare the two ratios above: the fixed cost
# weighs less as the rows grow. The pandas API
# on Spark pays off when the data **no longer fit one machine**, or already live in Spark, and
# you want to keep pandas code, not rewrite it. For the fastest Spark code, the Spark API
# (workshop 01) still gives the most control.
#
# ## 7 · Exercises
# ### Exercise 1 · Convert a pandas analysis
# This pandas code computes the share of promotion weeks per region:
#
# ```python
# sales = pd.read_parquet(sales_path)
# stores = pd.read_parquet(stores_path)
# merged = sales.merge(stores, on="store_id")
# share = merged.groupby("region").agg(promo_share=("promo", "mean"), weeks=("promo", "count"))
# share = share.reset_index().sort_values("region")
# ```
#
# Make `share_ps`: the same result as a **pandas-on-Spark** DataFrame, computed on Spark.

# %%
# BEGIN SOLUTION
# STUDENT: share_ps = None
sales_ps = ps.read_parquet(sales_path)
stores_ps = ps.read_parquet(stores_path)
merged_ps = sales_ps.merge(stores_ps, on="store_id")
share_ps = merged_ps.groupby("region").agg(promo_share=("promo", "mean"), weeks=("promo", "count"))
share_ps = share_ps.reset_index().sort_values("region")
# END SOLUTION

# %%
check_promo_share(share_ps, pd.read_parquet(sales_path), pd.read_parquet(stores_path))

# %% [markdown]
# ### Exercise 2 · Keep the key as the index
# `spark.read.parquet(stores_path)` is a Spark DataFrame of the stores. Make `stores_by_id`: a
# pandas-on-Spark DataFrame of it whose index is `store_id`, so that no default index is attached.

# %%
# BEGIN SOLUTION
# STUDENT: stores_by_id = None
stores_by_id = spark.read.parquet(stores_path).pandas_api(index_col="store_id")
# END SOLUTION

# %%
check_store_index(stores_by_id, pd.read_parquet(stores_path))

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Summary
# - Koalas became **`pyspark.pandas`** in Spark 3.2, and Koalas itself stopped at Spark 3.1.
#   Migrate with `import pyspark.pandas as ps` and `pandas_api()`.
# - The **same pandas code** builds Spark plans: reading, selecting, filtering, `merge`,
#   `groupby().agg()` and plots, with the same numbers as pandas.
# - `to_spark(index_col=...)`, `pandas_api(index_col=...)` and `to_pandas()` move between the
#   three kinds of DataFrame; only `to_pandas()` collects the data.
# - The **default index** costs work: avoid `sequence` at scale, read with `index_col` when
#   there is a key, use `distributed` when any unique id will do.
# - Some operations **differ** (`size`), some are **not implemented**, row order is not
#   guaranteed, and combining two DataFrames is a hidden join (`compute.ops_on_diff_frames`).
# - On one machine, pandas is faster while the data fit; the pandas API on Spark is for data
#   that do not, with the code you already have.
#
# Next: **06 · Delta Lake**, a data lake ready for machine learning.
