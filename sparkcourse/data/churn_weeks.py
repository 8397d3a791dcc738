"""Customers scored week after week, whose outcomes arrive later, in a world that changes (Workshop 07).

Each week brings new customers of the mobile operator of `churn.churn_frame`. From `drift_week`
on, two things change at once, and the lesson's monitoring must find the week:
- the customers: everyone uses `DATA_GROWTH` times more data (a new phone generation);
- the world: a rival's unlimited plan tempts heavy data users, whose churn logit rises by
  `COMPETITOR`.
The scoring day of each week and the outcome a month later are part of the truth, so predictions
can be logged with a timestamp and joined to actuals that arrive afterwards.
"""

from __future__ import annotations

import pandas as pd

from .churn import LABEL, churn_frame

WEEKS = 12
DATA_GROWTH = 1.6
COMPETITOR = 1.2
FIRST_MONDAY = pd.Timestamp("2026-01-05")
OUTCOME_DELAY = pd.Timedelta(days=30)  # when a customer's churn (or not) becomes known


def churn_weeks(customers_per_week: int, weeks: int, drift_week: int, seed: int) -> pd.DataFrame:
    """`weeks` weekly batches of new customers: `week`, `scored_at`, `outcome_known_at`, the
    features, `true_probability` and `churned`; the world changes from week `drift_week` on."""
    frames = []
    for week in range(weeks):
        drifted = week >= drift_week
        frame = churn_frame(customers_per_week, seed + 1000 + week,
                            data_growth=DATA_GROWTH if drifted else 1.0,
                            competitor=COMPETITOR if drifted else 0.0)
        scored_at = FIRST_MONDAY + pd.Timedelta(weeks=week)
        frames.append(frame.drop(columns="is_test").assign(
            customer_id=frame.customer_id + (week + 1) * 10_000_000,  # unique across weeks
            week=week, scored_at=scored_at, outcome_known_at=scored_at + OUTCOME_DELAY))
    columns = ["customer_id", "week", "scored_at", "outcome_known_at"]
    combined = pd.concat(frames, ignore_index=True)
    return combined[columns + [c for c in combined.columns if c not in columns]]


def actuals(weeks: pd.DataFrame) -> pd.DataFrame:
    """What arrives later: each customer's outcome and when it became known."""
    return weeks[["customer_id", "outcome_known_at", LABEL]]
