import time

import numpy as np
import pytest
from hyperopt import Trials, fmin, hp, tpe

from sparkcourse.data.digits import PIXELS, digits_frame, load_digits_split
from sparkcourse.measure import spend_cpu
from sparkcourse.tuning import (
    ResultsSeen,
    best_so_far,
    crossover_cost,
    evaluations_to_reach,
    log_edges,
    log_grid,
    predicted_seconds,
    predicted_speedup,
    rounds,
    trial_overhead,
)


def test_spend_cpu_spends_cpu_time():
    start_cpu, start_wall = time.process_time(), time.perf_counter()
    spend_cpu(0.2)
    assert time.process_time() - start_cpu >= 0.2
    assert time.perf_counter() - start_wall < 2


def test_log_grid_and_progress_helpers():
    assert np.allclose(log_grid(1e-2, 1e2, 5), [1e-2, 1e-1, 1, 10, 100])
    assert list(best_so_far([3, 1, 2, 0.5])) == [3, 1, 1, 0.5]
    assert evaluations_to_reach([3, 1, 2, 0.5], 1) == 2
    assert evaluations_to_reach([3, 2], 1) is None


def test_cost_model_round_trip():
    assert rounds(8, 2) == 4 and rounds(9, 2) == 5 and rounds(8, 16) == 1
    wall = predicted_seconds(8, 2, trial_seconds=3.0, overhead=4.0)
    assert wall == 4 * 7.0
    assert trial_overhead(wall, 8, 2, trial_seconds=3.0) == pytest.approx(4.0)
    assert trial_overhead(1.0, 8, 2, trial_seconds=3.0) == 0.0  # never negative


def test_speedup_crosses_one_at_the_crossover_and_stays_below_parallelism():
    cost = crossover_cost(8, 2, overhead=4.0)
    assert cost == pytest.approx(4.0)  # 4 rounds x 4 s / (8 - 4)
    assert predicted_speedup(8, 2, cost, 4.0) == pytest.approx(1.0)
    speedups = predicted_speedup(8, 2, np.array([0.1, 1e4]), 4.0)
    assert speedups[0] < 0.1 and 1.99 < speedups[1] < 2
    assert crossover_cost(8, 1, overhead=4.0) is None  # one at a time never wins


def test_results_seen_counts_what_tpe_had_in_hand():
    proposer = ResultsSeen(tpe.suggest)
    trials = Trials()
    fmin(lambda x: x**2, hp.uniform("x", -1, 1), algo=proposer, max_evals=5, trials=trials,
         rstate=np.random.default_rng(0), show_progressbar=False)
    assert proposer.seen == {0: 0, 1: 1, 2: 2, 3: 3, 4: 4}  # one at a time: every earlier result


def test_digits_split_and_jittered_copies():
    split = load_digits_split(train_size=900, seed=1)
    assert len(split.y_train) == 900 and len(split.y_valid) == 897
    assert split.X_train.max() <= 1 and split.X_train.min() >= 0
    frame = digits_frame(copies=3, seed=1)
    assert len(frame) == 3 * 1797 and list(frame.columns) == [*PIXELS, "label"]
    original, copy = frame.iloc[:1797], frame.iloc[1797:3594].reset_index(drop=True)
    assert (original.label.to_numpy() == copy.label.to_numpy()).all()
    assert copy[PIXELS].min().min() >= 0 and copy[PIXELS].max().max() <= 16
    assert not np.array_equal(original[PIXELS].to_numpy(), copy[PIXELS].to_numpy())
    assert digits_frame(copies=2, seed=1).equals(digits_frame(copies=2, seed=1))


def test_heat_map_edges_lie_halfway_on_the_log_scale():
    grid = log_grid(0.01, 100, 3)  # 0.01, 1, 100
    assert np.allclose(log_edges(grid), [0.001, 0.1, 10, 1000])
