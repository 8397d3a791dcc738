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
# # 02 · Parallelise hyperparameter tuning
# *Strategy 2 of 4 · about 60 minutes*
#
# **Topics:** grid, random and Bayesian search, Hyperopt `fmin` with `Trials` and `SparkTrials`, the cost of a parallel trial, MLlib `TrainValidationSplit` and `CrossValidator`, Optuna with `MlflowSparkStudy`, MLflow tracking of every trial
#
# **Spark Connect:** no: SparkTrials runs its trials through a SparkContext, which a Spark Connect client does not have. Run it in local mode or on a standalone cluster.
#
# The data fit on one machine, the model trains in seconds, but finding good hyperparameters
# takes hundreds of trainings. **Spark runs many trials at once, each an ordinary single-node
# training.**
#
# | Strategy | Spark does | The model trains on | Workshop |
# |---|---|---|---|
# | 1 · Feature engineering | joins, windows, aggregations | one machine (pandas, sklearn) | 01 |
# | **2 · Parallel tuning** | **many trials at once** | **one machine per trial** | **02** |
# | 3 · Distributed training | one model on all the data | the cluster | 03 |
# | 4 · Many models | one model per group | one machine per group | 04 |
#
# By the end you will be able to:
# - compare **grid, random and adaptive (TPE)** search by how many evaluations they need;
# - write a **Hyperopt search space** and run `fmin` one trial at a time and with **`SparkTrials`**;
# - predict, from a measured **overhead per trial**, when parallel trials pay off and how close they
#   get to one trial per core;
# - tune a **Spark MLlib** model with its own `TrainValidationSplit` and `CrossValidator`;
# - run the same search with **Optuna's `MlflowSparkStudy`**, the maintained successor;
# - log **every trial to MLflow** and read the best one back.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Parameters
# `max_evals` is the number of trials per search and `trial_cost` the extra CPU seconds each trial
# spends, standing in for a bigger model. At 0 and -1 they take the scale's defaults: *small*
# runs 8 cheap trials, *large* 32 trials of 10 s, which is what a 16-core machine or a cluster
# needs to show its speed-up. `parallelism` 0 runs one trial per Spark core.

# %% tags=["parameters"]
scale: str = "small"  # data and budget: ci (tests), small (Binder), medium (laptop), large (cluster)
spark_master: str = "local[*]"  # where Spark runs: local[*], local[N] or spark://host:port
seed: int = 42  # random seed for data, searches and models
work_dir: str = "work"  # the driver's folder for this notebook's files (Spark's log, local MLflow)
data_root: str = ""  # folder or URI that driver and executors see, for data Spark reads; empty: work_dir
tracking_uri: str = ""  # MLflow; empty: a local store, or on a cluster a server on the driver
max_evals: int = 0  # trials per search; 0 takes the scale's default
parallelism: int = 0  # trials at once (SparkTrials, Optuna, MLlib); 0 means one per core
trial_cost: float = -1.0  # extra CPU seconds per trial; negative takes the scale's default

# %%
from functools import partial

import matplotlib.pyplot as plt
import mlflow
import numpy as np
import pandas as pd

from sparkcourse import check_int, check_number, record, seconds, setup_notebook
from sparkcourse.exercises.tuning import check_best_run, check_parallelism, check_search_space
from sparkcourse.spark import task_slots
from sparkcourse.tracking import start_tracking
from sparkcourse.tuning import quiet_tuning_libraries

run = setup_notebook("02_hyperparameter_tuning", scale=scale, spark_master=spark_master,
                     seed=seed, work_dir=work_dir, data_root=data_root,
                     classic_api="SparkTrials")
max_evals = check_int("max_evals", max_evals) or run.scale.max_evals
parallelism = check_int("parallelism", parallelism)
trial_cost = check_number("trial_cost", trial_cost, minimum=-1)
trial_cost = run.scale.trial_cost if trial_cost < 0 else trial_cost
tracking = start_tracking(run, "02-hyperparameter-tuning", tracking_uri)  # before Spark (see section 8)
quiet_tuning_libraries()
spark = run.spark()
cores = task_slots(spark)  # tasks Spark runs at once: its cores
parallelism = parallelism or cores
print(f"{max_evals} trials per search, {trial_cost:g} s extra work per trial, "
      f"{parallelism} at once on {cores} Spark cores\n{tracking.where}")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 1 · Why tune, and how
