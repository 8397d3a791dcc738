"""Checks for workshop 05's exercises: a pandas analysis converted, and an index kept."""

from __future__ import annotations

import pandas as pd

from . import NOT_ATTEMPTED, Feedback, check_frame, correct, hint


def promo_share_by_region(sales: pd.DataFrame, stores: pd.DataFrame) -> pd.DataFrame:
    """The pandas analysis of exercise 1, and so its expected answer."""
    merged = sales.merge(stores, on="store_id")
    share = merged.groupby("region").agg(promo_share=("promo", "mean"), weeks=("promo", "count"))
    return share.reset_index().sort_values("region", ignore_index=True)


def _is_pandas_on_spark(answer) -> bool:
    import pyspark.pandas as ps

    return isinstance(answer, ps.DataFrame)


def check_promo_share(answer, sales: pd.DataFrame, stores: pd.DataFrame) -> Feedback:
    """A pandas-on-Spark DataFrame (not pandas) with the same numbers as the pandas analysis."""
    if answer is None:
        return NOT_ATTEMPTED
    if not _is_pandas_on_spark(answer):
        return hint(f"expected a pandas-on-Spark DataFrame (ps.DataFrame), got {type(answer).__name__}: "
                    "read the files with ps.read_parquet and keep it on Spark")
    got = answer.to_pandas()
    if "region" not in got.columns and got.index.name == "region":
        got = got.reset_index()
    return check_frame(got, promo_share_by_region(sales, stores), key="region",
                       advice="the same merge, groupby and named aggregation as in pandas")


def check_store_index(answer, stores: pd.DataFrame) -> Feedback:
    """A pandas-on-Spark DataFrame indexed by store_id, made from the Spark DataFrame."""
    if answer is None:
        return NOT_ATTEMPTED
    if not _is_pandas_on_spark(answer):
        return hint(f"expected a pandas-on-Spark DataFrame, got {type(answer).__name__}")
    if answer.index.name != "store_id":
        return hint(f"the index is {answer.index.name!r}: pass index_col='store_id' to pandas_api()")
    if "store_id" in answer.columns:
        return hint("store_id should be the index only, not also a column")
    got = answer.to_pandas().reset_index().sort_values("store_id", ignore_index=True)
    expected = stores.sort_values("store_id", ignore_index=True)
    if list(got.columns) != list(expected.columns) or not got.astype(str).equals(expected.astype(str)):
        return hint("the rows differ from the stores file: start from spark.read.parquet(stores_path)")
    return correct()
