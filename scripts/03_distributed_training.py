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
# # 03 · Parallelise the training of one model
# *Strategy 3 of 4 · about 75 minutes*
#
# **Topics:** data and model parallelism, an MLlib `Pipeline` end to end, MLlib against scikit-learn, jobs, partitions and caching, barrier execution (Project Hydrogen), PyTorch DDP with `TorchDistributor`, Horovod
#
# **Spark Connect:** no: it reads partitions and jobs from the SparkContext and trains in barrier stages, which Spark Connect does not offer. Run it in local mode or on a standalone cluster.
#
# Sometimes one model must see more data than one machine holds, or one training takes too long
# on one machine. **Then the training itself is spread over the cluster: every worker trains on
# its part of the data, and the workers combine what they learn.**
#
# | Strategy | Spark does | The model trains on | Workshop |
# |---|---|---|---|
# | 1 · Feature engineering | joins, windows, aggregations | one machine (pandas, sklearn) | 01 |
# | 2 · Parallel tuning | many trials at once | one machine per trial | 02 |
# | **3 · Distributed training** | **one model on all the data** | **the cluster** | **03** |
# | 4 · Many models | one model per group | one machine per group | 04 |
#
# By the end you will be able to:
# - tell **data parallelism** from **model parallelism**, and say what changes when an algorithm
#   is distributed;
# - build, evaluate, save and reload an **MLlib `Pipeline`** (indexing, one-hot encoding,
#   assembling, scaling, a classifier) and compare it with **scikit-learn** on the same split;
# - explain where a Spark fit spends its time: **jobs, partitions, caching**, and measure the
#   speed-up from more cores;
# - describe **barrier execution** (load, gang, sink) and train a PyTorch network with **DDP**
#   under **`TorchDistributor`**, on the driver and on executors;
# - choose between **MLlib, TorchDistributor, Horovod and a single machine**.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Parameters
# `rows` subscribers are generated (0 takes the scale's default: 20,000 *small*, 200,000
# *medium*, 2,000,000 *large*). `num_processes` is the number of training processes for deep
# learning, `epochs` the passes over the data. `use_horovod` also trains with Horovod, which is
# not installed by default: `make horovod` builds it once (about 6 minutes).

# %% tags=["parameters"]
scale: str = "small"  # data size: ci (tests), small (Binder), medium (laptop), large (cluster)
spark_master: str = "local[*]"  # where Spark runs: local[*], local[N] or spark://host:port
seed: int = 42  # random seed for data, splits and models
work_dir: str = "work"  # the driver's folder for this notebook's files (Spark's log, local MLflow)
data_root: str = ""  # folder or URI that driver and executors see, for data Spark reads; empty: work_dir
repeats: int = 0  # timed runs of each way in a comparison; 0 takes the scale's (3 at small)
rows: int = 0  # subscribers to generate; 0 takes the scale's default
num_processes: int = 2  # training processes for distributed deep learning
epochs: int = 5  # passes over the training data for the neural network
use_horovod: bool = False  # also train with Horovod (build it once with `make horovod`)

# %%
import re
from functools import partial

import matplotlib.pyplot as plt
import pandas as pd
from pyspark.ml import Pipeline, PipelineModel
from pyspark.ml.classification import LogisticRegression, RandomForestClassifier
from pyspark.ml.evaluation import BinaryClassificationEvaluator
from pyspark.ml.feature import OneHotEncoder, StandardScaler, StringIndexer, VectorAssembler
from pyspark.ml.functions import vector_to_array
from pyspark.ml.torch.distributor import TorchDistributor

from sparkcourse import (
    check_choice,
    check_int,
    compare,
    interleaved_seconds,
    record,
    seconds,
    setup_notebook,
    verdict,
)
from sparkcourse.data.churn import CATEGORICAL, LABEL, NUMERIC, best_auc, churn_frame
from sparkcourse.deep import (
    FAIL_FAST_BARRIER,
    QUIET_EXECUTORS,
    horovod_status,
    load_shard,
    plot_barrier_phases,
    quiet_distributed_training,
    skip_interpreter_teardown,
    write_shards,
)
from sparkcourse.exercises.training import check_choices, check_feature_stage, check_shared_auc
from sparkcourse.storage import write_parquet

