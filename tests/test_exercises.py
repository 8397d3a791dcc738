import numpy as np
import pandas as pd
import pytest

from sparkcourse.data.clickstream import generate_clickstream
from sparkcourse.exercises import NOT_ATTEMPTED, check_frame, check_value
from sparkcourse.exercises import features as w01
from sparkcourse.exercises.warmup import check_multiples_of_seven

EXPECTED = pd.DataFrame({"user_id": [1, 2, 3], "share": [0.5, 0.25, 1.0]})


class FakeSparkFrame:
    def __init__(self, frame):
        self.frame = frame

    def toPandas(self):  # noqa: N802 - Spark's name
        return self.frame


def test_placeholder_is_not_attempted_and_never_raises():
    assert check_frame(None, EXPECTED, "user_id") == NOT_ATTEMPTED
    assert repr(NOT_ATTEMPTED).startswith("… not attempted yet")
    assert check_value(None, 3) == NOT_ATTEMPTED


def test_correct_in_any_row_order_and_from_spark():
    shuffled = EXPECTED.sample(frac=1, random_state=0)
    assert check_frame(shuffled, EXPECTED, "user_id").correct
    assert repr(check_frame(FakeSparkFrame(EXPECTED), EXPECTED, "user_id")) == "✔ correct"


@pytest.mark.parametrize("answer, words", [
    (EXPECTED.rename(columns={"share": "x"}), "missing ['share']"),
    (EXPECTED.iloc[:2], "1 user_ids missing"),
    (pd.concat([EXPECTED, EXPECTED]), "more than once"),
    (EXPECTED.assign(share=[0.5, 0.3, 1.0]),
     "1 of 3 values of share differ (user_id 2: expected 0.25, got 0.3)"),
    ("not a frame", "expected a DataFrame"),
])
def test_wrong_answers_get_hints(answer, words):
    feedback = check_frame(answer, EXPECTED, "user_id", advice="Try again.")
    assert feedback.status == "hint" and words in feedback.message


def test_check_value():
    assert check_multiples_of_seven(143, 1000).correct  # 0, 7, ..., 994
    assert check_multiples_of_seven(142, 1000).status == "hint"
    assert check_value("x", 1).status == "hint"


@pytest.fixture(scope="module")
def events_path(tmp_path_factory):
    data = generate_clickstream(200, seed=3)
    return data.write(tmp_path_factory.mktemp("w01"))["events"]


@pytest.mark.parametrize("check, reference", [
    (w01.check_mobile_share, w01.mobile_share),
    (w01.check_product_view_share, w01.product_view_share),
])
def test_workshop_01_checks(events_path, check, reference):
    events = pd.read_parquet(events_path).sort_values(["user_id", "ts"])
    answer = reference(events)
    column = answer.columns[1]
    assert check(answer, events_path).correct
    rewritten = answer.sample(frac=1, random_state=0).astype({column: "float32"}).assign(note="x")
    assert check(rewritten, events_path).correct  # another order, precision and an extra column
    assert check(None, events_path).status == "not attempted"
    assert check(answer.assign(**{column: answer[column] * 1.1}), events_path).status == "hint"


def test_longest_session_to_the_second_or_the_minute(events_path):
    events = pd.read_parquet(events_path).sort_values(["user_id", "ts"])
    exact = w01.longest_session_minutes(events)
    minutes = exact.longest_session_minutes
    for written in (minutes, minutes.round(), np.floor(minutes), (minutes * 60).round() / 60):
        assert w01.check_longest_session(exact.assign(longest_session_minutes=written), events_path).correct
    seconds = w01.check_longest_session(exact.assign(longest_session_minutes=minutes * 60), events_path)
    assert seconds.message == "those look like seconds: divide by 60 for minutes"
    session = (events.user_id.diff().ne(0) | events.ts.diff().gt(w01.SESSION_GAP)).cumsum()
    spans = events.groupby([events.user_id, session]).ts.agg(lambda t: t.max() - t.min())
    mean_session = (spans.groupby(level=0).mean().dt.total_seconds() / 60).rename("longest_session_minutes")
    assert w01.check_longest_session(mean_session.reset_index(), events_path).status == "hint"


# Workshop 02 -------------------------------------------------------------------------------------