# A model's **hyperparameters** are the settings it does not learn: the regularisation strength,
# the depth of a tree, the width of a kernel. Wrong ones can ruin a good model, and the only way
# to judge a setting is to train and validate the model with it. The families of methods differ
# in how they choose the next setting to try:
#
# | Method | Chooses the next setting | Cost grows with the number of parameters |
# |---|---|---|
# | Manual | by experience | the analyst's time |
# | Grid | every combination of a few values per parameter | exponentially: 5 values of 4 parameters = 625 |
# | Random | at random from a distribution per parameter | not at all: the budget is yours |
# | Population-based | by evolving the best settings so far (genetic, CMA-ES) | slowly |
# | Bayesian / adaptive | where a model of past results expects improvement (Hyperopt's TPE) | slowly |
#
# Our objective throughout: an **RBF support vector machine** on 8x8 images of handwritten digits.
# Two hyperparameters matter: `C` (how hard it fits the training data) and `gamma` (how far one
# example's influence reaches). The loss is the share of validation images it gets wrong.

# %%
from sklearn.svm import SVC

from sparkcourse.data.digits import load_digits_split

data = load_digits_split(seed=run.seed)
BOUNDS = {"C": (1e-2, 1e4), "gamma": (1e-4, 1e1)}


def validation_error(params) -> float:
    """Train the SVM with `params`; the share of validation images it gets wrong."""
    model = SVC(C=params["C"], gamma=params["gamma"]).fit(data.X_train, data.y_train)
    return 1 - model.score(data.X_valid, data.y_valid)


print(f"{len(data.y_train)} training and {len(data.y_valid)} validation images")
for params in ({"C": 1, "gamma": 0.01}, {"C": 1, "gamma": 10}, {"C": 0.01, "gamma": 0.01}):
    print(f"C={params['C']:<5} gamma={params['gamma']:<5} -> {validation_error(params):6.1%} wrong")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 2 · Grid, random and TPE on one objective
# Each method gets 25 evaluations. The grid takes 5 values of each parameter, evenly spaced on a
# log scale; its 3x3 and 2x2 sub-grids show what a smaller grid would have found. Random search
# and TPE draw from log-uniform distributions over the same ranges. TPE starts with a few random
# trials, then proposes settings where its model of the results so far expects low loss.

# %%
from hyperopt import Trials, fmin, hp, rand, tpe

from sparkcourse.tuning import best_so_far, evaluations_to_reach, log_grid

EVALS = 25
grid_C, grid_gamma = log_grid(*BOUNDS["C"], 5), log_grid(*BOUNDS["gamma"], 5)
grid_losses = np.array([[validation_error({"C": C, "gamma": gamma}) for gamma in grid_gamma]
                        for C in grid_C])
grid_best = {4: grid_losses[::4, ::4].min(), 9: grid_losses[::2, ::2].min(), 25: grid_losses.min()}

space = {"C": hp.loguniform("C", *np.log(BOUNDS["C"])),
         "gamma": hp.loguniform("gamma", *np.log(BOUNDS["gamma"]))}
tpe_algo = partial(tpe.suggest, n_startup_jobs=4)  # 4 random trials, then adaptive


def search_one_at_a_time(algo, evals=EVALS):
    trials = Trials()
    fmin(validation_error, space, algo=algo, max_evals=evals, trials=trials,
         rstate=np.random.default_rng(run.seed), show_progressbar=False)
    return trials


searched = {"random": search_one_at_a_time(rand.suggest), "TPE": search_one_at_a_time(tpe_algo)}
target = grid_best[25]
summary = pd.DataFrame({
    "best error": [grid_best[25]] + [min(t.losses()) for t in searched.values()],
    "evaluations to reach the grid's best": [25] + [
        evaluations_to_reach(t.losses(), target) for t in searched.values()],
}, index=["grid 5x5", *searched])
print(summary.to_string(formatters={"best error": "{:.2%}".format}, na_rep="not in 25"))

# %%
from matplotlib.colors import LogNorm
from matplotlib.ticker import PercentFormatter

from sparkcourse.tuning import log_edges

fig, (where, progress) = plt.subplots(1, 2, figsize=(10, 3.8))
C_mesh, gamma_mesh = np.meshgrid(grid_C, grid_gamma, indexing="ij")
shade = where.pcolormesh(log_edges(grid_C), log_edges(grid_gamma), grid_losses.T, cmap="Greys_r",
                         norm=LogNorm(), alpha=0.6)
