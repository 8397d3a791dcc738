"""Seeded subscribers of a mobile operator, and who cancelled (churned) in the next month.

Each row's `true_probability` is the probability the label was drawn with, so a model's AUC can be
set against the best AUC any model could reach (`best_auc`). Three facts in the true model make
the lesson's points:
- the complaint rate (support calls per year of tenure) drives churn, and it is a ratio that a
  linear model can only use once it is given as a feature;
- heavy data users on the basic plan churn more (an interaction trees find and a linear model misses);
- plan and region are categories, so the pipeline must index and encode them.
The `is_test` column fixes the train/test split, so Spark and single-node models share it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

PLANS = ("basic", "standard", "premium")
REGIONS = ("north", "south", "east", "west")
CATEGORICAL = ["plan", "region"]
NUMERIC = ["tenure_months", "monthly_fee", "support_calls", "data_gb", "age"]
LABEL = "churned"
TEST_FRACTION = 0.2
HEAVY_DATA_GB = 12  # a heavy data user, in GB a month

_PLAN_EFFECT = {"basic": 0.5, "standard": 0.0, "premium": -0.6}
_REGION_EFFECT = {"north": 0.0, "south": 0.25, "east": -0.15, "west": 0.1}
_PLAN_FEE = {"basic": 15.0, "standard": 30.0, "premium": 55.0}


def calls_per_year(support_calls, tenure_months):
    """The complaint rate behind churn: support calls per year of tenure."""
    return support_calls / np.maximum(tenure_months, 1) * 12


def with_complaint_rate(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with the complaint rate as a column `calls_per_year` (a model's first step)."""
    return frame.assign(calls_per_year=calls_per_year(frame.support_calls, frame.tenure_months))


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def churn_frame(rows: int, seed: int, data_growth: float = 1.0, competitor: float = 0.0) -> pd.DataFrame:
    """`rows` subscribers: features, `is_test`, `true_probability` and the label `churned`.

    Two changes of the world, both off by default (workshop 07 turns them on after a known week):
    `data_growth` multiplies everyone's data use (the customers change), and `competitor` adds
    to the churn logit of heavy data users, whom a rival's unlimited plan tempts (the world changes)."""
    rng = np.random.default_rng(seed)
    plan = rng.choice(PLANS, size=rows, p=[0.45, 0.35, 0.2])
    region = rng.choice(REGIONS, size=rows, p=[0.3, 0.25, 0.25, 0.2])
    tenure = rng.integers(1, 73, size=rows)
    fee = np.round(pd.Series(plan).map(_PLAN_FEE).to_numpy() + rng.normal(0, 4, rows), 2)
    fee = np.maximum(fee, 0.5)  # the noise could make a rare basic fee negative (1 in 10,000)
    monthly_calls = rng.gamma(shape=1.5, scale=0.06, size=rows)
    support_calls = rng.poisson(monthly_calls * tenure)
    data_gb = np.round(rng.lognormal(mean=2.0, sigma=0.8, size=rows) * data_growth, 2)
    age = rng.integers(18, 80, size=rows)

    complaint_rate = calls_per_year(support_calls, tenure)
    logit = (
        -2.0
        + pd.Series(plan).map(_PLAN_EFFECT).to_numpy()
        + pd.Series(region).map(_REGION_EFFECT).to_numpy()
        - 0.025 * tenure
        + 0.9 * np.minimum(complaint_rate, 6)
        + 1.4 * ((plan == "basic") & (data_gb > HEAVY_DATA_GB))
        + 0.015 * (fee - pd.Series(plan).map(_PLAN_FEE).to_numpy())
        - 0.01 * (age - 45)
        + competitor * (data_gb > HEAVY_DATA_GB)
    )
    probability = _sigmoid(logit)
    return pd.DataFrame({
        "customer_id": np.arange(rows, dtype=np.int64),
        "plan": plan,
        "region": region,
        "tenure_months": tenure.astype(np.int32),
        "monthly_fee": fee,
        "support_calls": support_calls.astype(np.int32),
        "data_gb": data_gb,
        "age": age.astype(np.int32),
        "is_test": rng.random(rows) < TEST_FRACTION,
        "true_probability": probability,
        LABEL: (rng.random(rows) < probability).astype(np.int32),
    })


def best_auc(frame: pd.DataFrame) -> float:
    """The AUC of the true probabilities: no model can expect to beat it."""
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(frame[LABEL], frame["true_probability"]))