run = setup_notebook("03_distributed_training", scale=scale, spark_master=spark_master,
                     seed=seed, work_dir=work_dir, data_root=data_root, repeats=repeats,
                     classic_api="RDD partitions, job groups, barrier stages")
rows = check_int("rows", rows) or run.scale.subscribers
num_processes = check_int("num_processes", num_processes, minimum=1)
epochs = check_int("epochs", epochs, minimum=1)
use_horovod = check_choice("use_horovod", use_horovod, (True, False))
quiet_distributed_training()
spark = run.spark(**FAIL_FAST_BARRIER, **QUIET_EXECUTORS)
cores = spark.sparkContext.defaultParallelism
print(f"{rows:,} subscribers; Spark has {cores} cores; deep learning with {num_processes} "
      f"processes for {epochs} epochs")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 1 · Data parallelism and model parallelism
# Two ways to split the training of one model:
#
# - **Data parallelism**: every worker holds a *copy of the model* and a *part of the rows*. Each
#   computes what its rows say about the model (a gradient, a histogram of split candidates), the
#   parts are combined, and every copy takes the same step. Spark MLlib, PyTorch DDP and Horovod
#   all work this way. It scales with the number of rows.
# - **Model parallelism**: the *model* is split, layer by layer or within a layer, because it
#   does not fit one device (large language models). Every batch flows through all workers. It
#   needs fast links between GPUs and is out of scope here.
#
# A distributed algorithm is **not the serial one run in many places**:
#
# | | scikit-learn (one machine) | Spark MLlib (data parallel) |
# |---|---|---|
# | Logistic regression | L-BFGS over all rows in memory | L-BFGS where each iteration is one Spark job that sums the gradient over the partitions |
# | Trees and forests | exact splits over sorted values | candidate splits from **binned** features (`maxBins=32`): histograms per partition, merged |
# | Regularisation | `C`, divided by nothing | `regParam` (≈ 1 / (C · n)) and `elasticNetParam`; features standardised internally by default |
# | k-NN, kernel SVM, t-SNE, most of sklearn | yes | **no distributed version** |
#
# So results differ a little, some algorithms are missing, and each iteration pays for a round
# trip through the cluster.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 2 · The data: subscribers who may cancel
# A seeded generator makes one row per subscriber of a mobile operator: plan and region
# (categories), tenure, fee, support calls, data used and age (numbers), and whether they
# cancelled in the next month (`churned`). The generator also keeps each row's **true
# probability** of churning: its AUC is the best any model can expect. `is_test` fixes the 80/20
# split, so Spark and scikit-learn train and test on the same rows.

# %%
subscribers = churn_frame(rows, run.seed)
subscribers_path = write_parquet(subscribers, run.path("subscribers.parquet"))
data = spark.read.parquet(subscribers_path).drop("true_probability")
best = best_auc(subscribers[subscribers.is_test])
print(f"{len(subscribers):,} subscribers, {subscribers[LABEL].mean():.1%} churned; "
      f"best possible test AUC (true probabilities): {best:.3f}")
data.orderBy("customer_id").show(5)

# %% [markdown]
# The file became **one partition**, so every job on it would run as one task on one core.
# Spread the training rows over one partition per core, so that every core can work on them
# (section 4 measures when that pays off), and **cache** them: an iterative fit reads them once
# per iteration.

# %%
print(f"Partitions as read: {data.rdd.getNumPartitions()}")
train = data.filter(~data.is_test).repartition(cores).cache()
test = data.filter(data.is_test).cache()
n_train = train.count()
print(f"{n_train:,} training rows in {train.rdd.getNumPartitions()} partitions, "
      f"{test.count():,} test rows")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 3 · An MLlib pipeline, end to end
# A `Pipeline` chains *stages*: estimators learn something from the training data (the category
# codes, the means and standard deviations, the coefficients) and become transformers that
# apply it. Fitting the pipeline fits every stage on the training rows only, so nothing about
# the test rows leaks into the model.

# %%
indexer = StringIndexer(inputCols=CATEGORICAL, outputCols=[f"{c}_index" for c in CATEGORICAL],
                        stringOrderType="alphabetAsc")
encoder = OneHotEncoder(inputCols=indexer.getOutputCols(),
                        outputCols=[f"{c}_onehot" for c in CATEGORICAL])