fig.colorbar(shade, ax=where, label="validation error on the grid", format=PercentFormatter(1))
where.scatter(C_mesh, gamma_mesh, marker="s", s=60, facecolors="none", edgecolors="grey", label="grid")
for (name, trials), marker in zip(searched.items(), "ox", strict=True):
    points = pd.DataFrame([t["misc"]["vals"] for t in trials.trials]).map(lambda v: v[0])
    where.scatter(points.C, points.gamma, marker=marker, label=name)
where.set(xscale="log", yscale="log", xlabel="C", ylabel="gamma", title="Where each method looked")
where.legend(fontsize=8, loc="upper left", framealpha=0.9)
progress.plot(list(grid_best), list(grid_best.values()), "s-", label="grid (2x2, 3x3, 5x5)")
for name, trials in searched.items():
    progress.plot(range(1, EVALS + 1), best_so_far(trials.losses()), label=name)
progress.set(xlabel="evaluations", ylabel="best validation error so far",
             title="Best loss against evaluations")
progress.yaxis.set_major_formatter(PercentFormatter(1, decimals=1))
progress.legend(fontsize=8)
plt.tight_layout()
plt.show()

# %% [markdown]
# The shading is the validation error the 5x5 grid measured (darker is better): the good
# settings form a band across `C` and `gamma`, not a single corner. The grid looks at 5 values of
# each parameter, whatever the band; random search tries 25 different values of each; TPE, after
# its 4 random trials, proposes where its results so far were best: compare where its crosses
# fall with where random's circles do. With two parameters the grid is still affordable; with five,
# the same resolution would cost 3,125 trainings. One seed is one draw: run the notebook with
# another `seed` and the order of random and TPE can change, the grid's weakness does not.
#
# ## 3 · Hyperopt: the search space and `fmin`
# A Hyperopt **search space** is a dict (or a nested structure) of stochastic expressions. Each
# label names a parameter; the expression says how to draw it:
#
# | Expression | Draws | Typical parameter |
# |---|---|---|
# | `hp.uniform(label, low, high)` | a float, uniformly | dropout, subsample |
# | `hp.loguniform(label, log(low), log(high))` | a float, uniform on a log scale | learning rate, C, gamma |
# | `hp.quniform(label, low, high, q)` | a multiple of `q` (a float: wrap in `scope.int`) | number of trees |
# | `hp.qloguniform(label, log(low), log(high), q)` | a multiple of `q`, log scale | min samples per leaf |
# | `hp.choice(label, options)` | one of the options (may hold nested spaces) | solver, model type |
#
# `fmin(objective, space, algo, max_evals, trials)` draws settings with `algo` (`tpe.suggest`,
# `rand.suggest`) and keeps the history in `trials`. Draw from our space to see what it yields:

# %%
from hyperopt.pyll import stochastic

rng = np.random.default_rng(run.seed)
draws = pd.DataFrame([stochastic.sample(space, rng=rng) for _ in range(5)])
print(draws.to_string(index=False, float_format="{:.4g}".format))

# %% [markdown]
# ### Exercise 1 · A search space for a random forest
# Write `forest_space` for scikit-learn's `RandomForestClassifier`, as a dict with:
# - `n_estimators`: an integer from 50 to 500 in steps of 50;
# - `max_depth`: an integer from 2 to 20;
# - `max_features`: one of `"sqrt"`, `"log2"` and `0.5`;
# - `min_samples_leaf`: an integer from 1 to 64, **log-uniform** (1 to 2 as likely as 32 to 64).
#
# Scikit-learn rejects `50.0` trees: wrap quantised expressions in `scope.int(...)`
# (`from hyperopt.pyll import scope`).

# %%
# BEGIN SOLUTION
# STUDENT: forest_space = None  # a dict of hp expressions
from hyperopt.pyll import scope

forest_space = {
    "n_estimators": scope.int(hp.quniform("n_estimators", 50, 500, 50)),
    "max_depth": scope.int(hp.quniform("max_depth", 2, 20, 1)),
    "max_features": hp.choice("max_features", ["sqrt", "log2", 0.5]),
    "min_samples_leaf": scope.int(hp.qloguniform("min_samples_leaf", np.log(1), np.log(64), 1)),
}
# END SOLUTION

# %%
check_search_space(forest_space)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 4 · One trial at a time, then many at once
# Now every trial does real work: it trains the SVM, then spends `trial_cost` more CPU seconds,
# standing in for a bigger model or dataset. Each trial also logs itself to **MLflow** as a child
# run of its search (section 8 reads them back). The logging happens *inside* the objective,
# because with `SparkTrials` the objective runs in Spark's Python workers, where MLflow's
# autologging in the notebook cannot see it.
#
# `SparkTrials(parallelism=k)` makes `fmin` run each trial as a **one-task Spark job**, `k` at a
# time. Same objective, same space, same seed, same number of trials:

