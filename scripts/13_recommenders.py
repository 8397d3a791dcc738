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
# # 13 · Recommender systems at scale
# *From events to models · about 85 minutes*
#
# **Topics:** explicit and implicit feedback; collaborative, content-based and hybrid
# filtering; matrix factorisation with ALS; RMSE and ranking metrics (precision@k, NDCG@k,
# MAP); per-user time splits; tuning in parallel; cold start; `recommendForAllUsers`, blocks
# and checkpoints; a stream of new interactions; training and prediction endpoints
#
# **Spark Connect:** no: the service below trains ALS from a thread of this kernel, and the
# stream keeps its tables in the driver's memory. Run it in local mode or on a standalone cluster.
#
# Recommendations are the most common ML pipeline on Spark: what to watch, buy or click next,
# the carousels of a home page, autocompletion. They are also where data grows fastest: every
# user meets every item. This workshop builds one end to end, on a seeded catalogue whose true
# tastes we know, so that every model can be compared with the truth.
#
# By the end you will be able to:
# - tell **explicit** from **implicit** feedback, and **collaborative** from **content-based**
#   filtering;
# - factorise the utility matrix with **ALS**, and score it with **RMSE** and with **ranking
#   metrics** (precision@k, NDCG@k, MAP);
# - split by **time, per user**, and **tune** in parallel, knowing what a random split leaks;
# - serve **cold users and new items** with popularity, content and a hybrid;
# - precompute every user's list at scale, and keep it fresh from a **stream** of interactions;
# - put the model behind **training and prediction endpoints**, and measure their latency.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Parameters
# `n_users` and `n_items` size the catalogue (0 takes the scale's: 3,000 users and 1,000 items
# at *small*). `rank` is ALS's number of factors, `top_k` the length of a list and the *k* of
# the metrics. `serve_port` is the service's port on 127.0.0.1 (0 picks a free one).
# `kafka_bootstrap` points at an existing Kafka cluster; empty, the notebook starts its own
# broker (as in workshop 12); `none` streams from files instead.

# %% tags=["parameters"]
scale: str = "small"  # data size: ci (tests), small (Binder), medium (laptop), large (cluster)
spark_master: str = "local[*]"  # where Spark runs: local[*], local[N] or spark://host:port
seed: int = 42  # random seed for the data and the models
work_dir: str = "work"  # the driver's folder for this notebook's files (Spark's log, the broker)
data_root: str = ""  # folder that driver and executors see, for tables; empty: work_dir
n_users: int = 0  # users in the generated catalogue; 0 takes the scale's
n_items: int = 0  # items in the catalogue; 0 takes the scale's
rank: int = 10  # ALS's number of latent factors
top_k: int = 10  # length of each recommendation list, and the k of precision@k and NDCG@k
repeats: int = 0  # timed runs of each way in a comparison; 0 takes the scale's
serve_port: int = 0  # the recommendation service's port on 127.0.0.1; 0 picks a free one
kafka_bootstrap: str = ""  # host:port of a Kafka cluster; empty: start a broker here; none: files

# %%
import json
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from pyspark.ml import Estimator, Model
from pyspark.ml.evaluation import RankingEvaluator, RegressionEvaluator
from pyspark.ml.recommendation import ALS
from pyspark.ml.tuning import ParamGridBuilder, TrainValidationSplit
from pyspark.sql import Window
from pyspark.sql import functions as F

from sparkcourse import check_int, record, setup_notebook, storage
from sparkcourse.data.interactions import (
    GENRES,
    RATING_NOISE,
    WINDOW_DAYS,
    WINDOW_START,
    generate_interactions,
)
from sparkcourse.exercises.recommenders import check_fresh_lists, check_implicit_ndcg, check_popular
from sparkcourse.measure import interleaved_seconds
from sparkcourse.params import check_bootstrap
from sparkcourse.recserve import Catalogue, RecommendationServer, call, load, wait_for_version
from sparkcourse.serving import latency_summary
from sparkcourse.spark import driver_address, task_slots

run = setup_notebook("13_recommenders", scale=scale, spark_master=spark_master, seed=seed,
                     work_dir=work_dir, data_root=data_root, repeats=repeats,
                     classic_api="a training thread in the kernel, memory tables")
n_users = check_int("n_users", n_users or run.scale.rec_users, minimum=100)
n_items = check_int("n_items", n_items or run.scale.rec_items, minimum=50)
rank = check_int("rank", rank, minimum=1, maximum=200)
top_k = check_int("top_k", top_k, minimum=1, maximum=100)
serve_port = check_int("serve_port", serve_port, maximum=65_535)
use_kafka = kafka_bootstrap.strip().lower() != "none"
kafka_bootstrap = check_bootstrap("kafka_bootstrap", kafka_bootstrap) if use_kafka else "none"

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 1 · Feedback, filtering, and the utility matrix
# A recommender learns from what users did. Two kinds of **feedback**:
#
# | | explicit | implicit |
# |---|---|---|
# | what | ratings, likes: what users *say* | plays, views, clicks, purchases: what they *do* |
# | how much | little: most users never rate | plenty: every visit leaves some |
# | what it means | a preference, good or bad | confidence that they like it; no "no", only "unseen" |
#
# and three ways to use it:
# - **collaborative filtering**: users who did alike will like alike. It needs no item
#   descriptions, only interactions, and cannot place a user or an item it has never seen;
# - **content-based filtering**: items like those the user liked, by their attributes
#   (genre, descriptors). It works for new items, but only repeats what the user showed;
# - **hybrids**: both, blended, or one as the fallback of the other (section 4).
#
# Our catalogue is generated: every user and item has a hidden taste vector of six factors, and
# users pick items with a probability that grows with how well the two match and with the
# item's popularity. A third of the users also rate what they played, 1 to 5 stars. And tastes
# **drift**: half-way through their weeks, users' tastes move a third of the way towards another
# genre.

