"""SAS procedures' printed tables, computed with Spark or pandas (Workshop 08).

`means`, `freq`, `crosstab` + `chisq`, `proportions_test` and `corr` take a Spark DataFrame
(the heavy lifting runs in Spark, only the small summary comes back) or a pandas DataFrame, and
return what SAS prints, as numbers. `sas_table` lays a result out with SAS's printed decimals.
They follow SAS's rules for missing values: a statistic uses the non-missing values of its
variables; CLASS and TABLES levels that are missing are left out of the table.

DATA-step helpers for Spark: `with_first_last` (FIRST./LAST.), `nodupkey` (PROC SORT NODUPKEY),
`match_merge` (MERGE with BY), and SAS dates (`from_sas_date`, `to_sas_date`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from itertools import combinations

import numpy as np
import pandas as pd
from scipy import stats

from .params import CourseError

SAS_EPOCH = date(1960, 1, 1)  # SAS dates count days from here
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


# --- DATA step ----------------------------------------------------------------------------------

def with_first_last(data, by: list[str], order: list[str]):
    """FIRST.x and LAST.x of a DATA step's BY statement, as boolean columns `first_x`, `last_x`
    for the last BY variable x; `order` sorts the rows inside each BY group."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    group = Window.partitionBy(*by)
    position = F.row_number().over(group.orderBy(*order))
    last_by = by[-1]
    return (data.withColumn(f"first_{last_by}", position == 1)
            .withColumn(f"last_{last_by}", position == F.count("*").over(group)))


def nodupkey(data, by: list[str], row_order: str):
    """PROC SORT NODUPKEY: the first row of each BY value in the data's order (`row_order`),
    which `dropDuplicates` does not promise."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    position = F.row_number().over(Window.partitionBy(*by).orderBy(row_order))
    return (data.withColumn("_position", position).where("_position = 1").drop("_position")
            .orderBy(*by))


def match_merge(left, right, by: list[str]):
    """A DATA step's MERGE with BY, which a SQL join is not: inside a BY group the k-th rows of
    each data set are paired, and a data set that runs out repeats its last row (a join would
    pair every row with every row). BY groups found in one data set only are kept."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    shared = (set(left.columns) & set(right.columns)) - set(by)
    if shared:
        raise CourseError(f"both data sets have {sorted(shared)}: rename them first (in SAS the "
                          "right data set would silently overwrite them)")

    def numbered(data, side):
        position = F.row_number().over(Window.partitionBy(*by).orderBy(F.monotonically_increasing_id()))
        return data.withColumn(f"_k_{side}", position).withColumn(
            f"_n_{side}", F.count("*").over(Window.partitionBy(*by)))

    left, right = numbered(left, "l"), numbered(right, "r")
    sizes = (left.select(*by, "_n_l").distinct()
             .join(right.select(*by, "_n_r").distinct(), by, "full"))
    rows = sizes.select(*by, "_n_l", "_n_r", F.explode(F.sequence(
        F.lit(1), F.greatest(F.coalesce("_n_l", F.lit(0)), F.coalesce("_n_r", F.lit(0))))).alias("_k"))
    rows = rows.withColumn("_k_l", F.least("_k", "_n_l")).withColumn("_k_r", F.least("_k", "_n_r"))
    merged = (rows.join(left.drop("_n_l"), [*by, "_k_l"], "left")
              .join(right.drop("_n_r"), [*by, "_k_r"], "left"))
    keep = by + [c for c in left.columns if c not in by and not c.startswith("_")] + \
        [c for c in right.columns if c not in by and not c.startswith("_")]
    return merged.orderBy(*by, "_k").select(*keep)


def from_sas_date(column: str):
    """A SAS date (days since 1960-01-01) as a Spark date."""
    from pyspark.sql import functions as F

    return F.date_add(F.lit(SAS_EPOCH), F.col(column).cast("int"))


def to_sas_date(column: str):
    """A Spark date as a SAS date value."""
    from pyspark.sql import functions as F

    return F.datediff(F.col(column), F.lit(SAS_EPOCH))