assembler = VectorAssembler(inputCols=[*NUMERIC, *encoder.getOutputCols()], outputCol="raw_features")
scaler = StandardScaler(inputCol="raw_features", outputCol="features", withMean=True)
prepare = [indexer, encoder, assembler, scaler]
logistic = LogisticRegression(labelCol=LABEL, maxIter=100)
forest = RandomForestClassifier(labelCol=LABEL, numTrees=50, maxDepth=8, seed=run.seed)
auc_of = BinaryClassificationEvaluator(labelCol=LABEL)


def evaluate(model, frame) -> dict:
    """Test AUC and accuracy of a fitted pipeline."""
    scored = model.transform(frame).cache()
    accuracy = scored.filter(scored.prediction == scored[LABEL]).count() / scored.count()
    return {"auc": auc_of.evaluate(scored), "accuracy": accuracy}


lr_model = Pipeline(stages=[*prepare, logistic]).fit(train)
forest_model = Pipeline(stages=[*prepare, forest]).fit(train)
scores = pd.DataFrame({"MLlib logistic regression": evaluate(lr_model, test),
                       "MLlib random forest": evaluate(forest_model, test)}).T
print(scores.round(3).to_string())
print(f"Best possible AUC: {best:.3f}")

# %% [markdown]
# The forest finds what the linear model cannot: heavy data users on the basic plan churn more
# (an interaction). Neither reaches the best AUC, because churn follows the *rate* of complaints,
# support calls per year of tenure, a ratio no stage computes yet (exercise 1 adds it).
#
# A fitted pipeline is saved as a folder (Parquet and JSON, readable from Scala and Python) and
# loads back as the same model:

# %%
saved = run.path("churn_lr_pipeline")
lr_model.write().overwrite().save(saved)
reloaded = PipelineModel.load(saved)
before = lr_model.transform(test).select("customer_id", "probability")
after = reloaded.transform(test).select("customer_id", "probability")
differences = before.join(after.withColumnRenamed("probability", "reloaded"), "customer_id")
same = differences.filter(differences.probability != differences.reloaded).count() == 0
print(f"Stages: {[type(s).__name__ for s in reloaded.stages]}")
print(f"Reloaded model gives the same probabilities: {same}")

# %% [markdown]
# ### Exercise 1 · Add a feature stage
# Churn follows the complaint rate: support calls per year of tenure
# (`support_calls / tenure_months * 12`). Build and fit `improved_model`: the logistic-regression
# pipeline with one more stage that adds the column `calls_per_year`, which the assembler then
# uses. A `SQLTransformer` (`SELECT *, ... AS calls_per_year FROM __THIS__`) is one way. The check
# compares its test AUC with the one above.

# %%
# BEGIN SOLUTION
# STUDENT: improved_model = None  # the fitted pipeline with the new stage
from pyspark.ml.feature import SQLTransformer

complaint_rate = SQLTransformer(
    statement="SELECT *, support_calls / tenure_months * 12 AS calls_per_year FROM __THIS__")
assembler_plus = VectorAssembler(inputCols=[*NUMERIC, "calls_per_year", *encoder.getOutputCols()],
                                 outputCol="raw_features")
improved_model = Pipeline(
    stages=[indexer, encoder, complaint_rate, assembler_plus, scaler, logistic]).fit(train)
# END SOLUTION

# %%
check_feature_stage(improved_model, test, baseline_auc=scores.auc["MLlib logistic regression"])

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 4 · Where the time goes: jobs, partitions, caching
# A fit is a sequence of **Spark jobs**; each job is split into **tasks, one per partition**;
# a core runs one task at a time. So one partition keeps one core busy whatever the cluster, and
# every job also pays a fixed cost to be scheduled. More partitions pay off only when the tasks
# are long enough to outweigh that cost.
#
# Put it to the test with the cached training rows in 1 partition and in one per core:
# - the **logistic regression**, whose every iteration is one short job (a job group counts
#   them);
# - the **random forest** with more and more trees: every pass over the rows fills one histogram
#   per tree, so each task does more work per row.
#
# Every fit is timed `run.scale.repeats` times, the layouts taking turns, after a warm-up (at
# the tests' `ci` scale: once, cold).

# %% tags=["nbval-ignore-output"]
tracker = spark.sparkContext.statusTracker()
one, per_core = "1 partition", f"{cores} partition" + "s" * (cores > 1)
layouts = {one: train.repartition(1).cache(), per_core: train}
layouts[one].count()


def fit_on(layout: str, model) -> PipelineModel:
    """The pipeline ending in `model`, fitted on the training rows in `layout`."""
    return Pipeline(stages=[*prepare, model]).fit(layouts[layout])


spark.sparkContext.setJobGroup("one fit", "one logistic-regression fit")
fit_on(per_core, logistic)
lr_jobs = len(tracker.getJobIdsForGroup("one fit"))
lr_seconds = interleaved_seconds({layout: partial(fit_on, layout, logistic) for layout in layouts},
                                 repeat=run.scale.repeats)
lr_speedup = lr_seconds[one] / lr_seconds[per_core]
print(f"Logistic regression: {one} {lr_seconds[one]:.2f} s, {per_core} {lr_seconds[per_core]:.2f} s, "
      f"speed-up {lr_speedup:.2f}x. {lr_jobs} jobs for "
      f"{lr_model.stages[-1].summary.totalIterations} iterations: "
      f"{lr_seconds[per_core] / lr_jobs * 1000:.0f} ms a job")

tree_counts = [2, 10, forest.getNumTrees()]
forest_times = compare(tree_counts, {
    layout: lambda trees, layout=layout: fit_on(layout, forest.copy({forest.numTrees: trees}))
    for layout in layouts}, repeat=run.scale.repeats)
forest_speedup = forest_times[one] / forest_times[per_core]
print(f"Random forest: {verdict(forest_times, one, per_core, unit='trees')}")
record(lr_cores_speedup=lr_speedup, forest_cores_speedup=forest_speedup.iloc[-1],
       forest_cores_speedup_fewest_trees=forest_speedup.iloc[0])

# %% tags=["nbval-ignore-output"]
# Varies from run to run: a plot of the timings above
ax = forest_speedup.plot(marker="o", logx=True, figsize=(7, 3.4), label="random forest")
ax.axhline(lr_speedup, color="tab:orange", ls=":", label="logistic regression")
ax.axhline(cores, color="grey", ls="--", lw=1, label=f"ideal with {cores} cores")
ax.axhline(1, color="black", lw=0.8)
ax.set_xticks(tree_counts, [str(trees) for trees in tree_counts])
ax.minorticks_off()
ax.set(xlabel="trees in the forest: the work in each task", ylabel=f"speed-up, {per_core} vs 1",
       ylim=(0, cores * 1.15), title="A partition per core pays when the tasks are long (this run)")
ax.legend(fontsize=8, loc="lower right")
plt.tight_layout()
plt.show()

# %% [markdown]
# Read the points against the black line (no gain) and the dashed one (the most `cores` cores
# can give):
# - The **logistic regression** launches a short job per iteration. At this size each job's fixed
#   cost (scheduling, shipping the coefficients, collecting the gradient) outweighs the work on
#   the rows, so a partition per core does not pay, and can lose.
# - The **random forest** with few trees gains little or nothing either. With more trees each task works
#   longer on its rows while the number of jobs stays the same (about one per level of the trees), so
#   a partition per core gains more and more. The line above says where the two layouts cross,
#   interpolated between the measured tree counts (if they cross there).
# - Nothing reaches the dashed line: what happens between the jobs (scheduling, the driver
#   choosing the splits or the next coefficients) does not get faster with more partitions.
#
# **Caching.** An uncached DataFrame is recomputed from its source by every job that reads it.
# MLlib's iterative estimators (logistic regression, the tree ensembles) persist their own
# converted copy of an uncached input, so the fit itself reads the source only once or twice;
# cache what *you* read several times: the training rows that several models fit on (as here),
# or the scored test set that `evaluate` counts and scores.
#
# On a real cluster aim for 2 to 4 partitions per core, each holding a few MB or more. The
# speed-up grows with the work per task; the fixed cost per job does not shrink.
#
# ## 5 · MLlib against scikit-learn on the same split
# The single-node equivalent: the same features and the same rows, in pandas. At this size one
# machine is plenty, which is the honest baseline for any distributed fit. (At *large* scale,
# scikit-learn gets a sample of 200,000 training rows, as you would on a laptop.)

# %%
from sklearn.compose import make_column_transformer
from sklearn.ensemble import RandomForestClassifier as SkForest
from sklearn.linear_model import LogisticRegression as SkLogistic
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder as SkOneHot
from sklearn.preprocessing import StandardScaler as SkScaler

