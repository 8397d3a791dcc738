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
# # 00 · Check your environment
# *Before class · about 10 minutes*
#
# **Topics:** versions, a first SparkSession, the Spark UI and JVM log, cluster reachability, plotting
#
# **Spark Connect:** yes. Pass `spark_master="sc://host:port"` to run it on a Connect server.
#
# Run this notebook once before the course (*Run → Run All Cells*). At the end it says **READY** or
# lists what to fix. You will:
# - see the versions of Python, Java, Spark and the libraries the course uses;
# - start a SparkSession and run a tiny job on it;
# - find the Spark UI and the JVM log, where Spark's own messages go;
# - check that a cluster master answers, if you have one;
# - solve a warm-up exercise, to see how exercises and their check cells work.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Parameters
# Every notebook starts with a cell like this one. Change a value and re-run, or pass it from the
# command line: `papermill 00_environment_check.ipynb out.ipynb -p cluster_master spark://host:7077`.

# %% tags=["parameters"]
scale: str = "small"  # data size: ci (tests), small (Binder), medium (laptop), large (cluster)
spark_master: str = "local[*]"  # where Spark runs: local[*], local[N] or spark://host:port
seed: int = 42  # random seed for data and models
work_dir: str = "work"  # the driver's folder for this notebook's files (Spark's log, local MLflow)
data_root: str = ""  # folder or URI that driver and executors see, for data Spark reads; empty: work_dir
cluster_master: str = ""  # a spark://host:port to test for reachability; empty skips the test

# %%
import os

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from pyspark.sql import functions as F

from sparkcourse import record, seconds, setup_notebook, spark_log_file
from sparkcourse.environment import (
    imported_versions,
    platform_summary,
    plots_display,
    readiness,
    version_table,
)
from sparkcourse.exercises.warmup import check_multiples_of_seven
from sparkcourse.params import check_master
from sparkcourse.spark import is_connect, master_reachable, spark_ui_url, task_slots

run = setup_notebook("00_environment_check", scale=scale, spark_master=spark_master,
                     seed=seed, work_dir=work_dir, data_root=data_root)
if cluster_master:
    check_master(cluster_master)
checks = {}  # what the final verdict is built from

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 1 · Python, Java and the libraries
# Spark 4 needs Java 17 or newer. The library versions should match the course's pins
# (`requirements.txt`); *differs* is worth a look, *missing* must be fixed.

# %%
print(" · ".join(platform_summary().values()))
versions = version_table()
checks["Java 17+ installed"] = platform_summary()["java"].startswith("Java")
checks["libraries installed at the pinned versions"] = (versions.status == "ok").all()
versions

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 2 · Start Spark
# `run.spark()` gives the notebook its SparkSession: local mode with every core of this machine by
# default, a cluster if `spark_master` names one, or the session that is already running (on
# Databricks or in the `pyspark` shell). The first start takes a few seconds: a JVM boots.

# %% tags=["nbval-ignore-output"]
start_seconds = seconds(run.spark)
spark = run.spark()
record(spark_start_seconds=start_seconds)

# %%
print(f"Spark {spark.version} on {spark.conf.get('spark.master')} with {task_slots(spark)} parallel tasks")
checks["Spark session started"] = True

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 3 · A tiny job
# Sum the numbers 0 … 999,999 on Spark, and count them by remainder modulo 3. Then run a
# **pandas UDF**: Python code that Spark ships to its workers in Arrow batches. If the workers ran
# another Python than this kernel's, this is the cell that would fail.

# %%
n = 1_000_000
numbers = spark.range(n)
total = numbers.agg(F.sum("id")).first()[0]
print(f"sum = {total:,} (expected {n * (n - 1) // 2:,})")
numbers.groupBy((F.col("id") % 3).alias("remainder")).count().orderBy("remainder").show()
checks["a Spark job gives the right answer"] = total == n * (n - 1) // 2


