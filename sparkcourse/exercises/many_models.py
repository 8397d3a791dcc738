"""Checks for workshop 04's exercises: a grouped function with its schema, and a capacity plan."""

from __future__ import annotations

import pandas as pd

from . import NOT_ATTEMPTED, Feedback, check_frame, correct, hint

INTEGERS = ("tinyint", "smallint", "int", "bigint")  # Spark's names for whole-number types
DECIMALS = ("float", "double")


def promo_uplift(sales: pd.DataFrame) -> pd.DataFrame:
    """The expected answer: mean sales in promotion weeks minus the other weeks, per store."""
    means = sales.groupby(["store_id", "promo"]).sales.mean().unstack()
    weeks = sales.groupby("store_id").size()
    return pd.DataFrame({"store_id": means.index, "uplift": (means[1] - means[0]).to_numpy(),
                         "weeks": weeks.loc[means.index].to_numpy()})


def check_promo_uplift(answer, schema, sales: pd.DataFrame) -> Feedback:
    """A Spark DataFrame built with applyInPandas, its schema declared, with the right uplifts."""
    if answer is None or schema is None:
        return NOT_ATTEMPTED
    if not hasattr(answer, "schema") or not hasattr(answer, "toPandas"):
        return hint("`uplifts` should be the Spark DataFrame that applyInPandas returns")
    types = {field.name: field.dataType.simpleString() for field in answer.schema.fields}
    wanted = {"store_id": INTEGERS, "uplift": DECIMALS, "weeks": INTEGERS}
    if any(types.get(name) not in kinds for name, kinds in wanted.items()):
        return hint("declare store_id and weeks as whole numbers (int or long) and uplift as a "
                    f"double; got {types}")
    return check_frame(answer, promo_uplift(sales), key="store_id",
                       advice="uplift = mean sales with promo == 1 minus mean with promo == 0")


def planned_minutes(lines: pd.DataFrame, stores: int, model_seconds: float) -> dict[str, float]:
    """Minutes per way of running for `stores` models of `model_seconds` each, from cost lines."""
    per_model = lines.overhead_s + lines.slope * model_seconds
    return (per_model * stores / 60).to_dict()


def check_plan(answer, lines: pd.DataFrame, stores: int, model_seconds: float) -> Feedback:
    """Minutes for the pandas loop and for Spark, read off the measured cost lines."""
    if answer is None:
        return NOT_ATTEMPTED
    if not isinstance(answer, dict) or set(answer) != set(lines.index):
        return hint(f"give a dict with the keys {sorted(lines.index)}")
    expected = planned_minutes(lines, stores, model_seconds)
    for way, minutes in expected.items():
        try:
            got = float(answer[way])
        except (TypeError, ValueError):
            return hint(f"{way}: expected a number of minutes")
        if abs(got - minutes) > 0.02 * minutes:
            return hint(f"{way}: {got:.1f} min; per model it costs overhead_s + slope × "
                        "model cost, times the number of stores, in minutes")
    return correct("compare both with the cores a cluster would give Spark")