local_train = subscribers[~subscribers.is_test]
local_train = local_train.sample(min(len(local_train), 200_000), random_state=run.seed)
local_test = subscribers[subscribers.is_test]
columns = [*NUMERIC, *CATEGORICAL]
single_node = {
    "sklearn logistic regression": SkLogistic(max_iter=1000),
    "sklearn random forest": SkForest(n_estimators=50, max_depth=8, random_state=run.seed, n_jobs=1),
}
for name, model in single_node.items():
    encode = make_column_transformer((SkOneHot(), CATEGORICAL), (SkScaler(), NUMERIC))
    single_node[name] = make_pipeline(encode, model).fit(local_train[columns], local_train[LABEL])
    probability = single_node[name].predict_proba(local_test[columns])[:, 1]
    scores.loc[name] = {"auc": roc_auc_score(local_test[LABEL], probability),
                        "accuracy": accuracy_score(local_test[LABEL], probability > 0.5)}
print(scores.round(3).to_string())

# %% [markdown]
# The scores agree to about a hundredth: the algorithms differ (binned splits, another solver),
# the model family does not. The time each fit takes (MLlib's from section 4: medians, with
# whichever layout was faster for that model; scikit-learn's timed the same way, on one core):

# %% tags=["nbval-ignore-output"]
# MLlib's best time at this size, with whichever layout of section 4 was faster
fit_seconds = {"MLlib logistic regression": min(lr_seconds.values()),
               "MLlib random forest": forest_times.loc[forest.getNumTrees()].min()}
fit_seconds |= interleaved_seconds(
    {name: partial(model.fit, local_train[columns], local_train[LABEL])
     for name, model in single_node.items()}, repeat=run.scale.repeats)
scores["fit_s"] = pd.Series(fit_seconds)
families = ("logistic regression", "random forest")
for family in families:
    ratio = scores.fit_s[f"MLlib {family}"] / scores.fit_s[f"sklearn {family}"]
    print(f"{family}: scikit-learn is {ratio:.0f}x as fast as MLlib")
print(scores.round(3).to_string())
record(**{f"sklearn_speedup_{family.split()[-1]}":
          scores.fit_s[f"MLlib {family}"] / scores.fit_s[f"sklearn {family}"] for family in families})

# %% [markdown]
# At this size scikit-learn wins by far: every MLlib iteration is a Spark job with a fixed
# cost, and the data are small enough for one core. MLlib's reason to exist is the data that do
# not fit one machine, where scikit-learn cannot run at all, and the data that already live in
# Spark, where copying them out costs more than the fit.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 6 · Distributed deep learning: barrier execution
# Spark's ordinary tasks are independent: if one fails, Spark reruns it alone. Distributed deep
# learning needs the opposite: all workers start **together**, exchange gradients after every
# batch, and if one fails, all must restart. Spark 2.4 added **barrier execution mode** for this
# (Project Hydrogen's *gang scheduling*): a barrier stage starts only when there is a free slot
# for every one of its tasks, and its tasks can wait for each other (`BarrierTaskContext.barrier()`).
# A training job then has three phases:

# %%
plot_barrier_phases(tasks=3)
plt.show()

# %% [markdown]
# `TorchDistributor` (in `pyspark.ml.torch`, since Spark 3.4) runs the gang phase for PyTorch:
# it starts `num_processes` training processes, sets the addresses DDP needs (`MASTER_ADDR`,
# `RANK`, `WORLD_SIZE`), runs your function in each, and returns what rank 0 returns.
# - `local_mode=True`: the processes run on the **driver** (one machine, many GPUs);
# - `local_mode=False`: they run as **barrier tasks on the executors** (many machines).
#
# **Load phase.** Spark prepares the features with the pipeline's first stages and writes them
# as Parquet, one file per shard; each training process reads only its own files.

# %%
features = Pipeline(stages=prepare).fit(train)
shards = {}
for split, frame in (("train", train), ("test", test)):
    arrays = features.transform(frame).select(vector_to_array("features").alias("x"), LABEL)
    shards[split] = write_shards(arrays, run.path(f"{split}_shards"), files=12)
x_rank0, y_rank0 = load_shard(shards["train"], rank=0, world_size=2, label=LABEL)
print(f"12 files per split; with 2 processes rank 0 reads {len(x_rank0):,} rows "
      f"of {x_rank0.shape[1]} features")

