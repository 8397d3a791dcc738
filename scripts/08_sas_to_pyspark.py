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
# # 08 · From SAS to PySpark
# *Translations that reproduce SAS's own output · about 100 minutes*
#
# **Topics:** the DATA step in Spark (reading data, new variables, IF and WHERE, RETAIN, BY groups with FIRST. and LAST., MERGE, SAS dates), PROC CONTENTS, PRINT, SORT, SQL, MEANS, SUMMARY, FREQ, CORR, TRANSPOSE, EXPORT and IMPORT, DELETE and DATASETS, reading .sas7bdat and .xpt files, missing values, pandas against Spark on millions of rows, a migration strategy
#
# **Spark Connect:** yes. Pass `spark_master="sc://host:port"` to run it on a Connect server.
#
# Claims processing, real-world evidence and clinical validation rules run on decades of SAS
# programs. Moving them to Spark is mostly mechanical, but a few SAS rules (missing values,
# BY-group processing, MERGE) have no exact twin, and a translation that looks right can print
# different numbers. No SAS runs here, so the proof of each translation is that it **prints the
# figures SAS prints** for the same program and data: the examples come from SAS's own
# documentation, with their published output.
#
# By the end you will be able to:
# - translate **DATA steps**: reading data, new variables, subsetting, `RETAIN` and running
#   totals, **BY groups with `FIRST.`/`LAST.`** (window functions), **`MERGE`** (and why it is
#   not a SQL join), SAS dates;
# - translate **PROC CONTENTS, PRINT, SORT, SQL, MEANS, SUMMARY, FREQ, CORR, TRANSPOSE, EXPORT/IMPORT,
#   DELETE/DATASETS**, and print their tables as SAS does, with `sparkcourse.sas`;
# - read **`.sas7bdat` and `.xpt`** files into Spark;
# - explain what **missing values** do in SAS, Spark and pandas, and find the rows where a naive
#   translation differs;
# - say, from a measurement, **when Spark beats pandas** for a summary of millions of rows, and
#   plan a **migration**.

# %% [markdown]
# ### The translations at a glance
# | SAS | PySpark |
# |---|---|
# | `data x; input ...; datalines;`, `infile` | `spark.read.csv(path, header=True, nullValue=".")` |
# | `set`, `where`, subsetting `if` | `spark.table`, `.where(...)` |
# | `y = ...;`, `if ... then ...; else ...;` | `.withColumn("y", ...)`, `F.when(...).otherwise(...)` |
# | `retain`, sum statement `total + x;` | `F.sum(x).over(window)` with a running frame |
# | `by g; first.g, last.g` | `F.row_number().over(Window.partitionBy(g).orderBy(...))` |
# | `merge a b; by k;` | a join, but **not the same** for many-to-many (`match_merge`) |
# | `proc contents`, `proc print` | `df.printSchema()`, `df.show()` |
# | `proc sort nodupkey; by k;` | `row_number() == 1` per `k` (not `dropDuplicates`) |
# | `proc sql` | `spark.sql(...)`, mostly as is |
# | `proc means`, `proc freq`, `proc corr` | `groupBy().agg(...)`; `sparkcourse.sas.means`, `freq`/`crosstab`/`chisq`, `corr` |
# | `proc transpose` | `groupBy().pivot()`, `unpivot()` |
# | `proc export`/`import` | `df.write.csv/parquet`, `spark.read...` |
# | `proc delete`, `proc datasets` | `spark.catalog.dropTempView`, `DROP TABLE`, `spark.catalog.listTables()` |

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Parameters
# `claims_rows` claims are generated for the measured comparison in section 14 (0 takes the
# scale's default: 2 million *small*, 10 million *medium*, 100 million *large*).

# %% tags=["parameters"]
scale: str = "small"  # data size: ci (tests), small (Binder), medium (laptop), large (cluster)
spark_master: str = "local[*]"  # where Spark runs: local[*], local[N] or spark://host:port
seed: int = 42  # random seed for the generated claims
work_dir: str = "work"  # the driver's folder for this notebook's files (Spark's log, local MLflow)
data_root: str = ""  # folder or URI that driver and executors see, for data Spark reads; empty: work_dir
repeats: int = 0  # timed runs of each way in a comparison; 0 takes the scale's (3 at small)
claims_rows: int = 0  # claims for the pandas-vs-Spark comparison; 0 takes the scale's default

# %%
import matplotlib.pyplot as plt
import pandas as pd
import pyreadstat
from pyspark.errors import AnalysisException
from pyspark.ml.feature import VectorAssembler
from pyspark.ml.stat import Summarizer
from pyspark.sql import Window
from pyspark.sql import functions as F

from sparkcourse import check_int, compare, plot_comparison, record, setup_notebook, verdict
from sparkcourse.data import dataset_path
from sparkcourse.data.claims import MEAN_AMOUNT, REGIONS, claims, write_claims
from sparkcourse.exercises.sas import (
    HAIR_ORDER,
    HAIR_TESTP,
    check_hair_tests,
    check_low_oxygen,
    check_member_totals,
)
from sparkcourse.sas import (
    chisq,
    corr,
    crosstab,
    freq,
    from_sas_date,
    match_merge,
    means,
    nodupkey,
    proportions_test,
    sas_table,
    with_first_last,
)
from sparkcourse.sas.files import write_sas7bdat

