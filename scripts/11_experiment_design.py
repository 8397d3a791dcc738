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
# # 11 · Designing and analysing experiments
# *Offline model comparisons with statistics, online A/B tests and bandits · about 85 minutes*
#
# **Topics:** factors and responses, `ParamGridBuilder` grids as designs, `TrainValidationSplit` against `CrossValidator` (`avgMetrics`, `stdMetrics`, `collectSubModels`), evaluators and curves, confusion matrices in Spark, the binomial test, McNemar's test, the 5x2cv paired t-test, chi-squared tests (`ChiSquareTest`), one-way ANOVA from Spark aggregates, type I and II errors and power, A/A tests and peeking, A/B tests read two ways, multi-armed bandits, selection bias, colliding experiments, shadow tests
#
# **Spark Connect:** no: the chi-squared goodness-of-fit example uses Spark's RDD-based statistics (`pyspark.mllib`), which Spark Connect does not have. Run it in local mode or on a standalone cluster.
#
# Training in parallel (workshops 02-04) makes many models quickly. This workshop is about
# deciding: **is one model, or one product change, really better, or did the dice decide?** The
# first half compares models offline, on the same data; the second runs experiments on users,
# simulated thousands of times at once with Spark, where the truth is known.
#
# By the end you will be able to:
# - describe an experiment by its **factors** and count the fits a **grid** design costs;
# - choose between **train-validation split** and **cross-validation**, knowing what each costs
#   and how much its choice varies;
# - read a classifier through **evaluators**, **curves** and a **confusion matrix** computed in Spark;
# - test whether two models differ: the **binomial** test, **McNemar's** test, the **5x2cv t-test**,
#   **chi-squared** and **ANOVA**, each computed from Spark aggregates and checked against scipy;
# - size an **A/B test**, read it the frequentist and the Bayesian way, and see why **peeking**
#   lies;
# - compare **bandits** with a fixed split by their regret, and spot **selection bias**,
#   **colliding experiments** and what a **shadow test** can and cannot tell.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Parameters
# `n_simulations` is how many A/A tests section 5 simulates (0: the scale's default). `alpha` is
# the false-positive rate every test accepts, and `power` the chance an A/B test of section 5
# should have of seeing a real effect of the size it is planned for.

# %% tags=["parameters"]
scale: str = "small"  # data size: ci (tests), small (Binder), medium (laptop), large (cluster)
spark_master: str = "local[*]"  # where Spark runs: local[*], local[N] or spark://host:port
seed: int = 42  # random seed for the data, the splits and the simulations
work_dir: str = "work"  # the driver's folder for this notebook's files (Spark's log)
data_root: str = ""  # folder or URI that driver and executors see, for data Spark reads; empty: work_dir
repeats: int = 0  # timed runs of each way in a comparison; 0 takes the scale's (3 at small)
n_simulations: int = 0  # A/A tests to simulate; 0: the scale's default
alpha: float = 0.05  # significance level: the false-positive rate a test accepts
power: float = 0.8  # the chance an A/B test should have of detecting its planned effect

# %%
import itertools
import math
from collections.abc import Iterator

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from pyspark.ml import Pipeline
from pyspark.ml.classification import DecisionTreeClassifier, LogisticRegression, RandomForestClassifier
from pyspark.ml.evaluation import BinaryClassificationEvaluator, MulticlassClassificationEvaluator
from pyspark.ml.feature import OneHotEncoder, StringIndexer, VectorAssembler
from pyspark.ml.functions import vector_to_array
from pyspark.ml.stat import ChiSquareTest
from pyspark.ml.tuning import CrossValidator, ParamGridBuilder, TrainValidationSplit
from pyspark.sql import functions as F
from scipy import stats
from sklearn.ensemble import RandomForestClassifier as SklearnForest
from sklearn.linear_model import LogisticRegression as SklearnLogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier as SklearnTree

from sparkcourse import ParameterError, check_int, check_number, interleaved_seconds, record, setup_notebook
from sparkcourse.data.churn import CATEGORICAL, LABEL, NUMERIC, churn_frame
from sparkcourse.data.experiments import TRUE_LIFT, ab_traffic, expected_naive_lift
from sparkcourse.exercises.experiments import check_mcnemar, check_sample_size, check_thompson_step
from sparkcourse.experiments import (
    aa_test,
    beta_posteriors,
    binomial_test,
    five_by_two_t,
    mcnemar,
    one_way_anova,
    run_bandit,
    sample_size_per_arm,
    two_proportion_z,
)
from sparkcourse.spark import task_slots

run = setup_notebook("11_experiment_design", scale=scale, spark_master=spark_master, seed=seed,
                     work_dir=work_dir, data_root=data_root, repeats=repeats,
                     classic_api="the RDD-based chi-squared test of Spark's statistics guide")
n_simulations = check_int("n_simulations", n_simulations) or run.scale.aa_tests
alpha, power = check_number("alpha", alpha, minimum=1e-6), check_number("power", power, minimum=0.5)
if alpha >= 0.5 or power >= 1:
    raise ParameterError(f"alpha must be below 0.5 and power below 1; got {alpha} and {power}")
spark = run.spark()
rows = run.scale.subscribers
print(f"{rows:,} subscribers for the offline comparisons, {n_simulations:,} simulated A/A tests; "
      f"alpha {alpha}, power {power}")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 1 · An experiment and its factors
# An experiment changes some **factors** and measures a **response** (here a model's score).
# - **Controllable factors:** the algorithm, the input data and features, the parameters and
#   hyperparameters.
# - **Uncontrollable ones:** noise in the data, the randomness of the optimisation (seeds,
#   initialisation, the split), and the outcomes that training never saw.
#
# A hyperparameter grid is a **design**: every combination of levels is one run. A one-factor
# design varies one hyperparameter; a **full factorial** crosses them all, and its size is the
# product of the levels:

