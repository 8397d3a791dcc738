"""SAS procedures' results, computed with Spark or pandas: MEANS, FREQ (with CHISQ and the
TESTP proportions test) and CORR.

Each takes a Spark DataFrame (the heavy lifting runs in Spark, only the small summary comes back)
or a pandas DataFrame, and returns what SAS prints, as numbers. They follow SAS's rules for
missing values: a statistic uses the non-missing values of its variables; CLASS and TABLES levels
that are missing are left out of the table.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd
from scipy import stats

MEANS_STATS = ("N", "Mean", "Std Dev", "Minimum", "Maximum")


def is_spark(data) -> bool:
    return hasattr(data, "sparkSession")


# --- PROC MEANS ---------------------------------------------------------------------------------

def means(data, variables: list[str], class_vars: list[str] = (), stats_: tuple = MEANS_STATS
          ) -> pd.DataFrame:
    """PROC MEANS with CLASS: N Obs, then N, Mean, Std Dev (n - 1), Minimum, Maximum, Sum per
    variable. Rows with a missing CLASS value are left out, as SAS does without MISSING."""
    class_vars = list(class_vars)
    wide = _spark_means(data, variables, class_vars) if is_spark(data) else \
        _pandas_means(data, variables, class_vars)
    rows = []
    for _, group in wide.iterrows():
        for variable in variables:
            row = {c: group[c] for c in class_vars}
            row |= {"N Obs": group["N Obs"], "Variable": variable}
            row |= {name: group[f"{variable}|{name}"] for name in stats_}
            rows.append(row)
    table = pd.DataFrame(rows).astype({c: wide[c].dtype for c in class_vars})
    if not class_vars:
        table = table.drop(columns="N Obs")
    return table.astype({"N": "int64"})


def _spark_means(data, variables, class_vars) -> pd.DataFrame:
    from pyspark.sql import functions as F

    aggregates = [F.count("*").alias("N Obs")]
    for v in variables:
        aggregates += [F.count(v).alias(f"{v}|N"), F.mean(v).alias(f"{v}|Mean"),
                       F.stddev_samp(v).alias(f"{v}|Std Dev"), F.min(v).alias(f"{v}|Minimum"),
                       F.max(v).alias(f"{v}|Maximum"), F.sum(v).alias(f"{v}|Sum")]
    present = data.dropna(subset=class_vars) if class_vars else data
    grouped = present.groupBy(*class_vars) if class_vars else present
    return grouped.agg(*aggregates).toPandas().sort_values(class_vars or ["N Obs"],
                                                           ignore_index=True)


def _pandas_means(data, variables, class_vars) -> pd.DataFrame:
    named = {"N": "count", "Mean": "mean", "Std Dev": "std", "Minimum": "min",
             "Maximum": "max", "Sum": "sum"}
    if not class_vars:
        data = data.assign(_all=0)
    keys = class_vars or ["_all"]
    grouped = data.groupby(keys, sort=True)  # drops missing keys, as SAS does
    wide = grouped[variables].agg(list(named.values()))
    wide.columns = [f"{v}|{dict(map(reversed, named.items()))[s]}" for v, s in wide.columns]
    wide.insert(0, "N Obs", grouped.size())
    return wide.reset_index().drop(columns="_all", errors="ignore")


# --- PROC FREQ ----------------------------------------------------------------------------------

def _counts(data, columns: list[str], weight: str | None) -> pd.DataFrame:
    """Frequency (the sum of `weight`, or the row count) per combination of non-missing levels."""
    if is_spark(data):
        from pyspark.sql import functions as F

        measure = F.sum(weight) if weight else F.count("*")
        present = data.dropna(subset=columns)
        if weight:
            present = present.where(F.col(weight) > 0)  # SAS ignores zero and negative weights
        return present.groupBy(*columns).agg(measure.alias("Frequency")).toPandas()
    present = data.dropna(subset=columns)
    if weight:
        present = present[present[weight] > 0]
        return present.groupby(columns)[weight].sum().rename("Frequency").reset_index()
    return present.groupby(columns).size().rename("Frequency").reset_index()


def freq(data, column: str, weight: str | None = None, order: list | None = None) -> pd.DataFrame:
    """One-way PROC FREQ: Frequency, Percent, Cumulative Frequency, Cumulative Percent.

    Levels are sorted (SAS's ORDER=INTERNAL) unless `order` lists them (ORDER=DATA)."""
    counts = _counts(data, [column], weight).set_index(column)["Frequency"]
    counts = counts.reindex(order) if order is not None else counts.sort_index()
    table = pd.DataFrame({"Frequency": counts})
    table["Percent"] = 100 * counts / counts.sum()
    table["Cumulative Frequency"] = counts.cumsum()
    table["Cumulative Percent"] = 100 * table["Cumulative Frequency"] / counts.sum()
    return table


@dataclass(frozen=True)
class CrossTab:
    """A two-way table: observed frequencies, and what SAS prints in each cell."""

    counts: pd.DataFrame  # rows x columns of frequencies (zero where a combination is absent)

    @property
    def expected(self) -> pd.DataFrame:
        rows, cols, total = self.counts.sum(axis=1), self.counts.sum(axis=0), self.counts.to_numpy().sum()
        return pd.DataFrame(np.outer(rows, cols) / total, self.counts.index, self.counts.columns)

    @property
    def cell_chi2(self) -> pd.DataFrame:
        return (self.counts - self.expected) ** 2 / self.expected

    def cells(self, statistics=("Frequency", "Expected", "Cell Chi-Square", "Percent")) -> pd.DataFrame:
        """The table as SAS prints it: one block of rows per row level, one line per statistic."""
        total = self.counts.to_numpy().sum()
        blocks = {"Frequency": self.counts, "Expected": self.expected,
                  "Cell Chi-Square": self.cell_chi2, "Percent": 100 * self.counts / total,
                  "Row Pct": 100 * self.counts.div(self.counts.sum(axis=1), axis=0),
                  "Col Pct": 100 * self.counts / self.counts.sum(axis=0)}
        frames = {name: blocks[name] for name in statistics}
        table = pd.concat(frames, names=["Statistic"]).swaplevel().loc[self.counts.index]
        return table.reindex(pd.MultiIndex.from_product([self.counts.index, statistics]))


def crosstab(data, row: str, column: str, weight: str | None = None,
             row_order: list | None = None, column_order: list | None = None) -> CrossTab:
    """Two-way PROC FREQ (TABLES row*column, optional WEIGHT), computed where the data live."""
    counts = _counts(data, [row, column], weight).pivot(index=row, columns=column,
                                                        values="Frequency").fillna(0)
    counts = counts.reindex(index=row_order or sorted(counts.index),
                            columns=column_order or sorted(counts.columns), fill_value=0)
    counts.columns.name = column
    return CrossTab(counts)


def chisq(table: CrossTab) -> pd.DataFrame:
    """The CHISQ option's "Statistics for Table": Statistic, DF, Value, Prob.

    Mantel-Haenszel uses the levels' positions in the table as scores (SAS's table scores)."""
    observed = table.counts.to_numpy(dtype=float)
    expected = table.expected.to_numpy()
    total = observed.sum()
    dof = (observed.shape[0] - 1) * (observed.shape[1] - 1)
    pearson = ((observed - expected) ** 2 / expected).sum()
    nonzero = observed > 0
    likelihood = 2 * (observed[nonzero] * np.log(observed[nonzero] / expected[nonzero])).sum()
    rows, cols = np.indices(observed.shape)
    r = np.corrcoef(np.repeat(rows.ravel(), observed.ravel().astype(int)),
                    np.repeat(cols.ravel(), observed.ravel().astype(int)))[0, 1]
    mantel = (total - 1) * r**2
    return pd.DataFrame([
        ("Chi-Square", dof, pearson, stats.chi2.sf(pearson, dof)),
        ("Likelihood Ratio Chi-Square", dof, likelihood, stats.chi2.sf(likelihood, dof)),
        ("Mantel-Haenszel Chi-Square", 1, mantel, stats.chi2.sf(mantel, 1)),
        ("Phi Coefficient", None, np.sqrt(pearson / total), None),
        ("Contingency Coefficient", None, np.sqrt(pearson / (pearson + total)), None),
        ("Cramer's V", None, np.sqrt(pearson / total / (min(observed.shape) - 1)), None),
    ], columns=["Statistic", "DF", "Value", "Prob"]).astype({"DF": "Int64"})


def proportions_test(frequencies: pd.Series, percents: list[float]) -> pd.Series:
    """TESTP=: the chi-square test of a one-way table against the given percentages."""
    observed = np.asarray(frequencies, dtype=float)
    expected = observed.sum() * np.asarray(percents, dtype=float) / 100
    value = ((observed - expected) ** 2 / expected).sum()
    dof = len(observed) - 1
    return pd.Series({"Chi-Square": value, "DF": dof, "Pr > ChiSq": stats.chi2.sf(value, dof)})


# --- PROC CORR ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Correlations:
    simple: pd.DataFrame  # Simple Statistics: one row per variable
    r: pd.DataFrame  # Pearson correlations, pairwise deletion of missing values
    p: pd.DataFrame  # Prob > |r| under H0: Rho=0
    n: pd.DataFrame  # observations used for each pair

    def table(self) -> pd.DataFrame:
        """r, p and N stacked per variable, as SAS prints them when values are missing."""
        names = ["r", "Prob > |r|", "N"]
        stacked = pd.concat([self.r, self.p, self.n], keys=names).swaplevel()
        return stacked.reindex(pd.MultiIndex.from_product([self.r.index, names]))


def corr(data, variables: list[str]) -> Correlations:
    """PROC CORR (Pearson): simple statistics per variable, and per pair r, its p-value and N,
    each pair on the rows where both values are present."""
    simple = means(data, variables, stats_=("N", "Mean", "Std Dev", "Sum", "Minimum", "Maximum"))
    simple = simple.set_index("Variable")
    pairs = list(combinations(variables, 2))
    if is_spark(data):
        from pyspark.sql import functions as F

        both = {pair: F.col(pair[0]).isNotNull() & F.col(pair[1]).isNotNull() for pair in pairs}
        row = data.agg(*[F.corr(*pair).alias(f"r{i}") for i, pair in enumerate(pairs)],
                       *[F.count(F.when(both[pair], 1)).alias(f"n{i}")
                         for i, pair in enumerate(pairs)]).first()
        found = {pair: (row[f"r{i}"], row[f"n{i}"]) for i, pair in enumerate(pairs)}
    else:
        found = {(a, b): (data[[a, b]].dropna().corr().iloc[0, 1], len(data[[a, b]].dropna()))
                 for a, b in pairs}
    r = pd.DataFrame(np.eye(len(variables)), variables, variables)
    n = pd.DataFrame(np.diag(simple["N"].to_numpy()), variables, variables).astype("int64")
    for (a, b), (value, count) in found.items():
        r.loc[a, b] = r.loc[b, a] = value
        n.loc[a, b] = n.loc[b, a] = count
    t = r * np.sqrt((n - 2) / (1 - r**2).clip(lower=1e-300))
    p = pd.DataFrame(2 * stats.t.sf(np.abs(t), n - 2), variables, variables)
    p = p.mask(np.eye(len(variables), dtype=bool))
    return Correlations(simple, r, p, n)


# --- Printing -----------------------------------------------------------------------------------
