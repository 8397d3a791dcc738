"""Checks for workshop 13 (recommenders). Each accepts any correct answer: any implicit ALS model
with its own NDCG, popularity by interactions or by plays, any way of filtering a list."""

from __future__ import annotations

import numbers

import pandas as pd

from . import NOT_ATTEMPTED, Feedback, as_pandas, correct, first_line, hint


def check_implicit_ndcg(model, ndcg, ndcg_of, sample) -> Feedback:
    """`model`: a fitted implicit ALS model; `ndcg`: its NDCG@k, which `ndcg_of(model)` recomputes
    the notebook's way; `sample`: a few training pairs, to see what the model predicts."""
    if model is None or ndcg is None:
        return NOT_ATTEMPTED
    if not hasattr(model, "itemFactors") or not hasattr(model, "recommendForUserSubset"):
        return hint(f"my_model should be a fitted ALS model, ALS(...).fit(train); got {type(model).__name__}")
    if isinstance(ndcg, bool) or not isinstance(ndcg, numbers.Real):
        return hint(f"my_ndcg should be a number; got {type(ndcg).__name__}")
    predicted = as_pandas(model.transform(sample))["prediction"].mean()
    if predicted > 1.5:
        return hint(f"its predictions average {predicted:.1f}, like star ratings: that is explicit ALS. "
                    "Fit with implicitPrefs=True and ratingCol='plays'")
    expected = ndcg_of(model)
    if abs(float(ndcg) - expected) > 1e-6:
        return hint(f"this model's NDCG@k on the test users is {expected:.4f}, not {float(ndcg):.4f}: "
                    "compute ranking_metrics(recommend_unseen(my_model, test_users), relevant)")
    return correct(f"NDCG@k {expected:.4f}")


def _item_ids(answer) -> list | Feedback:
    if isinstance(answer, list | tuple) or hasattr(answer, "tolist") and not hasattr(answer, "columns"):
        return [int(item) for item in list(answer)]
    try:
        frame = as_pandas(answer)
    except TypeError as error:
        return hint(str(error))
    if "item_id" not in frame.columns:
        return hint(f"a DataFrame answer needs an item_id column; got {list(frame.columns)}")
    return [int(item) for item in frame.item_id]


def _top(counts: pd.Series, k: int) -> tuple[set, set]:
    """The items that must be in a top k by `counts`, and those that may (ties at the k-th)."""
    kth = counts.sort_values(ascending=False).iloc[k - 1]
    return set(counts.index[counts > kth]), set(counts.index[counts >= kth])


def _popularity(train) -> dict[str, pd.Series]:
    """Each item's interactions and plays in `train` (Spark or pandas), by item id."""
    if hasattr(train, "groupBy"):  # Spark: count there, bring back a row per item
        from pyspark.sql import functions as F

        train = as_pandas(train.groupBy("item_id").agg(F.count("*").alias("interactions"),
                                                       F.sum("plays").alias("plays")))
    else:
        train = train.groupby("item_id", as_index=False).agg(interactions=("plays", "size"),
                                                             plays=("plays", "sum"))
    counts = train.set_index("item_id")
    return {"interactions": counts.interactions, "plays": counts.plays}


def check_popular(answer, train, k: int) -> Feedback:
    """The k most popular items of `train`, by number of interactions (users) or by plays."""
    if answer is None:
        return NOT_ATTEMPTED
    items = _item_ids(answer)
    if isinstance(items, Feedback):
        return items
    if len(items) != k or len(set(items)) != k:
        return hint(f"expected {k} different items; got {len(set(items))} different of {len(items)}")
    by = _popularity(train)
    for name, counts in by.items():
        must, may = _top(counts, k)
        if must <= set(items) <= may:
            return correct(f"the {k} items with the most {name}")
    if set(items) == set(by["interactions"].sort_values(kind="stable").index[:k]):
        return hint("those are the least popular items: sort the counts in descending order")
    return hint(f"count each item's interactions (or plays) in train, and keep the {k} largest")


LISTS = pd.DataFrame({"user_id": [1] * 5 + [2] * 5 + [3] * 3,
                      "rank": [1, 2, 3, 4, 5, 1, 2, 3, 4, 5, 1, 2, 3],
                      "item_id": [10, 11, 12, 13, 14, 12, 10, 15, 16, 17, 20, 10, 21]})
RECENT = pd.DataFrame({"user_id": [1, 1, 2, 2, 4], "item_id": [12, 10, 17, 12, 21]})


def expected_fresh_lists(lists: pd.DataFrame, recent: pd.DataFrame) -> pd.DataFrame:
    pairs = set(zip(recent.user_id, recent.item_id, strict=True))
    kept = lists[[(u, i) not in pairs for u, i in zip(lists.user_id, lists.item_id, strict=True)]]
    kept = kept.sort_values(["user_id", "rank"]).copy()
    kept["rank"] = kept.groupby("user_id").cumcount() + 1
    return kept.reset_index(drop=True)


def check_fresh_lists(fresh_lists, spark) -> Feedback:
    """`fresh_lists(lists, recent)` on a small case with the traps: an item another user played,
    a user with nothing recent, a recent play by a user without a list."""
    if fresh_lists is None:
        return NOT_ATTEMPTED
    try:
        answer = as_pandas(fresh_lists(spark.createDataFrame(LISTS), spark.createDataFrame(RECENT)))
    except Exception as error:  # the learner's code: any error becomes a hint
        return hint(f"fresh_lists raised {first_line(error)}")
    missing = [column for column in ("user_id", "rank", "item_id") if column not in answer.columns]
    if missing:
        return hint(f"return user_id, rank and item_id; missing {missing}")
    got = answer[["user_id", "rank", "item_id"]].astype("int64").sort_values(["user_id", "rank"])
    expected = expected_fresh_lists(LISTS, RECENT)
    got_pairs, want_pairs = (set(zip(f.user_id, f.item_id, strict=True)) for f in (got, expected))
    if got_pairs != want_pairs:
        lost = sorted(want_pairs - got_pairs)
        if lost:
            user, item = lost[0]
            return hint(f"{len(lost)} items were dropped that the user did not play, e.g. user {user}'s "
                        f"item {item}: drop a (user, item) pair, not an item for everyone")
        return hint(f"{len(got_pairs - want_pairs)} recently played items are still in the lists: "
                    "join on user_id and item_id (left_anti)")
    if got["rank"].tolist() != expected["rank"].tolist():
        return hint("number each user's remaining items 1, 2, 3... again, in their old order")
    return correct()