run = setup_notebook("08_sas_to_pyspark", scale=scale, spark_master=spark_master, seed=seed,
                     work_dir=work_dir, data_root=data_root, repeats=repeats)
claims_rows = check_int("claims_rows", claims_rows, minimum=1000) if claims_rows else \
    run.scale.claims
spark = run.spark()
print(f"Spark {spark.version}; {claims_rows:,} claims for section 14")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 1 · Reading data: the DATA step's INPUT, PROC CONTENTS and PROC PRINT
# The Fitness data of the PROC CORR documentation: 31 men in a fitness course at N.C. State
# University, with some values set to missing (`.`). The course keeps its data lines as
# `datasets/fitness.csv`:
#
# ```sas
# data Fitness;
#    input Age Weight Oxygen RunTime @@;
#    datalines;
# 44 89.47 44.609 11.37    40 75.07 45.313 10.07
# ...
# proc contents data=Fitness; run;
# proc print data=Fitness(obs=5); run;
# ```
#
# Spark does not know that `.` means missing: without `nullValue="."` the columns holding a
# dot are read as **text**.

# %%
fitness_path = run.dataset("fitness.csv")
as_text = spark.read.csv(fitness_path, header=True, inferSchema=True)
print("without nullValue:", ", ".join(f"{name} {kind}" for name, kind in as_text.dtypes))
fitness = spark.read.csv(fitness_path, header=True, inferSchema=True, nullValue=".")
fitness.printSchema()  # PROC CONTENTS: the variables and their types
print(f"Observations: {fitness.count()}")
fitness.show(5)  # PROC PRINT (obs=5)

# %% [markdown]
# `printSchema` is PROC CONTENTS' variable list; SAS's two types (Num, Char) become Spark's
# many (`int`, `double`, `string`, `date`...). SAS formats and labels have no Spark twin: keep
# labels in column comments or a data dictionary, and format values only when printing.
#
# ## 2 · New variables and subsetting: WHERE, IF, and the first trap
# ```sas
# data Fit2;
#    set Fitness;
#    where Age >= 45;
#    Pace = RunTime / 1.5;             /* minutes per mile */
#    if Oxygen > 50 then Level = 'high';
#    else Level = 'low';
# run;
# proc freq data=Fit2; tables Level; run;
# ```

# %%
fit2 = (fitness.where(F.col("Age") >= 45)
        .withColumn("Pace", F.col("RunTime") / 1.5)
        .withColumn("Level", F.when(F.col("Oxygen") > 50, "high").otherwise("low")))
print(sas_table(freq(fit2, "Level"), 2))
fit2.where(F.col("Oxygen").isNull() | F.col("RunTime").isNull()).show()

# %% [markdown]
# The two men without an Oxygen value are `low` in both: in SAS a missing value is **smaller
# than every number**, so `. > 50` is false; in Spark `null > 50` is null, and `when` sends
# null to `otherwise`. A missing RunTime gives a missing `Pace` in both (arithmetic on missing
# gives missing). The two
# rules agree here by luck: they part ways for `<` (exercise 3).
#
# Two SAS habits to drop: the first assignment of `Level` fixes its **length** in SAS (had
# `'low'` come first, `'high'` would be cut to `'hig'`), Spark strings have no length; and the
# subsetting `IF` and `WHERE` both become `.where()`.
#
# ## 3 · RETAIN, running totals and BY groups
# Claims of a few members (generated, section 14 explains the generator). A running total per
# member in SAS needs `RETAIN`, the sort, and `FIRST.`:
#
# ```sas
# proc sort data=Claims; by member_id service_day; run;
# data Running;
#    set Claims;
#    by member_id;
#    retain to_date;
#    if first.member_id then to_date = 0;
#    to_date = sum(to_date, amount);      /* SUM() skips missing values */
# run;
# ```
# In Spark, the BY group is a **window partition**, its sort order is the window's order, and
# `RETAIN` + sum is a sum over the rows *from the group's start to the current row*.
# `FIRST.` is the first row number of the partition, `LAST.` the one equal to the partition's
# count (the course's `with_first_last` does the same, for the exercise below). `row` keeps the
# data's own order, which SAS's sort keeps for ties (and Spark does not promise without it).

# %%
claims_sample = spark.createDataFrame(
    claims(300, run.seed, members=20).reset_index(names="row"))
by_member = Window.partitionBy("member_id")  # BY member_id
in_order = by_member.orderBy("service_day", "row")
up_to_here = in_order.rowsBetween(Window.unboundedPreceding, Window.currentRow)
position = F.row_number().over(in_order)
flagged = (claims_sample.withColumn("first_member_id", position == 1)  # FIRST.member_id
           .withColumn("last_member_id", position == F.count("*").over(by_member)))  # LAST.