# %%
data = generate_interactions(n_users, n_items, seed=run.seed)
print(data)
spark = run.spark(packages=("kafka",) if use_kafka else ())
spark.sparkContext.setCheckpointDir(run.path("checkpoints"))  # ALS needs it: section 6 says why
paths = {name: storage.write_parquet(getattr(data, name), run.path("catalogue", f"{name}.parquet"))
         for name in ("events", "items", "users")}
events = spark.read.parquet(paths["events"])
items = spark.read.parquet(paths["items"])
events.orderBy("ts", "user_id").show(5)

# %% [markdown]
# The **utility matrix** has a row per user and a column per item. It is huge and almost empty:

# %%
cells = n_users * n_items
print(f"{n_users:,} users x {n_items:,} items = {cells:,} cells; {len(data.events):,} filled "
      f"({len(data.events) / cells:.2%}). Netflix's prize data: 480,189 x 17,770 = 8.5 billion "
      f"cells, 1.2% filled")
per_item = data.events.item_id.value_counts().to_numpy()
fig, ax = plt.subplots(figsize=(6, 3.2))
ax.loglog(np.arange(1, len(per_item) + 1), per_item)
ax.set(xlabel="item, by popularity", ylabel="interactions",
       title="A long tail: a few items get most interactions")
plt.show()

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 2 · A split that respects time
# A recommender predicts what a user will do **next**. A random split of the interactions puts
# some of a user's later plays in training and earlier ones in the test: the model peeks at
# the future (here: at tastes that drifted), and the score flatters it (section 4 measures by
# how much). Split each user's history **by time** instead: their first 80% to train on,
# their last 20% to predict.
#
# Two groups stay out of training on purpose, as they would in production:
# - **cold users**: every 20th user signed up after the model was trained; we know only the
#   three items they picked when they joined (their *onboarding*);
# - **new items**: those released in the last 30 days of the window.

# %%
NEW_FROM = WINDOW_START + pd.Timedelta(days=WINDOW_DAYS - 30)
by_time = Window.partitionBy("user_id").orderBy("ts", "item_id")
split = (events.withColumn("position", F.percent_rank().over(by_time))
         .withColumn("nth", F.row_number().over(by_time))
         .join(items.select("item_id", "released"), "item_id"))
cold = F.col("user_id") % 20 == 0
new_item = F.col("released") >= F.lit(NEW_FROM)
helpers = ("position", "nth", "released")
train = split.filter(~cold & (F.col("position") < 0.8) & ~new_item).drop(*helpers).cache()
test = split.filter(~cold & (F.col("position") >= 0.8)).drop(*helpers).cache()
onboarding = split.filter(cold & (F.col("nth") <= 3)).select("user_id", "item_id").cache()
cold_test = split.filter(cold & (F.col("nth") > 3)).select("user_id", "item_id").cache()
parts = {"train": train, "test": test, "cold users' onboarding": onboarding, "cold users' test": cold_test}
sizes = {name: frame.count() for name, frame in parts.items()}
print(", ".join(f"{name}: {rows:,}" for name, rows in sizes.items()))

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 3 · Matrix factorisation with ALS
# **Matrix factorisation** explains the utility matrix `R` (users x items) by two thin ones:
# user factors `U` (users x rank) and item factors `V` (items x rank), with `R ≈ U Vᵀ` on the
# cells we know. The factors are tastes the model discovers by itself.
#
# Stochastic gradient descent updates `U` and `V` together, one rating at a time: sequential,
# hard to spread over machines. **Alternating least squares** fixes `V` and solves for every
# user's row of `U` (a small least-squares problem each, all independent), then fixes `U` and
# solves for `V`, and repeats. Each half-step is embarrassingly parallel: Spark partitions the
# users and the items into **blocks** and ships each block the factors it needs. This is the
# method of the Netflix Prize paper by Zhou, Wilkinson, Schreiber and Pan (HP Labs, *Large-scale
# Parallel Collaborative Filtering for the Netflix Prize*, 2008), down to its regularisation,
# **ALS-WR**: each user's (and item's) penalty is `regParam` times their number of ratings, so
# one `regParam` suits heavy and light users alike, and it stays right as the data grows.
#
# ### Explicit ratings, scored by RMSE
# Trained on the ratings of the users who rate; scored by the error on their later ratings,
# against two baselines: everyone's mean rating, and each item's mean (popularity).

# %%
rated, rated_test = (frame.filter(F.col("rating").isNotNull()) for frame in (train, test))
blocks = 4  # numUserBlocks, numItemBlocks (section 6); the same on any machine: the results depend on it
explicit_als = ALS(userCol="user_id", itemCol="item_id", ratingCol="rating", rank=rank, maxIter=10,
                   regParam=0.1, numUserBlocks=blocks, numItemBlocks=blocks, seed=run.seed,
                   coldStartStrategy="drop")
explicit = explicit_als.fit(rated)
rmse = RegressionEvaluator(metricName="rmse", labelCol="rating", predictionCol="prediction")
mean_rating = rated.agg(F.avg("rating")).first()[0]
item_means = rated.groupBy("item_id").agg(F.avg("rating").alias("prediction"))
errors = pd.Series({
    "everyone's mean": rmse.evaluate(rated_test.withColumn("prediction", F.lit(mean_rating))),
    "item's mean": rmse.evaluate(rated_test.join(item_means, "item_id", "left")
                                 .fillna({"prediction": mean_rating})),
    f"ALS, rank {rank}": rmse.evaluate(explicit.transform(rated_test)),
    "noise floor": np.sqrt(RATING_NOISE**2 + 1 / 12),  # the ratings' own noise and rounding
}, name="RMSE (stars)")
print(errors.round(3).to_string())
record(rmse_als=errors.iloc[2], rmse_item_mean=errors.iloc[1])

# %% [markdown]
# ALS beats both baselines, and gets near the floor that no model can pass: the noise in the
# ratings themselves.
#
# **`coldStartStrategy`.** A test rating of an item (or by a user) that training never saw has
# no factors: its prediction is `NaN`, and one `NaN` makes the RMSE `NaN`. `"drop"` (above)
# leaves those rows out of the scores; `"nan"`, the default, keeps them. Our new items are
# such rows:

