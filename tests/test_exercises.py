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
    (w01.check_longest_session, w01.longest_session_minutes),
    (w01.check_product_view_share, w01.product_view_share),
])
def test_workshop_01_checks(events_path, check, reference):
    events = pd.read_parquet(events_path).sort_values(["user_id", "ts"])
    answer = reference(events)
    assert check(answer, events_path).correct
    assert check(None, events_path).status == "not attempted"
    column = answer.columns[1]
    assert check(answer.assign(**{column: answer[column] * 1.1}), events_path).status == "hint"