assert flagged.exceptAll(with_first_last(claims_sample, ["member_id"], ["service_day", "row"])).isEmpty()
running = flagged.withColumn("to_date", F.round(F.coalesce(F.sum("amount").over(up_to_here), F.lit(0.0)), 2))
(running.where("member_id = 1").orderBy("service_day", "row")
 .select("member_id", "service_day", "service", "amount", "first_member_id", "last_member_id", "to_date")
 .show(8))

# %% [markdown]
# `F.sum` skips nulls as SAS's `SUM()` does; `coalesce` gives 0 where every amount so far is
# missing, as SAS's `to_date = 0` start does. (`to_date + amount` would be missing from the
# first missing amount on, in both languages.)
#
# ### Exercise 1 · Translate a DATA step with BY-group logic
# One row per member, output at the last claim:
#
# ```sas
# data Member_Totals(keep=member_id total n_claims last_day);
#    set Claims;                          /* sorted by member_id service_day */
#    by member_id;
#    if first.member_id then do; total = 0; n_claims = 0; end;
#    total + amount;                      /* the sum statement: retained, missing adds 0 */
#    n_claims + 1;
#    if last.member_id then do; last_day = service_day; output; end;
# run;
# ```
# Build `member_totals` from `claims_sample`: columns `member_id`, `total`, `n_claims`,
# `last_day`. (The window above works; a `groupBy` is the idiomatic translation of
# "aggregate, output at `LAST.`".)

# %%
# BEGIN SOLUTION
# STUDENT: member_totals = None  # a Spark DataFrame: member_id, total, n_claims, last_day
member_totals = claims_sample.groupBy("member_id").agg(
    F.coalesce(F.sum("amount"), F.lit(0.0)).alias("total"),
    F.count("*").alias("n_claims"),  # every claim, also those with a missing amount
    F.max("service_day").alias("last_day"))
# END SOLUTION

# %%
check_member_totals(member_totals, claims_sample.toPandas())

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 4 · MERGE with BY is not a SQL join
# ```sas
# data Both;
#    merge Visits Labs;
#    by id;
# run;
# ```
# A one-to-one or one-to-many MERGE gives what a full outer join gives. A **many-to-many**
# MERGE does not: inside a BY group SAS pairs the first rows, then the second rows, and so on,
# and a data set that runs out **repeats its last row**; a join pairs every row with every row.
# (SAS writes a NOTE, "MERGE statement has more than one data set with repeats of BY values".)
# SAS's rule in Spark: number the rows of each BY group on both sides (`k` of `n`), list the
# places 1 to the larger `n`, and join each side on `least(k, n)`, its last row once it runs
# out. The course's `match_merge` does the same for any BY variables:

# %%
visits = spark.createDataFrame(pd.DataFrame({"id": [1, 1, 2, 3, 3, 3], "visit": list("abcdef")}))
labs = spark.createDataFrame(pd.DataFrame({"id": [1, 2, 2, 3, 3, 4],
                                           "lab": ["L1", "L2", "L3", "L4", "L5", "L6"]}))


def numbered(data, side: str):
    """Each row's place k in its BY group, and the group's size n."""
    group = Window.partitionBy("id")
    return (data.withColumn(f"k_{side}", F.row_number().over(group.orderBy(F.monotonically_increasing_id())))
            .withColumn(f"n_{side}", F.count("*").over(group)))


left, right = numbered(visits, "left"), numbered(labs, "right")
sizes = (left.select("id", "n_left").distinct()
         .join(right.select("id", "n_right").distinct(), "id", "full").fillna(0))
places = sizes.select("id", "n_left", "n_right",  # k = 1 .. the larger group; past its end, the last row
                      F.explode(F.sequence(F.lit(1), F.greatest("n_left", "n_right"))).alias("k"))
places = places.select("id", "k", F.least("k", "n_left").alias("k_left"),
                       F.least("k", "n_right").alias("k_right"))
sas_merge = (places.join(left.select("id", "k_left", "visit"), ["id", "k_left"], "left")
             .join(right.select("id", "k_right", "lab"), ["id", "k_right"], "left")
             .orderBy("id", "k").select("id", "visit", "lab").toPandas())
pd.testing.assert_frame_equal(sas_merge, match_merge(visits, labs, ["id"]).toPandas())
sql_join = visits.join(labs, "id", "full").orderBy("id", "visit", "lab").toPandas()
print(f"MERGE (as SAS): {len(sas_merge)} rows{' ' * 10}full outer join: {len(sql_join)} rows")
side_by_side = pd.concat([sas_merge.fillna("").astype(str), sql_join.fillna("").astype(str)],
                         axis=1, keys=["SAS MERGE", "SQL join"])
print(side_by_side.fillna("").to_string(index=False))

