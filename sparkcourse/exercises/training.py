"""Checks for workshop 03's exercises: a feature stage, a metric shared by all ranks, a choice."""

from __future__ import annotations

import numpy as np

from ..data.churn import calls_per_year
from ..deep import run_on_ranks
from . import NOT_ATTEMPTED, Feedback, correct, first_line, hint

FEATURE = "calls_per_year"
MIN_GAIN = 0.01  # the ratio lifts a linear model's AUC by about 0.03 on this data


def check_feature_stage(model, test, baseline_auc: float, label: str = "churned") -> Feedback:
    """A fitted pipeline that computes calls_per_year, feeds it to the model and lifts its AUC."""
    if model is None:
        return NOT_ATTEMPTED
    from pyspark.ml import PipelineModel
    from pyspark.ml.evaluation import BinaryClassificationEvaluator
    from pyspark.ml.feature import VectorAssembler

    if not isinstance(model, PipelineModel):
        return hint(f"expected the fitted pipeline (a PipelineModel), got {type(model).__name__}")
    try:
        scored = model.transform(test)
        columns = scored.columns
    except Exception as error:  # noqa: BLE001 - a check never raises: it says what failed
        return hint(f"the pipeline fails on the test rows: {first_line(error)}")
    if FEATURE not in columns:
        return hint(f"no column {FEATURE} after the pipeline: add a stage that computes it")
    try:
        sample = scored.select("support_calls", "tenure_months", FEATURE).limit(500).toPandas()
        values = sample[FEATURE].astype(float)
    except Exception as error:  # noqa: BLE001
        return hint(f"{FEATURE} cannot be computed: {first_line(error)}")
    expected = calls_per_year(sample.support_calls, sample.tenure_months)
    if not np.allclose(values, expected, rtol=1e-6):
        return hint(f"{FEATURE} should be support_calls / tenure_months * 12 (tenure is never 0)")
    assemblers = [s for s in model.stages if isinstance(s, VectorAssembler)]
    if not any(FEATURE in s.getInputCols() for s in assemblers):
        return hint(f"the model does not see {FEATURE}: add it to the VectorAssembler's inputCols")
    try:
        auc = BinaryClassificationEvaluator(labelCol=label).evaluate(scored)
    except Exception as error:  # noqa: BLE001
        return hint(f"the pipeline's predictions cannot be scored: {first_line(error)}")
    if auc < baseline_auc + MIN_GAIN:
        return hint(f"AUC {auc:.3f} is not clearly above the baseline {baseline_auc:.3f}: "
                    "is the new feature scaled and used by the classifier?")
    return correct(f"AUC {baseline_auc:.3f} → {auc:.3f}")


# Two ranks with shards of different sizes: a metric computed on one shard alone differs.
_SHARD_SIZES = (300, 200)


def _shard(rank: int):
    rng = np.random.default_rng(rank)
    labels = rng.integers(0, 2, _SHARD_SIZES[rank])
    scores = labels * (0.3 + rank * 0.4) + rng.normal(0, 1, len(labels))
    return scores.astype(np.float32), labels.astype(np.float32)


def expected_shared_auc() -> float:
    from sklearn.metrics import roc_auc_score

    shards = [_shard(rank) for rank in range(len(_SHARD_SIZES))]
    return float(roc_auc_score(np.concatenate([s[1] for s in shards]),
                               np.concatenate([s[0] for s in shards])))


def check_shared_auc(function) -> Feedback:
    """function(scores, labels) must return the AUC of all ranks' rows, the same on every rank."""
    if function is None:
        return NOT_ATTEMPTED
    outcome = run_on_ranks(function, [_shard(rank) for rank in range(len(_SHARD_SIZES))])
    if len(outcome) < len(_SHARD_SIZES):
        return hint("not every rank returned: shards differ in size, so all_gather of tensors "
                    "hangs or fails; dist.all_gather_object takes any Python object")
    errors = [value for status, value in outcome.values() if status == "error"]
    if errors:
        return hint(f"a rank failed with {errors[0]}")
    values = [outcome[rank][1] for rank in sorted(outcome)]
    if not np.isclose(values[0], values[1], atol=1e-9):
        return hint(f"rank 0 returned {values[0]:.4f} and rank 1 {values[1]:.4f}: each rank saw only "
                    "its own shard; gather every rank's scores and labels first")
    if not np.isclose(values[0], expected_shared_auc(), atol=1e-6):
        return hint(f"both ranks agree on {values[0]:.4f}, but the AUC of all rows is different: "
                    "compute the AUC of the gathered scores and labels")
    return correct(f"both ranks return {values[0]:.4f}")


SITUATIONS = {
    "nightly_trees": "mllib",
    "product_photos": "torchdistributor",
    "readable_scorecard": "mllib",
}
REASONS = {
    "nightly_trees": "tabular features already in a Spark table, and a model MLlib has: gradient-"
                     "boosted trees run where the data are, with no copy out to files",
    "product_photos": "images and a convolutional network: MLlib has no such model; train the "
                      "network with DDP on GPUs, with Spark preparing and sharding the data",
    "readable_scorecard": "a logistic regression on tabular data: MLlib fits it on all rows and "
                          "gives the coefficients directly",
}


def check_choices(choices) -> Feedback:
    """MLlib or TorchDistributor for each of the exercise's situations."""
    if choices is None or not any(choices.values()):
        return NOT_ATTEMPTED
    if set(choices) != set(SITUATIONS):
        return hint(f"answer each situation: {sorted(SITUATIONS)}")
    for situation, answer in choices.items():
        if str(answer).lower() not in ("mllib", "torchdistributor"):
            return hint(f"{situation}: answer 'mllib' or 'torchdistributor'")
        if str(answer).lower() != SITUATIONS[situation]:
            return hint(f"reconsider {situation}: {REASONS[situation]}")
    return correct()
