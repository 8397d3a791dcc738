"""Checks for workshop 07's exercises: scoring with the champion, a monitoring join, a promotion."""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import NOT_ATTEMPTED, Feedback, as_pandas, check_frame, correct, first_line, hint

SCORE = "churn_probability"


def check_champion_scores(answer, expected: pd.DataFrame) -> Feedback:
    """A table with customer_id and the champion's churn probability for every customer.
    `expected` holds the probabilities the champion gives in-process (`customer_id`, SCORE)."""
    if answer is None:
        return NOT_ATTEMPTED
    try:
        got = as_pandas(answer)
    except Exception as error:  # noqa: BLE001 - a check never raises: it says what failed
        return hint(f"the scored table cannot be computed: {first_line(error)}")
    if SCORE in got.columns and len(got) and not pd.api.types.is_numeric_dtype(got[SCORE]):
        return hint(f"{SCORE} should be one number per customer: with predict_proba the UDF returns "
                    "both classes' probabilities; take the second (element_at(..., 2))")
    return check_frame(got, expected, key="customer_id", rtol=1e-5,
                       advice="score with the model that the `champion` alias points at")


def weekly_actual_rate(predictions: pd.DataFrame, actuals: pd.DataFrame) -> pd.DataFrame:
    """The expected answer: per week, the share of scored customers who churned."""
    joined = predictions.merge(actuals, on="customer_id")
    return joined.groupby("week", as_index=False).churned.mean().rename(columns={"churned": "actual_rate"})


def check_weekly_actual_rate(answer, predictions: pd.DataFrame, actuals: pd.DataFrame) -> Feedback:
    """Per week, the churn rate of the customers scored that week, from the joined outcomes."""
    try:
        return check_frame(answer, weekly_actual_rate(predictions, actuals), key="week",
                           advice="join the predictions to the actuals on customer_id, then "
                                  "average churned per week")
    except Exception as error:  # noqa: BLE001
        return hint(f"the table cannot be computed: {first_line(error)}")


def check_promotion(answer, champion: dict, challenger: dict, min_gain: float) -> Feedback:
    """True or False: does the challenger's log loss beat the champion's by more than `min_gain`,
    without a lower AUC?"""
    if answer is None:
        return NOT_ATTEMPTED
    if not isinstance(answer, bool | np.bool_):
        return hint(f"answer True or False, got {type(answer).__name__}")
    from ..monitoring import promotion_decision

    wins = promotion_decision(champion, challenger, min_gain).promote
    if bool(answer) == wins:
        return correct("promote" if wins else "keep the champion")
    return hint("compare the two log losses (lower is better) with the required gain, and check "
                "that the AUC does not fall")