# %%
@F.pandas_udf("double")
def square_root(values: pd.Series) -> pd.Series:
    return np.sqrt(values)

roots = numbers.select(square_root("id").alias("root")).toPandas()
print(f"{len(roots):,} square roots computed on the workers; the largest is {roots.root.max():.3f}")
checks["Python workers run pandas UDFs"] = np.isclose(roots.root.max(), np.sqrt(n - 1))


# %% [markdown]
# Later workshops also run scikit-learn, MLflow, Hyperopt and PyTorch **on the executors**. A
# `mapInPandas` function runs there: let it import every course library, and compare the versions it
# finds with this kernel's.

# %%
def executor_versions(batches):  # runs in a Python worker on an executor
    yield imported_versions()  # package, version ("fails: ..." if it does not import)

on_executors = (spark.range(0, 1, 1, 1)  # one row in one partition: one task
                .mapInPandas(executor_versions, "package string, version string")
                .toPandas().set_index("package").version)
differ = versions.installed.fillna("missing") != on_executors.reindex(versions.index)
print("The executors import every course library at the driver's versions." if not differ.any()
      else f"Different on the executors: {on_executors[differ].to_dict()}")
checks["executors have the course's libraries"] = not differ.any()

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 4 · Where to look when something is slow or fails
# - The **Spark UI** shows jobs, stages, tasks and their timings while the session runs. In the
#   course's container and on Binder it opens through JupyterLab: add the path printed below to
#   JupyterLab's own address.
# - Spark's **JVM log** holds its own messages (start-up banner, warnings, errors). The course keeps
#   them out of your cells and writes them to the file below: open it from the file browser.

# %%
if is_connect(spark):  # a Spark Connect client has no SparkContext: Spark runs on the server
    print("Spark UI: on the Spark Connect server's machine (port 4040 there)")
else:
    print("Spark UI:", spark_ui_url(spark))
log = spark_log_file()
print("JVM log: ", os.path.relpath(log) if log else "(Spark runs elsewhere: see its server's logs)")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 5 · Is your cluster reachable?
# Set `cluster_master` to a standalone master URL (`spark://host:7077`) to check that it answers.
# To run any notebook on it, pass the same URL as `spark_master`.

# %%
if cluster_master:
    reachable = master_reachable(cluster_master)
    print(f"{cluster_master}:", "answers" if reachable else "does not answer: is the master running?")
    checks[f"cluster master {cluster_master} reachable"] = reachable
else:
    print("No cluster_master given: skipped.")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 6 · Plotting works

# %%
fig, ax = plt.subplots()
ax.hist(roots.root, bins=50)
ax.set(title="Square roots of 0 … 999,999", xlabel="root", ylabel="count")
plt.show()
checks["plots display"] = plots_display(fig)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 7 · Warm-up exercise: how exercises work
# Each exercise has a cell to fill in and a **check cell** below it. The check prints
# *correct*, a hint, or *not attempted yet*.
#
# **Exercise.** How many of the numbers in `spark.range(n)` are multiples of 7? Use Spark (`filter`,
# then `count`), and store the number in `multiples_of_seven`.

# %%
# BEGIN SOLUTION
# STUDENT: multiples_of_seven = None  # replace None with your Spark expression
multiples_of_seven = numbers.filter(F.col("id") % 7 == 0).count()
# END SOLUTION

# %%
check_multiples_of_seven(multiples_of_seven, n)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Verdict

# %%
for name, ok in checks.items():
    print(f"{'✔' if ok else '✘'} {name}")
print()
print(readiness(checks))

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Summary
# - The course's helper starts Spark for you: `run = setup_notebook(...)`, then `run.spark()`.
# - Spark's messages go to a log file, not into your cells; the Spark UI shows what jobs do.
# - Each notebook has a **parameters** cell: change `scale` or `spark_master` there or with papermill.
# - Exercises: fill in the cell, run the check below it.
#
# Next: **01 · Parallelise feature engineering**.