# %%
lr = LogisticRegression(featuresCol="features", labelCol=LABEL, maxIter=20)
one_factor = ParamGridBuilder().addGrid(lr.regParam, [0.0, 0.01, 0.1]).build()
factorial = (ParamGridBuilder()
             .addGrid(lr.regParam, [0.0, 0.01, 0.1])
             .addGrid(lr.elasticNetParam, [0.0, 0.5, 1.0])
             .addGrid(lr.fitIntercept, [True, False])
             .build())
print(f"one factor: {len(one_factor)} settings; full factorial of 3 x 3 x 2: {len(factorial)} settings")
fits = pd.DataFrame({"factors": range(1, 7)})
fits["settings (3 levels each)"] = 3 ** fits.factors
fits["fits with 5-fold CV"] = 5 * fits["settings (3 levels each)"] + 1  # + the refit of the best
print(fits.to_string(index=False))

# %% [markdown]
# Six factors at three levels already cost 3,646 fits with 5-fold cross-validation. Ways to
# shrink a design:
# - a **conceptual model** of which factors matter (domain knowledge, earlier runs) drops the rest;
# - **normalised factors** (a learning rate on a log scale) need fewer levels to cover the range;
# - **splitting the data**: tune on a sample, confirm on the full data;
# - a **random** or **Bayesian** search (workshop 02) instead of a grid.

# %% [markdown]
# The data: the churn subscribers of workshop 03, as Spark feature vectors.

# %%
frame = churn_frame(rows, run.seed).drop(columns="true_probability")
subscribers = spark.createDataFrame(frame)
prepare = Pipeline(stages=[
    StringIndexer(inputCols=CATEGORICAL, outputCols=[f"{c}_index" for c in CATEGORICAL]),
    OneHotEncoder(inputCols=[f"{c}_index" for c in CATEGORICAL],
                  outputCols=[f"{c}_vector" for c in CATEGORICAL]),
    VectorAssembler(inputCols=[*NUMERIC, *(f"{c}_vector" for c in CATEGORICAL)], outputCol="features"),
]).fit(subscribers)
data = prepare.transform(subscribers).select("customer_id", "features",
                                            F.col(LABEL).cast("double").alias(LABEL),
                                            "is_test")
train = data.where(~F.col("is_test")).drop("is_test").repartition(2, "features").cache()
test = data.where(F.col("is_test")).drop("is_test").cache()
train_rows = train.count()
print(f"{train_rows:,} rows to train on, {test.count():,} held out; churn rate "
      f"{train.agg(F.mean(LABEL)).first()[0]:.1%}")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 2 · Train-validation split against cross-validation
# Both score every setting of a grid on rows the fit did not see, then refit the best setting on
# all the training rows. `TrainValidationSplit` (TVS) scores each setting once, on one held-out
# part; `CrossValidator` (CV) scores it on each of `numFolds` folds and averages, so it costs
# `numFolds` times the fits. What does the extra cost buy? Tune a decision tree's depth both ways
# with several seeds (each seed draws other splits), on a sample of the training rows (tuning on
# a sample is one way to shrink a design), and compare:
# - the depth each picks;
# - the **estimate** of the chosen model's AUC that tuning reports (TVS: its one validation
#   score; CV: the mean over the folds, `avgMetrics`);
# - the AUC of the refitted model on the held-out test rows.
#
# The sample fits in one partition, so each fit is a string of short one-task Spark jobs;
# `parallelism=3` fits the three settings side by side, which keeps the cores busy.

# %%
# A tree's rawPrediction holds its leaf's row counts, which do not rank rows: score probabilities
evaluator = BinaryClassificationEvaluator(labelCol=LABEL, rawPredictionCol="probability")
tree = DecisionTreeClassifier(labelCol=LABEL, seed=run.seed)
depths = ParamGridBuilder().addGrid(tree.maxDepth, [2, 4, 6]).build()
sample = train.sample(fraction=min(1.0, 2_000 / train_rows), seed=run.seed).coalesce(1).cache()
tuning_seeds = range(run.seed, run.seed + run.scale.tuning_seeds)


test_auc = {}  # by depth: the refit of a depth on the whole sample is the same tree, whatever the seed
last_fit = {}


def tune(name: str, tuner, tuning_seed: int) -> dict:
    model = last_fit[name] = tuner.setSeed(tuning_seed).fit(sample)
    estimates = getattr(model, "avgMetrics", None) or model.validationMetrics
    depth = model.bestModel.getMaxDepth()
    if depth not in test_auc:
        test_auc[depth] = evaluator.evaluate(model.bestModel.transform(test))
    return {"maxDepth": depth, "estimated AUC": max(estimates), "test AUC": test_auc[depth]}


tuners = {
    "TVS (75/25)": TrainValidationSplit(estimator=tree, estimatorParamMaps=depths, evaluator=evaluator,
                                        trainRatio=0.75, parallelism=len(depths)),
    "CV (3 folds)": CrossValidator(estimator=tree, estimatorParamMaps=depths, evaluator=evaluator,
                                   numFolds=3, parallelism=len(depths), collectSubModels=True),
}
choices = pd.DataFrame([{"method": name, "seed": s, **tune(name, tuner, s)}
                        for s in tuning_seeds for name, tuner in tuners.items()])
spreads = choices.groupby("method", sort=False).agg(
    depths_picked=("maxDepth", lambda d: sorted(set(d))), estimate_mean=("estimated AUC", "mean"),
    estimate_spread=("estimated AUC", "std"), test_mean=("test AUC", "mean"), test_spread=("test AUC", "std"))
spreads.insert(0, "fits", [len(depths) + 1, 3 * len(depths) + 1])  # each setting scored, then the refit
print(spreads.round(4).to_string())
ratio = spreads.estimate_spread.iloc[0] / spreads.estimate_spread.iloc[1]
print(f"Over {len(tuning_seeds)} seeds, TVS's estimate varied {ratio:.1f}x as much as CV's, "
      f"for {spreads.fits.iloc[0] / spreads.fits.iloc[1]:.0%} of its fits")