# %% [markdown]
# **Gang phase.** The training function runs in every process. Three lines make it distributed:
# `init_process_group` joins the gang, `DistributedDataParallel` wraps the model so that
# `backward()` averages the gradients over all processes (an all-reduce), and the
# same number of steps on every rank keeps them in step: a rank with one more batch would wait
# forever for partners that have finished. At the end, the test counts are summed over all
# ranks with `all_reduce`, so every rank returns the metrics of **all** test rows.

# %%
BATCH = 128


def churn_net(inputs: int):
    import torch

    return torch.nn.Sequential(torch.nn.Linear(inputs, 32), torch.nn.ReLU(), torch.nn.Linear(32, 1))


def train_churn_net(train_dir: str, test_dir: str, epochs: int, seed: int) -> dict:
    import time

    import torch
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    start = time.perf_counter()
    dist.init_process_group("gloo")  # the gang: RANK, WORLD_SIZE, MASTER_ADDR come from the launcher
    rank, world_size = dist.get_rank(), dist.get_world_size()
    x, y = load_shard(train_dir, rank, world_size, label=LABEL)
    steps = torch.tensor(len(x) // BATCH)
    dist.all_reduce(steps, op=dist.ReduceOp.MIN)  # the same number of steps on every rank
    torch.manual_seed(seed)  # the same initial weights everywhere (DDP also broadcasts rank 0's)
    model = DistributedDataParallel(churn_net(x.shape[1]))
    optimiser = torch.optim.Adam(model.parameters(), lr=0.005)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    shuffle = torch.Generator().manual_seed(seed + rank)
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=shuffle)[: int(steps) * BATCH]
        for batch in order.split(BATCH):
            optimiser.zero_grad()
            loss_fn(model(x[batch]).squeeze(1), y[batch]).backward()  # all-reduce of gradients
            optimiser.step()
    x_test, y_test = load_shard(test_dir, rank, world_size, label=LABEL)
    with torch.no_grad():
        logits = model(x_test).squeeze(1)
        right = ((logits > 0) == (y_test > 0.5)).sum()
        totals = torch.tensor([right, loss_fn(logits, y_test) * len(y_test), len(y_test)],
                              dtype=torch.float64)
    dist.all_reduce(totals)  # sums over ranks: the same on every rank
    dist.destroy_process_group()
    skip_interpreter_teardown()  # gloo can abort a finished process at exit: see its docstring
    return {"accuracy": float(totals[0] / totals[2]), "log_loss": float(totals[1] / totals[2]),
            "test_rows": int(totals[2]), "seconds_inside": time.perf_counter() - start}


# %% [markdown]
# Run it with 1 process and with `num_processes`, on the driver and as barrier tasks, and time
# each run from the notebook:

# %% tags=["nbval-ignore-output"]
def distributed(processes: int, local_mode: bool, into: dict) -> None:
    """Train with TorchDistributor; put what rank 0 returns into `into`."""
    distributor = TorchDistributor(num_processes=processes, local_mode=local_mode, use_gpu=False)
    into.update(distributor.run(train_churn_net, shards["train"], shards["test"], epochs, run.seed))


results = {}
for local_mode in (True, False):
    most = num_processes if local_mode else min(num_processes, cores)  # executors: one per slot
    for processes in sorted({1, most}):
        where = "driver (local_mode=True)" if local_mode else "executors (local_mode=False)"
        outcome = {}
        took = seconds(partial(distributed, processes, local_mode, outcome))
        results[(where, processes)] = {**outcome, "seconds": took}
ddp = pd.DataFrame(results).T.rename_axis(["where", "processes"])
ddp["speedup"] = ddp.groupby(level="where").seconds.transform("first") / ddp.seconds
record(ddp_driver_speedup=ddp.speedup.xs("driver (local_mode=True)").iloc[-1],
       ddp_executor_speedup=ddp.speedup.xs("executors (local_mode=False)").iloc[-1])
print(ddp[["seconds", "seconds_inside", "speedup", "accuracy", "log_loss"]].round(3).to_string())

