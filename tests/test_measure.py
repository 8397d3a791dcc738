import pandas as pd
import pytest

from sparkcourse.measure import compare, crossover, fit_costs, seconds, verdict


def table(pandas, spark, sizes=(1_000, 10_000, 100_000)):
    frame = pd.DataFrame({"pandas": pandas, "Spark": spark}, index=list(sizes))
    frame.index.name = "size"
    return frame


def test_crossover_found_between_sizes():
    point = crossover(table([0.1, 1.0, 10.0], [2.0, 2.0, 2.0]), "pandas", "Spark")
    assert 10_000 < point < 100_000


def test_no_crossover_when_one_always_wins():
    assert crossover(table([0.1, 0.2, 0.3], [2, 3, 4]), "pandas", "Spark") is None
    assert "pandas wins at every measured size" in verdict(
        table([0.1, 0.2, 0.3], [2, 3, 4]), "pandas", "Spark")
    assert "Spark wins at every" in verdict(table([5, 6, 7], [2, 3, 4]), "pandas", "Spark")


def test_verdict_names_the_crossover():
    text = verdict(table([0.1, 1.0, 10.0], [2.0, 2.0, 2.0]), "pandas", "Spark", unit="events")
    assert "Spark overtakes pandas at about" in text and "0.05x" in text


def test_fit_costs_recovers_a_line():
    costs = fit_costs(table([1 + 2e-6 * n for n in (1e3, 1e4, 1e5)], [3.0, 3.0, 3.0]))
    assert costs.loc["pandas", "fixed_s"] == pytest.approx(1.0)
    assert costs.loc["pandas", "s_per_1,000,000"] == pytest.approx(2.0)


def test_compare_and_seconds_measure():
    assert seconds(lambda: sum(range(1000)), repeat=2) >= 0
    result = compare([10, 20], {"a": lambda n: n, "b": lambda n: n * 2})
    assert list(result.columns) == ["a", "b"] and list(result.index) == [10, 20]
