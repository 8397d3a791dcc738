"""Checks for workshop 06's exercises on Delta Lake for Spark: a constraint, a MERGE, a restore.
A check never raises."""

from __future__ import annotations

import pandas as pd

from ..data.subscriptions import KEY
from ..delta import error_line, version
from . import NOT_ATTEMPTED, Feedback, correct, hint

CONSTRAINT = "delta.constraints."


def _rows(frame) -> pd.DataFrame:
    """A Spark DataFrame as pandas, in key order, with its columns sorted (for comparisons)."""
    rows = frame.toPandas()
    return rows.sort_values(KEY, ignore_index=True)[sorted(rows.columns)]


def constraints(spark, table: str) -> dict[str, str]:
    """{name: expression} of the table's CHECK constraints."""
    properties = spark.sql(f"SHOW TBLPROPERTIES {table}").collect()
    return {row.key.removeprefix(CONSTRAINT): row.value for row in properties
            if row.key.startswith(CONSTRAINT)}


def _write_error(spark, table: str, rows: pd.DataFrame) -> str | None:
    """Why appending `rows` to `table` failed, in one line; None if it succeeded."""
    try:
        spark.createDataFrame(rows).write.format("delta").mode("append").saveAsTable(table)
    except Exception as error:  # noqa: BLE001 - a refused write is what the check looks for
        return error_line(error)
    return None


def check_constraint(spark, table: str, bad_rows: pd.DataFrame, good_rows: pd.DataFrame,
                     before: dict[str, str]) -> Feedback:
    """New constraints (not in `before`) must refuse every one of `bad_rows`, each written on its
    own, and accept `good_rows`. The writes go to a shallow clone: the table is not changed."""
    added = {name: expr for name, expr in constraints(spark, table).items() if name not in before}
    if not added:
        return NOT_ATTEMPTED
    scratch = f"{table}_constraint_check"
    spark.sql(f"CREATE OR REPLACE TABLE {scratch} SHALLOW CLONE {table}")
    try:
        let_through = [str(rows.age.iloc[0]) for rows in (bad_rows.iloc[[i]] for i in range(len(bad_rows)))
                       if "CHECK constraint" not in (_write_error(spark, scratch, rows) or "")]
        if let_through:
            return hint(f"rows with age {', '.join(let_through)} got through; "
                        f"constraints: {list(added.values())}")
        refused = _write_error(spark, scratch, good_rows)
        if refused:
            return hint(f"a batch of good rows is refused too ({refused[:120]}): the rule is too strict")
    finally:
        spark.sql(f"DROP TABLE IF EXISTS {scratch}")
    return correct(f"every bad row refused by {' and '.join(sorted(added.values()))}")


def check_merge(spark, table: str, expected: pd.DataFrame, version_before: int) -> Feedback:
    """The table holds `expected` after a MERGE commit on top of `version_before`."""
    now = version(spark, table)
    if now == version_before:
        return NOT_ATTEMPTED
    operations = [row.operation for row in
                  spark.sql(f"DESCRIBE HISTORY {table} LIMIT {now - version_before}").collect()]
    if "MERGE" not in operations:
        return hint(f"no MERGE commit since version {version_before}, only {operations}")
    got = _rows(spark.table(table))
    want = expected.sort_values(KEY, ignore_index=True)[sorted(expected.columns)]
    if list(got.columns) != list(want.columns):
        return hint(f"the table's columns changed: {list(got.columns)}; do not insert the `op` column")
    missing = set(want[KEY]) - set(got[KEY])
    extra = set(got[KEY]) - set(want[KEY])
    if missing or extra:
        return hint(f"{len(missing)} customers missing and {len(extra)} that should be gone: "
                    "delete on 'delete', insert on 'insert'")
    if not got.astype(str).equals(want.astype(str)):
        return hint("the right customers, but some values differ: update every column on 'update'")
    return correct()


def check_restore(spark, table: str, version_before, bad_version: int) -> Feedback:
    """`version_before` is the version just before the bad write, and the table is back to it."""
    if version_before is None:
        return NOT_ATTEMPTED
    if version_before != bad_version - 1:
        return hint(f"version {version_before} is not the one just before the bad write: "
                    "read DESCRIBE HISTORY")
    last = spark.sql(f"DESCRIBE HISTORY {table} LIMIT 1").first()
    if last.operation != "RESTORE":
        return hint("the table's last commit is not a RESTORE: RESTORE TABLE ... TO VERSION AS OF ...")
    then = spark.read.option("versionAsOf", version_before).table(table)
    if not _rows(spark.table(table)).equals(_rows(then)):
        return hint(f"the table's rows differ from version {version_before}")
    return correct(f"version {last.version} holds the rows of version {version_before} again")