# %%
with_nan = explicit.copy({explicit.coldStartStrategy: "nan"}).transform(rated_test)
print(f"test ratings: {rated_test.count():,}; without factors (new items): "
      f"{with_nan.filter(F.isnan('prediction')).count():,}; RMSE with them kept: "
      f"{rmse.evaluate(with_nan):.3f}")

# %% [markdown]
# ### Implicit feedback, scored by ranking
# Most users never rate: they play. With `implicitPrefs=True`, ALS reads each count as a
# **confidence** (`1 + alpha × plays`) that the user likes the item, and every item they did
# not play as a weak "no". Its predictions are no longer ratings but preferences, good only for
# **ranking**. So is the question a recommender answers: *which k items to show?*
#
# Ranking metrics compare a user's list with the items they went on to play (held-out):
# - **precision@k**: the share of the list they played;
# - **NDCG@k**: hits near the top count more (a hit at position i weighs 1/log₂(i+1)),
#   divided by the best possible list's score;
# - **MAP**: the mean, over users, of the precision at each hit's position.
#
# Each metric is a mean over users, and a few thousand users pin a mean down: we score at most
# 5,000 test users (every user's list comes in section 6).
#
# A list never repeats what the user already played in training: `recommend_unseen` asks ALS
# for enough items to drop those and still keep k. The baseline is the **most popular** items
# the user has not played.

# %%
implicit_als = ALS(userCol="user_id", itemCol="item_id", ratingCol="plays", implicitPrefs=True, alpha=1.0,
                   rank=rank, maxIter=10, regParam=0.1, numUserBlocks=blocks, numItemBlocks=blocks,
                   seed=run.seed)
implicit = implicit_als.fit(train)
seen = train.select("user_id", "item_id")
most_seen = seen.groupBy("user_id").count().agg(F.max("count")).first()[0]


def top_unseen(candidates, already_seen, k):
    """candidates: user_id, item_id, score -> user_id, prediction: the k best unseen items."""
    fresh = candidates.join(already_seen, ["user_id", "item_id"], "left_anti")
    ranked = fresh.withColumn("rank", F.row_number().over(
        Window.partitionBy("user_id").orderBy(F.desc("score"), "item_id")))
    lists = ranked.filter(F.col("rank") <= k).groupBy("user_id").agg(
        F.sort_array(F.collect_list(F.struct("rank", "item_id"))).alias("list"))
    return lists.select("user_id", F.col("list.item_id").cast("array<double>").alias("prediction"))


def recommend_unseen(model, users, k=top_k, already_seen=seen):
    recommendations = model.recommendForUserSubset(users, k + most_seen)
    candidates = recommendations.select("user_id", F.explode("recommendations").alias("r")).select(
        "user_id", "r.item_id", F.col("r.rating").alias("score"))
    return top_unseen(candidates, already_seen, k)


def held_out(frame):
    return frame.groupBy("user_id").agg(F.collect_set(F.col("item_id").cast("double")).alias("label"))


METRICS = {f"precision@{top_k}": "precisionAtK", f"NDCG@{top_k}": "ndcgAtK", "MAP": "meanAveragePrecision"}


def ranking_metrics(lists, relevant):
    scored = lists.join(relevant, "user_id").cache()  # computed once, scored three ways
    metrics = {name: RankingEvaluator(metricName=metric, k=top_k).evaluate(scored)
               for name, metric in METRICS.items()}
    scored.unpersist()
    return metrics


popularity = train.groupBy("item_id").agg(F.count("*").alias("score"))
EVAL_USERS = 5_000  # rank for at most this many test users (their ids are in random order)
test_users = test.select("user_id").distinct().orderBy("user_id").limit(EVAL_USERS).cache()
relevant = held_out(test)
popular_lists = top_unseen(test_users.crossJoin(popularity.orderBy(F.desc("score")).limit(top_k + most_seen)),
                           seen, top_k)
scores = pd.DataFrame({"most popular": ranking_metrics(popular_lists, relevant),
                       "implicit ALS": ranking_metrics(recommend_unseen(implicit, test_users), relevant)}).T

# %% [markdown]
# How close is that to the best possible? The generator knows each user's true odds of picking
# each item: ranking by them is the best any model could do with this data (people's choices
# are random draws, so even that ranking misses).

# %%
warm_ids = test_users.toPandas().user_id.sort_values(ignore_index=True)
users_sample = np.sort(warm_ids.sample(min(2_000, len(warm_ids)), random_state=run.seed).to_numpy())
true_scores = data.truth.choice_scores(users_sample)
best = np.argsort(-true_scores, axis=1)[:, :top_k + most_seen]  # enough to drop what they played
best_k = pd.DataFrame({"user_id": np.repeat(users_sample, best.shape[1]), "item_id": best.ravel() + 1,
                       "score": np.take_along_axis(true_scores, best, axis=1).ravel()})
sample = spark.createDataFrame(pd.DataFrame({"user_id": users_sample}))
truth_lists = top_unseen(spark.createDataFrame(best_k), seen, top_k)
on_sample = {"most popular": popular_lists.join(sample, "user_id"),
             "implicit ALS": recommend_unseen(implicit, sample), "the truth's own ranking": truth_lists}
scores_sample = pd.DataFrame({name: ranking_metrics(lists, relevant) for name, lists in on_sample.items()}).T
print(f"{test_users.count():,} users with held-out plays:")
print(scores.round(4).to_string())
print(f"\nA sample of {len(users_sample):,} of them, with the truth's ranking:")
print(scores_sample.round(4).to_string())
record(ndcg_als=scores.iloc[1, 1], ndcg_popular=scores.iloc[0, 1], ndcg_truth=scores_sample.iloc[2, 1])

# %% [markdown]
# ### Exercise 1 · Implicit ALS, your way
# Fit an implicit ALS model of your own on `train` (`ratingCol="plays"`, `implicitPrefs=True`;
# choose `rank`, `alpha`, `regParam`), then report its NDCG@k on the test users, computed with
# `recommend_unseen`, `held_out` and `ranking_metrics` above.

