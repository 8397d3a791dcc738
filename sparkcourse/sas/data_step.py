"""DATA-step rules in Spark: FIRST./LAST. of BY groups, PROC SORT NODUPKEY, MERGE with BY, and
SAS dates (days since 1 January 1960)."""

from __future__ import annotations

from datetime import date

from ..params import CourseError

SAS_EPOCH = date(1960, 1, 1)  # SAS dates count days from here


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