# %%
from hyperopt import SparkTrials, space_eval

from sparkcourse.measure import spend_cpu
from sparkcourse.tuning import ResultsSeen, crossover_cost, trial_overhead


def trial_loss(params, cost: float = trial_cost) -> float:
    """One trial's work: train and score, then `cost` more CPU seconds (a bigger model)."""
    loss = validation_error(params)
    spend_cpu(cost)
    return loss


def objective(params, parent_run_id: str) -> float:
    """One trial that logs its params and loss as a child run, wherever it runs."""
    loss = trial_loss(params)
    mlflow.set_tracking_uri(tracking.uri)  # on a Spark worker, MLflow starts unconfigured
    with mlflow.start_run(experiment_id=tracking.experiment_id, parent_run_id=parent_run_id,
                          nested=True):
        mlflow.log_params(params)
        mlflow.log_metric("loss", loss)
    return loss


def log_trials(trials, parent_run_id: str) -> None:
    """Every trial of a finished search as a child run, logged from the driver."""
    for trial in trials.trials:
        params = space_eval(space, {name: values[0] for name, values in trial["misc"]["vals"].items()})
        with mlflow.start_run(experiment_id=tracking.experiment_id, parent_run_id=parent_run_id,
                              nested=True):
            mlflow.log_params(params)
            mlflow.log_metric("loss", trial["result"]["loss"])


def tracked_search(name: str, trials, algo, log_after: bool = False) -> str:
    """fmin under a parent MLflow run called `name`; returns the parent run's id. The trials
    log themselves, or (`log_after`) the driver logs them once the search is done."""
    with mlflow.start_run(experiment_id=tracking.experiment_id, run_name=name) as parent:
        work = trial_loss if log_after else partial(objective, parent_run_id=parent.info.run_id)
        fmin(work, space, algo=algo, max_evals=max_evals, trials=trials,
             rstate=np.random.default_rng(run.seed), show_progressbar=False)
        if log_after:
            log_trials(trials, parent.info.run_id)
    return parent.info.run_id


# %% tags=["nbval-ignore-output"]
parallelisms = [p for p in (2, 4, 8, 16, 32, 64) if p < parallelism] + [parallelism]
parent_ids, histories, seen = {}, {}, {}


def timed_search(name: str, trials, log_after: bool = False):
    proposer = ResultsSeen(tpe_algo)  # TPE, noting how many results each proposal had seen
    parent_ids[name] = tracked_search(name, trials, proposer, log_after)
    histories[name], seen[name] = trials, proposer.seen


sequential = seconds(partial(timed_search, "hyperopt Trials", Trials()))
spark_seconds = {p: seconds(partial(timed_search, f"hyperopt SparkTrials({p})", SparkTrials(p)))
                 for p in parallelisms}

trial_seconds = sequential / max_evals  # one trial, run where no Spark is involved
overheads = {p: trial_overhead(spark_seconds[p], max_evals, p, trial_seconds) for p in parallelisms}
hyperopt_table = pd.DataFrame({
    "seconds": [sequential, *spark_seconds.values()],
    "speed-up": [1.0, *(sequential / t for t in spark_seconds.values())],
    "best error": [min(trials.losses()) for trials in histories.values()],
    "overhead per trial (s)": [np.nan] + list(overheads.values()),
}, index=list(histories))
print(hyperopt_table.round(3).to_string(na_rep=""))
print(f"one trial takes {trial_seconds:.2f} s; SparkTrials adds {overheads[parallelism]:.1f} s to each")

# %% [markdown]
# Where does that overhead go? Part of it is **MLflow**: each trial runs in a fresh Python worker
# (Hyperopt's one-task job never reads its input, so Spark cannot reuse a worker), which imports
# MLflow, opens the tracking store and creates its run, every time. `Trials` pays that set-up
# once, on the driver. That part is avoidable: let the workers only compute the loss, and log the
# trials from the driver when the search is done (`log_trials` above). Same search, timed again:

