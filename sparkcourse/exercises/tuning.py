"""Checks for workshop 02's exercises: a search space, a parallelism, the best run in MLflow."""

from __future__ import annotations

import numpy as np

from ..tuning import predicted_seconds
from . import NOT_ATTEMPTED, Feedback, correct, hint

FOREST_SPACE = {  # what the search-space exercise asks for
    "n_estimators": set(range(50, 501, 50)),
    "max_depth": set(range(2, 21)),
    "max_features": {"sqrt", "log2", 0.5},
}
LEAF_RANGE = (1, 64)
DRAWS = 400


def _draws(space, n: int = DRAWS) -> list[dict]:
    from hyperopt.pyll import stochastic

    rng = np.random.default_rng(0)
    return [stochastic.sample(space, rng=rng) for _ in range(n)]


def _is_int(value) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def _any(values: set):
    return sorted(values, key=str)[0]


def check_search_space(space) -> Feedback:
    """The random-forest search space of the exercise, judged from 400 draws."""
    if space is None:
        return NOT_ATTEMPTED
    try:
        draws = _draws(space)
    except Exception as error:  # noqa: BLE001 - any mistake in the space becomes a hint
        return hint(f"hyperopt cannot sample this space ({type(error).__name__}: {error})")
    wanted = [*FOREST_SPACE, "min_samples_leaf"]
    if not all(isinstance(d, dict) and sorted(d) == sorted(wanted) for d in draws):
        return hint(f"the space should be a dict with the keys {wanted}")
    for name, allowed in FOREST_SPACE.items():
        values = [d[name] for d in draws]
        if name != "max_features" and not all(_is_int(v) for v in values):
            return hint(f"{name} must be an integer for scikit-learn: wrap it in scope.int(...)")
        seen = set(values)
        if not seen <= allowed:
            return hint(f"{name} took values outside the allowed ones, e.g. {_any(seen - allowed)}")
        if seen != allowed:
            return hint(f"{name} never took some allowed values, e.g. {_any(allowed - seen)}")
    leaves = np.array([d["min_samples_leaf"] for d in draws])
    if not all(_is_int(v) for v in leaves):
        return hint("min_samples_leaf must be an integer: wrap it in scope.int(...)")
    if leaves.min() < LEAF_RANGE[0] or leaves.max() > LEAF_RANGE[1]:
        return hint(f"min_samples_leaf must stay between {LEAF_RANGE[0]} and {LEAF_RANGE[1]}")
    if np.median(leaves) > 16:  # uniform gives about 32, log-uniform about 8
        return hint("min_samples_leaf should be log-uniform: small values as likely per doubling "
                    "as large ones (hp.qloguniform)")
    return correct()


def expected_parallelism(max_evals: int, cores: int, min_rounds: int) -> int:
    """The most trials at once that fits the cores and leaves TPE `min_rounds` rounds to learn."""
    return max(1, min(cores, max_evals // min_rounds))


def check_parallelism(parallelism, predicted, *, max_evals: int, trial_seconds: float, cores: int,
                      min_rounds: int, overhead: float) -> Feedback:
    """The parallelism of the exercise, and the wall time the measured overhead predicts for it."""
    if parallelism is None or predicted is None:
        return NOT_ATTEMPTED
    best = expected_parallelism(max_evals, cores, min_rounds)
    if parallelism > cores:
        return hint(f"only {cores} trials can run at once on {cores} cores; more just queue")
    if parallelism * min_rounds > max_evals:
        return hint(f"with parallelism {parallelism}, {max_evals} evaluations are fewer than "
                    f"{min_rounds} rounds: TPE would suggest most trials before seeing results")
    if parallelism != best:
        return hint(f"{parallelism} keeps TPE adaptive, but a larger parallelism would too and "
                    "finish sooner")
    want = predicted_seconds(max_evals, parallelism, trial_seconds, overhead)
    if not np.isclose(float(predicted), want, rtol=0.02):
        return hint(f"predicted {float(predicted):.0f} s; use rounds x (trial seconds + measured "
                    "overhead per trial)")
    return correct()


def check_best_run(run_id, parent_run_id: str) -> Feedback:
    """`run_id` is the child run of `parent_run_id` with the lowest loss."""
    if run_id is None:
        return NOT_ATTEMPTED
    import mlflow

    parent = mlflow.get_run(parent_run_id)
    children = mlflow.search_runs(
        [parent.info.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{parent_run_id}'")
    if run_id not in set(children.run_id):
        return hint("that run is not one of the search's child runs: filter on "
                    "tags.mlflow.parentRunId")
    best_loss = children["metrics.loss"].min()
    mine = children.loc[children.run_id == run_id, "metrics.loss"].iloc[0]
    if mine > best_loss:
        return hint(f"that run's loss is {mine:.4f}; the best child has {best_loss:.4f}. "
                    "Order by metrics.loss ASC")
    return correct()