# %% [markdown]
# For id 3 (three visits, two labs) SAS pairs `d L4` and `e L5`, then repeats `L5` for `f`:
# 8 rows in all. The join pairs every visit of an id with every lab: 11 rows. Many-to-many merges are nearly
# always a bug in the SAS program: translate the *intent* (usually a join on a finer key), and
# use `match_merge` only to reproduce old output. Other differences: `IN=` flags become the
# join type (`if a and b` is an inner join), and a variable in both data sets is silently
# overwritten by the right one in SAS (`match_merge` refuses; rename it).
#
# ## 5 · SAS dates
# A SAS date is a number of **days since 1 January 1960**; a data set without a date format
# shows the number. `service_day` is such a number:
#
# | SAS | Spark |
# |---|---|
# | `put(d, date9.)` | `F.upper(F.date_format(d, "ddMMMyyyy"))` (SAS writes 01JAN1960) |
# | `intnx('month', d, 0, 'b')` | `F.trunc(d, "month")` |
# | `intck('day', a, b)` | `F.datediff(b, a)` |
# | `mdy(m, d, y)`, `today()` | `F.make_date(y, m, d)`, `F.current_date()` |

# %%
dated = claims_sample.withColumn("service_date", from_sas_date("service_day"))
(dated.orderBy("row").select(
    "service_day", "service_date",
    F.upper(F.date_format("service_date", "ddMMMyyyy")).alias("date9"),
    F.trunc("service_date", "month").alias("month_start"),
    F.datediff(F.lit("2024-12-31"), "service_date").alias("days_to_year_end"))
 .show(3))

# %% [markdown]
# `.sas7bdat` files read with pyreadstat (section 12) turn formatted SAS dates into dates by
# themselves; unformatted ones stay numbers, as here.
#
# ## 6 · PROC SORT: DESCENDING, NODUPKEY, and where missing values go
# ```sas
# proc sort data=Fitness out=ByOxygen; by Oxygen; run;
# proc sort data=Fitness out=ByOxygenDown; by descending Oxygen; run;
# proc sort data=Claims out=First_Claims nodupkey; by member_id; run;
# ```
# SAS sorts missing values **first** (they are the smallest). Spark's ascending sort puts nulls
# first too, and its descending sort puts them last, as SAS does; **pandas puts NaN last**
# either way:

# %%
print("Spark, ascending:", [row.Oxygen for row in fitness.orderBy("Oxygen").limit(3).collect()])
print("Spark, descending:", [row.Oxygen for row in fitness.orderBy(F.desc("Oxygen")).tail(3)])
print("pandas, ascending:", fitness.toPandas().sort_values("Oxygen").Oxygen.head(3).tolist())

# %% [markdown]
# `NODUPKEY` keeps the **first** row of each BY value in the data's order. Spark's
# `dropDuplicates(["member_id"])` keeps *some* row: which one can change with the partitioning.
# Keep the first by an explicit order (here the claims' original row number): number the rows of
# each BY value with `row_number()` and keep number 1. The course's `nodupkey` does the same:

# %%
in_order = Window.partitionBy("member_id").orderBy("row")
first_claims = (claims_sample.withColumn("position", F.row_number().over(in_order))
                .where("position = 1").drop("position").orderBy("member_id"))
assert first_claims.collect() == nodupkey(claims_sample, ["member_id"], row_order="row").collect()
first_claims.select("member_id", "row", "service_day", "service").show(5)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 7 · PROC SQL: mostly Spark SQL as is
# ```sas
# proc sql;
#    create table Service_Summary as
#    select service, count(*) as claims, mean(amount) as avg_amount format=8.2
#    from Claims
#    where amount is not missing
#    group by service
#    order by service;
# quit;
# ```

# %%
claims_sample.createOrReplaceTempView("claims")  # like a WORK data set
spark.sql("""
    SELECT service, count(*) AS claims, round(mean(amount), 2) AS avg_amount
    FROM claims
    WHERE amount IS NOT NULL
    GROUP BY service
    ORDER BY service""").show()

# %% [markdown]
# What differs: `is missing` becomes `IS NULL`; formats become `round` or `format_number`;
# `CALCULATED x` becomes a repeated expression or a subquery; `where x < 45` in PROC SQL
# counts missing values as small, Spark SQL drops them (section 13). And SAS **remerges**
# summary statistics with detail rows (with a NOTE); Spark refuses, and a window does it:

# %%
remerge = "SELECT member_id, amount, amount / sum(amount) AS share FROM claims GROUP BY member_id"
try:
    spark.sql(remerge).show()
except AnalysisException as error:
    print("Spark refuses:", error.getCondition())
spark.sql("""
    SELECT member_id, amount, round(amount / sum(amount) OVER (PARTITION BY member_id), 4) AS share
    FROM claims WHERE member_id = 1 ORDER BY row""").show(4)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 8 · PROC MEANS and SUMMARY
# ```sas
# proc means data=Fitness; run;                     /* N Mean Std Dev Minimum Maximum */
# proc means data=Fitness; class Older; var Oxygen RunTime; run;
# ```
# All five statistics come from one Spark aggregation (`count`, `mean`, `stddev_samp` with n − 1,
# `min`, `max`), each variable on its own non-missing values, so N differs per variable, as in
# SAS. Written out for two variables, then with the course's `means`, which also prints like SAS. With `class_vars`, rows with a missing class value are left out, as SAS does without the
# `MISSING` option (Spark's `groupBy` alone would keep a null group).