# %% tags=["nbval-ignore-output"]
lean_name = f"hyperopt SparkTrials({parallelism}), logged after"
lean_seconds = seconds(partial(timed_search, lean_name, SparkTrials(parallelism), log_after=True))
overhead = trial_overhead(lean_seconds, max_evals, parallelism, trial_seconds)
logged = overheads[parallelism]
print(f"{lean_name}: {lean_seconds:.1f} s, {sequential / lean_seconds:.2f}x the speed of Trials")
print(f"overhead per trial: {logged:.1f} s with MLflow on the workers = {logged - overhead:.1f} s of "
      f"MLflow set-up (avoidable) + {overhead:.1f} s of Spark (a job, a Python worker, polling)")
best_crossover = crossover_cost(max_evals, parallelism, overhead)
record(trial_seconds=trial_seconds, sparktrials_overhead_s=overhead, mlflow_setup_s=logged - overhead,
       sparktrials_speedup=sequential / lean_seconds, crossover_trial_s=best_crossover)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 5 · When do parallel trials pay off?
# The wall time follows a simple model. `max_evals` trials run in `ceil(max_evals / k)` rounds,
# and each round costs one trial plus a **fixed overhead**: a Spark job to schedule, a fresh
# Python worker, and Hyperopt checking for finished trials once a second. The lean run above
# measured that overhead; the model then predicts the speed-up for any trial cost:
#
#     speed-up = max_evals x trial / (ceil(max_evals / k) x (trial + overhead))
#
# It is below 1 for cheap trials, crosses 1 where the trial costs about as much as the overhead
# (divided by `k - 1`), and approaches `k` (at most the number of cores) only when a trial costs
# many times the overhead.
#
# **Test the model where it was not fitted.** Take trials that cost twice the crossover of a
# search of one round (`parallelism` trials at once), predict both wall times from the overhead
# measured above, then run both searches:

# %% tags=["nbval-ignore-output"]
# Varies from run to run: timings
from sparkcourse.tuning import predicted_seconds


def heavy_search(trials, extra: float) -> None:
    """A short search whose trials each spend `extra` more CPU seconds."""
    fmin(partial(trial_loss, cost=extra), space, algo=tpe_algo, max_evals=check_evals, trials=trials,
         rstate=np.random.default_rng(run.seed), show_progressbar=False)


check_evals = parallelism  # one round
check_crossover = crossover_cost(check_evals, parallelism, overhead)
check = None
if check_crossover is None:  # one task slot: no two trials ever run at once
    print(f"{parallelism} task slot: nothing runs in parallel, so SparkTrials cannot win here")
else:
    extra = 2 * check_crossover  # where the model says SparkTrials wins
    heavy_trial = trial_seconds - trial_cost + extra  # one trial's seconds, predicted
    spark_took = seconds(partial(heavy_search, SparkTrials(parallelism), extra))
    driver_took = seconds(partial(heavy_search, Trials(), extra))
    check = pd.DataFrame({
        "predicted (s)": [predicted_seconds(check_evals, parallelism, heavy_trial, overhead),
                          check_evals * heavy_trial],
        "measured (s)": [spark_took, driver_took]}, index=[f"SparkTrials({parallelism})", "Trials"])
    speedup = driver_took / spark_took
    predicted_check = check["predicted (s)"].iloc[1] / check["predicted (s)"].iloc[0]
    print(f"{check_evals} trials of about {heavy_trial:.1f} s each:")
    print(check.round(1).to_string())
    print(f"SparkTrials ran {speedup:.2f}x the speed of Trials (predicted: {predicted_check:.2f}x)")
    record(check_speedup=speedup, check_predicted_speedup=predicted_check)

# %% tags=["nbval-ignore-output"]
# Varies from run to run: a plot of the timings above
from sparkcourse.tuning import predicted_speedup

costs = np.logspace(-1, 2.5, 200)  # seconds per trial, 0.1 s to about 5 minutes
curves = [(max_evals, overheads[parallelism], sequential / spark_seconds[parallelism], trial_seconds,
           f"{max_evals} trials, MLflow on the workers"),
          (max_evals, overhead, sequential / lean_seconds, trial_seconds,
           f"{max_evals} trials, logged after")]
if check is not None:
    curves.append((check_evals, overhead, speedup, heavy_trial, f"{check_evals} heavier trials (the test)"))
fig, ax = plt.subplots()
for evals, fixed, measured_speedup, cost, label in curves:
    line, = ax.plot(costs, predicted_speedup(evals, parallelism, costs, fixed), label=f"model: {label}")
    ax.plot(cost, measured_speedup, "o", color=line.get_color())
ax.axhline(parallelism, color="grey", linestyle=":", linewidth=1)
ax.axhline(1, color="grey", linestyle="--", linewidth=1)
if best_crossover:
    ax.axvline(best_crossover, color="grey", linestyle="--", linewidth=1, label="crossover, logged after")
