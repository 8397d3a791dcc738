"""Measure two ways of doing the same work in one run, and say honestly which wins where."""

from __future__ import annotations

import math
import os
import statistics
import subprocess
import sys
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


def _turns(names: list[str], repeat: int) -> list[list[str]]:
    """The order of each round: A B C, then B C A, then C A B, ... so that no way always goes first."""
    return [names[i % len(names):] + names[:i % len(names)] for i in range(repeat)]


def _warms_up(warm_up: bool | None, repeat: int) -> bool:
    """By default a measurement warms up; a single run (`repeat=1`, as at the tests' `ci` scale)
    is a smoke test of the code, not a measurement, and does not."""
    return repeat > 1 if warm_up is None else warm_up


def timed_rounds(ways: dict[str, Callable[[], object]], repeat: int = 3,
                 warm_up: bool | None = None) -> dict[str, list[float]]:
    """Every way's wall times over `repeat` rounds. Each way first runs once untimed (imports,
    caches and the JVM's compiler warm up; see `_warms_up`), then the ways take turns in a
    rotating order, so that a slow spell of the machine falls on all of them alike."""
    if _warms_up(warm_up, repeat):
        for work in ways.values():
            work()
    times: dict[str, list[float]] = {name: [] for name in ways}
    for order in _turns(list(ways), repeat):
        for name in order:
            times[name].append(seconds(ways[name]))
    return times


def interleaved_seconds(ways: dict[str, Callable[[], object]], repeat: int = 3,
                        warm_up: bool | None = None) -> dict[str, float]:
    """Median wall time of each way over interleaved rounds (see `timed_rounds`)."""
    return {name: statistics.median(values)
            for name, values in timed_rounds(ways, repeat, warm_up).items()}


def compare(sizes: Sequence[int], ways: dict[str, Callable[[int], object]], repeat: int = 3,
            warm_up: bool | None = None) -> pd.DataFrame:
    """Median seconds of each way at each size: rows are sizes, columns are ways.

    Each way first runs once untimed at the smallest size; then at each size the ways take
    turns `repeat` times in a rotating order (see `timed_rounds`). How far the repeats of a
    cell lie apart, relative to their median, is in `table.attrs["spread"]` (same shape)."""
    if _warms_up(warm_up, repeat):
        for way in ways.values():
            way(min(sizes))
    medians, spreads = {}, {}
    for size in sizes:
        rounds = timed_rounds({name: partial(way, size) for name, way in ways.items()}, repeat,
                              warm_up=False)
        medians[size] = {name: statistics.median(times) for name, times in rounds.items()}
        spreads[size] = {name: (max(times) - min(times)) / statistics.median(times)
                         for name, times in rounds.items()}
    table = pd.DataFrame.from_dict(medians, orient="index")
    table.index.name = "size"
    table.attrs["repeat"] = repeat
    table.attrs["spread"] = pd.DataFrame.from_dict(spreads, orient="index").to_dict()
    return table


def spread_note(table: pd.DataFrame) -> str:
    """One line on how much the repeats behind `table` (from `compare`) agree."""
    spread = table.attrs.get("spread")
    if not spread or table.attrs.get("repeat") == 1:
        return "One run per cell, without a warm-up: no spread measured."
    worst = max(value for column in spread.values() for value in column.values())
    return (f"Medians of {table.attrs['repeat']} interleaved runs after a warm-up; the runs of "
            f"one cell lie within {worst:.0%} of their median.")


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
        summary += f"{challenger} overtakes {baseline} at about {point:,.0f} {unit}."
    elif (speedup > 1).all():
        summary += f"{challenger} wins at every measured size."
    elif (speedup < 1).all():
        summary += f"{baseline} wins at every measured size."
    else:
        summary += "The lead changes without a clean crossover: measure again, or at more sizes."
    return summary + (f" {spread_note(table)}" if table.attrs.get("spread") else "")


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


# Runs in a fresh Python: unpickles (function, args) if given, runs it, prints its peak memory.
_MEASURE_CHILD = """
import sys
from pathlib import Path
from pyspark import cloudpickle
shipped = sys.stdin.buffer.read()
if shipped:
    function, args = cloudpickle.loads(shipped)
    function(*args)
status = Path("/proc/self/status")
if status.exists():  # Linux: this program's own peak (getrusage's may be its parent's, from fork)
    peak_kib = next(int(line.split()[1]) for line in status.read_text().splitlines()
                    if line.startswith("VmHWM:"))
    print(peak_kib / 1024)
else:  # macOS: getrusage, in bytes there
    import resource
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20)
"""


def _peak_mib(function: Callable | None, args: tuple, timeout: float) -> float:
    from pyspark import cloudpickle

    shipped = cloudpickle.dumps((function, args)) if function else b""
    done = subprocess.run([sys.executable, "-c", _MEASURE_CHILD], input=shipped, capture_output=True,
                          timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError("the measured function failed: " + done.stderr.decode().strip().splitlines()[-1])
    return float(done.stdout)


def peak_memory_mib(function: Callable, *args, timeout: float = 300) -> float:
    """The peak resident memory (MiB) that `function(*args)` adds to a fresh Python process.

    The function travels by value (cloudpickle, as Spark ships functions to executors), so a
    notebook's own function can be measured, with the libraries it imports; a process that
    runs nothing is subtracted."""
    return max(0.0, _peak_mib(function, args, timeout) - _peak_mib(None, (), timeout))


def machine_memory_mib() -> float:
    """This machine's physical memory, in MiB."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**20


def spend_cpu(seconds: float) -> None:
    """Keep one core busy for `seconds` of CPU time: the work of a bigger model, made tunable.

    CPU time, not sleep: two such trials on one core take twice as long, as real training would."""
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass
