import pandas as pd
import pytest

from sparkcourse.measure import (
    compare,
    crossover,
    fit_costs,
    interleaved_seconds,
    machine_memory_mib,
    peak_memory_mib,
    seconds,
    spread_note,
    verdict,
)


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


def test_compare_warms_up_then_takes_turns_in_rotating_order():
    calls = []
    table = compare([1, 2], {"a": lambda n: calls.append(("a", n)), "b": lambda n: calls.append(("b", n))},
                    repeat=3)
    assert calls[:2] == [("a", 1), ("b", 1)]  # the untimed warm-up
    assert calls[2:8] == [("a", 1), ("b", 1), ("b", 1), ("a", 1), ("a", 1), ("b", 1)]
    assert len(calls) == 2 + 2 * 3 * 2
    assert table.attrs["repeat"] == 3 and set(table.attrs["spread"]) == {"a", "b"}


def test_compare_reports_the_median_and_the_spread(monkeypatch):
    durations = iter([9.0, 1.0, 2.0, 3.0, 5.0, 1.0])  # turns a b, b a, a b: a 9 3 5, b 1 2 1
    monkeypatch.setattr("sparkcourse.measure.seconds", lambda work: next(durations))
    table = compare([10], {"a": lambda n: None, "b": lambda n: None}, repeat=3, warm_up=False)
    assert table.loc[10, "a"] == 5.0 and table.loc[10, "b"] == 1.0
    assert table.attrs["spread"]["a"][10] == pytest.approx((9 - 3) / 5)
    assert "within 120% of their median" in spread_note(table)  # the worst cell: a
    assert "Medians of 3 interleaved runs" in verdict(table, "a", "b")


def test_a_single_run_is_a_smoke_test_without_warm_up():
    calls = []
    table = compare([1, 2], {"a": lambda n: calls.append(n)}, repeat=1)
    assert calls == [1, 2]  # no untimed run first
    assert spread_note(table) == "One run per cell, without a warm-up: no spread measured."
    calls.clear()
    interleaved_seconds({"a": lambda: calls.append(0)}, repeat=1, warm_up=True)
    assert calls == [0, 0]  # asked for: it warms up


def test_interleaved_seconds_gives_no_way_the_first_turn_every_time():
    first = []
    ways = {name: (lambda name=name: first.append(name)) for name in "abc"}
    interleaved_seconds(ways, repeat=3, warm_up=False)
    assert first[0::3] == ["a", "b", "c"]


def test_peak_memory_grows_with_what_a_notebook_function_holds():
    def hold(mib):  # a function defined here, as in a notebook: it travels by value
        block = bytearray(mib * 2**20)
        block[::4096] = b"x" * len(block[::4096])  # touch every page
        return len(block)

    small, large = peak_memory_mib(hold, 10), peak_memory_mib(hold, 200)
    assert 0 <= small < 40 and 180 < large < 260
    assert 0 < machine_memory_mib()


def test_peak_memory_names_the_failure():
    def fail():
        raise ValueError("no such file")

    with pytest.raises(RuntimeError, match="ValueError: no such file"):
        peak_memory_mib(fail)