# %%
statistics_of = {"N": F.count, "Mean": F.mean, "Std Dev": F.stddev_samp, "Minimum": F.min,
                 "Maximum": F.max}
by_hand = fitness.agg(*[function(v).alias(f"{v} {name}") for v in ["Oxygen", "RunTime"]
                        for name, function in statistics_of.items()]).first().asDict()
print({name: round(value, 4) for name, value in by_hand.items()})

# %%
print(sas_table(means(fitness, ["Age", "Weight", "Oxygen", "RunTime"]).set_index("Variable"), 7))
older = fitness.withColumn("Older", (F.col("Age") >= 50).cast("int"))
print(sas_table(means(older, ["Oxygen", "RunTime"], ["Older"]).set_index(["Older", "Variable"]), 7))

# %% [markdown]
# **PROC SUMMARY** computes the same statistics but prints nothing: it writes an output data set,
# which in Spark is simply the DataFrame a `groupBy` returns. `NWAY` keeps only the full `CLASS`
# combination, `_FREQ_` counts its rows, and `AUTONAME` names each statistic `variable_statistic`:
# ```sas
# proc summary data=Fitness nway; class Older; var Oxygen RunTime;
#   output out=Stats n= mean= / autoname; run;
# ```

# %%
summary_vars = ["Oxygen", "RunTime"]
stats = (older.where(F.col("Older").isNotNull()).groupBy("Older")
         .agg(F.count("*").alias("_FREQ_"),
              *[F.count(v).alias(f"{v}_N") for v in summary_vars],
              *[F.round(F.mean(v), 4).alias(f"{v}_Mean") for v in summary_vars])
         .orderBy("Older"))
stats.show()

# %% [markdown]
# MLlib's `Summarizer` computes the same statistics over a vector column, fast, but a vector
# cannot hold a missing value: `VectorAssembler` must skip (or fail on) every row with one,
# so **every** N drops to the complete rows (listwise deletion):

# %%
names = ["Age", "Weight", "Oxygen", "RunTime"]
vectors = VectorAssembler(inputCols=names, outputCol="features", handleInvalid="skip").transform(fitness)
metrics = Summarizer.metrics("count", "mean", "std")
summary = vectors.select(metrics.summary(vectors.features).alias("s")).first().s
print(pd.DataFrame({"N": int(summary["count"]), "Mean": summary["mean"].toArray(),
                    "Std Dev": summary["std"].toArray()}, index=names).round(5).to_string())

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 9 · PROC FREQ: one-way and two-way tables, WEIGHT, expected counts, chi-squared
# The Color data of the PROC FREQ documentation: eye and hair colour of children from two
# regions of Europe, stored as **cell counts** (`Count` children per combination), so every
# table needs `WEIGHT Count`:
#
# ```sas
# proc freq data=Color order=data;
#    tables Eyes / nocum;
#    tables Eyes*Hair / expected cellchi2 norow nocol chisq;
#    weight Count;
# run;
# ```
# `freq` and `crosstab` sum the weight per level in Spark and bring back only the table;
# `chisq` computes the CHISQ statistics from it.

# %%
color = spark.read.csv(run.dataset("color.csv"), header=True, inferSchema=True)
print(sas_table(freq(color, "Eyes", weight="Count"), 2))
eyes_by_hair = crosstab(color, "Eyes", "Hair", weight="Count",
                        row_order=["blue", "green", "brown"], column_order=HAIR_ORDER)
print(sas_table(eyes_by_hair.cells(), {"Expected": "best6", "Cell Chi-Square": "best6", "Percent": 2}))
statistics = chisq(eyes_by_hair).set_index("Statistic")
print(sas_table(statistics))
record(chi_square=statistics.loc["Chi-Square", "Value"], chi_square_p=statistics.loc["Chi-Square", "Prob"])

# %% [markdown]
# These are SAS's printed figures (Output "Contingency Table" and "Statistics for Table of
# Eyes by Hair" of the documentation's example): 762 children, expected 66.425 blue-eyed fair
# children, χ² = 20.9248 with 8 DF, p = 0.0073. Where does the association come from? The
# cell contributions say it at a glance:

# %%
fig, ax = plt.subplots(figsize=(6, 2.6))
excess = eyes_by_hair.counts > eyes_by_hair.expected
contributions = eyes_by_hair.cell_chi2.where(excess, -eyes_by_hair.cell_chi2)  # signed by the excess
image = ax.imshow(contributions, cmap="RdBu_r", vmin=-6, vmax=6)
ax.set(xticks=range(5), xticklabels=HAIR_ORDER, yticks=range(3), yticklabels=contributions.index,
       title="Cell chi-square: more (red) or fewer (blue) children than expected")