# %%
# BEGIN SOLUTION
# STUDENT: my_model = None  # an ALSModel fitted with implicitPrefs=True
# STUDENT: my_ndcg = None  # its NDCG@k on the test users
my_model = ALS(userCol="user_id", itemCol="item_id", ratingCol="plays", implicitPrefs=True, alpha=2.0,
               rank=rank, regParam=0.05, maxIter=10, seed=run.seed).fit(train)
my_ndcg = ranking_metrics(recommend_unseen(my_model, test_users), relevant)[f"NDCG@{top_k}"]
# END SOLUTION

# %%
check_implicit_ndcg(my_model, my_ndcg, lambda model: ranking_metrics(
    recommend_unseen(model, test_users), relevant)[f"NDCG@{top_k}"], train.limit(200))


# %% [markdown]
# ### The factors against the truth
# The factors ALS found are not the generator's (any rotation of them fits as well), but the
# **similarities** they imply should be: if two items are alike in truth, their learned factors
# should point the same way. The cosine similarity of random pairs of items, learned against
# true:

# %%
def item_similarities(factors, ids, pairs):
    unit = factors / np.linalg.norm(factors, axis=1, keepdims=True)
    index = {item: row for row, item in enumerate(ids)}
    left, right = (unit[[index[i] for i in side]] for side in pairs)
    return np.einsum("ij,ij->i", left, right)


rng = np.random.default_rng(run.seed)
learned = {name: model.itemFactors.orderBy("id").toPandas() for name, model in
           (("explicit ALS", explicit), ("implicit ALS", implicit))}
common = np.intersect1d(*(frame.id for frame in learned.values()))
pairs = rng.choice(common, (2, 20_000))
truth_similarity = item_similarities(data.truth.item_factors[common - 1], common, pairs)
correlations = {name: np.corrcoef(item_similarities(np.stack(frame.features), frame.id, pairs),
                                  truth_similarity)[0, 1] for name, frame in learned.items()}
fig, axes = plt.subplots(1, 2, figsize=(8, 3.4), sharey=True)
for ax, (name, frame) in zip(axes, learned.items(), strict=True):
    ax.hexbin(truth_similarity, item_similarities(np.stack(frame.features), frame.id, pairs), gridsize=30,
              cmap="Blues", mincnt=1)
    ax.set(title=f"{name}: r = {correlations[name]:.2f}", xlabel="true similarity")
axes[0].set_ylabel("learned similarity")
plt.show()
print(", ".join(f"{name}: r = {r:.3f}" for name, r in correlations.items()))
record(similarity_r_explicit=correlations["explicit ALS"], similarity_r_implicit=correlations["implicit ALS"])


# %% [markdown]
# Both recover much of the true structure (unrelated factors would give r = 0): the explicit
# model from a third of the users' ratings, which measure taste directly; the implicit one from
# everyone's plays, which mix taste with popularity. Neither gets near 1: the factors are
# estimated from 25 interactions a user, and tastes drift.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 4 · Tuning in parallel
# ALS has three settings that matter: `rank`, `regParam` and, for implicit feedback, `alpha`.
# Spark's tuners fit one model per setting, and `parallelism` fits several at once, each a
# Spark job of its own on the same cluster. Each setting is a whole ALS fit: on a big
# catalogue, tune on a sample of users (here at most 5,000), then fit the winner on everyone.
#
# Spark's tuners score a model with `evaluator.evaluate(model.transform(validation))`. An ALS
# model's `transform` predicts single (user, item) pairs, but a ranking metric needs each
# user's list. A small estimator around ALS (`TopKALS`) makes its models answer with lists, so
# that `RankingEvaluator` can judge them inside `TrainValidationSplit`:

# %%
class TopKALS(Estimator):
    """ALS whose models transform a validation set into each user's list and held-out items."""

    def __init__(self, als, k):
        super().__init__()
        self.als, self.k = als, k

    def copy(self, extra=None):  # the tuner's settings are ALS's parameters: hand them to ALS
        that = super().copy(extra)
        that.als = self.als.copy(extra)
        return that

    def _fit(self, dataset):
        return TopKModel(self.als.fit(dataset), dataset.select("user_id", "item_id"), self.k)


class TopKModel(Model):
    def __init__(self, als_model, training_pairs, k):
        super().__init__()
        self.als_model, self.training_pairs, self.k = als_model, training_pairs, k

    def _transform(self, validation):
        users = validation.select("user_id").distinct()
        lists = recommend_unseen(self.als_model, users, self.k, self.training_pairs)
        return lists.join(held_out(validation), "user_id")