record(tvs_estimate_spread=spreads.estimate_spread.iloc[0],
       cv_estimate_spread=spreads.estimate_spread.iloc[1])

# %% [markdown]
# TVS's estimate rests on one validation part, CV's on the mean of three, so expect TVS's to
# move more from seed to seed (with a handful of seeds, the spreads themselves are rough). Where
# both pick the same depth, the refitted model and its test AUC are the same; with less data or
# closer settings, a noisier estimate also changes the pick. CV costs about three times the
# fits. When fits are cheap or data scarce, CV; when one fit takes an hour, TVS, with a
# validation part large enough to trust.
#
# A fitted `CrossValidatorModel` keeps more than its pick: `avgMetrics` and `stdMetrics`, each
# setting's mean and spread over the folds, and, with `collectSubModels=True`, the fold models
# themselves (`subModels[fold][setting]`), to inspect or to average. The last seed's:

# %%
cross_validated = last_fit["CV (3 folds)"]
per_setting = pd.DataFrame({"maxDepth": [setting[tree.maxDepth] for setting in depths],
                            "avgMetrics": cross_validated.avgMetrics,
                            "stdMetrics": cross_validated.stdMetrics})
per_setting["nodes in each fold's tree"] = [[fold[i].numNodes for fold in cross_validated.subModels]
                                            for i in range(len(depths))]
print(per_setting.round(4).to_string(index=False))

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 3 · Reading a model's output
# Two candidates for the rest of the workshop: a logistic regression and a random forest.
# `BinaryClassificationEvaluator` gives the area under the ROC curve and under the
# precision-recall curve (which, unlike the ROC, moves with the share of churners):

# %%
models = {
    "logistic regression": LogisticRegression(labelCol=LABEL, maxIter=20).fit(train),
    "random forest": RandomForestClassifier(labelCol=LABEL, numTrees=20, maxDepth=6,
                                            seed=run.seed).fit(train),
}
scored = {name: model.transform(test).select("customer_id", LABEL, "prediction",
                                             vector_to_array("probability")[1].alias("score")).cache()
          for name, model in models.items()}
areas = pd.DataFrame({name: {metric: BinaryClassificationEvaluator(
    labelCol=LABEL, rawPredictionCol="score", metricName=metric).evaluate(frame)
    for metric in ("areaUnderROC", "areaUnderPR")} for name, frame in scored.items()}).T
print(areas.round(4).to_string())


# %% [markdown]
# The curves behind the areas, computed in Spark: the test rows are counted by score, in 100
# buckets, with one aggregation; walking the buckets from the highest score down gives, at each
# threshold, the true and false positives above it.

# %%
def curve(frame) -> pd.DataFrame:
    counts = (frame.groupBy(F.floor(F.col("score") * 100).alias("bucket"))
              .agg(F.sum(LABEL).alias("positives"), F.count("*").alias("rows"))
              .orderBy(F.desc("bucket")).toPandas())
    above = counts[["positives", "rows"]].cumsum()
    total_positives, total_negatives = above.positives.iloc[-1], (above.rows - above.positives).iloc[-1]
    return pd.DataFrame({"threshold": counts.bucket / 100,
                         "recall": above.positives / total_positives,
                         "false_positive_rate": (above.rows - above.positives) / total_negatives,
                         "precision": above.positives / above.rows})


curves = {name: curve(frame) for name, frame in scored.items()}
figure, (roc, pr) = plt.subplots(1, 2, figsize=(9, 3.5))
for name, points in curves.items():
    roc.plot(points.false_positive_rate, points.recall, label=name)
    pr.plot(points.recall, points.precision, label=name)
roc.plot([0, 1], [0, 1], ":", color="grey", label="chance")
pr.axhline(test.agg(F.mean(LABEL)).first()[0], ls=":", color="grey", label="share of churners")
roc.set(xlabel="false positive rate", ylabel="true positive rate (recall)", title="ROC")
pr.set(xlabel="recall", ylabel="precision", title="precision-recall")
roc.legend(fontsize=8)
pr.legend(fontsize=8)
plt.tight_layout()
plt.show()

# %% [markdown]
# A model is used at one threshold. Its measures there, for the forest:

# %%
points = curves["random forest"].set_index("threshold")
print(points.loc[[0.2, 0.3, 0.5]].round(3).to_string())

# %% [markdown]
# At 0.5, the usual default, the forest finds few churners; an operator who offers a deal to
# everyone above 0.2 reaches most of them, at the price of more offers to customers who stay.
#
# **Accuracy on an imbalanced label.** The confusion matrix, counted in Spark, and the measures
# of `MulticlassClassificationEvaluator` (which also serves two classes), against a "model" that
# always predicts "stays":

# %%
forest_scored = scored["random forest"].withColumn("always_stays", F.lit(0.0))
print(forest_scored.groupBy(LABEL).pivot("prediction", [0.0, 1.0]).count().orderBy(LABEL)
      .toPandas().rename(columns={"0.0": "predicted 0", "1.0": "predicted 1"}).to_string(index=False))


def measure(column: str, metric: str, **options) -> float:
    return MulticlassClassificationEvaluator(labelCol=LABEL, predictionCol=column, metricName=metric,
                                             **options).evaluate(forest_scored)


measures = pd.DataFrame({name: {"accuracy": measure(column, "accuracy"),
                                "recall of churners": measure(column, "recallByLabel", metricLabel=1.0),
                                "weighted F1": measure(column, "weightedFMeasure")}
                         for name, column in (("random forest", "prediction"),
                                              ("always stays", "always_stays"))})
print(measures.T.round(3).to_string())

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 4 · Is one model really better? Hypothesis tests
# A test asks how likely a difference at least this large would be if the models were equally
# good (the **null hypothesis**). Below `alpha`, we reject it. Each test below starts from counts
# or sums that one Spark aggregation returns, whatever the size of the data.
#
# **The binomial test of an error rate.** A vendor's churn model is wrong on 20% of customers.
# Is our forest's error rate on the test rows different, or within what chance gives?