fig.colorbar(image, ax=ax, shrink=0.8)
plt.show()

# %% [markdown]
# Green-eyed children have fair or red hair more often than independence predicts, and black
# hair never; brown-eyed children the opposite. Without `WEIGHT`, PROC FREQ would count the
# 27 *rows*, not the 762 children: `freq(color, "Eyes")` with no weight gives 9, 8 and 10.
#
# ### Exercise 2 · Translate a PROC FREQ with WEIGHT and TESTP
# Is hair colour, in each region, distributed as 30% fair, 12% red, 30% medium, 25% dark and 3%
# black (`HAIR_TESTP`)?
#
# ```sas
# proc sort data=Color; by Region; run;
# proc freq data=Color order=data;
#    tables Hair / nocum testp=(30 12 30 25 3);
#    weight Count;
#    by Region;
# run;
# ```
# For all 762 children together, `proportions_test` is the chi-square test that TESTP= prints:

# %%
all_children = freq(color, "Hair", weight="Count", order=HAIR_ORDER)[["Frequency", "Percent"]]
print(sas_table(all_children.assign(**{"Test Percent": HAIR_TESTP}), 2))
print(sas_table(proportions_test(all_children.Frequency, HAIR_TESTP).to_frame("Value")))

# %% [markdown]
# Build `hair_tests`: one row per `Region` with `Chi-Square`, `DF` and `Pr > ChiSq`, from
# `color` (`freq` and `proportions_test` help; `HAIR_ORDER` gives the levels' order).

# %%
# BEGIN SOLUTION
# STUDENT: hair_tests = None  # a pandas DataFrame: Region, Chi-Square, DF, Pr > ChiSq
hair_tests = pd.DataFrame([
    {"Region": region, **proportions_test(
        freq(color.where(F.col("Region") == region), "Hair", weight="Count", order=HAIR_ORDER).Frequency,
        HAIR_TESTP)}
    for region in (1, 2)])
# END SOLUTION

# %%
check_hair_tests(hair_tests, color.toPandas())

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 10 · PROC CORR: pairwise deletion, N per pair, p-values
# ```sas
# proc corr data=Fitness; run;
# ```
# PROC CORR computes each correlation on the rows where **both** values are present, and
# prints N per pair when they differ. `corr` does the same with Spark's `F.corr` (which skips
# a row when either value is null) and a count per pair, in one job:

# %%
fitness_corr = corr(fitness, names)
print(sas_table(fitness_corr.simple, {"Mean": 5, "Std Dev": 5, "Sum": 2, "Minimum": 5, "Maximum": 5}))
print("\nPearson Correlation Coefficients / Prob > |r| under H0: Rho=0 / Number of Observations")
print(sas_table(fitness_corr.table(), 5))

# %% [markdown]
# SAS prints Age's mean as 47.67742 (std 5.21144), Oxygen with RunTime as −0.86843 on 28
# observations, Weight with Oxygen as −0.15358 on 29. Two Spark shortcuts give other numbers:
# MLlib's `Correlation.corr` needs vectors, so it uses only the 28 complete rows (listwise),
# and `DataFrame.stat.corr` treats a null as **0**, which is simply wrong here:

# %%
listwise = corr(fitness.dropna(), names)
print(f"Weight-Oxygen: PROC CORR {fitness_corr.r.loc['Weight', 'Oxygen']:.5f} (N=29), "
      f"listwise {listwise.r.loc['Weight', 'Oxygen']:.5f} (N=28), "
      f"DataFrame.stat.corr {fitness.stat.corr('Weight', 'Oxygen'):.5f}")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 11 · PROC TRANSPOSE, EXPORT and IMPORT, DELETE and DATASETS
# ```sas
# proc transpose data=Counts out=Wide(drop=_name_); by service; id region; var claims; run;
# ```
# `pivot` is TRANSPOSE with an `ID` variable; `unpivot` goes back (give `pivot` the values,
# so Spark need not compute them first):

# %%
counts = claims_sample.groupBy("service", "region").agg(F.count("*").alias("claims"))
wide = counts.groupBy("service").pivot("region", list(REGIONS)).agg(F.first("claims")).orderBy("service")
wide.show()
long = wide.unpivot("service", list(REGIONS), "region", "claims").where("claims IS NOT NULL")
print(f"back to long: {long.count()} rows, as before: {counts.count()}")

# %% [markdown]
# ```sas
# proc export data=Fitness outfile="fitness.csv" dbms=csv replace; run;
# proc import datafile="fitness.csv" out=Fitness2 dbms=csv replace; run;
# proc datasets library=work; delete Fit2; run;
# ```
# Spark writes a **folder** of part files (one per partition). `write.csv` with a header and
# `nullValue="."` writes what SAS's EXPORT writes; reading it back needs the schema and the same
# `nullValue` again. Prefer Parquet, which keeps types and missing values. SAS libraries become
# the **catalog**: a temp view is a WORK data set, `listTables` is PROC DATASETS' list,
# `dropTempView` is PROC DELETE (and `DROP TABLE` for saved tables):

