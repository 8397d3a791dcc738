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
# # 07 · From experiment to production with MLflow
# *Tracking, registry, deployment and monitoring · about 85 minutes*
#
# **Topics:** MLflow tracking and autologging, signatures and input examples, datasets with their Delta version, the model registry with aliases, batch scoring with `spark_udf` and SQL, streaming scoring, a REST model server, embedded models, comparing before promoting, monitoring predictions against actual outcomes, input drift, retraining, shadow deployment
#
# **Spark Connect:** no: `spark_udf` ships the registered model to the executors with the SparkContext, which a Spark Connect client does not have. Run it in local mode or on a standalone cluster.
#
# Workshops 02 and 04 logged runs. This one takes a model all the way: **which model to deploy,
# how it was made, how to hand it over, batch or real time, who approved it, and when to
# retrain.** The example is the churn model of workshop 03: a mobile operator scores its new
# customers every week and offers the riskiest a deal.
#
# By the end you will be able to:
# - **track** a training run: parameters, metrics, a plot, the model with its **signature** and
#   an **input example**, and the exact **table version** it trained on;
# - **register** models, move the **`champion` and `challenger` aliases**, and keep a record of
#   who promoted what and why;
# - **deploy** the same registered model four ways, each run here for real: **batch** in Spark
#   (and from SQL), **streaming**, a **REST server**, and **embedded** in a Python process, and
#   say which fits where;
# - **compare** two models on the same held-out rows with a rule, not by eye;
# - **monitor** predictions against outcomes that arrive weeks later, watch the **inputs drift**,
#   find the week the world changed, **retrain**, run the new model in the **shadow**, and promote it.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Parameters
# `drift_week` is the week (of 12) from which the world changes in the generator: the lesson's
# monitoring must find it. `serve_port` is the REST server's port (0 picks a free one).
# `tracking_uri` names an MLflow server to use; empty, a fresh local store in the working folder
# (or, on a cluster, a server on the driver). A configured one (Databricks,
# `MLFLOW_TRACKING_URI`) is used as it is.

# %% tags=["parameters"]
scale: str = "small"  # data size: ci (tests), small (Binder), medium (laptop), large (cluster)
spark_master: str = "local[*]"  # where Spark runs: local[*], local[N] or spark://host:port
seed: int = 42  # random seed for the data and the models
work_dir: str = "work"  # the driver's folder for this notebook's files (Spark's log, local MLflow)
data_root: str = ""  # folder or URI that driver and executors see, for data Spark reads; empty: work_dir
repeats: int = 0  # timed runs of each way in a comparison; 0 takes the scale's (3 at small)
tracking_uri: str = ""  # MLflow; empty: a local store, or on a cluster a server on the driver
drift_week: int = 8  # the week (2 to 9) from which customers and the market change
serve_port: int = 0  # the REST model server's port on 127.0.0.1; 0 picks a free one

# %%
import importlib.metadata
import json

import matplotlib.pyplot as plt
import mlflow
import numpy as np
import pandas as pd
from mlflow import MlflowClient
from mlflow.models import infer_signature
from pyspark.sql import functions as F
from sklearn.compose import make_column_transformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import ConfusionMatrixDisplay, log_loss, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from sparkcourse import check_choice, check_int, interleaved_seconds, record, setup_notebook
from sparkcourse.data.churn import CATEGORICAL, LABEL, NUMERIC, churn_frame, with_complaint_rate
from sparkcourse.data.churn_weeks import WEEKS, actuals, churn_weeks
from sparkcourse.exercises.production import (
    check_champion_scores,
    check_promotion,
    check_weekly_actual_rate,
)
from sparkcourse.monitoring import (
    PSI_LIMIT,
    Z_LIMIT,
    calibration_z,
    first_alarm,
    promotion_decision,
    psi_by_week,
)
from sparkcourse.serving import call_latencies, invoke, latency_summary, model_server
from sparkcourse.storage import fresh
from sparkcourse.tracking import mlflow_ui, start_tracking

run = setup_notebook("07_mlflow_to_production", scale=scale, spark_master=spark_master, seed=seed,
                     work_dir=work_dir, data_root=data_root, repeats=repeats,
                     classic_api="the SparkContext that spark_udf ships the model with")
