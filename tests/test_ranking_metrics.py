"""The ranking metrics workshop 13 teaches, computed by hand for two users and compared with
Spark's RankingEvaluator (what the lesson's numbers come from)."""

import math

import pytest
from test_spark import printed_lines

# User 1's list [1, 2, 3, 4, 5]; they went on to play 1, 3 and 6: hits at positions 1 and 3.
# User 2's list [7, 8, 9]; they played 9: a hit at position 3.
K = 3
BY_HAND = {
    "precisionAtK": (2 / 3 + 1 / 3) / 2,  # hits in the top k, over k
    "ndcgAtK": ((1 + 1 / math.log2(4)) / (1 + 1 / math.log2(3) + 1 / math.log2(4))  # DCG over the best DCG
                + (1 / math.log2(4)) / 1) / 2,
    "meanAveragePrecision": ((1 / 1 + 2 / 3) / 3 + (1 / 3) / 1) / 2,  # precision at each hit, over |played|
}


@pytest.mark.slow
def test_spark_ranks_as_computed_by_hand(tmp_path):
    lines = printed_lines(f"""
        from pyspark.ml.evaluation import RankingEvaluator
        from sparkcourse import get_spark

        spark = get_spark("local[1]", scale="ci", log_file="jvm.log")
        rows = [([1.0, 2.0, 3.0, 4.0, 5.0], [1.0, 3.0, 6.0]), ([7.0, 8.0, 9.0], [9.0])]
        lists = spark.createDataFrame(rows, "prediction array<double>, label array<double>")
        for metric in {list(BY_HAND)!r}:
            print(metric, RankingEvaluator(metricName=metric, k={K}).evaluate(lists))
    """, tmp_path)
    measured = {metric: float(value) for metric, value in (line.split() for line in lines)}
    assert measured == pytest.approx(BY_HAND, abs=1e-9)
