"""Checks for workshop 08's exercises: a BY-group DATA step, a weighted PROC FREQ, a missing value.

Each expected answer is computed here with pandas, independently of the Spark translation."""

from __future__ import annotations

import pandas as pd

from . import NOT_ATTEMPTED, Feedback, check_frame, correct, hint

HAIR_ORDER = ["fair", "red", "medium", "dark", "black"]
HAIR_TESTP = [30, 12, 30, 25, 3]  # the percentages of the SAS example's TESTP= option


def member_totals(claims: pd.DataFrame) -> pd.DataFrame:
    """What the DATA step of exercise 1 outputs: per member, the sum statement's total (missing
    amounts add nothing), the number of claims, and the day of the last claim."""
    ordered = claims.sort_values(["member_id", "service_day"], kind="stable")
    grouped = ordered.groupby("member_id")
    return pd.DataFrame({"total": grouped.amount.sum(min_count=0), "n_claims": grouped.size(),
                         "last_day": grouped.service_day.last()}).reset_index()


def check_member_totals(answer, claims: pd.DataFrame) -> Feedback:
    return check_frame(answer, member_totals(claims), key="member_id",
                       advice="n_claims counts every claim, also those with a missing amount "
                              "(count('*'), not count('amount')); a member whose amounts are all "
                              "missing has a total of 0, as the sum statement starts at 0",
                       rtol=1e-9)


def hair_tests(color: pd.DataFrame) -> pd.DataFrame:
    """TESTP= per Region on the Color data, as SAS prints it (4 decimals)."""
    from scipy import stats

    rows = []
    for region, part in color.groupby("Region"):
        observed = part.groupby("Hair").Count.sum().reindex(HAIR_ORDER, fill_value=0)
        expected = observed.sum() * pd.Series(HAIR_TESTP, HAIR_ORDER) / 100
        value = ((observed - expected) ** 2 / expected).sum()
        rows.append({"Region": region, "Chi-Square": value, "DF": len(HAIR_ORDER) - 1,
                     "Pr > ChiSq": stats.chi2.sf(value, len(HAIR_ORDER) - 1)})
    return pd.DataFrame(rows)


def check_hair_tests(answer, color: pd.DataFrame) -> Feedback:
    """One row per Region with Chi-Square, DF and Pr > ChiSq, to SAS's printed precision."""
    if answer is None:
        return NOT_ATTEMPTED
    expected = hair_tests(color).round(4)
    try:
        got = answer.toPandas() if hasattr(answer, "toPandas") else pd.DataFrame(answer)
        got = got.astype({"Chi-Square": float, "Pr > ChiSq": float}).round(4)
    except (KeyError, TypeError, ValueError) as error:
        return hint(f"expected a table with Region, Chi-Square, DF and Pr > ChiSq ({error})")
    feedback = check_frame(got, expected, key="Region", rtol=1e-9,
                           advice="weight each Hair level by Count (sum, not count), per Region")
    if feedback.correct:
        return correct("the figures SAS prints: " + "; ".join(
            f"Region {region}: {value:.4f}, p = {p:.4f}" for region, value, p in
            zip(expected.Region, expected["Chi-Square"], expected["Pr > ChiSq"], strict=True)))
    return feedback


def check_low_oxygen(sas_count, differing_rows, fitness: pd.DataFrame) -> Feedback:
    """SAS's count of `Oxygen < 45` (missing is smaller than any number), and how many rows a
    naive Spark translation gets wrong."""
    if sas_count is None or differing_rows is None:
        return NOT_ATTEMPTED
    missing = int(fitness.Oxygen.isna().sum())
    expected = int((fitness.Oxygen < 45).sum()) + missing
    if int(sas_count) == expected - missing:
        return hint("that is Spark's count: in SAS a missing Oxygen is smaller than 45, so those "
                    "rows count as low too")
    if int(sas_count) != expected:
        return hint(f"{sas_count} is not what SAS prints for low_oxygen = 1")
    if int(differing_rows) != missing:
        return hint("how many rows have a missing Oxygen?")
    return correct(f"SAS counts {expected}; the {missing} rows with a missing Oxygen make the difference")
