"""Workshop 13's catalogue generator: seeded, consistent, and carrying a truth that explains the
interactions (the lesson compares its models with it)."""

import numpy as np
import pandas as pd
import pytest

from sparkcourse.data.interactions import WINDOW_DAYS, WINDOW_START, generate_interactions


@pytest.fixture(scope="module")
def data():
    return generate_interactions(600, 200, seed=7)


def test_same_seed_same_data_other_seed_other_data(data):
    pd.testing.assert_frame_equal(data.events, generate_interactions(600, 200, seed=7).events)
    assert not data.events.equals(generate_interactions(600, 200, seed=8).events)


def test_each_user_meets_an_item_at_most_once_after_both_exist(data):
    events = data.events.merge(data.users, on="user_id").merge(data.items, on="item_id")
    assert not events.duplicated(["user_id", "item_id"]).any()
    assert (events.ts >= events.signup).all() and (events.ts >= events.released).all()
    assert events.ts.between(WINDOW_START, WINDOW_START + pd.Timedelta(days=WINDOW_DAYS)).all()
    assert set(events.user_id) == set(data.users.user_id)


def test_only_raters_rate_from_one_to_five_stars_and_everyone_plays(data):
    events = data.events.merge(data.users, on="user_id")
    assert events.rating.notna().equals(events.rates)
    assert set(events.rating.dropna()) <= {1.0, 2.0, 3.0, 4.0, 5.0}
    assert (events.plays >= 1).all()


def test_popularity_has_a_long_tail(data):
    per_item = data.events.item_id.value_counts()
    assert per_item.iloc[: len(data.items) // 10].sum() > 0.25 * len(data.events)  # 10% if uniform
    assert per_item.iloc[-len(data.items) // 2:].sum() < 0.25 * len(data.events)  # 50% if uniform


def later_half(events: pd.DataFrame) -> pd.Series:
    """Whether each event is in the second half of its user's events, by time."""
    position = events.groupby("user_id").ts.rank(method="first")
    return position > events.groupby("user_id").ts.transform("size") / 2


def percentile_in_truth(data, events: pd.DataFrame, early: bool) -> float:
    """Mean rank (0 best, 1 worst) of the picked items among all items, by the truth's scores."""
    users, items = events.user_id.to_numpy(), events.item_id.to_numpy()
    ranks = (-data.truth.choice_scores(np.arange(1, len(data.users) + 1), early)).argsort(1).argsort(1)
    return (ranks[users - 1, items - 1] / len(data.items)).mean()


def test_the_truth_explains_choices_and_tastes_drift(data):
    """Late picks rank high under current tastes, early picks under early ones (random: 0.5)."""
    late = later_half(data.events)
    now, before = data.events[late], data.events[~late]
    def mean_rank(events, early):
        return percentile_in_truth(data, events, early)

    assert mean_rank(now, early=False) < 0.25 and mean_rank(before, early=True) < 0.2
    assert mean_rank(now, early=False) < mean_rank(now, early=True) - 0.01
    assert mean_rank(before, early=True) < mean_rank(before, early=False) - 0.01


def test_ratings_and_plays_rise_with_current_affinity(data):
    now = data.events[later_half(data.events)]
    users, items = now.user_id.to_numpy(), now.item_id.to_numpy()
    affinity = np.einsum("ij,ij->i", data.truth.user_factors[users - 1], data.truth.item_factors[items - 1])
    rated = now.rating.notna().to_numpy()
    assert np.corrcoef(affinity[rated], now.rating[rated])[0, 1] > 0.5
    assert np.corrcoef(affinity, now.plays)[0, 1] > 0.3


def test_attributes_carry_the_genre_and_say_something_about_taste(data):
    descriptors = data.items.filter(like="descriptor_").to_numpy()
    fitted, *_ = np.linalg.lstsq(descriptors, data.truth.item_factors, rcond=None)
    explained = 1 - ((descriptors @ fitted - data.truth.item_factors) ** 2).sum() / (
        (data.truth.item_factors - data.truth.item_factors.mean(0)) ** 2).sum()
    assert explained > 0.5


def test_too_small_a_catalogue_says_so():
    with pytest.raises(ValueError, match="at least 1 user and 20 items"):
        generate_interactions(10, 5)
