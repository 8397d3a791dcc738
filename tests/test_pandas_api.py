import warnings

import pytest
from test_spark import printed_lines

from sparkcourse.data.sales import FORMATS, REGIONS, store_directory
from sparkcourse.pandas_api import with_advice


def test_store_directory_is_seeded():
    stores = store_directory(200, seed=1)
    assert stores.equals(store_directory(200, seed=1))
    assert set(stores.region) == set(REGIONS) and set(stores.format) == set(FORMATS)
    assert list(stores.store_id) == list(range(200))


def test_with_advice_collects_advice_and_passes_other_warnings_on():
    from pyspark.pandas.utils import PandasAPIOnSparkAdviceWarning

    def work():
        warnings.warn("collects to the driver", PandasAPIOnSparkAdviceWarning, stacklevel=2)
        warnings.warn("collects to the driver", PandasAPIOnSparkAdviceWarning, stacklevel=2)
        warnings.warn("something else", UserWarning, stacklevel=2)
        return 42

    with pytest.warns(UserWarning, match="something else"):
        result, advice = with_advice(work)
    assert result == 42 and advice == ["collects to the driver"]


CHECKS_WITH_SPARK = """
import pandas as pd
from sparkcourse import get_spark
from sparkcourse.data.sales import store_directory, store_sales
from sparkcourse.exercises.pandas_api import check_promo_share, check_store_index, promo_share_by_region

spark = get_spark("local[1]", scale="ci", log_file="jvm.log")
import pyspark.pandas as ps
from sparkcourse.pandas_api import quiet_advice
quiet_advice()
sales, stores = store_sales(40, seed=4).sales, store_directory(40, seed=4)
sales.to_parquet("sales.parquet", index=False)
stores.to_parquet("stores.parquet", index=False)
expected = promo_share_by_region(sales, stores)
merged = ps.read_parquet("sales.parquet").merge(ps.read_parquet("stores.parquet"), on="store_id")
right = merged.groupby("region").agg(promo_share=("promo", "mean"), weeks=("promo", "count"))
wrong = merged.groupby("region").agg(promo_share=("sales", "mean"), weeks=("promo", "count"))
for answer in (None, expected, right, right.reset_index(), wrong):
    print(repr(check_promo_share(answer, sales, stores)))
stores_sdf = spark.read.parquet("stores.parquet")
for answer in (None, stores, stores_sdf.pandas_api(), stores_sdf.pandas_api(index_col="store_id"),
               ps.read_parquet("stores.parquet", index_col="store_id"),
               stores_sdf.filter("store_id < 5").pandas_api(index_col="store_id")):
    print(repr(check_store_index(answer, stores)))
"""


@pytest.mark.slow
def test_exercise_checks_with_pandas_on_spark(tmp_path):
    lines = printed_lines(CHECKS_WITH_SPARK, cwd=tmp_path)
    assert lines[0].startswith("… not attempted yet")
    assert "expected a pandas-on-Spark DataFrame" in lines[1]
    assert lines[2] == "✔ correct" and lines[3] == "✔ correct"
    assert "values of promo_share differ" in lines[4]
    assert lines[5].startswith("… not attempted yet")
    assert "expected a pandas-on-Spark DataFrame" in lines[6]
    assert "pass index_col='store_id'" in lines[7]
    assert lines[8] == "✔ correct" and lines[9] == "✔ correct"  # two ways to set the index
    assert "rows differ" in lines[10]