ax.set(xscale="log", xlabel="seconds per trial", ylabel="speed-up over Trials",
       title=f"SparkTrials({parallelism}) pays off for expensive trials (dots: measured)")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# The dashed vertical line is the **crossover**: cheaper trials are faster one at a time on the
# driver. Each dot is a measured search; the test's dot was not used to fit its curve, so where
# it lands says how far to trust the model. On two cores a speed-up of 2 is the ceiling; on a
# cluster `k` is the number of executor cores, and the same arithmetic tells you how expensive a
# trial must be before more of them pay.
#
# **Parallel trials cost adaptivity, too.** TPE proposes each trial from the results it has seen.
# One at a time, trial *n* knows all *n - 1* earlier results; with `k` at once, it knows at most
# *n - k*, so it explores more and exploits less. At `parallelism = max_evals` TPE is random
# search. The count below is how many finished results TPE had when it proposed each trial:

# %% tags=["nbval-ignore-output"]
# Varies from run to run: it depends on which parallel trial finishes first.
results_seen = pd.DataFrame(seen).sort_index()
results_seen.index = [f"trial {tid + 1}" for tid in results_seen.index]
print(results_seen.T.to_string())

# %% [markdown]
# The rule of thumb that follows: choose `parallelism` no larger than the cores, and small enough
# that `max_evals` is several times `parallelism`, so that most trials are proposed with many
# results in hand.
#
# ### Exercise 2 · Choose the parallelism
# You have 48 evaluations of a model that trains in 30 s, and a cluster with 16 cores. You want
# at least 4 rounds, so that TPE adapts (`max_evals >= 4 x parallelism`), and otherwise the
# shortest wall time. Set `parallelism_choice`, then predict the wall time in seconds with the
# overhead measured above (`overhead`) and `predicted_seconds(max_evals, parallelism,
# trial_seconds, overhead)` from `sparkcourse.tuning`.

# %%
# BEGIN SOLUTION
# STUDENT: parallelism_choice = None  # trials at once
# STUDENT: predicted = None  # seconds, from the measured overhead
from sparkcourse.tuning import predicted_seconds

parallelism_choice = min(16, 48 // 4)
predicted = predicted_seconds(48, parallelism_choice, 30, overhead)
# END SOLUTION

# %%
check_parallelism(parallelism_choice, predicted, max_evals=48, trial_seconds=30, cores=16,
                  min_rounds=4, overhead=overhead)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 6 · Tuning a Spark MLlib model
# The rule the field uses:
#
# | The model is | Tune with |
# |---|---|
# | single-node (scikit-learn, XGBoost, PyTorch) on data that fits one machine | `SparkTrials`: one trial per task |
# | a Spark MLlib model on a Spark DataFrame | MLlib's own `TrainValidationSplit` / `CrossValidator`, or Hyperopt with plain `Trials` |
#
# An MLlib model inside `SparkTrials` fails: the objective would run on an executor, where there
# is no SparkSession to start jobs from (Hyperopt issue 633). An MLlib fit is already parallel,
# so it is tuned from the driver. For bigger data, the images get jittered copies (shifted by a
# pixel, with noise) at larger scales.

# %%
from pyspark.ml.classification import LogisticRegression, RandomForestClassifier
from pyspark.ml.evaluation import MulticlassClassificationEvaluator
from pyspark.ml.feature import VectorAssembler
from pyspark.ml.tuning import CrossValidator, ParamGridBuilder, TrainValidationSplit

from sparkcourse.data.digits import PIXELS, digits_frame

frame = digits_frame(copies=run.scale.digit_copies, seed=run.seed)
assemble = VectorAssembler(inputCols=PIXELS, outputCol="features")
images = assemble.transform(spark.createDataFrame(frame)).select("features", "label").cache()
train, test = images.randomSplit([0.8, 0.2], seed=run.seed)
evaluator = MulticlassClassificationEvaluator(metricName="accuracy")
first = LogisticRegression(maxIter=10).fit(train)  # one model first (it also warms up the JVM)
print(f"{images.count():,} images; one logistic regression: "
      f"{evaluator.evaluate(first.transform(test)):.1%} accurate on the test split")

# %% [markdown]
# `ParamGridBuilder` lists the settings; `TrainValidationSplit` fits each on 75% of the data and
# scores it on the rest; `parallelism` fits that many settings at once, from driver threads.
# Compare one at a time with `parallelism` at once, for a linear model and a tree ensemble:

# %% tags=["nbval-ignore-output"]
lr = LogisticRegression(maxIter=10)
forest = RandomForestClassifier(numTrees=20, seed=run.seed)
grids = {
    "logistic regression": (lr, ParamGridBuilder().addGrid(lr.regParam, [0.001, 0.01, 0.1]).build()),
    "random forest": (forest, ParamGridBuilder().addGrid(forest.maxDepth, [4, 8, 12]).build()),
}


tuned = {}


def tune(name: str, threads: int):
    estimator, grid = grids[name]
    tuned[name] = TrainValidationSplit(estimator=estimator, estimatorParamMaps=grid,
                                       evaluator=evaluator, trainRatio=0.75, parallelism=threads,
                                       seed=run.seed).fit(train)


rows = {}
for name in grids:
    alone = seconds(partial(tune, name, 1))
    together = seconds(partial(tune, name, parallelism)) if parallelism > 1 else alone
    best = tuned[name].bestModel
    rows[name] = {"parallelism 1 (s)": alone, f"parallelism {parallelism} (s)": together,
                  "speed-up": alone / together,
                  "test accuracy": evaluator.evaluate(best.transform(test))}
mllib_table = pd.DataFrame.from_dict(rows, orient="index")
print(mllib_table.round(3).to_string())
record(mllib_lr_speedup=rows["logistic regression"]["speed-up"],
       mllib_forest_speedup=rows["random forest"]["speed-up"])

# %% [markdown]
# A logistic regression fit is a chain of small Spark jobs, one per iteration, each mostly
# waiting on scheduling: two fits interleave their jobs and fill each other's gaps, so
# parallelism helps. A random forest fit has longer tasks that keep the cores busier, which
# leaves fewer gaps to fill: where one fit already keeps every core busy, a second one only
# competes for the same cores and memory. Compare the two speed-ups above; on a cluster with
# many idle cores both gain. `CrossValidator` does the same with
# `numFolds` splits, so it costs `numFolds` times more fits and gives a steadier estimate:

# %%
cross_validation = CrossValidator(estimator=lr, estimatorParamMaps=grids["logistic regression"][1],
                                  evaluator=evaluator, numFolds=3, parallelism=parallelism,
                                  seed=run.seed).fit(train)
for params, accuracy in zip(cross_validation.getEstimatorParamMaps(), cross_validation.avgMetrics,
                            strict=True):
    print(f"regParam={params[lr.regParam]:<6} mean accuracy over 3 folds: {accuracy:.1%}")
print(f"test accuracy of the refitted best: "
      f"{evaluator.evaluate(cross_validation.bestModel.transform(test)):.1%}")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 7 · Optuna on Spark: the maintained successor
# Hyperopt is no longer maintained. **Optuna** is the maintained library for the same job (TPE and
# other samplers, pruning of bad trials, a define-by-run API), and MLflow 3 runs it on Spark with
# `MlflowSparkStudy`: the study lives in the MLflow experiment, every trial is an MLflow run, and
# `n_jobs` Spark tasks each run their share of the trials **one after another**, so the task
# overhead is paid once per task rather than once per trial. Same objective, same budget:

# %% tags=["nbval-ignore-output"]
import optuna
from mlflow.optuna.storage import MlflowStorage
from mlflow.pyspark.optuna.study import MlflowSparkStudy


def optuna_objective(trial) -> float:
    params = {"C": trial.suggest_float("C", *BOUNDS["C"], log=True),
              "gamma": trial.suggest_float("gamma", *BOUNDS["gamma"], log=True)}
    loss = validation_error(params)
    spend_cpu(trial_cost)
    return loss


study = MlflowSparkStudy("optuna MlflowSparkStudy", MlflowStorage(tracking.experiment_id),
                         sampler=optuna.samplers.TPESampler(n_startup_trials=4, seed=run.seed))
optuna_seconds = seconds(partial(study.optimize, optuna_objective, n_trials=max_evals,
                                 n_jobs=parallelism))
choices = pd.DataFrame({
    "seconds": [sequential, spark_seconds[parallelism], optuna_seconds],
    "speed-up": [1, sequential / spark_seconds[parallelism], sequential / optuna_seconds],
    "best error": [min(histories["hyperopt Trials"].losses()),
                   min(histories[f"hyperopt SparkTrials({parallelism})"].losses()),
                   study.best_value],
}, index=["hyperopt Trials", f"hyperopt SparkTrials({parallelism})",
          f"optuna MlflowSparkStudy({parallelism})"])
print(choices.round(3).to_string())
record(optuna_speedup=sequential / optuna_seconds)

# %% [markdown]
# **Which to choose today:** for new work, **Optuna**. It is maintained, its study can be resumed
# and inspected in MLflow, and running trials in batches per Spark task makes its overhead per
# trial smaller than `SparkTrials'`, which the table above measures. Keep Hyperopt for code that
# already uses it, knowing it will not get fixes. Both obey the same economics: parallel trials
# pay off when a trial costs well more than the overhead, and parallelism trades adaptivity for
# wall time.
#
# ## 8 · Every trial in MLflow
# All searches wrote to one MLflow experiment. On a laptop it is a SQLite file in this notebook's
# working folder. On a cluster, the trials log from the workers, which cannot open a file on the
# driver: the notebook starts an MLflow server on the driver and they log to it over HTTP (or to
# the server `tracking_uri` names; on Databricks, to its own).
# `mlflow.search_runs` returns the runs as a pandas DataFrame, with `params.*`, `metrics.*` and
# `tags.*` columns; child runs carry their parent in the tag `mlflow.parentRunId`.

# %%
runs = mlflow.search_runs([tracking.experiment_id], order_by=["start_time ASC"])
parents = runs[runs["tags.mlflow.parentRunId"].isna()].set_index("run_id")["tags.mlflow.runName"]
children = runs.dropna(subset=["tags.mlflow.parentRunId"])
per_search = children.groupby("tags.mlflow.parentRunId").size().rename(index=parents).rename_axis("search")
print(f"{len(runs)} runs in the experiment; child runs per search:")
print(per_search.sort_index().to_string())

# %%
spark_parent_id = parent_ids[f"hyperopt SparkTrials({parallelism})"]
trials_of = children[children["tags.mlflow.parentRunId"] == spark_parent_id]
fig, (by_order, by_C, by_gamma) = plt.subplots(1, 3, figsize=(11, 3.4), sharey=True)
by_order.plot(range(1, len(trials_of) + 1), trials_of["metrics.loss"], "o-")
by_order.set(xlabel="trial (by start time)", ylabel="validation error", yscale="log")
for ax, name in ((by_C, "C"), (by_gamma, "gamma")):
    ax.scatter(trials_of[f"params.{name}"].astype(float), trials_of["metrics.loss"])
    ax.set(xscale="log", xlabel=name)
fig.suptitle(f"The {len(trials_of)} trials of SparkTrials({parallelism}), read back from MLflow")
plt.tight_layout()
plt.show()

# %% [markdown]
# ### Exercise 3 · The best run, from MLflow
# Find the child run of the SparkTrials search (`spark_parent_id`) with the lowest `loss`, using
# `mlflow.search_runs` with a `filter_string` on `tags.mlflow.parentRunId` and `order_by`.
# Store its run id (a string) in `best_run_id`.

# %%
# BEGIN SOLUTION
# STUDENT: best_run_id = None  # the run id of the best child run
best = mlflow.search_runs([tracking.experiment_id],
                          filter_string=f"tags.mlflow.parentRunId = '{spark_parent_id}'",
                          order_by=["metrics.loss ASC"], max_results=1)
best_run_id = best.run_id.iloc[0]
# END SOLUTION

# %%
check_best_run(best_run_id, spark_parent_id)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Summary
# - **Grid search** grows exponentially with the number of parameters and can miss narrow good
#   regions; **random search** covers each parameter better for the same budget; **TPE** adapts to
#   the results so far.
# - **Hyperopt**: a space of `hp.*` expressions, `fmin` with `Trials` (one at a time) or
#   `SparkTrials(parallelism=k)` (one Spark task per trial) for **single-node models**.
# - **Measure the overhead per trial**: parallel trials win only when a trial costs more than
#   about `overhead / (k - 1)`, and approach `k` times faster only for trials many times the
#   overhead. More parallelism also means **less adaptivity**.
# - **MLlib models** are tuned from the driver: `ParamGridBuilder` with `TrainValidationSplit` or
#   `CrossValidator(parallelism=k)`; it helps latency-bound fits more than CPU-bound ones.
# - **Optuna's `MlflowSparkStudy`** is the maintained way to run the same search on Spark.
# - **MLflow** keeps every trial: log from inside the objective, or, cheaper with `SparkTrials`,
#   from the driver once the search is done; read them back with `search_runs`.
#
# Next: **03 · Distributed training**.
