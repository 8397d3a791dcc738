"""Checks for workshop 09's exercises: typing three problems, and a window feature in Spark."""

from __future__ import annotations

import pandas as pd

from . import NOT_ATTEMPTED, Feedback, as_pandas, check_frame, correct, hint

PROBLEM_KINDS = ("sequence", "history match", "forecasting")
VALIDATIONS = ("out of sample", "out of time", "both")

CASES = {
    "card fraud": "Flag a card's last 20 transactions as fraud or not from their merchant "
                  "categories, in order, without timestamps; the model will score new customers.",
    "battery fade": "Predict a battery cell's capacity after its next cycle from its "
                    "charge-discharge history, where the rest between cycles lets it recover; "
                    "the cells live in a climate chamber, so the date does not matter.",
    "solar output": "Predict tomorrow's output of a fleet of rooftop solar panels from their "
                    "past output, the calendar and the weather forecast.",
}
ANSWERS = {"card fraud": ("sequence", "out of sample"),
           "battery fade": ("history match", "out of time"),
           "solar output": ("forecasting", "both")}
WHY = {"card fraud": "only the order of the transactions is known, so only it can matter",
       "battery fade": "how long the cell rested matters, the date does not",
       "solar output": "the date (season) and the weather matter, so test on later dates "
                       "and on panels the model has not seen"}


# Other ways to write the same answer (after lower case, hyphens and underscores as spaces).
SYNONYMS = {"forecast": "forecasting", "history matching": "history match",
            "sequence classification": "sequence", "oos": "out of sample", "oot": "out of time",
            "out of sample and out of time": "both", "out of time and out of sample": "both"}


def normalise(term) -> str:
    words = " ".join(str(term).lower().replace("-", " ").replace("_", " ").split())
    return SYNONYMS.get(words, words)


def check_problem_types(answers: dict | None) -> Feedback:
    """`answers` maps each case of `CASES` to (problem kind, validation), written any usual way."""
    if not answers or any(value is None for value in answers.values()):
        return NOT_ATTEMPTED
    for case, (kind, validation) in ANSWERS.items():
        got = answers.get(case)
        if isinstance(got, str) or got is None or len(got) != 2:
            return hint(f"give {case!r} a pair: (one of {PROBLEM_KINDS}, one of {VALIDATIONS})")
        got_kind, got_validation = map(normalise, got)
        if got_kind not in PROBLEM_KINDS or got_validation not in VALIDATIONS:
            return hint(f"{case}: {tuple(got)} is not (one of {PROBLEM_KINDS}, one of {VALIDATIONS})")
        if got_kind != kind:
            return hint(f"{case}: which of order, elapsed time and the date matter?")
        if got_validation != validation:
            return hint(f"{case}: once deployed, does the model meet new units, later dates, or both?")
    return correct("; ".join(f"{case}: {WHY[case]}" for case in ANSWERS))


def hours_since_alarm(crossings: pd.DataFrame, limit: float) -> pd.DataFrame:
    """Per reading, hours since the error last exceeded `limit` on that vehicle (now included);
    missing until it first does."""
    alarm_ts = crossings.ts.where(crossings.error > limit)
    last_alarm = alarm_ts.groupby(crossings.vehicle_id).ffill()
    hours = (crossings.ts - last_alarm).dt.total_seconds() / 3600
    return pd.DataFrame({"vehicle_id": crossings.vehicle_id, "ts": crossings.ts,
                         "hours_since_alarm": hours})


def check_hours_since_alarm(answer, crossings: pd.DataFrame, limit: float) -> Feedback:
    if answer is None:
        return NOT_ATTEMPTED
    try:
        got = as_pandas(answer)[["vehicle_id", "ts", "hours_since_alarm"]]
    except (KeyError, TypeError) as error:
        return hint(f"expected the columns vehicle_id, ts and hours_since_alarm ({error})")
    got = got.assign(key=got.vehicle_id.astype(str) + " " + got.ts.astype(str))
    expected = hours_since_alarm(crossings, limit)
    expected = expected.assign(key=expected.vehicle_id.astype(str) + " " + expected.ts.astype(str))
    feedback = check_frame(got[["key", "hours_since_alarm"]], expected[["key", "hours_since_alarm"]],
                           key="key", rtol=1e-9,
                           advice="take the last alarm time at or before each reading: "
                                  "F.last(..., ignorenulls=True) over a running window")
    if feedback.correct:
        never = expected.hours_since_alarm.isna().mean()
        return correct(f"{never:.0%} of the readings come before the vehicle's first alarm")
    return feedback