# %%
csv_path = run.path("fitness_csv")
fitness.write.mode("overwrite").csv(csv_path, header=True, nullValue=".")  # DBMS=CSV REPLACE
from_csv = spark.read.csv(csv_path, header=True, nullValue=".", schema=fitness.schema)
export_path = run.path("fitness_parquet")
fitness.write.mode("overwrite").parquet(export_path)
imported = spark.read.parquet(export_path)
for name, frame in (("CSV", from_csv), ("Parquet", imported)):
    print(f"{name}: imported {frame.count()} rows; Oxygen missing in {frame.where('Oxygen IS NULL').count()}")
fit2.createOrReplaceTempView("fit2")
print("WORK:", sorted(table.name for table in spark.catalog.listTables()))
spark.catalog.dropTempView("fit2")
print("after PROC DELETE:", sorted(table.name for table in spark.catalog.listTables()))

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 12 · Reading SAS files: .sas7bdat and .xpt
# A migration starts from SAS data sets. Spark has no reader for them; **pyreadstat** (or
# `pandas.read_sas`) reads them into pandas, with their labels, and Spark takes it from there.
# To practise, write both formats here: `.xpt` (the SAS transport format that agencies such as
# the FDA require) with pyreadstat, and `.sas7bdat` with `write_sas7bdat` (ReadStat's writer).

# %%
fitness_pandas = pd.read_csv(dataset_path("fitness.csv"), na_values=".")
labels = {"Age": "Age (years)", "Weight": "Weight (kg)", "Oxygen": "Oxygen intake (ml/kg/min)",
          "RunTime": "1.5-mile run time (min)"}
xpt_path, sas7bdat_path = run.work / "fitness.xpt", run.work / "fitness.sas7bdat"
pyreadstat.write_xport(fitness_pandas, str(xpt_path), table_name="FITNESS", column_labels=labels)
write_sas7bdat(fitness_pandas, sas7bdat_path, label="Fitness", column_labels=labels)

from_xpt, xpt_meta = pyreadstat.read_xport(str(xpt_path))
from_sas7bdat, meta = pyreadstat.read_sas7bdat(str(sas7bdat_path))
print(f"{meta.number_rows} rows; labels: {meta.column_names_to_labels}")
fitness_from_sas = spark.createDataFrame(from_sas7bdat)  # NaN (SAS's .) becomes null
print(f"same data from .xpt and .sas7bdat: {from_xpt.equals(from_sas7bdat)}; "
      f"Oxygen null in Spark: {fitness_from_sas.where('Oxygen IS NULL').count()}")

# %% [markdown]
# A large `.sas7bdat` does not fit the driver: read it in pieces with
# `pyreadstat.read_file_in_chunks(pyreadstat.read_sas7bdat, path, chunksize=...)`, write each
# piece to Parquet, and let Spark read the folder, once. From then on the data are Parquet.
#
# ## 13 · Missing values: SAS, Spark and pandas
# | | SAS | Spark | pandas |
# |---|---|---|---|
# | missing number | `.` (and `.A`–`.Z`) | `null` (and `NaN`, a *value*) | `NaN` (or `pd.NA`) |
# | `x < 45` when x is missing | **true** (missing is smallest) | null: the row is dropped | False |
# | `x + 1` | missing | null | NaN |
# | `sum(x, 1)`, `mean()` | skip missing | `F.sum`, `F.mean` skip null | skip NaN |
# | count | `N` counts non-missing | `count(x)` non-null, `count("*")` all | `count()` non-NaN |
# | sort | missing first | nulls first (ascending) | NaN last |
# | CLASS/BY level | left out (unless `MISSING`) | a null group | dropped by `groupby` |
#
# ### Exercise 3 · A number that differs from a naive translation
# ```sas
# data Flags;
#    set Fitness;
#    low_oxygen = (Oxygen < 45);
# run;
# proc freq data=Flags; tables low_oxygen; run;
# ```
# A naive translation, `F.when(F.col("Oxygen") < 45, 1).otherwise(0)`, counts 8 men with
# `low_oxygen = 1`. Compute what SAS prints for `low_oxygen = 1` (`sas_count`) with a Spark
# expression that follows SAS's rule, and how many rows make the difference (`differing_rows`).

# %%
# BEGIN SOLUTION
# STUDENT: sas_count = None  # SAS's frequency of low_oxygen = 1
# STUDENT: differing_rows = None  # the rows where SAS and the naive translation disagree
sas_rule = F.col("Oxygen").isNull() | (F.col("Oxygen") < 45)  # missing is smaller than any number
sas_count = fitness.where(sas_rule).count()
naive = F.when(F.col("Oxygen") < 45, 1).otherwise(0)
differing_rows = fitness.where(sas_rule != (naive == 1)).count()
# END SOLUTION