def forest_space(**changes):
    import math

    from hyperopt import hp
    from hyperopt.pyll import scope

    space = {
        "n_estimators": scope.int(hp.quniform("n_estimators", 50, 500, 50)),
        "max_depth": scope.int(hp.quniform("max_depth", 2, 20, 1)),
        "max_features": hp.choice("max_features", ["sqrt", "log2", 0.5]),
        "min_samples_leaf": scope.int(
            hp.qloguniform("min_samples_leaf", math.log(1), math.log(64), 1)),
    }
    return {**space, **changes}


def test_search_space_check():
    from hyperopt import hp
    from hyperopt.pyll import scope

    from sparkcourse.exercises.tuning import check_search_space

    assert check_search_space(None) == NOT_ATTEMPTED
    assert check_search_space(forest_space()).correct
    listed = forest_space(  # another right answer: the allowed values listed, not stepped
        n_estimators=hp.choice("n_estimators", list(range(50, 501, 50))),
        max_depth=hp.choice("max_depth", list(range(2, 21))),
        min_samples_leaf=scope.int(hp.qloguniform("min_samples_leaf", 0, np.log(64), 1)))
    assert check_search_space(listed).correct
    wrong = {
        "scope.int": forest_space(n_estimators=hp.quniform("n_estimators", 50, 500, 50)),
        "log-uniform": forest_space(
            min_samples_leaf=scope.int(hp.quniform("min_samples_leaf", 1, 64, 1))),
        "outside": forest_space(max_depth=scope.int(hp.quniform("max_depth", 1, 20, 1))),
        "never took": forest_space(max_features=hp.choice("max_features", ["sqrt", "log2"])),
        "keys": {"n_estimators": hp.uniform("n_estimators", 0, 1)},
        "cannot sample": forest_space(max_depth=hp.quniform("max_depth", 2, 20, 1) + "x"),
    }
    for words, space in wrong.items():
        feedback = check_search_space(space)
        assert feedback.status == "hint" and words in feedback.message, (words, feedback)


def test_parallelism_check():
    from sparkcourse.exercises.tuning import check_parallelism, expected_parallelism

    rules = {"max_evals": 48, "trial_seconds": 30, "cores": 16, "min_rounds": 4, "overhead": 5.0}
    assert expected_parallelism(48, 16, 4) == 12 and expected_parallelism(48, 8, 4) == 8
    assert check_parallelism(None, None, **rules) == NOT_ATTEMPTED
    assert check_parallelism(12, 4 * 35, **rules).correct
    assert check_parallelism(np.int64(12), np.float64(4 * 35 * 1.01), **rules).correct  # NumPy, rounded
    for answer, predicted, words in [(32, 70, "only 16"), (16, 105, "fewer than 4 rounds"),
                                     (8, 210, "finish sooner"), (12, 4 * 30, "measured overhead")]:
        feedback = check_parallelism(answer, predicted, **rules)
        assert words in feedback.message, feedback


def test_best_run_check(tmp_path):
    import mlflow

    from sparkcourse.exercises.tuning import check_best_run
    from sparkcourse.notebook import setup_notebook
    from sparkcourse.tracking import start_tracking

    run = setup_notebook("exercise", scale="ci", spark_master="local[1]", seed=0, work_dir=str(tmp_path))
    tracking = start_tracking(run, "exercise")
    child_ids = {}
    with mlflow.start_run(experiment_id=tracking.experiment_id) as parent:
        for loss in (0.3, 0.1, 0.2):
            with mlflow.start_run(experiment_id=tracking.experiment_id, nested=True) as child:
                mlflow.log_metric("loss", loss)
                child_ids[loss] = child.info.run_id
    parent_id = parent.info.run_id
    assert check_best_run(None, parent_id) == NOT_ATTEMPTED
    assert check_best_run(child_ids[0.1], parent_id).correct
    with mlflow.start_run(run_id=parent_id), mlflow.start_run(experiment_id=tracking.experiment_id,
                                                              nested=True) as tied:
        mlflow.log_metric("loss", 0.1)
    assert check_best_run(tied.info.run_id, parent_id).correct  # either of two best children
    assert "best child has 0.1000" in check_best_run(child_ids[0.3], parent_id).message
    assert "not one of the search's child runs" in check_best_run(parent_id, parent_id).message