drift_week = check_choice("drift_week", drift_week, tuple(range(2, WEEKS - 2)))
serve_port = check_int("serve_port", serve_port, minimum=0, maximum=65535)
tracking = start_tracking(run, "07_mlflow_to_production", tracking_uri)
spark = run.spark(packages=("delta",))
customers_per_week = run.scale.subscribers // 8
print(f"{run.scale.subscribers:,} customers to train on, then {customers_per_week:,} new ones a "
      f"week for {WEEKS} weeks; the world changes in week {drift_week}")
print(tracking.where)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 1 · Tracking: what a run must record
# A model in production raises questions months later: which data, which code, which settings,
# how good was it? A **run** answers them if it records:
# - **parameters** and **metrics**; autologging records the estimator's parameters and training
#   metrics by itself (`mlflow.sklearn.autolog`, `mlflow.pyspark.ml.autolog`);
# - **artifacts**: here a confusion matrix;
# - the **model**, with a **signature** (the input columns and types, the output) and an
#   **input example**, so that whoever deploys it knows what to send;
# - the **dataset**, with the **version** of the table it was read from (`mlflow.log_input`).
#
# The training data live in a Delta table (workshop 06): every write makes a new version, and an
# old version can be read back exactly. Two months of customers make two versions:

# %%
customers_path = fresh(run.path("customers"))
history = churn_frame(run.scale.subscribers, run.seed)
history = history.drop(columns="true_probability")
half = len(history) // 2
spark.createDataFrame(history.iloc[:half]).write.format("delta").mode("overwrite").save(customers_path)
spark.createDataFrame(history.iloc[half:]).write.format("delta").mode("append").save(customers_path)
table_version = spark.sql(f"DESCRIBE HISTORY delta.`{customers_path}`").agg(F.max("version")).first()[0]
training_table = spark.read.format("delta").option("versionAsOf", table_version).load(customers_path)
customers = training_table.toPandas()
print(f"Delta table of {len(customers):,} customers at version {table_version}; "
      f"{customers[LABEL].mean():.1%} churned")

# %% [markdown]
# The models take the same inputs: the raw columns, with whole numbers as floats (a model's
# signature then allows a missing value in any column). Two candidates: a **baseline** logistic
# regression, and gradient-boosted trees that also get the **complaint rate** (support calls per
# year of tenure), which drives churn. The complaint rate is the pipeline's first step, so that
# whoever calls the model sends the raw columns. One function trains a candidate and records
# everything. MLflow 3 saves scikit-learn models with **skops**, which, unlike pickle, loads only
# the types it is told to trust: beyond scikit-learn's usual ones, the complaint-rate step and the
# boosted trees' predictor. The model's pip requirements are given, pinned; left out, MLflow infers
# them by loading the model in a fresh process, which takes seconds for every model logged.

# %%
FEATURES = [*CATEGORICAL, *NUMERIC]


