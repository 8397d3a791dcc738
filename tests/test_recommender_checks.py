"""Workshop 13's exercise checks, on pandas frames and fakes: two correct answers of different
kinds pass, and a close wrong one gets its hint. Their Spark answers run in the workshop's own
executions."""

from types import SimpleNamespace

import pandas as pd
import pytest

from sparkcourse.exercises import NOT_ATTEMPTED
from sparkcourse.exercises.recommenders import (
    LISTS,
    RECENT,
    check_fresh_lists,
    check_implicit_ndcg,
    check_popular,
    expected_fresh_lists,
)

# item 1: 4 users, 4 plays; item 2: 3 users, 9 plays; item 3: 2 users, 2 plays; item 4: 1 user, 1 play
TRAIN = pd.DataFrame({"item_id": [1, 1, 1, 1, 2, 2, 2, 3, 3, 4], "plays": [1, 1, 1, 1, 3, 3, 3, 1, 1, 1]})


@pytest.mark.parametrize("answer", [[1, 2], pd.DataFrame({"item_id": [2, 1]}), [2, 1]],
                         ids=["by interactions", "a DataFrame", "by plays"])
def test_popular_accepts_interactions_or_plays_as_a_list_or_a_frame(answer):
    assert check_popular(answer, TRAIN, 2).correct


def test_popular_hints_at_the_wrong_order_and_length():
    assert "descending" in check_popular([4, 3], TRAIN, 2).message
    assert "expected 2 different items" in check_popular([1, 2, 3], TRAIN, 2).message
    assert "the 2 largest" in check_popular([1, 3], TRAIN, 2).message
    assert check_popular(None, TRAIN, 2) == NOT_ATTEMPTED


def test_popular_accepts_either_item_tied_at_the_kth_place():
    tied = pd.DataFrame({"item_id": [1, 1, 2, 3], "plays": [1, 1, 1, 1]})
    assert check_popular([1, 2], tied, 2).correct and check_popular([1, 3], tied, 2).correct


PANDAS = SimpleNamespace(createDataFrame=lambda frame: frame.copy())  # stands in for spark


def by_anti_join(lists, recent):
    kept = lists.merge(recent.drop_duplicates(), on=["user_id", "item_id"], how="left", indicator=True)
    kept = kept[kept._merge == "left_only"].sort_values(["user_id", "rank"])
    return kept.assign(rank=kept.groupby("user_id").cumcount() + 1)[["user_id", "rank", "item_id"]]


def by_rebuilding_each_list(lists, recent):
    rows = []
    for user, group in lists.sort_values("rank").groupby("user_id"):
        played = set(recent[recent.user_id == user].item_id)
        items = [item for item in group.item_id if item not in played]
        rows += [{"user_id": user, "rank": i + 1, "item_id": item} for i, item in enumerate(items)]
    return pd.DataFrame(rows)


@pytest.mark.parametrize("answer", [by_anti_join, by_rebuilding_each_list])
def test_fresh_lists_accepts_any_way_of_filtering(answer):
    assert check_fresh_lists(answer, PANDAS).correct


def test_fresh_lists_hints_at_dropping_an_item_for_everyone_and_at_gaps_in_ranks():
    def for_everyone(lists, recent):
        return lists[~lists.item_id.isin(recent.item_id)]

    def gaps(lists, recent):
        kept = lists.merge(recent, on=["user_id", "item_id"], how="left", indicator=True)
        return kept[kept._merge == "left_only"][["user_id", "rank", "item_id"]]

    assert "not an item for everyone" in check_fresh_lists(for_everyone, PANDAS).message
    assert "1, 2, 3... again" in check_fresh_lists(gaps, PANDAS).message
    assert "raised" in check_fresh_lists(lambda lists, recent: 1 / 0, PANDAS).message
    assert check_fresh_lists(None, PANDAS) == NOT_ATTEMPTED


def test_the_fresh_lists_case_has_its_traps():
    expected = expected_fresh_lists(LISTS, RECENT)
    pairs = set(zip(expected.user_id, expected.item_id, strict=True))
    assert (2, 10) in pairs  # user 1 played item 10, not user 2
    assert 4 not in set(expected.user_id) and len(expected) == len(LISTS) - 4


class FakeModel:
    """An ALS model's surface: factors, lists, and predictions of `level` for every pair."""

    itemFactors = recommendForUserSubset = None

    def __init__(self, level: float):
        self.level = level

    def transform(self, pairs):
        return pairs.assign(prediction=self.level)


SAMPLE = pd.DataFrame({"user_id": [1, 2], "item_id": [3, 4]})


@pytest.mark.parametrize("model", [FakeModel(0.3), FakeModel(0.9)])
def test_implicit_ndcg_accepts_any_implicit_model_with_its_own_score(model):
    assert check_implicit_ndcg(model, 0.21, lambda m: 0.21, SAMPLE).correct


def test_implicit_ndcg_hints_at_explicit_models_and_at_another_number():
    assert "explicit ALS" in check_implicit_ndcg(FakeModel(3.7), 0.2, lambda m: 0.2, SAMPLE).message
    assert "not 0.3000" in check_implicit_ndcg(FakeModel(0.3), 0.3, lambda m: 0.2, SAMPLE).message
    assert "a number" in check_implicit_ndcg(FakeModel(0.3), "0.2", lambda m: 0.2, SAMPLE).message
    assert "fitted ALS model" in check_implicit_ndcg(object(), 0.2, lambda m: 0.2, SAMPLE).message
    assert check_implicit_ndcg(None, None, lambda m: 0.2, SAMPLE) == NOT_ATTEMPTED
