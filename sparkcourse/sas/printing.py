"""SAS's printed layout: `sas_table` shows a procedure's result with SAS's decimals."""

from __future__ import annotations

import pandas as pd


def format_p(p: float) -> str:
    """SAS's PVALUE6.4 format: four decimals, and <.0001 below that."""
    if p is None or pd.isna(p):
        return ""
    return "<.0001" if p < 1e-4 else f"{p:.4f}"


def best(value: float, width: int) -> str:
    """SAS's BESTw. format: as many decimals as fit in `width` characters, no trailing zeros."""
    whole = ("-" if value < 0 else "") + str(abs(int(value)))
    for places in range(max(width - len(whole) - 1, 0), 0, -1):
        shown = f"{value:.{places}f}".rstrip("0").rstrip(".")
        if len(shown) <= width:
            return shown
    return f"{value:.0f}"


P_VALUES = ("Prob", "Pr > ChiSq", "Prob > |r|")
COUNTS = ("N", "N Obs", "Frequency", "Cumulative Frequency", "DF")


def sas_table(frame: pd.DataFrame, decimals: int | dict = 4) -> str:
    """`frame` as text with SAS's printed decimals: `decimals` places for numbers (a dict sets
    them per column or row label, 4 otherwise, or "best6" for SAS's BEST6.), counts as integers,
    p-values as SAS prints them."""
    def text(value, column, label) -> str:
        row = label[-1] if isinstance(label, tuple) else label
        if value is None or pd.isna(value):
            return ""
        if column in P_VALUES or row in P_VALUES:
            return format_p(value)
        if isinstance(value, str):
            return value
        if column in COUNTS or row in COUNTS:
            return f"{value:.0f}"
        places = decimals if isinstance(decimals, int) else decimals.get(column, decimals.get(row, 4))
        if isinstance(places, str):
            return best(value, int(places.removeprefix("best")))
        return f"{value:.{places}f}"

    shown = pd.DataFrame({column: [text(frame.loc[label, column], column, label)
                                   for label in frame.index] for column in frame.columns},
                         index=frame.index)
    return shown.to_string()