# %%
check_low_oxygen(sas_count, differing_rows, fitness_pandas)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 14 · PROC MEANS and FREQ on millions of rows: pandas against Spark
# The claims generator draws each claim's amount around its service's true mean, and leaves
# 2% of the amounts missing. The same translation (`means` by service, and the service-by-region
# `crosstab`) runs on pandas and on Spark, from the same Parquet files, at a quarter of the
# claims and at all of them; both are timed in this run.

# %% tags=["nbval-ignore-output"]
paths = write_claims(claims_rows, run.seed, run.local_path("claims"), files=8)
subsets = {claims_rows * files // 8: paths[:files] for files in (2, 8)}


def summary_with(engine: str, rows: int):
    data = pd.read_parquet(subsets[rows]) if engine == "pandas" else spark.read.parquet(*subsets[rows])
    return means(data, ["amount"], ["service"]), crosstab(data, "service", "region")


summary_seconds = compare(list(subsets), {"pandas": lambda rows: summary_with("pandas", rows),
                                          "Spark": lambda rows: summary_with("Spark", rows)},
                          repeat=run.scale.repeats)
print(summary_seconds.round(2).to_string())
print(verdict(summary_seconds, "pandas", "Spark", unit="claims"))
ratios = summary_seconds["pandas"] / summary_seconds["Spark"]
record(spark_vs_pandas_quarter=ratios.iloc[0], spark_vs_pandas_all=ratios.iloc[1])

# %% tags=["nbval-ignore-output"]
# Varies from run to run: a plot of the timings above
plot_comparison(summary_seconds, xlabel="claims", title="PROC MEANS + FREQ (this run)")
plt.show()

# %% [markdown]
# Both engines print the same table, and it finds the generator's truth:

# %%
on_spark, on_pandas = summary_with("Spark", claims_rows), summary_with("pandas", claims_rows)
same = (on_spark[1].counts.equals(on_pandas[1].counts)
        and (on_spark[0].Mean - on_pandas[0].Mean).abs().max() < 1e-6)
by_service = on_spark[0].set_index("service")
by_service["True Mean"] = pd.Series(MEAN_AMOUNT)
by_service["Error %"] = 100 * (by_service.Mean / by_service["True Mean"] - 1)
print(f"Spark and pandas agree: {same}")
print(sas_table(by_service[["N Obs", "N", "Mean", "True Mean", "Error %"]], 2))
record(largest_mean_error_pct=by_service["Error %"].abs().max())

# %% [markdown]
# On one 2-core machine, pandas summarises a few million rows faster than Spark: they fit in
# memory, and Spark pays a fixed cost per job (planning, tasks, Python-JVM hand-offs) for
# parallelism that two cores barely offer. Spark's time grows more slowly with the rows, and
# it does not stop at the driver's memory: a claims table of a billion rows, on a cluster, is
# where Spark is the only one of the two that works. Run with `-p scale medium` or
# `-p claims_rows 20000000` to see the gap move.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 15 · A migration strategy
# **Replace or integrate?** Not every SAS program must move at once. Spark can *integrate*:
# read the SAS data sets (section 12), or let SAS read Spark's tables (through SAS/ACCESS to
# Spark or Hadoop), and run both side by side while outputs are compared. *Replace* a program
# once its translation prints SAS's figures.
#
# **Three steps**, from the quickest wins:
# 1. **New use cases** start on Spark: no legacy output to match, and they build the team's
#    skills and platform.
# 2. **Easy ports**: SQL-heavy programs (PROC SQL, simple DATA steps, MEANS/FREQ reports) move
#    almost as is; validate each by comparing its printed tables with SAS's, as this notebook does.
# 3. **Heavy ports**: macro-heavy programs, many-to-many MERGEs, statistical procedures without
#    a Spark twin (PROC MIXED, PHREG...) need a redesign, often with Python libraries on
#    aggregated data (statsmodels, lifelines) or per group (`applyInPandas`, workshop 04).

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Summary
# - A DATA step becomes DataFrame transformations: `withColumn`/`when` for new variables,
#   `where` for WHERE and subsetting IF, **windows** for RETAIN and BY groups with
#   `FIRST.`/`LAST.`, joins for MERGE (which differs for many-to-many BY groups).
# - SAS dates are days since 1960-01-01: `date_add` from there.
# - PROC SQL is mostly Spark SQL; PROC SORT NODUPKEY needs an explicit order; TRANSPOSE is
#   `pivot`/`unpivot`; EXPORT/IMPORT are writers and readers; DELETE and DATASETS are catalog
#   operations.
# - PROC MEANS, FREQ (with WEIGHT and chi-squared) and CORR (pairwise N, p-values) compute in
#   Spark and print SAS's own figures with `sparkcourse.sas`.
# - `.sas7bdat` and `.xpt` files reach Spark through pyreadstat and Parquet.
# - **Missing values** are where translations go wrong: SAS's `.` is smaller than every
#   number, Spark's null is not comparable, pandas puts NaN last; `DataFrame.stat.corr` and
#   vector-based MLlib statistics do not skip them as SAS does.
# - For a few million rows on a laptop pandas is faster; Spark is for data beyond one machine.
#
# Next: **09 · What kind of time-series problem do you have?**