# %% [markdown]
# Every run reports its metrics over all test rows (`test_rows` is the whole test split). The
# network reaches about the accuracy of MLlib's models in section 3. The
# `seconds_inside` column is the time inside the training function: the rest of `seconds` is
# starting processes, importing torch and, on executors, scheduling the barrier stage. At this
# size that start-up dominates and a second process barely helps or even loses; the gradient
# exchange after every batch is a further cost that only big models and big data amortise.
#
# **Not enough slots.** A barrier stage starts only when *all* its tasks can run at once. Ask
# for more processes than Spark has cores, and Spark refuses instead of starting a partial gang
# (the notebook's session is set to give up after one check instead of retrying for ten minutes):

# %%
try:
    distributed(cores + 1, local_mode=False, into={})
except Exception as error:  # noqa: BLE001 - we show the reason
    reason = re.search(r"(BarrierJobSlotsNumberCheckFailed).*?\]: (.*?currently)", str(error))
    print(f"{cores + 1} processes, {cores} slots. Spark: {reason.group(1)}: {reason.group(2)}.")

# %% [markdown]
# ### Exercise 2 · The same metric from every rank
# Accuracy and log loss are sums divided by counts, so `all_reduce` of the sums gives every rank
# the same values. **AUC is not a sum**: it ranks all scores together. Write `shared_auc(scores,
# labels)` for the end of a training function: it receives this rank's test scores and labels
# (tensors) and must return the AUC of **all ranks' rows**, the same float on every rank.
# Gather the scores and labels of every rank with `torch.distributed.all_gather_object` (shards
# can differ in size), then use `sklearn.metrics.roc_auc_score`. The check runs your function in
# two processes with shards of different sizes.

# %%
# BEGIN SOLUTION
# STUDENT: shared_auc = None  # def shared_auc(scores, labels) -> float


def shared_auc(scores, labels) -> float:
    import numpy as np
    import torch.distributed as dist
    from sklearn.metrics import roc_auc_score

    gathered = [None] * dist.get_world_size()
    dist.all_gather_object(gathered, (scores.numpy(), labels.numpy()))
    all_scores = np.concatenate([s for s, _ in gathered])
    all_labels = np.concatenate([y for _, y in gathered])
    return float(roc_auc_score(all_labels, all_scores))
# END SOLUTION


# %%
check_shared_auc(shared_auc)


# %% [markdown] slideshow={"slide_type": "slide"}
# ## 7 · Horovod
# Horovod (Uber, 2017) popularised data-parallel training with ring all-reduce, and
# `horovod.spark.run` (HorovodRunner on Databricks) ran it on Spark. Its last release, 0.28.1,
# dates from 2023 and does not install from PyPI against torch 2; TorchDistributor is what Spark
# maintains now. The course can still build it (`make horovod`, once per machine, about 6
# minutes). The Horovod version of the training function differs in four lines: `hvd.init()`,
# broadcasting rank 0's weights, wrapping the optimiser, and `hvd.allreduce` for the metrics.