TUNING_USERS = 5_000  # tune on at most this many users (their ids are in random order)
tuning_set = train.filter(F.col("user_id") <= TUNING_USERS)
tuning_als = implicit_als.copy().setMaxIter(5)
grid = (ParamGridBuilder().addGrid(tuning_als.rank, [max(2, rank // 2), rank])
        .addGrid(tuning_als.regParam, [0.01, 0.1]).addGrid(tuning_als.alpha, [1.0, 10.0]).build())


def tuner(parallelism, settings=grid):
    return TrainValidationSplit(estimator=TopKALS(tuning_als, top_k), estimatorParamMaps=settings,
                                evaluator=RankingEvaluator(metricName="ndcgAtK", k=top_k),
                                trainRatio=0.75, parallelism=parallelism, seed=run.seed)


slots = task_slots(spark)
tuned = tuner(slots).fit(tuning_set)

# %% [markdown]
# Does fitting settings at once pay? Half the grid, searched one setting at a time and `slots`
# at a time, timed in turns (with one task slot there is nothing to compare):

# %% tags=["nbval-ignore-output"]
half_grid = grid[: len(grid) // 2]
if slots == 1:
    print("1 task slot: the settings run one at a time whatever `parallelism` says; nothing to compare")
else:
    ways = {f"parallelism={p}": (lambda p=p: tuner(p, half_grid).fit(tuning_set)) for p in (1, slots)}
    timed = interleaved_seconds(ways, repeat=run.scale.repeats)
    speedup = timed["parallelism=1"] / timed[f"parallelism={slots}"]
    print(f"{len(half_grid)} settings on {slots} task slots: "
          + ", ".join(f"{way} {s:.1f} s" for way, s in timed.items()) + f"; speed-up {speedup:.2f}x")
    record(tuning_speedup=speedup)

# %%
best = int(np.argmax(tuned.validationMetrics))
choices = pd.DataFrame([{param.name: value for param, value in setting.items()} for setting in grid])
choices["NDCG@k (random validation split)"] = tuned.validationMetrics
print(choices.round(4).to_string())

# %% [markdown]
# On two cores, fitting two settings at once gains little, or nothing: each ALS fit already
# runs its tasks (four blocks) on both cores, so two fits only share them. What parallelism
# can fill are the gaps: the driver's work between jobs, the last straggling tasks. It pays
# when one fit cannot keep the cluster busy: small fits, many executors.
#
# **The split inside the tuner is random.** `TrainValidationSplit` (and `CrossValidator`) cut
# the rows at random: the validation part holds plays from the middle of users' histories,
# with later ones in training. It leaks the future. By how much? The tuner's pick, trained and
# scored on a random 80/20 split of the same users' plays, against our per-user time split:

# %%
winner = implicit_als.copy(grid[best])
warm_plays = split.filter(~cold).select("user_id", "item_id", "plays")
random_train, random_test = warm_plays.randomSplit([0.8, 0.2], seed=run.seed)
ndcg = f"NDCG@{top_k}"
leaky = ranking_metrics(recommend_unseen(winner.fit(random_train), test_users,
                                         already_seen=random_train.select("user_id", "item_id")),
                        held_out(random_test))[ndcg]
honest = ranking_metrics(recommend_unseen(winner.fit(train), test_users), relevant)[ndcg]
print(f"the tuner's pick {choices.iloc[best, :3].to_dict()}: {ndcg} {leaky:.4f} on a random split, "
      f"{honest:.4f} on the time split: the random split flatters it by {leaky / honest - 1:.0%}")
record(ndcg_random_split=leaky, ndcg_time_split=honest)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 5 · Cold start
# ALS has no factors for a user or an item it was not trained with. Production systems meet
# them every minute: a user who just signed up, an item released this morning.
#
# ### Cold users: popularity, content, and a hybrid
# - **Popularity**: the most played items. Safe, the same for everyone.
# - **Content**: items whose attributes resemble those of the three the user picked at sign-up.
#   Each item is a vector (its genre, one-hot, and its six descriptors, standardised); the
#   user's profile is the mean of their picks' vectors; the score is the **cosine similarity**
#   of profile and item, computed in Spark.
# - **Hybrid**: popularity (the log of an item's number of plays) plus twice the content
#   similarity: among popular items the similar ones first.
#
# ### Exercise 2 · The popularity fallback
# Build `popular_fallback`: the `top_k` most popular items of `train` (a list of item ids, or a
# DataFrame with an `item_id` column), what a cold user is shown when nothing else is known.

# %%
# BEGIN SOLUTION
# STUDENT: popular_fallback = None  # the top_k most popular item ids of train
counts = train.groupBy("item_id").count().orderBy(F.desc("count"), "item_id")
popular_fallback = [row.item_id for row in counts.limit(top_k).collect()]
# END SOLUTION

# %%
check_popular(popular_fallback, train, top_k)

# %%
descriptors = [f"descriptor_{i}" for i in range(6)]
stats = data.items[descriptors].agg(["mean", "std"])
features = [*[(F.col("genre") == genre).cast("double") for genre in GENRES],
            *[(F.col(name) - stats.loc["mean", name]) / stats.loc["std", name] for name in descriptors]]


def dot(a, b):  # two array columns of len(features) numbers
    return sum(a[i] * b[i] for i in range(len(features)))


def unit(a):  # scaled to length 1: the dot product of two unit vectors is their cosine
    length = F.sqrt(dot(a, a))
    return F.array(*[a[i] / length for i in range(len(features))])


item_vectors = items.select("item_id", F.array(*features).alias("v"))
COLD_USERS = 1_000  # score at most this many cold users (their ids are in random order)
cold_users = onboarding.select("user_id").distinct().orderBy("user_id").limit(COLD_USERS).cache()
profiles = (onboarding.join(cold_users, "user_id").join(item_vectors, "item_id")
            .select("user_id", F.posexplode("v").alias("i", "x"))
            .groupBy("user_id", "i").agg(F.avg("x").alias("x"))
            .groupBy("user_id").agg(F.sort_array(F.collect_list(F.struct("i", "x"))).alias("p"))
            .select("user_id", unit(F.col("p.x")).alias("profile")))
content = profiles.crossJoin(item_vectors.select("item_id", unit(F.col("v")).alias("v"))).select(
    "user_id", "item_id", dot(F.col("profile"), F.col("v")).alias("similarity"))
log_popularity = popularity.select("item_id", F.log1p("score").alias("log_pop"))
hybrid = content.join(log_popularity, "item_id", "left").fillna({"log_pop": 0.0}).select(
    "user_id", "item_id", (F.col("log_pop") + 2 * F.col("similarity")).alias("score"))
cold_relevant = held_out(cold_test)
candidates = {
    "most popular": cold_users.crossJoin(popularity.orderBy(F.desc("score")).limit(top_k + 3)),
    "content (cosine)": content.withColumnRenamed("similarity", "score"),
    "hybrid": hybrid,
}
cold_lists = {name: top_unseen(scored, onboarding, top_k).cache()  # scored here, searched for new items below
              for name, scored in candidates.items()}
cold_scores = pd.DataFrame({name: ranking_metrics(lists, cold_relevant)
                            for name, lists in cold_lists.items()}).T
print(f"{cold_users.count():,} cold users, each known by 3 picks; ALS cannot rank for them at all")
print(cold_scores.round(4).to_string())
record(ndcg_cold_popular=cold_scores.iloc[0, 1], ndcg_cold_content=cold_scores.iloc[1, 1],
       ndcg_cold_hybrid=cold_scores.iloc[2, 1])

# %% [markdown]
# Popularity is a strong start for a new user. Content alone, from three picks, loses to it: it
# ignores that popular items are popular for a reason. The hybrid, popularity nudged towards
# what the user picked, beats both; once the user has played enough, the next training gives
# them ALS factors of their own.

# %% [markdown]
# ### New items, and a trial period
# A new item has attributes but no plays: popularity and ALS never show it, so it never gets
# the plays that would let them show it. Content-based scoring can (it needs only the
# attributes), and many services also give new items a **trial period**: a small, random share
# of users see them in a reserved slot, whatever their score, and the plays collected there
# feed the next training. Our new items, in the lists above and in their held-out plays:

# %%
new_items = items.filter(new_item).select("item_id")


def new_item_slots(lists):
    shown = lists.select(F.explode("prediction").alias("item"))
    shown = shown.select(F.col("item").cast("long").alias("item_id"))
    return shown.join(new_items, "item_id").count()


new_plays = cold_test.join(new_items, "item_id").count()
print(pd.Series({name: new_item_slots(lists) for name, lists in cold_lists.items()},
                name="slots given to new items").to_string())
print(f"the cold users' held-out plays of new items: {new_plays:,}")

# %% [markdown]
# Only content-based scoring shows new items at all: the hybrid's popularity term buries them,
# since they have no plays yet. A trial period (a reserved slot) gets them seen.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 6 · At scale: every user's list, blocks and checkpoints
# A service does not run ALS when a user opens the app: it looks up a list computed in advance.
# `recommendForAllUsers(k)` computes every user's top k (and `recommendForUserSubset`, some
# users'): it multiplies the user and item factor matrices block by block, keeping the best k
# per user, without ever building the users x items matrix.
#
# - **Blocks**: ALS cuts users and items into `numUserBlocks` and `numItemBlocks` (10 each by
#   default); each block is a task, and each iteration sends item factors to the user blocks
#   that need them, and back. Two or three blocks per core keep every core busy; many more
#   only add shuffle. We use 4 on any machine, since the random start of the factors is drawn
#   per block: another number of blocks gives (slightly) other models.
# - **Checkpoints**: every iteration adds to the lineage of the factors, and a task must
#   unpack its whole lineage: here, without a checkpoint folder, ten iterations were enough for a
#   `StackOverflowError`. With a checkpoint folder set (`setCheckpointDir`, done at the start),
#   `checkpointInterval=k` (10 by default) writes the factors to it every k iterations and cuts
#   the lineage there. The folder must be one every executor sees: the data root.
#
# How does the cost grow? ALS's work per iteration grows with the interactions and the rank;
# `recommendForAllUsers` with users x items. Measured at two sizes of the tuning sample:

# %%
scaled_als = implicit_als.copy().setCheckpointInterval(5)
half = (F.col("user_id") <= min(n_users, TUNING_USERS) // 2) & (F.col("item_id") <= n_items // 2)
halves = {"half the users and items": tuning_set.filter(half), "all of them": tuning_set}


def fit_and_recommend(frame):
    def work():
        model = scaled_als.fit(frame)
        return model.recommendForAllUsers(top_k).count()
    return work


print(f"{blocks} user blocks and {blocks} item blocks; the user factors come in "
      f"{implicit.userFactors.rdd.getNumPartitions()} partitions")


# %% tags=["nbval-ignore-output"]
def distinct(frame, column):
    return frame.select(column).distinct().count()


cost = pd.DataFrame({name: {"users x items": distinct(frame, "user_id") * distinct(frame, "item_id"),
                            "interactions": frame.count()} for name, frame in halves.items()}).T
ways = {name: fit_and_recommend(frame) for name, frame in halves.items()}
cost["seconds"] = pd.Series(interleaved_seconds(ways, repeat=run.scale.repeats))
print(cost.round(1).to_string())
growth = cost.iloc[1] / cost.iloc[0]
print(f"{growth['users x items']:.1f}x the cells, {growth.interactions:.1f}x the interactions: "
      f"{growth.seconds:.1f}x the time")

# %% [markdown]
# At this size the time grows far less than the cells: fixed costs (jobs, shuffles, the
# iterations' planning) dominate. On a real catalogue (millions of users, hundreds of
# thousands of items) the block products dominate and the cost follows users x items x rank:
# that is when a cluster, more blocks, and recommending only for active users pay.
#
# The lists every user gets, precomputed once, filtered of what they have played:

# %%
all_users = train.select("user_id").distinct()
lists_v0 = recommend_unseen(implicit, all_users).cache()  # compared with the retrained model's in section 7
everyone = lists_v0.select(
    "user_id", F.posexplode("prediction").alias("position", "item_id")).select(
    "user_id", (F.col("position") + 1).alias("rank"), F.col("item_id").cast("long"))
lists_path = run.path("recommendations", "v0")
everyone.write.mode("overwrite").parquet(lists_path)
precomputed = spark.read.parquet(lists_path)
print(f"{precomputed.count():,} rows: {all_users.count():,} users x {top_k} items")
precomputed.filter(F.col("user_id") == 1).orderBy("rank").show(3)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 7 · Fresh lists from a stream of plays
# New plays arrive all the time. Retraining on every play is too slow, but two things must
# follow at once:
# - **trending now**: the items played most since the stream started;
# - **recently seen**: what each user just played must leave their list, now, not after the
#   next training.
#
# The plays arrive on workshop 12's kind of pipeline: the app's collector publishes them to a
# Kafka topic, `plays`, keyed by user (or, with `kafka_bootstrap="none"`, as JSON files in a
# folder). Two streaming queries read them into two tables in the driver's memory, and a
# **scheduled retrain** (`availableNow`, then ALS) folds them into the factors.

# %%
TOPIC = "plays"
PLAY_SCHEMA = "user_id BIGINT, item_id BIGINT, ts TIMESTAMP, plays INT"
if use_kafka:
    from confluent_kafka.admin import AdminClient, NewTopic

    from sparkcourse.clickapp import collector, send
    from sparkcourse.kafka import delete_topic, kafka_broker

    kafka = kafka_broker("" if kafka_bootstrap == "none" else kafka_bootstrap, run.work / "kafka", 1,
                         host=driver_address(run.master))
    admin = AdminClient({"bootstrap.servers": kafka.bootstrap})
    delete_topic(admin, TOPIC)  # a re-run on an existing cluster starts afresh
    admin.create_topics([NewTopic(TOPIC, num_partitions=2, replication_factor=1)])[TOPIC].result(30)
    del admin
    app = collector(kafka.bootstrap, TOPIC, run.work).start()

    def publish(plays):
        return send(app.url, plays, batch=200, events_per_second=5_000).events

    messages = (spark.readStream.format("kafka").option("kafka.bootstrap.servers", kafka.bootstrap)
                .option("subscribe", TOPIC).option("startingOffsets", "earliest").load())
    play = F.from_json(F.col("value").cast("string"), PLAY_SCHEMA)
    incoming = messages.select(play.alias("play")).select("play.*")
else:
    inbox = storage.fresh(run.path("inbox"))
    system, folder = storage.filesystem(inbox)
    published = []

    def publish(plays):
        """One JSON-lines file per call, written under a hidden name, then renamed: the stream
        never reads half a file."""
        name = f"plays-{len(published):04d}.json"
        with system.open_output_stream(f"{folder}/.{name}") as out:
            out.write("\n".join(json.dumps(play) for play in plays).encode())
        system.move(f"{folder}/.{name}", f"{folder}/{name}")
        published.append(name)
        return len(plays)

    incoming = spark.readStream.schema(PLAY_SCHEMA).json(inbox)

trending = (incoming.groupBy("item_id").agg(F.count("*").alias("plays_now"))
            .writeStream.queryName("trending_now").outputMode("complete").format("memory")
            .trigger(processingTime="1 second").start())
recent = (incoming.select("user_id", "item_id", "ts").writeStream.queryName("recently_seen")
          .outputMode("append").format("memory").trigger(processingTime="1 second").start())

# %% [markdown]
# Now some users play: 5% of them each play three of the items at the top of their list
# (they followed our recommendations). The stream picks the plays up within seconds:

# %%
lists_now = precomputed.orderBy("user_id", "rank").toPandas()
movers = np.sort(rng.choice(lists_now.user_id.unique(), max(20, n_users // 20), replace=False))
played = lists_now[lists_now.user_id.isin(movers) & (lists_now["rank"] <= 3)]
stream_start = WINDOW_START + pd.Timedelta(days=WINDOW_DAYS)
new_plays = [{"user_id": int(row.user_id), "item_id": int(row.item_id),
              "ts": (stream_start + pd.Timedelta(minutes=i)).isoformat(), "plays": 1}
             for i, row in enumerate(played.itertuples())]
print(f"published {publish(new_plays):,} plays by {len(movers):,} users")
for query in (trending, recent):
    query.processAllAvailable()
print("trending now:")
spark.table("trending_now").orderBy(F.desc("plays_now"), "item_id").show(3)


# %% [markdown]
# Serving reads the precomputed lists **minus** the recently seen table: no retraining, and
# the change is visible at the next request.
#
# ### Exercise 3 · Filter what was just played
# Write `fresh_lists(lists, recent)`: from `lists` (`user_id`, `rank`, `item_id`: each user's
# precomputed list) drop every (user, item) pair found in `recent` (`user_id`, `item_id`), and
# number each user's remaining items 1, 2, 3... again in their old order. Return a DataFrame
# with `user_id`, `rank`, `item_id`.

# %%
# BEGIN SOLUTION
# STUDENT: fresh_lists = None  # def fresh_lists(lists, recent): ...
def fresh_lists(lists, recent):
    kept = lists.join(recent.select("user_id", "item_id"), ["user_id", "item_id"], "left_anti")
    renumbered = F.row_number().over(Window.partitionBy("user_id").orderBy("rank"))
    return kept.withColumn("rank", renumbered).select("user_id", "rank", "item_id")
# END SOLUTION


# %%
check_fresh_lists(fresh_lists, spark)

# %%
recently_seen = spark.table("recently_seen")
served = precomputed.join(recently_seen.select("user_id", "item_id"), ["user_id", "item_id"], "left_anti")
removed = precomputed.count() - served.count()
changed_users = precomputed.join(recently_seen.select("user_id").distinct(), "user_id").select(
    "user_id").distinct().count()
print(f"{len(new_plays):,} streamed plays: {removed:,} items left the lists of {changed_users:,} users "
      f"(each one they just played); the other {all_users.count() - changed_users:,} lists are unchanged")
assert removed == len(new_plays) and changed_users == len(movers)
record(streamed_plays=len(new_plays), items_removed_by_stream=removed)

# %% [markdown]
# ### The scheduled retrain
# Once an hour (say), a job reads the plays that arrived since the last run (`availableNow`:
# what is there, then stop; the checkpoint remembers where it stopped), appends them to the
# interactions, and retrains. The new factors know the new plays: the users who played get
# lists that reflect it, and, since every factor moves a little, other lists change too.

# %%
stream_folder = storage.fresh(run.path("stream"))  # a re-run starts afresh: no old checkpoint
streamed_path = storage.join(stream_folder, "plays")
collect = (incoming.writeStream.format("parquet").option("path", streamed_path)
           .option("checkpointLocation", storage.join(stream_folder, "checkpoint"))
           .trigger(availableNow=True).start())
collect.awaitTermination(300)
streamed = spark.read.schema(PLAY_SCHEMA).parquet(streamed_path)
# ALS adds up each block's plays in the order they arrive, and the stream's files have random
# names: sorted, the same data gives the same model on every run.
all_plays = train.select("user_id", "item_id", "plays").unionByName(
    streamed.select("user_id", "item_id", "plays")).orderBy("user_id", "item_id")
retrained = implicit_als.fit(all_plays)
seen_now = seen.unionByName(streamed.select("user_id", "item_id"))
after = recommend_unseen(retrained, all_users, already_seen=seen_now).select(
    "user_id", F.col("prediction").alias("after"))
before = lists_v0.select("user_id", F.col("prediction").alias("before"))
compared = before.join(after, "user_id").withColumn("mover", F.col("user_id").isin([int(u) for u in movers]))
change = compared.groupBy("mover").agg(
    F.count("*").alias("users"),
    F.avg(F.size(F.array_except("before", "after"))).alias("items replaced per list"),
    F.avg((F.col("before") != F.col("after")).cast("int")).alias("share of lists changed"))
print(change.orderBy("mover").toPandas().replace({"mover": {True: "played in the stream", False: "did not"}}
                                                  ).round(2).to_string(index=False))


# %% [markdown] slideshow={"slide_type": "slide"}
# ## 8 · Training and prediction endpoints
# The model goes behind a small web service (Flask, on 127.0.0.1, in a thread of this kernel,
# since training needs the notebook's Spark session):
#
# | endpoint | does |
# |---|---|
# | `POST /train` (JSON settings, optional) | starts an ALS job; answers **202** at once with its version |
# | `GET /models/<version>` | `training`, `ready`, or `failed: why` |
# | `GET /recommend/<user>?k=10` | the newest version's list; a cold user gets the popular items |
#
# Bad input gets a **4xx with a message**: an unknown user 404, a malformed id or setting 400,
# a second training job while one runs 409. The training job is the notebook's own code: fit,
# precompute every list, load them for serving.

# %%
def train_job(version, settings):
    """ALS with the request's settings on every play so far; every user's list, precomputed."""
    chosen = {implicit_als.getParam(name): value for name, value in settings.items()}
    model = implicit_als.copy(chosen).fit(all_plays)
    lists = recommend_unseen(model, all_plays.select("user_id").distinct(), already_seen=seen_now)
    path = run.path("recommendations", f"v{version}")
    lists.write.mode("overwrite").parquet(path)
    return {int(row.user_id): [int(item) for item in row.prediction]
            for row in spark.read.parquet(path).collect()}


most_popular = popularity.orderBy(F.desc("score"), "item_id").limit(100).collect()
catalogue = Catalogue(known_users=set(data.users.user_id.tolist()),
                      popular=[row.item_id for row in most_popular])
server = RecommendationServer(catalogue, train_job, port=serve_port).start()
status, answer = call(f"{server.url}/train", "POST", choices.iloc[best, :3].to_dict())  # the tuner's pick
print(status, answer)
print("version 1:", wait_for_version(server.url, answer["version"]))

# %%
warm_user, cold_user = int(lists_now.user_id.min()), int(cold_users.agg(F.min("user_id")).first()[0])
requests = {"a known user": f"/recommend/{warm_user}?k=5", "a cold user": f"/recommend/{cold_user}?k=5",
            "an unknown user": f"/recommend/{n_users + 1}", "a malformed id": "/recommend/alice",
            "a bad k": f"/recommend/{warm_user}?k=0"}
for what, path in requests.items():
    status, answer = call(server.url + path)
    print(f"{what:16} GET {path:22} -> {status} {answer}")
status, answer = call(f"{server.url}/train", "POST", {"rank": -3})
print(f"{'a bad setting':16} POST /train {{'rank': -3}}      -> {status} {answer}")

# %% [markdown]
# ### Latency under load
# A second process (so that the client does not share the server's Python) sends 500 requests,
# four at a time, for a mix of known and cold users, and times each:

# %% tags=["nbval-ignore-output"]
# Varies from run to run: latencies
load_users = [int(u) for u in rng.choice(sorted(catalogue.known_users), 200, replace=False)]
served_ms = latency_summary(load(server.url, load_users, requests=500, concurrency=4))
on_demand_ms = []
for user in load_users[:5]:  # what a list costs when Spark computes it per request
    start = time.perf_counter()
    recommend_unseen(retrained, spark.createDataFrame([(user,)], "user_id BIGINT")).collect()
    on_demand_ms.append((time.perf_counter() - start) * 1000)
print(pd.DataFrame({"precomputed lookup (HTTP)": served_ms,
                    "Spark per request (in process)": latency_summary(on_demand_ms)}).round(1).to_string())
record(serve_median_ms=served_ms["median_ms"], serve_p95_ms=served_ms["p95_ms"])

# %% [markdown]
# A lookup costs a millisecond or two; asking Spark for one user's list costs a job, hundreds
# of milliseconds, and holds the cluster. That is why recommendations are **served from
# precomputed tables** (here a dictionary; in production a key-value store such as Redis or
# DynamoDB), refreshed by training jobs and corrected by the stream.
#
# **Concurrency.** The lookups are short, so a threaded server answers many at once. Training
# is long: the endpoint only *starts* it and answers 202, and a lock allows one job at a time
# (409 otherwise). With several services, long jobs, or jobs that must survive a restart, put
# them on a **task queue** (Celery, RQ, a Databricks job triggered by an API call) instead of a
# thread: the queue keeps them, retries them, and lets workers scale apart from the web servers.

# %%
server.stop()
for query in (trending, recent):
    query.stop()
if use_kafka:
    for service in (app, kafka):
        service.stop()
print("stopped: the service, the streams" + (", the collector and the broker" if use_kafka else ""))

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Summary
# - Feedback is **explicit** (ratings: few, signed) or **implicit** (plays: many, confidence
#   only). Collaborative filtering learns from interactions, content-based from attributes;
#   hybrids blend them.
# - **ALS** factorises the huge, sparse utility matrix in parallel blocks, with ALS-WR's
#   regularisation; score explicit models by **RMSE**, implicit ones by **precision@k, NDCG@k
#   and MAP**, against a popularity baseline.
# - Split **by time, per user**: a random split leaks the future and flatters the model.
# - Spark's tuners fit settings in parallel (`parallelism`); a small estimator lets
#   `RankingEvaluator` judge lists.
# - **Cold users** get popularity, content or a hybrid; **new items** need content or a trial
#   period.
# - Precompute every user's list (`recommendForAllUsers`); keep it fresh with a **stream**
#   (trending, recently seen) and scheduled retrains.
# - Serve **lookups**, not Spark jobs: training behind an endpoint that starts a job, and a
#   queue when jobs grow.