# %%
wrong = (F.col("prediction") != F.col(LABEL)).cast("int")
errors, trials = forest_scored.agg(F.sum(wrong), F.count("*")).first()
claim = binomial_test(errors, trials, 0.20)
print(f"{errors} errors in {trials} rows ({errors / trials:.1%}): {claim}")
print(f"scipy agrees: {math.isclose(claim.p_value, stats.binomtest(errors, trials, 0.20).pvalue)}; "
      f"at alpha {alpha}: " + ("a different error rate" if claim.p_value < alpha else "no difference shown"))

# %% [markdown]
# **McNemar's test** compares two classifiers on the *same* rows. Only the rows where they
# disagree on being right tell them apart: e01 (only the second is right) and e10 (only the
# first). Under the null hypothesis both are equally likely, and
# $\chi^2 = (e_{01} - e_{10})^2 / (e_{01} + e_{10})$ has one degree of freedom (Edwards'
# continuity correction subtracts 1 from $|e_{01} - e_{10}|$ first).
#
# The textbook example first: 1,600 people asked twice whether they approve of the head of
# government (Agresti 2007, Table 8.1). Did opinion move between the surveys?

# %%
approval = spark.read.csv(run.dataset("approval_twice.csv"), header=True, inferSchema=True)
approval.orderBy("first_survey", "second_survey").show()
moved = {f"{row.first_survey}->{row.second_survey}": row["count"] for row in approval.collect()}
opinion = mcnemar(moved["disapprove->approve"], moved["approve->disapprove"], correction=False)
print(f"{opinion}; z = {-math.sqrt(opinion.statistic):.2f}, as the book prints: -4.17")

# %% [markdown]
# Approval fell: 150 people turned against, 86 came round, and so many more one way than the
# other would happen by chance less than once in 10,000 surveys. Now our two models: one
# aggregation counts both kinds of disagreement.

# %%
both = scored["logistic regression"].select("customer_id", LABEL, F.col("prediction").alias("first")).join(
    scored["random forest"].select("customer_id", F.col("prediction").alias("second")), "customer_id")
first_right, second_right = F.col("first") == F.col(LABEL), F.col("second") == F.col(LABEL)
e01, e10 = both.agg(F.sum((~first_right & second_right).cast("int")),
                    F.sum((first_right & ~second_right).cast("int"))).first()
print(f"only the forest right: {e01}; only the logistic regression right: {e10}")
for correction in (False, True):
    print(mcnemar(e01, e10, correction))

# %% [markdown]
# ### Exercise 1 · McNemar's statistic from two prediction columns
# `pair` holds the forest's and the shallow tree's predictions for the same test rows. Count e01
# and e10 with one Spark aggregation, and compute McNemar's statistic (with or without the
# continuity correction).

# %%
shallow = DecisionTreeClassifier(labelCol=LABEL, maxDepth=3, seed=run.seed).fit(train)
pair = (shallow.transform(test).select("customer_id", LABEL, F.col("prediction").alias("tree"))
        .join(scored["random forest"].select("customer_id", F.col("prediction").alias("forest")),
              "customer_id"))
# BEGIN SOLUTION
# STUDENT: mcnemar_statistic = None  # your answer: a number
tree_right, forest_right = F.col("tree") == F.col(LABEL), F.col("forest") == F.col(LABEL)
only_forest, only_tree = pair.agg(F.sum((~tree_right & forest_right).cast("int")),
                                  F.sum((tree_right & ~forest_right).cast("int"))).first()
mcnemar_statistic = (only_forest - only_tree) ** 2 / (only_forest + only_tree)
print(f"e01 = {only_forest}, e10 = {only_tree}: statistic {mcnemar_statistic:.3f}")
# END SOLUTION

# %%
check_mcnemar(mcnemar_statistic, pair.toPandas(), LABEL, "tree", "forest")

# %% [markdown]
# McNemar's test says whether the two models make *different* mistakes on these rows. It does not
# say whether the forest would still win on other training data: for that, train both again on
# other splits. Dietterich's **5x2 cross-validated paired t-test** (1998) does it with few fits:
# five times, split the data in halves, train both models on each half and score them on the
# other. With $d_i^{(j)}$ the difference in AUC in replication $i$, fold $j$, and $s_i^2$ the
# variance of replication $i$'s two differences,
# $t = d_1^{(1)} / \sqrt{\frac{1}{5}\sum_i s_i^2}$ has 5 degrees of freedom.
#
# That is twenty small fits per pair of models, thirty with a third model for the ANOVA further
# down, each independent of the others: workshop 04's pattern. One `applyInPandas` job runs
# them side by side, one group per (replication, fold, model), each fitting the same model
# families with scikit-learn on a copy of the training rows (at most 200,000) that travels with
# the function. A string of MLlib fits would cost a few Spark jobs each; this is one job.

# %%
training = train.sample(fraction=min(1.0, 200_000 / train_rows), seed=run.seed).select(
    vector_to_array("features").alias("x"), LABEL).toPandas()
features, labels = np.stack(training.x), training[LABEL].to_numpy()
candidates = {
    "logistic regression": lambda: make_pipeline(StandardScaler(), SklearnLogisticRegression()),
    "random forest": lambda: SklearnForest(n_estimators=20, max_depth=6, random_state=run.seed),
    "shallow tree": lambda: SklearnTree(max_depth=3, random_state=run.seed),
}


def fold_score(task: pd.DataFrame) -> pd.DataFrame:
    """Fit one model on one half of one replication's split, and score it on the other half."""
    replication, fold, name = task.replication.iloc[0], task.fold.iloc[0], task.model.iloc[0]
    first_half = np.random.default_rng([run.seed, replication]).random(len(labels)) < 0.5
    fit_on = first_half if fold == 0 else ~first_half
    model = candidates[name]().fit(features[fit_on], labels[fit_on])
    scores = model.predict_proba(features[~fit_on])[:, 1]
    return task.assign(auc=roc_auc_score(labels[~fit_on], scores))


