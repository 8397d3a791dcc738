from pathlib import Path

import pandas as pd
import pytest

from sparkcourse.data.clickstream import SESSION_GAP, generate_clickstream
from sparkcourse.exercises.features import longest_session_minutes


@pytest.fixture(scope="module")
def data():
    return generate_clickstream(300, seed=7)


def test_same_seed_same_data(data):
    again = generate_clickstream(300, seed=7)
    pd.testing.assert_frame_equal(data.events, again.events)
    pd.testing.assert_frame_equal(data.labels, again.labels)


def test_other_seed_other_data(data):
    assert not generate_clickstream(300, seed=8).events.equals(data.events)


def test_sessionising_recovers_true_sessions(data):
    events = data.events.sort_values(["user_id", "ts"])
    new = events.user_id.diff().ne(0) | events.ts.diff().gt(SESSION_GAP)
    found = new.groupby(events.user_id).sum()
    assert (found.to_numpy() == data.truth.set_index("user_id").n_sessions.loc[found.index]).all()


def test_sessions_are_shorter_than_the_gap(data):
    assert (longest_session_minutes(data.events.sort_values(["user_id", "ts"]))
            .longest_session_minutes.max() < SESSION_GAP.total_seconds() / 60 * 2)


def test_tables_are_consistent(data):
    assert set(data.events.user_id) <= set(data.users.user_id) == set(data.labels.user_id)
    purchases = data.events[data.events.event_type == "purchase"]
    assert purchases.amount.gt(0).all() and data.events.amount.isna().sum() > 0
    assert 0.1 < data.labels.subscribed.mean() < 0.6


def test_label_follows_hidden_traits():
    big = generate_clickstream(3000, seed=1)
    merged = big.truth.merge(big.labels, on="user_id")
    engaged = merged.engagement > merged.engagement.median()
    assert merged[engaged].subscribed.mean() > merged[~engaged].subscribed.mean() + 0.2


def test_write_replaces_old_parts(tmp_path, data):
    paths = data.write(tmp_path, files=4)
    data.write(tmp_path, files=2)
    assert len(list(Path(paths["events"]).glob("*.parquet"))) == 2
    assert len(pd.read_parquet(paths["events"])) == len(data.events)