# %%
def train_churn_net_horovod(train_dir: str, test_dir: str, epochs: int, seed: int) -> dict:
    import horovod.torch as hvd
    import torch

    hvd.init()
    rank, world_size = hvd.rank(), hvd.size()
    x, y = load_shard(train_dir, rank, world_size, label=LABEL)
    steps = int(hvd.allreduce(torch.tensor(len(x) // BATCH), op=hvd.Min))
    torch.manual_seed(seed)
    model = churn_net(x.shape[1])
    hvd.broadcast_parameters(model.state_dict(), root_rank=0)
    optimiser = hvd.DistributedOptimizer(torch.optim.Adam(model.parameters(), lr=0.005),
                                         named_parameters=model.named_parameters())
    loss_fn = torch.nn.BCEWithLogitsLoss()
    shuffle = torch.Generator().manual_seed(seed + rank)
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=shuffle)[: steps * BATCH]
        for batch in order.split(BATCH):
            optimiser.zero_grad()
            loss_fn(model(x[batch]).squeeze(1), y[batch]).backward()
            optimiser.step()  # Horovod all-reduces the gradients here
    x_test, y_test = load_shard(test_dir, rank, world_size, label=LABEL)
    with torch.no_grad():
        logits = model(x_test).squeeze(1)
        right = ((logits > 0) == (y_test > 0.5)).sum()
        local = torch.tensor([right, loss_fn(logits, y_test) * len(y_test), len(y_test)],
                             dtype=torch.float64)
    totals = hvd.allreduce(local, op=hvd.Sum)
    return {"accuracy": float(totals[0] / totals[2]), "log_loss": float(totals[1] / totals[2]),
            "test_rows": int(totals[2])}


available, advice = horovod_status()
if not use_horovod:
    print("Horovod skipped (use_horovod=False).")
elif not available:
    print(f"Horovod is not available: {advice} Carrying on with TorchDistributor.")
else:
    import horovod.spark

    outcome = []
    took = seconds(lambda: outcome.extend(horovod.spark.run(
        train_churn_net_horovod, args=(shards["train"], shards["test"], epochs, run.seed),
        num_proc=min(num_processes, cores), verbose=0)))
    same = all(o == outcome[0] for o in outcome)
    ddp_seconds = ddp.seconds.xs("executors (local_mode=False)").iloc[-1]
    record(horovod_seconds=took, horovod_vs_torchdistributor=ddp_seconds / took)
    print(f"Horovod, {min(num_processes, cores)} processes on the executors: {took:.1f} s "
          f"(TorchDistributor: {ddp_seconds:.1f} s); accuracy {outcome[0]['accuracy']:.3f} "
          f"over {outcome[0]['test_rows']:,} test rows; every rank returned the same: {same}")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 8 · Which to choose
#
# | | Single machine (sklearn, PyTorch) | Spark MLlib | TorchDistributor | Horovod |
# |---|---|---|---|---|
# | Models | everything | linear models, trees and forests, GBTs, k-means, ALS, ... | any PyTorch network | PyTorch, TensorFlow, Keras |
# | Data | fits in memory | any size, where it lives | any size, read from files in shards | any size, read from files in shards |
# | Hardware | one machine, maybe GPUs | CPUs of the cluster | GPUs of the driver or the cluster | GPUs of the cluster |
# | Overhead (this run) | none | a Spark job per iteration | seconds to start the gang | seconds to start the gang |
# | Maintained | yes | part of Spark | part of Spark (3.4+) | last release 2023 |
#
# The first question is always whether the data fit on one machine: if they do, the single
# machine usually wins, as section 5 measured. For tabular data that do not, MLlib trains where
# the data are. For neural networks (images, text, sequences), TorchDistributor, with Spark
# preparing and sharding the data. Horovod only where it already runs.
#
# ### Exercise 3 · Pick the tool
# For each situation, answer `"mllib"` or `"torchdistributor"`:
# - `nightly_trees`: gradient-boosted trees retrained every night on 300 million rows of tabular
#   features that already live in a Spark table;
# - `product_photos`: a convolutional network that classifies 2 million product photos, on a
#   cluster with GPUs;
# - `readable_scorecard`: a logistic regression on 50 GB of loan applications, whose
#   coefficients a regulator must be able to read.

# %%
# BEGIN SOLUTION
# STUDENT: choices = {"nightly_trees": None, "product_photos": None, "readable_scorecard": None}
choices = {"nightly_trees": "mllib", "product_photos": "torchdistributor",
           "readable_scorecard": "mllib"}
# END SOLUTION

# %%
check_choices(choices)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Summary
# - **Data parallelism** gives every worker a copy of the model and a share of the rows; the
#   workers combine gradients or histograms and step together. Distributed algorithms differ from
#   serial ones: other solvers, binned splits, and some models have no distributed version.
# - An **MLlib `Pipeline`** indexes, encodes, assembles, scales and fits on the training rows
#   only; the fitted pipeline saves and reloads as one model.
# - On data that fit one machine, **scikit-learn is faster**: MLlib pays for a Spark job per
#   iteration. MLlib is for data that do not fit.
# - A fit runs as jobs of **one task per partition**. A partition per core pays off only when
#   the tasks are long: section 4's forest gained more with every tree, while the logistic
#   regression's short job per iteration gained nothing or lost.
# - MLlib's iterative estimators persist their own copy of an uncached input; **cache** what you
#   read several times yourself: training rows that several models fit on, a scored test set.
# - **Barrier execution** starts a gang of tasks together (load → gang → sink);
#   **`TorchDistributor`** runs PyTorch DDP on it, on the driver or on the executors, and fails
#   when there are fewer slots than processes.
# - Every rank must take the **same number of steps** and return the **same metric**
#   (`all_reduce` sums, `all_gather_object` for AUC).
# - **Horovod** is unmaintained; use TorchDistributor for new work.
#
# Next: **04 · Many models at once**, one model per group with pandas UDFs.
