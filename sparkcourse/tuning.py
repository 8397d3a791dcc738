"""Parallel hyperparameter tuning: budgets, a tunable trial cost, MLflow set-up, and the cost model.

The cost model is the one Workshop 02 measures: `max_evals` trials run `parallelism` at a time, so
they take `rounds = ceil(max_evals / parallelism)` rounds, and each round costs one trial plus a
fixed overhead per trial (scheduling a Spark job, starting a Python worker, polling for results).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import numpy as np


def log_grid(low: float, high: float, points: int) -> np.ndarray:
    """`points` values from `low` to `high`, evenly spaced on a log scale (both ends included)."""
    return np.logspace(math.log10(low), math.log10(high), points)


def log_edges(values: np.ndarray) -> np.ndarray:
    """Cell edges for a heat map of a `log_grid`: halfway between its values, on the log scale."""
    logs = np.log(values)
    middles = (logs[1:] + logs[:-1]) / 2
    return np.exp(np.r_[2 * logs[0] - middles[0], middles, 2 * logs[-1] - middles[-1]])


def best_so_far(losses: Sequence[float]) -> np.ndarray:
    """The best (lowest) loss after each evaluation."""
    return np.minimum.accumulate(np.asarray(losses, dtype=float))


def evaluations_to_reach(losses: Sequence[float], target: float) -> int | None:
    """How many evaluations it took to reach `target` or better (None: never reached)."""
    reached = np.flatnonzero(np.asarray(losses, dtype=float) <= target + 1e-12)
    return int(reached[0]) + 1 if reached.size else None


# The cost model -------------------------------------------------------------------------------

def rounds(max_evals: int, parallelism: int) -> int:
    """Rounds of trials needed when `parallelism` run at once."""
    return math.ceil(max_evals / parallelism)


def trial_overhead(total_seconds: float, max_evals: int, parallelism: int,
                   trial_seconds: float) -> float:
    """The fixed cost per trial that explains a measured parallel search."""
    return max(total_seconds / rounds(max_evals, parallelism) - trial_seconds, 0.0)


def predicted_seconds(max_evals: int, parallelism: int, trial_seconds: float,
                      overhead: float) -> float:
    """Wall time of a parallel search under the cost model."""
    return rounds(max_evals, parallelism) * (trial_seconds + overhead)


def predicted_speedup(max_evals: int, parallelism: int, trial_seconds, overhead: float):
    """Sequential time over parallel time (works on arrays of trial costs too)."""
    trial_seconds = np.asarray(trial_seconds, dtype=float)
    return max_evals * trial_seconds / (rounds(max_evals, parallelism) * (trial_seconds + overhead))


def crossover_cost(max_evals: int, parallelism: int, overhead: float) -> float | None:
    """The trial cost (seconds) above which the parallel search is faster; None if it never is."""
    r = rounds(max_evals, parallelism)
    return r * overhead / (max_evals - r) if max_evals > r else None


# Libraries ------------------------------------------------------------------------------------

def quiet_tuning_libraries() -> None:
    """Hyperopt and Optuna log each step at INFO level; keep warnings only."""
    import hyperopt.spark  # noqa: F401 - creates the "hyperopt-spark" logger
    import optuna

    for name in ("hyperopt", "hyperopt-spark"):
        logging.getLogger(name).setLevel(logging.WARNING)
    optuna.logging.set_verbosity(optuna.logging.WARNING)


class ResultsSeen:
    """A Hyperopt algorithm that also notes how many finished results each proposal was based on.

    `ResultsSeen(tpe.suggest)` proposes exactly what `tpe.suggest` does; afterwards `.seen` maps
    each trial id to the number of results the algorithm had in hand when it proposed the trial."""

    def __init__(self, algo):
        self.algo = algo
        self.seen: dict[int, int] = {}

    def __call__(self, new_ids, domain, trials, seed):
        finished = sum(1 for trial in trials.trials if trial["result"].get("status") == "ok")
        self.seen.update(dict.fromkeys(new_ids, finished))
        return self.algo(new_ids, domain, trials, seed)
