"""Watching a deployed model (Workshop 07): input drift by week, an alarm rule, and a promotion rule."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

PSI_LIMIT = 0.25  # the usual reading: < 0.1 stable, 0.1-0.25 moderate, > 0.25 a significant shift
Z_LIMIT = 3.0  # how many standard errors the actual churn rate may stray from the predicted one


def quantile_edges(reference: pd.Series, bins: int = 10) -> list[float]:
    """Bucket edges that split `reference` into about equal shares, open at both ends."""
    inner = np.unique(np.quantile(reference.dropna(), np.linspace(0, 1, bins + 1)[1:-1]))
    return [-math.inf, *inner.tolist(), math.inf]


def population_stability(expected: pd.Series, actual: pd.Series) -> float:
    """Population stability index between two distributions over the same buckets (shares or
    counts, indexed by bucket): the sum of (actual - expected) * ln(actual / expected)."""
    shares = pd.concat([expected / expected.sum(), actual / actual.sum()], axis=1).fillna(0)
    before, after = shares.clip(lower=1e-4).T.to_numpy()  # an empty bucket: no infinite logarithm
    return float(((after - before) * np.log(after / before)).sum())


def psi_by_week(frame, reference: pd.DataFrame, features: list[str], week: str = "week") -> pd.DataFrame:
    """PSI of each numeric feature of the Spark DataFrame `frame`, week by week, against the
    `reference` rows (those the model trained on), over the reference's deciles. One Spark job
    per feature counts the rows per week and bucket."""
    from pyspark.ml.feature import Bucketizer

    table = {}
    for feature in features:
        edges = quantile_edges(reference[feature])
        expected = pd.cut(reference[feature], edges, right=False, labels=False).value_counts()
        bucketed = Bucketizer(splits=edges, inputCol=feature, outputCol="bucket").transform(
            frame.select(week, frame[feature].cast("double").alias(feature)))
        counts = bucketed.groupBy(week, "bucket").count().toPandas()
        counts = counts.pivot(index="bucket", columns=week, values="count").fillna(0)
        counts.index = counts.index.astype(int)  # Bucketizer's buckets are 0.0, 1.0, ...
        table[feature] = {w: population_stability(expected, counts[w]) for w in counts.columns}
    result = pd.DataFrame(table).sort_index()
    result.index.name = week
    return result


def calibration_z(weekly: pd.DataFrame) -> pd.Series:
    """How many standard errors each week's actual churn rate lies from the mean prediction
    (columns `predicted_rate`, `actual_rate`, `customers`)."""
    spread = np.sqrt(weekly.predicted_rate * (1 - weekly.predicted_rate) / weekly.customers)
    return (weekly.actual_rate - weekly.predicted_rate) / spread


def first_alarm(signal: pd.Series, limit: float) -> int | None:
    """The first index (week) where |signal| exceeds `limit`, or None."""
    over = signal.index[signal.abs() > limit]
    return int(over[0]) if len(over) else None


@dataclass(frozen=True)
class Decision:
    promote: bool
    reason: str


def promotion_decision(champion: dict, challenger: dict, min_gain: float) -> Decision:
    """The course's rule, on metrics measured on the same held-out rows: promote the challenger
    if its log loss is lower than the champion's by more than `min_gain` and its AUC is not lower."""
    gain = champion["log_loss"] - challenger["log_loss"]
    promote = gain > min_gain and challenger["auc"] >= champion["auc"]
    return Decision(promote, f"log loss {champion['log_loss']:.4f} -> {challenger['log_loss']:.4f} "
                    f"(gain {gain:+.4f}, required {min_gain}), AUC {champion['auc']:.4f} -> "
                    f"{challenger['auc']:.4f}: {'promote' if promote else 'keep the champion'}")
