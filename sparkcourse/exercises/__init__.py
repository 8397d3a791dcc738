"""Check cells for exercises: each check says "correct", gives a hint, or "not attempted yet".

A check never raises: a student notebook with nothing filled in still runs end to end.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

SYMBOLS = {"correct": "✔", "hint": "✘", "not attempted": "…"}


@dataclass(frozen=True)
class Feedback:
    status: str  # "correct", "hint" or "not attempted"
    message: str = ""

    def __repr__(self) -> str:
        label = "not attempted yet" if self.status == "not attempted" else self.status
        return f"{SYMBOLS[self.status]} {label}" + (f": {self.message}" if self.message else "")

    @property
    def correct(self) -> bool:
        return self.status == "correct"


def correct(message: str = "") -> Feedback:
    return Feedback("correct", message)


def hint(message: str) -> Feedback:
    return Feedback("hint", message)


def first_line(error: BaseException) -> str:
    """An exception as one short line (Spark's messages run to many lines)."""
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0][:200] if text else ''}".rstrip(": ")


NOT_ATTEMPTED = Feedback("not attempted", "replace the placeholder with your answer, then re-run")


def as_pandas(answer) -> pd.DataFrame | None:
    """A Spark or pandas(-on-Spark) DataFrame as pandas; None stays None."""
    if answer is None:
        return None
    for method in ("toPandas", "to_pandas"):
        if hasattr(answer, method):
            return getattr(answer, method)()
    if isinstance(answer, pd.DataFrame):
        return answer
    raise TypeError(f"expected a DataFrame, got {type(answer).__name__}")


def answer_frame(answer) -> pd.DataFrame | Feedback:
    """The answer as pandas, or the feedback to give instead (not attempted, not a DataFrame)."""
    try:
        got = as_pandas(answer)
    except TypeError as error:
        return hint(str(error))
    return NOT_ATTEMPTED if got is None else got


def check_frame(answer, expected: pd.DataFrame, key: str, advice: str = "",
                rtol: float = 1e-6, atol: float = 1e-9) -> Feedback:
    """Compare a per-`key` table with the expected one (row order does not matter), each value
    within `rtol` (relative) or `atol` (absolute)."""
    got = answer_frame(answer)
    if isinstance(got, Feedback):
        return got
    wanted = list(expected.columns)
    missing = [c for c in wanted if c not in got.columns]
    if missing:
        return hint(f"expected columns {wanted}; missing {missing}")
    if got[key].duplicated().any():
        return hint(f"one row per {key} expected; some {key}s appear more than once")
    merged = expected.merge(got[wanted], on=key, how="outer", suffixes=("", "_got"),
                            indicator=True)
    absent = (merged._merge == "left_only").sum()
    extra = (merged._merge == "right_only").sum()
    if absent or extra:
        return hint(f"{absent} {key}s missing and {extra} unexpected ones; {advice}".rstrip("; "))
    for column in wanted:
        if column == key:
            continue
        want = merged[column].astype(float).to_numpy()
        have = merged[f"{column}_got"].astype(float).to_numpy()
        wrong = ~np.isclose(want, have, rtol=rtol, atol=atol, equal_nan=True)
        if wrong.any():
            row = merged[wrong].iloc[0]
            example = f"{key} {row[key]}: expected {row[column]:.6g}, got {row[f'{column}_got']:.6g}"
            message = f"{wrong.sum()} of {len(merged)} values of {column} differ ({example})"
            return hint(f"{message}. {advice}".strip())
    return correct()


def check_value(answer, expected: float, advice: str = "", rtol: float = 1e-6) -> Feedback:
    """Compare one number with the expected one."""
    if answer is None:
        return NOT_ATTEMPTED
    try:
        value = float(answer)
    except (TypeError, ValueError):
        return hint(f"expected a number, got {type(answer).__name__}")
    if np.isclose(value, expected, rtol=rtol, atol=1e-9):
        return correct()
    return hint(f"got {value:.6g}, which is not what the data give. {advice}".strip())