tasks = spark.createDataFrame(pd.DataFrame(itertools.product(range(5), range(2), candidates),
                                           columns=["replication", "fold", "model"]))
fold_scores = (tasks.groupBy("replication", "fold", "model")
               .applyInPandas(fold_score, "replication long, fold long, model string, auc double").toPandas())
by_fold = fold_scores.pivot_table(index=["replication", "fold"], columns="model", values="auc")
differences = (by_fold["random forest"] - by_fold["logistic regression"]).to_numpy().reshape(5, 2)
print(f"forest minus logistic regression, AUC: mean {differences.mean():+.4f}, "
      f"from {differences.min():+.4f} to {differences.max():+.4f}")
forest_against_regression = five_by_two_t(differences)
print(forest_against_regression)
differ = forest_against_regression.p_value < alpha
print(f"At alpha {alpha}: " + ("the forest and the regression differ" if differ
                               else "no difference shown between the forest and the regression"))

# %% [markdown]
# **Chi-squared tests.** `pyspark.ml.stat.ChiSquareTest` tests each categorical feature against
# the label: is churn independent of the plan, of the region? The features must be category
# indices in one vector:

# %%
indexed = VectorAssembler(inputCols=[f"{c}_index" for c in CATEGORICAL], outputCol="categories").transform(
    prepare.stages[0].transform(subscribers))
independence = ChiSquareTest.test(indexed, "categories", LABEL).first()
independence_table = pd.DataFrame({"feature": CATEGORICAL, "statistic": independence.statistics.toArray(),
                                   "degrees of freedom": independence.degreesOfFreedom,
                                   "p-value": independence.pValues.toArray()})
independence_table["churn depends on it"] = np.where(independence_table["p-value"] < alpha,
                                                     f"yes, at {alpha}", "not shown")
print(independence_table.round(4).to_string(index=False))

# %% [markdown]
# The generator gives both an effect on churn, the plan's strong and the region's weak: a test
# finds a weak effect only with enough rows, and "not shown" is not "no effect" (a type II
# error, below). Spark's statistics guide shows a **goodness-of-fit** test with the older, RDD-based
# API: five observed frequencies against a uniform distribution. The same example, and the
# summary Spark prints:

# %%
from pyspark.mllib.linalg import Vectors as MllibVectors  # noqa: E402
from pyspark.mllib.stat import Statistics  # noqa: E402

frequencies = MllibVectors.dense(0.1, 0.15, 0.2, 0.3, 0.25)
print(Statistics.chiSqTest(frequencies))
print(f"scipy: {stats.chisquare(frequencies.toArray())}")

# %% [markdown]
# `pyspark.mllib` works on RDDs, which a Spark Connect client does not have; there,
# `pyspark.ml.stat.ChiSquareTest` on a DataFrame (above) is the way, or, for a handful of counts
# already on the driver, scipy.
#
# **One-way ANOVA** asks whether several groups share one mean. Spark has no ANOVA, but its
# aggregates give everything it needs: each group's size, mean and variance. From them, the sum
# of squares between the groups and within them, and $F$, the ratio of their mean squares. First
# R's `PlantGrowth` data (Dobson 1983): the dried weight of plants under a control and two
# treatments.

# %%
plants = spark.read.csv(run.dataset("plantgrowth.csv"), header=True, inferSchema=True)
groups = (plants.groupBy("group").agg(F.count("*").alias("n"), F.mean("weight").alias("mean"),
                                      F.var_samp("weight").alias("variance")).orderBy("group").toPandas()
          .set_index("group"))
print(groups.round(4).to_string())
print(one_way_anova(groups).round(5).to_string())
weights = plants.toPandas().groupby("group").weight
print(f"scipy's f_oneway: {stats.f_oneway(*(g for _, g in weights)).statistic:.4f}; "
      "R prints F = 4.846 on 2 and 27 degrees of freedom, p = 0.01591")

# %% [markdown]
# Now the same question of the three models' ten fold scores: do they share one mean AUC?

# %%
fold_groups = fold_scores.groupby("model").auc.agg(n="count", mean="mean", variance="var")
model_anova = one_way_anova(fold_groups)
print(model_anova.round(5).to_string())
model_p = model_anova.p_value.iloc[0]
print(f"At alpha {alpha}: " + ("the three models do not all share one mean AUC" if model_p < alpha
                               else "no difference shown between the three models"))
record(models_anova_f=model_anova.F.iloc[0])

# %% [markdown]
# Two kinds of error, and power. A test at level `alpha` wrongly rejects a true null hypothesis
# (a **type I error**, a false positive) `alpha` of the time. It misses a real difference (a
# **type II error**) with a probability $\beta$ that shrinks as the sample grows; $1 - \beta$ is
# its **power**.
#
# | | null hypothesis true (no difference) | null hypothesis false (a real difference) |
# |---|---|---|
# | reject | type I error, probability $\alpha$ | correct, probability $1-\beta$ (power) |
# | do not reject | correct, probability $1-\alpha$ | type II error, probability $\beta$ |
#
# The next section measures both, by simulating thousands of experiments.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 5 · Online experiments, simulated at scale with Spark
# Offline, both models saw the same rows. Online, users are split between variants, and every
# day brings new ones. Simulations show what the tests promise, because there the truth is
# known. One simulated experiment is a fraction of a millisecond of NumPy; Spark runs
# thousands side by side. `spark.range(n, numPartitions=...)` makes one task per batch of
# experiments, and `mapInPandas` hands each task's rows to a Python function as pandas frames;
# each experiment draws from a generator seeded with its own id, so the results do not depend on
# how the experiments are batched. (A `groupBy` on a handful of batch keys would shuffle a few
# tiny partitions, which adaptive query execution merges into one task: workshop 04.)
#
# **A/A tests**: both arms get the same page, so every "significant" result is a false positive.
# Each simulated test runs 14 days with 500 users per arm a day and a 5% click rate, and is
# tested once at the end, and, by a team that peeks, every day:

