"""Monthly batches of subscribers, and a change feed of their subscriptions (Workshop 06).

The rows are those of `churn.churn_frame`, so a churn model can be trained on any version of
the table and scored on the same held-out customers (`SubscriberData.test`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .churn import PLANS, churn_frame

KEY = "customer_id"


@dataclass
class SubscriberData:
    months: list[pd.DataFrame]  # training customers, in the order they joined
    test: pd.DataFrame  # held-out customers, never written to the table


def subscriber_months(rows: int, seed: int, months: int = 3) -> SubscriberData:
    """`rows` subscribers: the test fifth held out, the rest split into `months` monthly batches."""
    frame = churn_frame(rows, seed).drop(columns=["true_probability"])
    train = frame[~frame.is_test].drop(columns="is_test").reset_index(drop=True)
    test = frame[frame.is_test].drop(columns="is_test").reset_index(drop=True)
    bounds = np.linspace(0, len(train), months + 1).astype(int)
    parts = [train.iloc[a:b].reset_index(drop=True) for a, b in zip(bounds, bounds[1:], strict=False)]
    return SubscriberData(parts, test)


def newcomers(count: int, seed: int, first_id: int) -> pd.DataFrame:
    """`count` new subscribers with ids from `first_id` on, shaped like the table's rows."""
    frame = churn_frame(count, seed).drop(columns=["true_probability", "is_test"])
    return frame.assign(customer_id=frame.customer_id + first_id)


def non_normalised(batch: pd.DataFrame) -> pd.DataFrame:
    """The bad write of the story: data use in MB instead of GB, fees in cents instead of euros."""
    return batch.assign(data_gb=(batch.data_gb * 1024).round(1),
                        monthly_fee=(batch.monthly_fee * 100).round())


def change_feed(current: pd.DataFrame, seed: int, updates: int, deletes: int, inserts: int,
                new_customers: pd.DataFrame) -> pd.DataFrame:
    """A change-data-capture feed: plan changes of existing customers, cancellations, new customers.

    `op` says what happened to each row; deleted rows carry the customer's last known values."""
    rng = np.random.default_rng(seed)
    chosen = current.iloc[rng.choice(len(current), updates + deletes, replace=False)]
    changed = chosen.iloc[:updates].copy()
    changed["plan"] = rng.choice(PLANS, updates)
    changed["monthly_fee"] = (changed.monthly_fee * rng.uniform(0.8, 1.2, updates)).round(2)
    feed = pd.concat([changed.assign(op="update"), chosen.iloc[updates:].assign(op="delete"),
                      new_customers.iloc[:inserts].assign(op="insert")], ignore_index=True)
    return feed.sort_values(KEY, ignore_index=True)


def apply_feed(current: pd.DataFrame, feed: pd.DataFrame) -> pd.DataFrame:
    """What the table should hold after the feed: the ground truth of a correct MERGE."""
    untouched = current[~current[KEY].isin(feed[KEY])]
    kept = feed[feed.op.isin(["update", "insert"])].drop(columns="op")
    return pd.concat([untouched, kept], ignore_index=True).sort_values(KEY, ignore_index=True)