def model_inputs(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[FEATURES].astype({column: "float64" for column in NUMERIC})


TRUSTED_TYPES = ["sparkcourse.data.churn.with_complaint_rate",
                 "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor"]
REQUIREMENTS = [f"{name}=={importlib.metadata.version(name)}" for name in ("mlflow", "scikit-learn", "skops")]


def candidate(kind: str):
    encode = make_column_transformer((OneHotEncoder(handle_unknown="ignore"), CATEGORICAL),
                                     remainder=StandardScaler())
    if kind == "baseline":
        return make_pipeline(encode, LogisticRegression(max_iter=1000))
    return make_pipeline(FunctionTransformer(with_complaint_rate), encode,
                         HistGradientBoostingClassifier(max_iter=100, random_state=run.seed))


def held_out_metrics(model, rows: pd.DataFrame) -> dict:
    probability = model.predict_proba(model_inputs(rows))[:, 1]
    return {"auc": roc_auc_score(rows[LABEL], probability),
            "log_loss": log_loss(rows[LABEL], probability),
            "accuracy": float(((probability > 0.5) == rows[LABEL]).mean())}


def train_and_log(kind: str, train: pd.DataFrame, test: pd.DataFrame, dataset):
    """Fit a candidate on `train`, log it with its metrics on `test`; return the logged model."""
    with mlflow.start_run(run_name=kind, experiment_id=tracking.experiment_id):
        mlflow.log_input(dataset, context="training")
        model = candidate(kind).fit(model_inputs(train), train[LABEL])
        mlflow.log_metrics({f"test_{name}": value for name, value in held_out_metrics(model, test).items()})
        figure, axis = plt.subplots(figsize=(3.5, 3))
        ConfusionMatrixDisplay.from_estimator(model, model_inputs(test), test[LABEL], ax=axis,
                                              colorbar=False)
        mlflow.log_figure(figure, "confusion_matrix.png")
        plt.close(figure)
        example = model_inputs(train.head(3))
        signature = infer_signature(example, model.predict_proba(example))
        return mlflow.sklearn.log_model(model, name="model", signature=signature, input_example=example,
                                        pyfunc_predict_fn="predict_proba",  # serve probabilities
                                        skops_trusted_types=TRUSTED_TYPES, pip_requirements=REQUIREMENTS)


# %% [markdown]
# Autologging fills in each estimator's parameters and training metrics. Its own copy of the
# model and of the training data is turned off: `train_and_log` logs the model with a signature
# that says it returns probabilities, and the dataset with its Delta version.

# %%
mlflow.sklearn.autolog(log_models=False, log_datasets=False, log_post_training_metrics=False,
                       silent=True)
dataset = mlflow.data.from_spark(training_table, path=customers_path, version=str(table_version),
                                 name="customers")
train, test = customers[~customers.is_test], customers[customers.is_test]
logged = {kind: train_and_log(kind, train, test, dataset) for kind in ("baseline", "complaints")}
runs = mlflow.search_runs([tracking.experiment_id], order_by=["start_time ASC"])
columns = ["tags.mlflow.runName", "metrics.test_auc", "metrics.test_log_loss", "metrics.test_accuracy",
           "params.logisticregression__C", "params.histgradientboostingclassifier__max_iter"]
print(runs[columns].set_index("tags.mlflow.runName").round(4).T.to_string())

# %% [markdown]
# What a run recorded, read back from the tracking store: its inputs (the table and its version),
# its artifacts, and the model's signature:

# %%
recorded = mlflow.get_run(logged["complaints"].run_id)
source = recorded.inputs.dataset_inputs[0].dataset
print(f"dataset: {source.name}, a {source.source_type} source, "
      f"version {json.loads(source.source).get('delta_table_version')}")
print("artifacts:", sorted(a.path for a in MlflowClient().list_artifacts(recorded.info.run_id)))
print(logged["complaints"].signature)

# %% [markdown]
# The same runs in MLflow's UI: compare them side by side, open their artifacts, plot a metric
# across runs. `mlflow_ui` gives its address; for a local store it starts the UI on this
# machine, and behind JupyterLab (Binder, the course image) the address goes through JupyterLab's
# proxy, so the link opens in the browser you are reading this in:

# %% tags=["nbval-ignore-output"]
# Varies from run to run: the UI's port
print("MLflow's UI for these runs:", mlflow_ui(tracking))

# %% [markdown]
# `mlflow.pyspark.ml.autolog` does the same for Spark's own estimators: a Spark ML fit becomes a
# run with its parameters (here a quick logistic regression on the same table, its model not
# logged):

# %%
from pyspark.ml import Pipeline
from pyspark.ml.classification import LogisticRegression as SparkLogistic
from pyspark.ml.feature import OneHotEncoder as SparkOneHot
from pyspark.ml.feature import StringIndexer, VectorAssembler

mlflow.pyspark.ml.autolog(log_models=False, log_datasets=False, silent=True)
indexed = [f"{c}_index" for c in CATEGORICAL]
spark_pipeline = Pipeline(stages=[
    StringIndexer(inputCols=CATEGORICAL, outputCols=indexed),
    SparkOneHot(inputCols=indexed, outputCols=[f"{c}_onehot" for c in CATEGORICAL]),
    VectorAssembler(inputCols=[*NUMERIC, *[f"{c}_onehot" for c in CATEGORICAL]], outputCol="features"),
    SparkLogistic(labelCol=LABEL, maxIter=20)])
with mlflow.start_run(run_name="spark baseline", experiment_id=tracking.experiment_id) as spark_run:
    spark_pipeline.fit(training_table.filter(~F.col("is_test")))
mlflow.pyspark.ml.autolog(disable=True)
spark_params = mlflow.get_run(spark_run.info.run_id).data.params
print(f"{len(spark_params)} parameters logged, for example "
      f"maxIter={spark_params.get('LogisticRegression.maxIter')}, "
      f"regParam={spark_params.get('LogisticRegression.regParam')}")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 2 · The model registry: versions, aliases, and who approved what
# A run's model is an artifact; a **registered model** is a name with numbered **versions**, each
# pointing at a run's model. **Aliases** name the versions that play a role: `champion` serves,
# `challenger` waits for its chance. Consumers load `models:/churn_model@champion` and never
# change their code: promotion is moving an alias. MLflow keeps no history of alias moves, so
# record who moved it and why, as tags on the version.

# %%
MODEL = "churn_model"
client = MlflowClient()


def register(model) -> str:
    """A new version of MODEL, from a logged model; returns its number."""
    return client.create_model_version(MODEL, model.model_uri, run_id=model.run_id,
                                       model_id=model.model_id).version


def move_alias(alias: str, version: str, who: str, why: str) -> None:
    """Point `alias` at `version`, recording who moved it and why on the version."""
    client.set_registered_model_alias(MODEL, alias, version)
    for key, value in {"by": who, "why": why}.items():
        client.set_model_version_tag(MODEL, version, f"{alias}.{key}", value)


client.create_registered_model(MODEL, description="Probability that a new customer cancels within a month.")
baseline = register(logged["baseline"])
move_alias("champion", baseline, "course notebook", "first model: the baseline")
challenger = register(logged["complaints"])
move_alias("challenger", challenger, "course notebook", "adds the complaint rate")
print(f"{MODEL}: champion is version {client.get_model_version_by_alias(MODEL, 'champion').version}, "
      f"challenger version {client.get_model_version_by_alias(MODEL, 'challenger').version}")

# %% [markdown]
# **Compare before promoting.** Both versions score the same held-out customers (`is_test`), and
# a rule decides: the challenger must lower the log loss (the quality of its probabilities, which
# the retention offers rely on) by more than a set margin, without a lower AUC. The rule is code,
# so that the decision can be repeated and audited:

# %%
MIN_GAIN = 0.002  # log loss the challenger must gain to be worth a change


def registered_metrics(alias: str, rows: pd.DataFrame) -> dict:
    model = mlflow.sklearn.load_model(f"models:/{MODEL}@{alias}")
    return held_out_metrics(model, rows)


on_test = {alias: registered_metrics(alias, test) for alias in ("champion", "challenger")}
decision = promotion_decision(on_test["champion"], on_test["challenger"], min_gain=MIN_GAIN)
if decision.promote:
    move_alias("champion", challenger, "course notebook", "better on the held-out customers")
    client.delete_registered_model_alias(MODEL, "challenger")
print(pd.DataFrame(on_test).round(4).to_string())
print(decision.reason)


# %%
def registry_history() -> pd.DataFrame:
    """Every alias a version was given, by whom and why, and whether it still holds it."""
    rows, holders = [], client.get_registered_model(MODEL).aliases  # alias -> version
    for version in sorted(client.search_model_versions(f"name='{MODEL}'"), key=lambda v: int(v.version)):
        for alias in ("challenger", "champion"):
            if f"{alias}.by" in version.tags:
                rows.append({"version": version.version, "run": mlflow.get_run(version.run_id).info.run_name,
                             "alias": alias, "by": version.tags[f"{alias}.by"],
                             "why": version.tags[f"{alias}.why"],
                             "holds it now": holders.get(alias) == version.version})
    return pd.DataFrame(rows)


print(registry_history().to_string(index=False))

# %% [markdown]
# **On Databricks with Unity Catalog** the registry lives in the catalog: a model's name has
# three levels (`catalog.schema.churn_model`, after `mlflow.set_registry_uri("databricks-uc")`),
# permissions are the catalog's grants, aliases work as here, and the older *stages*
# (Staging, Production) are gone, replaced by aliases as in this notebook.
#
# ### Exercise 1 · Score a table with the champion
# Load the model the `champion` alias points at as a Spark UDF
# (`mlflow.pyfunc.spark_udf(spark, "models:/churn_model@champion", result_type="array<double>",
# env_manager="local")`), and score `new_customers`: a Spark DataFrame `champion_scores` with
# `customer_id` and `churn_probability`, the probability of churning (the second of the two
# class probabilities that `predict_proba` returns; `F.element_at(..., 2)`). Pass the model's
# inputs as `F.struct(*FEATURES)`.

# %%
new_customers = spark.createDataFrame(model_inputs(test).assign(customer_id=test.customer_id))
embedded_champion = mlflow.pyfunc.load_model(f"models:/{MODEL}@champion")
expected_scores = pd.DataFrame({"customer_id": test.customer_id.to_numpy(),
                                "churn_probability": embedded_champion.predict(model_inputs(test))[:, 1]})

# %%
# BEGIN SOLUTION
# STUDENT: champion_scores = None  # customer_id, churn_probability
champion_udf = mlflow.pyfunc.spark_udf(spark, f"models:/{MODEL}@champion", result_type="array<double>",
                                       env_manager="local")
champion_scores = new_customers.select(
    "customer_id", F.element_at(champion_udf(F.struct(*FEATURES)), 2).alias("churn_probability"))
# END SOLUTION

# %%
check_champion_scores(champion_scores, expected_scores)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 3 · Four ways to deploy the same model
# ### Batch: a Spark UDF, and SQL
# `spark_udf` copies the model to every executor once and scores partitions in Arrow batches:
# the way to score millions of rows a night. Registered as a SQL function, analysts call it from
# SQL:

# %%
scoring_udf = mlflow.pyfunc.spark_udf(spark, f"models:/{MODEL}@champion", result_type="array<double>",
                                      env_manager="local")
spark.udf.register("churn_model", scoring_udf)
new_customers.createOrReplaceTempView("new_customers")
at_risk = spark.sql(f"""
    SELECT customer_id, round(element_at(churn_model({", ".join(FEATURES)}), 2), 3) AS churn_probability
    FROM new_customers
    ORDER BY churn_probability DESC, customer_id
    LIMIT 5""")
at_risk.show()

# %% [markdown]
# ### Streaming: the same UDF on data as it arrives
# New customers arrive as files, one per sign-up batch. A Structured Streaming query scores each
# file once, appends the scores to a Delta table, and remembers in its **checkpoint** which files
# it has done, so a restart neither skips nor repeats one. `availableNow` processes what is there
# and stops, the way a scheduled job runs a stream:

# %%
inbox, scored_path = fresh(run.path("inbox")), fresh(run.path("scored_stream"))
checkpoint = fresh(run.path("checkpoints", "scored_stream"))
arriving = model_inputs(test).assign(customer_id=test.customer_id)
arrivals = [arriving.iloc[part::4] for part in range(4)]
for rows in arrivals:
    spark.createDataFrame(rows).coalesce(1).write.mode("append").parquet(inbox)
stream = (spark.readStream.schema(new_customers.schema).option("maxFilesPerTrigger", 1).parquet(inbox)
          .select("customer_id", F.element_at(scoring_udf(F.struct(*FEATURES)), 2).alias("churn_probability"),
                  F.current_timestamp().alias("scored_at"))
          .writeStream.format("delta").option("checkpointLocation", checkpoint)
          .trigger(availableNow=True).start(scored_path))
stream.awaitTermination(timeout=300)
streamed = spark.read.format("delta").load(scored_path).count()
arrived = sum(len(rows) for rows in arrivals)
print(f"{arrived:,} customers arrived in {len(arrivals)} files; {streamed:,} scored in "
      f"{len(stream.recentProgress)} micro-batches; every one scored once: {streamed == arrived}")

# %% [markdown]
# ### Real time: a REST server
# `mlflow models serve` puts the registered model behind HTTP: a client posts rows as JSON to
# `/invocations` and gets predictions back. The server runs in this environment (`--env-manager
# local`), on 127.0.0.1, and stops at the end of the cell. Its latency is measured over 200
# requests of one customer each:

# %% tags=["nbval-ignore-output"]
# Varies from run to run: latencies
server = model_server(f"models:/{MODEL}@champion", run.local_path("model-server.log"), port=serve_port)
with server:
    one_row = model_inputs(test.head(3))
    served = np.array(invoke(server.url, one_row))[:, 1]
    rest = latency_summary(call_latencies(lambda one: invoke(server.url, one), model_inputs(test), calls=200))
same = np.allclose(served, embedded_champion.predict(one_row)[:, 1])
print(f"REST: median {rest['median_ms']:.1f} ms, 95th percentile {rest['p95_ms']:.1f} ms over "
      f"{rest['calls']} requests; same probabilities as in-process: {same}; server stopped: "
      f"{not server.running()}")

# %% [markdown]
# ### Embedded: the model inside your service
# `mlflow.pyfunc.load_model` loads the same model into any Python process; a web service then
# calls `predict` directly, with no network hop. Its latency, measured as the server's was, and
# the throughput of embedded and batch scoring on the same rows:

# %% tags=["nbval-ignore-output"]
# Varies from run to run: timings
embedded = latency_summary(call_latencies(embedded_champion.predict, model_inputs(test), calls=200))
timings = interleaved_seconds({
    "embedded, all new customers": lambda: embedded_champion.predict(model_inputs(test)),
    "Spark batch, all new customers": lambda: new_customers.select(
        F.element_at(scoring_udf(F.struct(*FEATURES)), 2).alias("p")).agg(F.sum("p")).collect(),
}, repeat=run.scale.repeats)
print(f"embedded: median {embedded['median_ms']:.1f} ms, 95th percentile {embedded['p95_ms']:.1f} ms "
      f"for one customer; {len(test) / timings['embedded, all new customers']:,.0f} customers/s in one call")
print(f"Spark batch: {len(test) / timings['Spark batch, all new customers']:,.0f} customers/s "
      f"({timings['Spark batch, all new customers']:.2f} s for {len(test):,}, a job's fixed cost included)")
record(rest_median_ms=rest["median_ms"], rest_p95_ms=rest["p95_ms"],
       embedded_median_ms=embedded["median_ms"])

# %% [markdown]
# On this laptop, at a few thousand rows, one in-process call scores faster than Spark's batch
# job, which pays a job's fixed cost (the two lines above). Spark's throughput grows with the data
# and the cores; one process's does not.
#
# | | latency | throughput | deployment cycle | cost |
# |---|---|---|---|---|
# | **Batch** (`spark_udf`, SQL) | minutes to hours: scores wait for the next run | the highest at scale: every core of the cluster, Arrow batches | the model's own: a new alias is picked up by the next run | a cluster while the job runs |
# | **Streaming** | seconds: each micro-batch | high, continuous | the model's own; restart the query to load a new version | a cluster all the time |
# | **REST server** | milliseconds, plus the network | one request at a time per worker | the model's own: restart the server on the new alias | a server all the time, even when idle |
# | **Embedded** | the lowest: no network | one process's | **the service's**: a new model ships only with a new release of the service | none beyond the service |
#
# Choose by when the decision is needed: tomorrow's offers (batch), a live dashboard (streaming),
# a check-out page (REST or embedded). Embedding looks cheapest, but it ties the model's release
# cycle to the service's: retraining then means a software release, with its tests and its
# calendar, which is why teams that retrain often put the model behind its own endpoint.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 4 · Monitoring: predictions against what actually happened
# In production the champion scores each week's new customers. Whether they churn is known only
# a month later. Monitoring therefore joins two tables written at different times: the
# **predictions** (customer, week, when scored, probability, model version) and the **actual
# outcomes**. The generator makes 12 weeks of new customers; from `drift_week` on, the customers
# use more data (a new phone generation) and a rival's unlimited plan tempts heavy data users.
# The model knows neither.

# %%
weeks = churn_weeks(customers_per_week, WEEKS, drift_week, run.seed)
week_rows = spark.createDataFrame(weeks[["customer_id", "week", "scored_at", *FEATURES]]
                                  .astype({column: "float64" for column in NUMERIC}))
champion_version = client.get_model_version_by_alias(MODEL, "champion").version
predictions_path = fresh(run.path("predictions"))
(week_rows.select("customer_id", "week", "scored_at",
                  F.element_at(scoring_udf(F.struct(*FEATURES)), 2).alias("probability"),
                  F.lit(champion_version).alias("model_version"))
 .write.format("delta").mode("overwrite").save(predictions_path))
outcomes = spark.createDataFrame(actuals(weeks))
predictions = spark.read.format("delta").load(predictions_path)
print(f"{predictions.count():,} predictions logged over {WEEKS} weeks; "
      f"{outcomes.count():,} outcomes, each known 30 days after its prediction")

# %% [markdown]
# ### Exercise 2 · The monitoring join, for one metric
# Join `predictions` to `outcomes` on `customer_id` and compute, per `week`, the share of the
# week's customers who churned: a Spark DataFrame `weekly_actual` with columns `week` and
# `actual_rate`.

# %%
# BEGIN SOLUTION
# STUDENT: weekly_actual = None  # week, actual_rate
weekly_actual = (predictions.join(outcomes, "customer_id")
                 .groupBy("week").agg(F.avg(LABEL).alias("actual_rate")))
# END SOLUTION

# %%
check_weekly_actual_rate(weekly_actual, predictions.toPandas(), outcomes.toPandas())

# %% [markdown]
# The full weekly report: how many customers, the churn rate the model predicted and the one
# that happened, accuracy, log loss, and when the week's outcomes were all in. A calibrated
# model's predicted rate stays within a few standard errors of the actual one:

# %%
p, y = F.col("probability"), F.col(LABEL)
weekly = (predictions.join(outcomes, "customer_id").groupBy("week").agg(
    F.count("*").alias("customers"),
    F.avg(p).alias("predicted_rate"),
    F.avg(y).alias("actual_rate"),
    F.avg(((p > 0.5).cast("int") == y).cast("double")).alias("accuracy"),
    F.avg(-(y * F.log(p) + (1 - y) * F.log(1 - p))).alias("log_loss"),
    F.max("outcome_known_at").alias("known_on"),
).orderBy("week").toPandas().set_index("week"))
weekly["calibration_z"] = calibration_z(weekly)
print(weekly.assign(known_on=weekly.known_on.dt.date).round(3).to_string())

# %% [markdown]
# The **inputs** need no outcome: their distribution can be compared with the training data's
# the day they arrive. The **population stability index** (PSI) compares the shares of rows in
# the training data's deciles; above 0.25 it is read as a significant shift:

# %%
drift = psi_by_week(week_rows, model_inputs(train), ["data_gb", "support_calls", "tenure_months", "age"])
input_alarm = first_alarm(drift.max(axis=1), PSI_LIMIT)
outcome_alarm = first_alarm(weekly.calibration_z, Z_LIMIT)
print(drift.round(3).T.to_string())
for what, week, known in (("inputs (PSI)", input_alarm, "scored_at"),
                          ("outcomes (calibration)", outcome_alarm, "outcome_known_at")):
    when = weeks.loc[weeks.week == week, known].max().date() if week is not None else "never"
    print(f"alarm on the {what}: week {week}, raised on {when}")
print(f"the generator's truth: week {drift_week}")
record(input_alarm_week=input_alarm, outcome_alarm_week=outcome_alarm, drift_week=drift_week)

# %%
figure, (left, right) = plt.subplots(1, 2, figsize=(10, 3.2))
left.plot(weekly.index, weekly.predicted_rate, marker="o", label="predicted")
left.plot(weekly.index, weekly.actual_rate, marker="o", label="actual")
left.set(xlabel="week", ylabel="churn rate", title="Predicted against actual churn")
drift.plot(ax=right, marker=".")
right.axhline(PSI_LIMIT, color="grey", ls="--", lw=1)
right.set(xlabel="week", ylabel="PSI against training", title="Input drift")
for axis in (left, right):
    axis.axvline(drift_week - 0.5, color="red", lw=1, ls=":")
    axis.legend(fontsize=8)
plt.tight_layout()
plt.show()

# %% [markdown]
# Both signals jump where the generator changed the world: the lines above set each alarm
# against its truth. The input alarm could be raised the day that week was scored; the outcome
# alarm only once its outcomes were in, a month later. Input drift says *something changed*; only outcomes say *the model got worse*.
#
# ## 5 · Retrain, shadow, promote
# The rule: retrain once the outcomes confirm the alarm. The new candidate trains on the weeks
# from the alarm's week on, which the monitoring found (not the generator's truth), and is tested
# on the latest week, which it has not seen. It enters the registry as the challenger:

# %%
since = next(week for week in (outcome_alarm, input_alarm, WEEKS - 4) if week is not None)
recent = weeks[(weeks.week >= since) & (weeks.week < WEEKS - 1)]
latest = weeks[weeks.week == WEEKS - 1]
retrain_data = mlflow.data.from_pandas(model_inputs(recent).assign(churned=recent[LABEL]),
                                       name=f"weeks {since}-{WEEKS - 2}")
logged["retrained"] = train_and_log("complaints", recent, latest, retrain_data)
retrained = register(logged["retrained"])
move_alias("challenger", retrained, "course notebook", "retrained after the drift alarm")
print(f"version {retrained} is the challenger, trained on {len(recent):,} customers of weeks "
      f"{since} to {WEEKS - 2}")

# %% [markdown]
# **Shadow deployment.** Before it serves anyone, the challenger scores the same traffic as the
# champion: its scores are logged, not used. The operator offers a deal to the 20% riskiest
# customers; how often would the two models choose differently, and which is right more often?

# %%
shadow_udf = mlflow.pyfunc.spark_udf(spark, f"models:/{MODEL}@challenger", result_type="array<double>",
                                     env_manager="local")
latest_rows = week_rows.filter(F.col("week") == WEEKS - 1)
both = (latest_rows.select(
    "customer_id",
    F.element_at(scoring_udf(F.struct(*FEATURES)), 2).alias("champion"),
    F.element_at(shadow_udf(F.struct(*FEATURES)), 2).alias("challenger"))
    .join(outcomes, "customer_id").toPandas())
offered = {model: both[model] >= both[model].quantile(0.8) for model in ("champion", "challenger")}
disagreement = float((offered["champion"] != offered["challenger"]).mean())
shadow = pd.DataFrame({model: {"auc": roc_auc_score(both[LABEL], both[model]),
                               "log_loss": log_loss(both[LABEL], both[model]),
                               "churners among offers": both[LABEL][offered[model]].mean()}
                       for model in ("champion", "challenger")})
print(f"week {WEEKS - 1}, {len(both):,} customers: the two models disagree on {disagreement:.1%} "
      f"of the offers")
print(shadow.round(4).to_string())

# %% [markdown]
# ### Exercise 3 · Decide the promotion
# With the shadow's metrics (`shadow["champion"]`, `shadow["challenger"]`, each with `auc` and
# `log_loss`), apply the team's rule: promote when the challenger's log loss is lower than the
# champion's by more than `MIN_GAIN`, and its AUC is not lower. Set `promote` to True or False.

# %%
# BEGIN SOLUTION
# STUDENT: promote = None  # True or False
gain = shadow["champion"]["log_loss"] - shadow["challenger"]["log_loss"]
promote = bool(gain > MIN_GAIN and shadow["challenger"]["auc"] >= shadow["champion"]["auc"])
# END SOLUTION

# %%
check_promotion(promote, shadow["champion"].to_dict(), shadow["challenger"].to_dict(), MIN_GAIN)

# %% [markdown]
# The same rule, as the course's tested helper, moves the alias; the registry keeps the record:

# %%
final = promotion_decision(shadow["champion"].to_dict(), shadow["challenger"].to_dict(), min_gain=MIN_GAIN)
if final.promote:
    move_alias("champion", retrained, "course notebook", "better in the shadow, after the drift")
    client.delete_registered_model_alias(MODEL, "challenger")
print(final.reason)
print(registry_history().to_string(index=False))
record(versions=len(client.search_model_versions(f"name='{MODEL}'")), promoted=final.promote,
       disagreement=disagreement,
       shadow_log_loss_gain=shadow["champion"]["log_loss"] - shadow["challenger"]["log_loss"])

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Summary
# - A **run** records parameters, metrics, artifacts, the model with its **signature** and
#   **input example**, and the **dataset with its Delta version**: enough to answer "how was this
#   model made?" months later. Autologging fills in the estimator's side.
# - The **registry** gives models versions; **aliases** (`champion`, `challenger`) name the roles,
#   and consumers load `models:/name@alias`. Promotion is an alias move, decided by a **rule** on
#   held-out metrics and recorded with who and why.
# - One registered model, four deployments: **batch** (`spark_udf`, SQL), **streaming** (the same
#   UDF, a checkpoint), **REST** (`mlflow models serve`), **embedded** (`pyfunc.load_model`). They
#   differ in latency, throughput, cost, and whose release cycle the model follows.
# - **Monitoring** joins predictions to outcomes that arrive weeks later; **input drift** (PSI)
#   shows a change at once, **calibration** confirms that the model suffers.
# - **Retrain**, run the challenger in the **shadow**, and promote it by the same rule.
#
# Next: **08 · From SAS to PySpark**.