# %%
batches = 2 * task_slots(spark)  # two batches of experiments per core


AA_SCHEMA = "p_value double, peeking_significant double"


def aa_tests(ids: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    for batch in ids:
        yield pd.DataFrame([aa_test(0.05, 500, 14, alpha, np.random.default_rng([run.seed, i]))
                            for i in batch.id], columns=["p_value", "peeking_significant"])


experiments = spark.range(0, n_simulations, numPartitions=batches)
aa = experiments.mapInPandas(aa_tests, AA_SCHEMA).toPandas()
false_positives = (aa.p_value < alpha).mean()
peeking = aa.peeking_significant.mean()
print(f"{len(aa):,} A/A tests: {false_positives:.1%} significant at the end (alpha {alpha:.0%}); "
      f"{peeking:.1%} significant on some day for a team that peeks daily")
plt.figure(figsize=(5, 2.5))
plt.hist(aa.p_value, bins=20, range=(0, 1), color="tab:blue")
plt.axhline(len(aa) / 20, ls=":", color="grey")
plt.xlabel("p-value at the end of an A/A test")
plt.ylabel("tests")
plt.title("Under the null hypothesis, p-values are uniform")
plt.show()
record(aa_false_positive_rate=false_positives, peeking_false_positive_rate=peeking)

# %% [markdown]
# At the end, about `alpha` of the A/A tests come out significant, as promised, and their
# p-values spread evenly between 0 and 1. Peeking every day and stopping at the first p < alpha
# gives the dice fourteen throws instead of one: several times more false positives. Decide the
# sample size before the test, and look once (or use a sequential test built for looking).
#
# **Planning an A/B test.** The sample size per arm that gives a two-sided two-proportion test
# the power to detect an absolute lift $\delta$ over a base rate $p_A$ (with $p_B = p_A + \delta$
# and $\bar p$ their mean) is
# $$n = \frac{\left(z_{1-\alpha/2}\sqrt{2\bar p(1-\bar p)} + z_{1-\beta}\sqrt{p_A(1-p_A) + p_B(1-p_B)}\right)^2}{\delta^2}.$$
#
# ### Exercise 2 · The sample size of an A/B test
# The page's click rate is 4%; the new button should lift it by half a point, to 4.5%. How many
# users does each arm need, at this notebook's `alpha` and `power`? Compute it (scipy's
# `stats.norm.ppf` gives the z values; any usual formula passes).

# %%
base_rate, lift = 0.04, 0.005
# BEGIN SOLUTION
# STUDENT: users_per_arm = None  # your answer: a number of users in each arm
p_b = base_rate + lift
mean_rate = (base_rate + p_b) / 2
users_per_arm = math.ceil(
    (stats.norm.ppf(1 - alpha / 2) * math.sqrt(2 * mean_rate * (1 - mean_rate))
     + stats.norm.ppf(power) * math.sqrt(base_rate * (1 - base_rate) + p_b * (1 - p_b))) ** 2 / lift**2)
print(f"{users_per_arm:,} users per arm")
# END SOLUTION

# %%
check_sample_size(users_per_arm, base_rate, lift, alpha, power)

# %% [markdown]
# **Running it**, with the truth set: B really lifts clicks from 4% to 4.5%. The frequentist
# reading: a z statistic, a p-value, and a confidence interval for the lift. The Bayesian
# reading: with a uniform prior, each arm's click rate has a Beta posterior; from draws of both,
# the probability that B is better, and the **expected loss** of each choice (the click rate
# given up, on average, if it turns out to be the worse one).

# %%
planned = sample_size_per_arm(base_rate, lift, alpha, power)
rng = np.random.default_rng(run.seed)
clicks_a, clicks_b = rng.binomial(planned, base_rate), rng.binomial(planned, base_rate + lift)
frequentist = two_proportion_z(clicks_a, planned, clicks_b, planned, alpha)
print(f"{planned:,} users per arm: A {frequentist['rate_a']:.2%}, B {frequentist['rate_b']:.2%}; "
      f"z = {frequentist['z']:.2f}, p = {frequentist['p_value']:.4f}; lift {frequentist['difference']:+.2%} "
      f"({1 - alpha:.0%} interval {frequentist['low']:+.2%} to {frequentist['high']:+.2%})")
bayesian = beta_posteriors(clicks_a, planned, clicks_b, planned, seed=run.seed)
print(f"P(B better) = {bayesian['p_b_better']:.1%}; "
      f"expected loss choosing A {bayesian['loss_choosing_a']:.4%}, "
      f"choosing B {bayesian['loss_choosing_b']:.4%}")
rates = np.linspace(0.03, 0.055, 400)
plt.figure(figsize=(6, 2.5))
for name, clicks in (("A", clicks_a), ("B", clicks_b)):
    plt.plot(rates, stats.beta.pdf(rates, 1 + clicks, 1 + planned - clicks), label=f"posterior of {name}")
plt.axvline(base_rate, ls=":", color="tab:blue")
plt.axvline(base_rate + lift, ls=":", color="tab:orange")
plt.xlabel("click rate")
plt.legend()
plt.title("Beta posteriors after the test (dotted: the truth)")
plt.show()

# %% [markdown]
# One test is one draw. How often does a test of this size detect the real lift? Simulate `n_simulations` A/B tests with the
# real lift at half, once and twice the planned size: the share that comes out significant is
# the test's power, and the rest are type II errors. (NumPy draws all the tests at once;
# `two_proportion_z` takes arrays.)

# %%
draws = np.random.default_rng(run.seed + 1)
detected = {}
for size in (planned // 2, planned, 2 * planned):
    a = draws.binomial(size, base_rate, n_simulations)
    b = draws.binomial(size, base_rate + lift, n_simulations)
    share = (two_proportion_z(a, size, b, size, alpha)["p_value"] < alpha).mean()
    detected[f"{size:,}"] = {"detected (power)": share, "missed (type II)": 1 - share}
print(pd.DataFrame(detected).T.rename_axis("users per arm").round(3).to_string())
print(f"planned for a power of {power:.0%}")


# %% [markdown]
# **Multi-armed bandits.** An A/B test shows the worse variant to half the users until it ends.
# A bandit shifts traffic toward the better arm while it learns, trading a little certainty for
# fewer lost clicks. Its cost is the **regret**: the clicks lost against always showing the best
# arm. Three policies, each a function that picks the next arm from the clicks (successes) and
# non-clicks (failures) seen so far:
# - **ε-greedy**: the best arm so far, except a random one with probability ε;
# - **UCB1**: the best optimistic estimate, its mean plus a bonus that shrinks as an arm is tried;
# - **Thompson sampling**: one draw from each arm's Beta posterior, and the arm with the largest.
#
# ### Exercise 3 · A Thompson-sampling step
# Write `thompson(successes, failures, step, rng)`: draw from each arm's Beta posterior with a
# uniform prior and return the index of the largest draw.

# %%
def fixed_split(successes, failures, step, rng):
    return step % len(successes)


def epsilon_greedy(successes, failures, step, rng, epsilon=0.1):
    if rng.random() < epsilon:
        return int(rng.integers(len(successes)))
    return int(np.argmax((successes + 1) / (successes + failures + 2)))


def ucb1(successes, failures, step, rng):
    tries = successes + failures
    if (tries == 0).any():
        return int(np.argmin(tries))
    return int(np.argmax(successes / tries + np.sqrt(2 * np.log(step + 1) / tries)))


# BEGIN SOLUTION
# STUDENT: thompson = None  # your function: thompson(successes, failures, step, rng) -> an arm
def thompson(successes, failures, step, rng):
    return int(np.argmax(rng.beta(successes + 1, failures + 1)))
# END SOLUTION


# %%
check_thompson_step(thompson)

# %% [markdown]
# Each policy plays many simulated runs of 2,000 users on two arms (4% and 6%), spread over
# Spark tasks; the plot shows the mean cumulative regret with the band of the middle 80% of runs.

# %%
policies = {"fixed 50/50 split": fixed_split, "ε-greedy (0.1)": epsilon_greedy, "UCB1": ucb1}
if thompson is not None:
    policies["Thompson sampling"] = thompson
arm_rates, horizon, runs = np.array([0.04, 0.06]), 2_000, run.scale.bandit_runs
checkpoints = np.linspace(0, horizon - 1, 31).astype(int)


REGRET_SCHEMA = "policy string, run long, step long, regret double"


def bandit_runs(batches_of_plays: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    for batch in batches_of_plays:
        for name, i in zip(batch.policy, batch.id, strict=True):
            regret = run_bandit(policies[name], arm_rates, horizon, np.random.default_rng([run.seed, i]))
            yield pd.DataFrame({"policy": name, "run": i, "step": checkpoints + 1,
                                "regret": regret[checkpoints]})


# Every policy's runs, dealt round-robin to the tasks: each gets a share of the slow policies
plays = spark.createDataFrame(pd.DataFrame([(name, i) for name in policies for i in range(runs)],
                                           columns=["policy", "id"])).repartition(batches)
regret = plays.mapInPandas(bandit_runs, REGRET_SCHEMA).toPandas()
bands = regret.groupby(["policy", "step"]).regret.describe(percentiles=[0.1, 0.9])
plt.figure(figsize=(6, 3.2))
for name in policies:
    band = bands.loc[name]
    plt.plot(band.index, band["mean"], label=name)
    plt.fill_between(band.index, band["10%"], band["90%"], alpha=0.2)
plt.xlabel("users")
plt.ylabel("cumulative regret (clicks lost)")
plt.legend(fontsize=8)
plt.title(f"Regret over {runs} runs of each policy")
plt.show()
final = bands.xs(horizon, level="step")["mean"].sort_values()
print(final.round(1).to_string())

# %% [markdown]
# The adaptive policies lose far fewer clicks than the fixed split, whose regret grows in a
# straight line: half its users always see the worse arm. The price: a bandit's uneven
# traffic makes the classical test at the end weaker, so bandits suit "earn while you learn"
# (headlines, offers), and A/B tests suit decisions that must be defended.

# %% [markdown]
# ### Did Spark help?
# Both simulations ran as Spark tasks. The same work in a plain loop on the driver, against the
# Spark job, timed in turns (medians of `run.scale.repeats` rounds after a warm-up): the A/A
# tests, and the bandits' runs. At most 20,000 A/A tests and 100 runs of each policy are timed,
# so that the rounds stay short at every scale.

# %% tags=["nbval-ignore-output"]
timed_tests, timed_runs = min(n_simulations, 20_000), min(runs, 100)
ways = {
    "A/A tests": (timed_tests, {
        "loop": lambda: [aa_test(0.05, 500, 14, alpha, np.random.default_rng([run.seed, i]))
                         for i in range(timed_tests)],
        "Spark": lambda: spark.range(0, timed_tests, numPartitions=batches)
                              .mapInPandas(aa_tests, AA_SCHEMA).count()}),
    "bandit runs": (len(policies) * timed_runs, {
        "loop": lambda: [run_bandit(policy, arm_rates, horizon, np.random.default_rng([run.seed, i]))
                         for policy in policies.values() for i in range(timed_runs)],
        "Spark": lambda: plays.where(F.col("id") < timed_runs).mapInPandas(bandit_runs, REGRET_SCHEMA)
                              .count()}),
}
speed = pd.DataFrame({name: {"simulations": count, **interleaved_seconds(pair, repeat=run.scale.repeats)}
                      for name, (count, pair) in ways.items()}).T
speed["ms per simulation (loop)"] = 1000 * speed["loop"] / speed.simulations
speed["speed-up"] = speed["loop"] / speed["Spark"]
print(speed.round(3).to_string())
print(f"Spark on {task_slots(spark)} cores: {speed['speed-up'].iloc[0]:.2f}x the loop's speed for "
      f"the A/A tests, {speed['speed-up'].iloc[1]:.2f}x for the bandits")
record(aa_spark_speedup=speed["speed-up"].iloc[0], bandit_spark_speedup=speed["speed-up"].iloc[1])

# %% [markdown]
# An A/A test is a tenth of a millisecond of vectorised NumPy: ten thousand of them take the loop
# about a second, close to what a Spark job costs to start, ship a Python function and bring the
# rows back, so Spark gains little, or loses on one core. A bandit run is thousands of Python
# calls, twenty milliseconds or more: there each task's work outweighs that fixed cost, and
# Spark gains more, towards at most `cores` times the loop's speed. As in workshop 04, the work
# per task decides; on a cluster, millions of simulations are where Spark earns its keep.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 6 · Three ways an online experiment lies
# Each pitfall on generated traffic whose truth is known: B lifts the click rate by
# `TRUE_LIFT` in every segment.
#
# **Sample selection bias.** B is rolled out mostly to mobile users, who click less. The naive
# comparison mixes B's effect with the segments' difference; comparing within each segment
# (stratifying) recovers it. `lifts` counts users and clicks by variant (and any other column)
# in one Spark aggregation, then reads each comparison with the two-proportion test:

# %%
users = min(run.scale.subscribers * 25, 2_000_000)  # enough for lifts to a tenth of a point


def lifts(traffic, *by: str) -> pd.DataFrame:
    counts = (traffic.groupBy(*by, "variant")
              .agg(F.count("*").alias("users"), F.sum("clicked").alias("clicks")).toPandas()
              .pivot_table(index=list(by), columns="variant", values=["users", "clicks"]))
    rows = {key: two_proportion_z(row[("clicks", "A")], row[("users", "A")], row[("clicks", "B")],
                                  row[("users", "B")], alpha) for key, row in counts.iterrows()}
    return pd.DataFrame(rows).T[["difference", "low", "high", "p_value"]].rename(
        columns={"difference": "lift of B", "low": f"{1 - alpha:.0%} interval from", "high": "to"})


traffic = spark.createDataFrame(ab_traffic(users, run.seed, assignment="biased"))
print(f"{users:,} users; B's true lift in each segment: {TRUE_LIFT:+.4f}; the naive comparison "
      f"converges to {expected_naive_lift('biased'):+.4f}")
print(pd.concat({"naive": lifts(traffic.withColumn("all", F.lit("all users")), "all"),
                 "by segment": lifts(traffic, "segment")}).round(4).to_string())

# %% [markdown]
# **Colliding experiments.** Another team tests a new layout on the same users at the same
# time. B's button only works on the old layout, so B's measured lift shrinks with the share of
# users in the other test, though nothing about B changed:

# %%
collisions = pd.concat({f"{share:.0%}": lifts(spark.createDataFrame(ab_traffic(
    users, run.seed, colliding=True, new_layout_share=share)).withColumn("all", F.lit("all users")), "all")
    for share in (0.0, 0.5, 0.9)}).droplevel(1).rename_axis("users in the layout test")
collisions.insert(1, "expected", [TRUE_LIFT * (1 - share) for share in (0.0, 0.5, 0.9)])
print(collisions.round(4).to_string())

# %% [markdown]
# Coordinate experiments: split users into layers so that two tests that can interact never
# share users, or analyse them together as a factorial design (section 1).
#
# **A shadow test** runs a new model on live traffic without serving its answers, as workshop 07
# did: it measures how often the two models disagree and what the new one costs, safely. It
# cannot measure the effect on users: they never see its answers. Here B decides for every
# user what it would show, and A is served to all:

# %%
shadow = spark.createDataFrame(ab_traffic(users, run.seed, assignment="shadow"))
print(f"B would have changed the page for {shadow.where(F.col('variant') == 'B').count() / users:.0%} "
      f"of {users:,} users; its true lift where it is served: {TRUE_LIFT:+.4f}")
print(lifts(shadow.withColumn("all", F.lit("all users")), "all").round(4).to_string())
true_rates = (shadow.groupBy("variant").agg(F.mean("click_rate").alias("rate")).toPandas()
              .set_index("variant").rate)
true_difference = round(true_rates.B - true_rates.A, 4) + 0.0  # + 0.0: no "-0.0000"
print(f"true difference in click rate between the two groups: {true_difference:+.4f}")

# %% [markdown]
# The truth says the two groups click alike: nobody saw B, so whatever difference the test
# measures is noise (and, as the A/A tests showed, `alpha` of such comparisons come out
# "significant" anyway). The shadow cannot tell B's effect, however many users it scores. That
# takes an A/B test.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Summary
# - An experiment varies **factors**; a full factorial grid multiplies their levels, so shrink
#   it with a conceptual model, normalised factors, a sample, or a smarter search.
# - **CV** costs `numFolds` times the fits of **TVS** and gives a steadier estimate.
# - Read a classifier through **curves** and measures at the threshold you will use; accuracy
#   hides a model that never finds the rare class.
# - **McNemar** compares two models on the same rows; the **5x2cv t-test** asks whether the
#   gap survives retraining; **chi-squared** and **ANOVA** need only Spark aggregates.
# - Simulations make the promises visible: `alpha` false positives in A/A tests, many more with
#   **peeking**; power and sample size planned before the test.
# - **Bandits** lose fewer clicks than a fixed split; A/B tests give cleaner answers.
# - Randomise assignment, keep colliding tests apart, and remember what a shadow test cannot tell.
