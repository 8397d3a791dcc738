"""Measure two ways of doing the same work in one run, and say honestly which wins where."""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Sequence
from functools import partial
from itertools import pairwise

import pandas as pd


def seconds(work: Callable[[], object], repeat: int = 1) -> float:
    """Wall time of `work()`, the best of `repeat` runs."""
    best = math.inf
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return best


def interleaved_seconds(ways: dict[str, Callable[[], object]], repeat: int = 5) -> dict[str, float]:
    """Median wall time of each way, the ways taking turns `repeat` times, so that a slow spell
    of the machine falls on all of them alike."""
    times: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(repeat):
        for name, work in ways.items():
            times[name].append(seconds(work))
    return {name: statistics.median(values) for name, values in times.items()}


def compare(
    sizes: Sequence[int], ways: dict[str, Callable[[int], object]], repeat: int = 1
) -> pd.DataFrame:
    """Seconds for each way at each size: rows are sizes, columns are ways."""
    rows = {size: {name: seconds(partial(way, size), repeat) for name, way in ways.items()}
            for size in sizes}
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "size"
    return table


def crossover(table: pd.DataFrame, baseline: str, challenger: str) -> float | None:
    """Size at which `challenger` becomes faster than `baseline`, interpolated on log scales.

    None if it never overtakes within the measured sizes (or was faster from the start)."""
    ratio = (table[baseline] / table[challenger]).apply(math.log)
    sizes = [math.log(s) for s in table.index]
    for (x0, r0), (x1, r1) in pairwise(zip(sizes, ratio, strict=True)):
        if r0 < 0 <= r1:
            return math.exp(x0 + (x1 - x0) * (-r0) / (r1 - r0))
    return None


def verdict(table: pd.DataFrame, baseline: str, challenger: str, unit: str = "rows") -> str:
    """One honest sentence about who wins, built from the measured numbers."""
    speedup = table[baseline] / table[challenger]
    parts = [f"{size:,} {unit}: {ratio:.2f}x" for size, ratio in speedup.items()]
    summary = f"{challenger} vs {baseline} (speed-up, >1 means {challenger} is faster): "
    summary += "; ".join(parts) + ". "
    point = crossover(table, baseline, challenger)
    if point is not None:
        return summary + f"{challenger} overtakes {baseline} at about {point:,.0f} {unit}."
    if (speedup > 1).all():
        return summary + f"{challenger} wins at every measured size."
    if (speedup < 1).all():
        return summary + f"{baseline} wins at every measured size."
    return summary + "The lead changes without a clean crossover: measure again, or at more sizes."


def plot_comparison(table: pd.DataFrame, xlabel: str, ylabel: str = "seconds", ax=None, title=None):
    """Time against size for each way, on log-log axes."""
    import matplotlib.pyplot as plt

    ax = ax or plt.subplots()[1]
    for name in table.columns:
        ax.plot(table.index, table[name], marker="o", label=name)
    ax.set(xscale="log", yscale="log", xlabel=xlabel, ylabel=ylabel, title=title)
    ax.legend()
    return ax


def fit_costs(table: pd.DataFrame, per: float = 1e6) -> pd.DataFrame:
    """A straight line through each way's times: fixed seconds plus seconds per `per` rows."""
    import numpy as np

    sizes = table.index.to_numpy(dtype=float)
    rows = {}
    for name in table.columns:
        slope, intercept = np.polyfit(sizes, table[name].to_numpy(dtype=float), 1)
        rows[name] = {"fixed_s": max(intercept, 0.0), f"s_per_{per:,.0f}": slope * per}
    return pd.DataFrame.from_dict(rows, orient="index")


def spend_cpu(seconds: float) -> None:
    """Keep one core busy for `seconds` of CPU time: the work of a bigger model, made tunable.

    CPU time, not sleep: two such trials on one core take twice as long, as real training would."""
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass
