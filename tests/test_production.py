"""Workshop 07's helpers: the drifting generator, monitoring, the promotion rule, the model server,
and the exercise checks."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sparkcourse.data.churn import HEAVY_DATA_GB, churn_frame
from sparkcourse.data.churn_weeks import DATA_GROWTH, OUTCOME_DELAY, WEEKS, actuals, churn_weeks
from sparkcourse.exercises import NOT_ATTEMPTED
from sparkcourse.exercises.production import (
    check_champion_scores,
    check_promotion,
    check_weekly_actual_rate,
)
from sparkcourse.monitoring import (
    PSI_LIMIT,
    calibration_z,
    first_alarm,
    population_stability,
    promotion_decision,
    quantile_edges,
)
from sparkcourse.service import ServiceError
from sparkcourse.serving import call_latencies, invoke, latency_summary, model_server

WEEKLY = churn_weeks(2_000, WEEKS, drift_week=6, seed=5)


def test_weeks_are_seeded_with_unique_customers_and_later_outcomes():
    assert WEEKLY.equals(churn_weeks(2_000, WEEKS, drift_week=6, seed=5))
    assert WEEKLY.customer_id.is_unique and sorted(WEEKLY.week.unique()) == list(range(WEEKS))
    assert ((WEEKLY.outcome_known_at - WEEKLY.scored_at) == OUTCOME_DELAY).all()
    assert list(actuals(WEEKLY).columns) == ["customer_id", "outcome_known_at", "churned"]


def test_the_world_changes_in_the_drift_week_and_not_before():
    before, after = WEEKLY[WEEKLY.week < 6], WEEKLY[WEEKLY.week >= 6]
    assert after.data_gb.median() / before.data_gb.median() == pytest.approx(DATA_GROWTH, rel=0.05)
    heavy = lambda frame: frame[frame.data_gb > HEAVY_DATA_GB].true_probability.mean()  # noqa: E731
    assert heavy(after) > heavy(before) + 0.1  # the rival's plan tempts heavy users
    assert after.churned.mean() > before.churned.mean() + 0.05
    unchanged = churn_frame(2_000, 5 + 1000 + 3).drop(columns="is_test")
    week_3 = WEEKLY[WEEKLY.week == 3].reset_index(drop=True)
    assert np.allclose(week_3.true_probability, unchanged.true_probability)  # as in workshop 03


def test_population_stability():
    rng = np.random.default_rng(0)
    reference = pd.Series(rng.lognormal(2, 0.8, 20_000))
    edges = quantile_edges(reference)
    shares = lambda values: pd.cut(values, edges, right=False, labels=False).value_counts()  # noqa: E731
    assert len(edges) == 11 and edges[0] == -np.inf
    assert population_stability(shares(reference), shares(reference)) == 0
    same_world = pd.Series(rng.lognormal(2, 0.8, 2_000))
    assert population_stability(shares(reference), shares(same_world)) < 0.02
    grown = same_world * DATA_GROWTH
    assert population_stability(shares(reference), shares(grown)) > PSI_LIMIT


def test_monitoring_on_a_hand_made_table():
    predictions = pd.DataFrame({"customer_id": [1, 2, 3, 4, 5, 6], "week": [0, 0, 0, 1, 1, 1],
                                "probability": [0.2, 0.2, 0.2, 0.2, 0.2, 0.2]})
    outcomes = pd.DataFrame({"customer_id": [6, 5, 4, 3, 2, 1, 99], "churned": [1, 1, 0, 0, 0, 1, 1]})
    right = pd.DataFrame({"week": [1, 0], "actual_rate": [2 / 3, 1 / 3]})
    assert check_weekly_actual_rate(right, predictions, outcomes).correct
    as_float32 = right.astype({"actual_rate": "float32"}).assign(customers=3)
    assert check_weekly_actual_rate(as_float32, predictions, outcomes).correct
    every_outcome = pd.DataFrame({"week": [0, 1], "actual_rate": [0.5, 0.5]})  # 99 has no week
    assert not check_weekly_actual_rate(every_outcome, predictions, outcomes).correct
    assert check_weekly_actual_rate(None, predictions, outcomes) == NOT_ATTEMPTED
    weekly = pd.DataFrame({"customers": [400, 400], "predicted_rate": [0.2, 0.2],
                           "actual_rate": [0.21, 0.3]}, index=[4, 5])
    z = calibration_z(weekly)
    assert z[5] == pytest.approx(0.1 / np.sqrt(0.2 * 0.8 / 400))
    assert first_alarm(z, 3.0) == 5 and first_alarm(z, 100) is None


def test_the_promotion_rule():
    champion = {"log_loss": 0.400, "auc": 0.80}
    assert promotion_decision(champion, {"log_loss": 0.390, "auc": 0.81}, 0.002).promote
    assert not promotion_decision(champion, {"log_loss": 0.399, "auc": 0.81}, 0.002).promote
    assert not promotion_decision(champion, {"log_loss": 0.390, "auc": 0.79}, 0.002).promote
    assert "keep the champion" in promotion_decision(champion, champion, 0.0).reason


def test_promotion_check():
    champion, better = {"log_loss": 0.40, "auc": 0.80}, {"log_loss": 0.39, "auc": 0.80}
    assert check_promotion(True, champion, better, 0.002).correct
    assert check_promotion(np.bool_(True), champion, better, 0.002).correct
    assert check_promotion(False, champion, better, 0.02).correct  # the gain is too small
    assert not check_promotion(False, champion, better, 0.002).correct
    assert not check_promotion("yes", champion, better, 0.002).correct
    assert check_promotion(None, champion, better, 0.002) == NOT_ATTEMPTED


def test_champion_scores_check():
    expected = pd.DataFrame({"customer_id": [3, 1, 2], "churn_probability": [0.1, 0.5, 0.25]})
    assert check_champion_scores(expected.iloc[::-1], expected).correct
    as_float32 = expected.astype({"churn_probability": "float32"}).assign(week=0)
    assert check_champion_scores(as_float32, expected).correct
    first_class = expected.assign(churn_probability=1 - expected.churn_probability)
    assert "differ" in check_champion_scores(first_class, expected).message
    both = expected.assign(churn_probability=[[0.9, 0.1], [0.5, 0.5], [0.75, 0.25]])
    assert "element_at" in check_champion_scores(both, expected).message
    assert check_champion_scores(None, expected) == NOT_ATTEMPTED


@pytest.fixture
def saved_model(tmp_path) -> Path:
    """A tiny scikit-learn model saved as an MLflow model, serving probabilities."""
    from sklearn.linear_model import LogisticRegression

    path = tmp_path / "model"
    script = f"""
import mlflow, numpy as np, pandas as pd
from mlflow.models import infer_signature
from sklearn.linear_model import LogisticRegression
x = pd.DataFrame({{"a": [0.0, 1.0, 2.0, 3.0]}})
model = LogisticRegression().fit(x, [0, 0, 1, 1])
mlflow.sklearn.save_model(model, {str(path)!r}, signature=infer_signature(x, model.predict_proba(x)),
                          pyfunc_predict_fn="predict_proba")
"""
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120, capture_output=True)
    assert LogisticRegression  # the model's class, importable in the server's environment
    return path


@pytest.fixture
def served(saved_model, tmp_path):
    """The model behind `mlflow models serve` on 127.0.0.1, on a free port, for one test."""
    with model_server(str(saved_model), tmp_path / "server.log", timeout=120) as server:
        yield server
    assert not server.running()


@pytest.mark.slow
def test_the_model_server_answers_and_stops(served):
    probabilities = invoke(served.url, pd.DataFrame({"a": [0.0, 3.0]}))
    assert len(probabilities) == 2 and probabilities[0][1] < 0.5 < probabilities[1][1]
    assert served.url.startswith("http://127.0.0.1:")
    rows = pd.DataFrame({"a": [0.0, 1.0, 3.0]})
    assert len(call_latencies(lambda one: invoke(served.url, one), rows, calls=5)) == 5


@pytest.mark.slow
def test_a_model_server_that_cannot_start_fails_with_its_log(tmp_path):
    with pytest.raises(ServiceError, match="the MLflow model server stopped; its log"):
        model_server(str(tmp_path / "no-model-here"), tmp_path / "server.log", timeout=60).start()


def test_latency_summary():
    summary = latency_summary([float(ms) for ms in range(1, 101)])
    assert summary == {"calls": 100, "median_ms": 50.5, "p95_ms": 95.0}
