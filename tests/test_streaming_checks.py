"""Workshop 12's exercise checks, on pandas frames and fakes: any correct answer passes, and a
close wrong one gets a hint. Their Spark answers run in the workshop's own executions."""

from types import SimpleNamespace

import pandas as pd
import pytest

from sparkcourse.clickapp import as_payload
from sparkcourse.data.clickstream import generate_clickstream
from sparkcourse.data.deliveries import deliver
from sparkcourse.exercises import NOT_ATTEMPTED
from sparkcourse.exercises.streaming import check_page_counts, check_parsed, check_upsert, good_events


@pytest.fixture(scope="module")
def delivery():
    return deliver(generate_clickstream(20, seed=5).events, seed=5, malformed_share=0.01)


def parsed_frame(payload, keep_malformed: bool) -> pd.DataFrame:
    frame = pd.DataFrame(payload)
    frame["user_id"] = pd.to_numeric(frame.user_id, errors="coerce")
    frame["ts"] = pd.to_datetime(frame.ts, errors="coerce", utc=True, format="ISO8601")
    frame = frame if keep_malformed else frame.dropna(subset=["user_id", "ts"])
    return frame[["user_id", "ts", "device", "page", "event_type", "amount"]]


def test_good_events_are_those_with_a_user_and_a_time(delivery):
    assert len(good_events(delivery.payload)) == delivery.events


@pytest.mark.parametrize("keep_malformed", [True, False])
def test_parsed_accepts_rows_with_or_without_the_malformed_ones(delivery, keep_malformed):
    assert check_parsed(parsed_frame(delivery.payload, keep_malformed), delivery.payload).correct


def test_parsed_hints_at_times_left_as_text_and_at_missing_columns(delivery):
    as_text = parsed_frame(delivery.payload, False).assign(ts=lambda f: f.ts.astype(str))
    assert "TIMESTAMP" in check_parsed(as_text, delivery.payload).message
    assert "missing columns ['amount']" in check_parsed(
        parsed_frame(delivery.payload, False).drop(columns="amount"), delivery.payload).message
    assert check_parsed(None, delivery.payload) == NOT_ATTEMPTED


def test_parsed_hints_when_events_are_missing(delivery):
    some = parsed_frame(delivery.payload, False).iloc[1:]
    assert "good events" in check_parsed(some, delivery.payload).message


def test_page_counts_wants_a_watermarked_stream():
    assert check_page_counts(None, []) == NOT_ATTEMPTED
    batch = SimpleNamespace(isStreaming=False)
    assert "streaming DataFrame" in check_page_counts(batch, []).message
    plan = SimpleNamespace(toString=lambda: "Aggregate [window, page]")
    stream = SimpleNamespace(isStreaming=True, _jdf=SimpleNamespace(
        queryExecution=lambda: SimpleNamespace(logical=lambda: plan)))
    assert "withWatermark" in check_page_counts(stream, []).message


class FakeDeltaSpark:
    """`spark.read.format("delta").load(path)` over tables kept as pandas frames."""

    def __init__(self):
        self.tables = {}
        self.read = SimpleNamespace(format=lambda _: SimpleNamespace(load=lambda path: self.tables[path]))


def latest_of(batch: pd.DataFrame) -> pd.DataFrame:
    return batch.groupby("user_id", as_index=False).ts.max().rename(columns={"ts": "last_seen"})


def merge_latest(spark, path):
    def upsert(batch, batch_id):
        latest = latest_of(batch)
        stored = spark.tables.get(path, latest.iloc[:0])
        both = pd.concat([stored, latest])
        spark.tables[path] = both.groupby("user_id", as_index=False).last_seen.max()
    return upsert


def rewrite_from_scratch_per_batch_id(spark, path):
    """Also correct: keep every batch's rows by batch id, and the table is their maximum."""
    batches = {}

    def upsert(batch, batch_id):
        batches[batch_id] = batch
        rows = pd.concat(batches.values())
        spark.tables[path] = latest_of(rows)
    return upsert


def append(spark, path):
    def upsert(batch, batch_id):
        latest = latest_of(batch)
        spark.tables[path] = pd.concat([spark.tables.get(path, latest.iloc[:0]), latest])
    return upsert


def last_batch_wins(spark, path):
    """Close but wrong: a MERGE that overwrites with the batch's time, even when it is older."""
    def upsert(batch, batch_id):
        latest = latest_of(batch)
        stored = spark.tables.get(path, latest.iloc[:0])
        spark.tables[path] = pd.concat([stored[~stored.user_id.isin(latest.user_id)], latest])
    return upsert


@pytest.fixture
def halves():
    events = generate_clickstream(10, seed=2).events[["user_id", "ts"]]
    return events.iloc[len(events) // 2:], events.iloc[: len(events) // 2]  # the later half first


@pytest.mark.parametrize("answer", [merge_latest, rewrite_from_scratch_per_batch_id])
def test_upsert_accepts_idempotent_answers(answer, halves, tmp_path):
    spark, path = FakeDeltaSpark(), str(tmp_path / "last_seen")
    feedback = check_upsert(answer(spark, path), spark, path, *halves)
    assert feedback.correct and "replaying" in feedback.message


def test_upsert_hints_at_an_append_and_at_an_older_time_winning(halves, tmp_path):
    spark, path = FakeDeltaSpark(), str(tmp_path / "last_seen")
    assert "MERGE on user_id" in check_upsert(append(spark, path), spark, path, *halves).message
    assert "later of the stored" in check_upsert(last_batch_wins(spark, path), spark, path, *halves).message
    assert check_upsert(None, spark, path, *halves) == NOT_ATTEMPTED


def test_payload_times_parse_back_to_the_events():
    events = generate_clickstream(3, seed=1).events
    assert (pd.to_datetime([e["ts"] for e in as_payload(events)], utc=True) == events.ts.dt.round("ms")).all()
