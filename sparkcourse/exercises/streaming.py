"""Checks for workshop 12 (streaming ingestion). References are computed with pandas from the
events the load generator sent, independently of Spark."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from pathlib import Path

import pandas as pd

from . import NOT_ATTEMPTED, Feedback, answer_frame, as_pandas, check_frame, correct, first_line, hint


def good_events(payload: list[dict]) -> pd.DataFrame:
    """The well-formed events of a payload: a whole-number user id and a time."""
    frame = pd.DataFrame(payload)
    ts = pd.to_datetime(frame.ts, errors="coerce", utc=True, format="ISO8601")
    user = pd.to_numeric(frame.user_id, errors="coerce")
    good = frame[ts.notna() & user.notna() & (user == user.round())].copy()
    good["ts"], good["user_id"] = ts[good.index].dt.tz_localize(None), user[good.index].astype("int64")
    return good.reset_index(drop=True)


def _naive_utc(times: pd.Series) -> pd.Series:
    """Spark's timestamps come to pandas in the session's time zone (UTC in the course), naive."""
    times = pd.to_datetime(times)
    return times.dt.tz_convert("UTC").dt.tz_localize(None) if times.dt.tz is not None else times


def check_parsed(answer, payload: list[dict]) -> Feedback:
    """One row per message or per good message, with the event's fields as typed columns."""
    got = answer_frame(answer)
    if isinstance(got, Feedback):
        return got
    missing = [c for c in ("user_id", "ts", "device", "page", "event_type", "amount") if c not in got.columns]
    if missing:
        return hint(f"missing columns {missing}: select the parsed struct's fields, e.g. `event.*`")
    if not pd.api.types.is_datetime64_any_dtype(got.ts):
        return hint("ts should be a timestamp: declare it TIMESTAMP in the schema")
    expected = good_events(payload)
    kept = got.dropna(subset=["user_id", "ts"])
    if len(kept) != len(expected):
        return hint(f"{len(kept):,} rows with a user and a time; the topic holds {len(expected):,} "
                    "good events")
    pairs = lambda frame: sorted(zip(frame.user_id.astype("int64"), _naive_utc(frame.ts), strict=True))  # noqa: E731
    if pairs(kept) != pairs(expected):
        return hint("the user ids and times differ from the events sent: parse `value` cast to a string")
    return correct(f"{len(kept):,} events parsed")


def expected_page_counts(payload: list[dict]) -> pd.DataFrame:
    events = good_events(payload)
    counts = events.groupby([events.ts.dt.floor("h").rename("window_start"), "page"]).size()
    return counts.rename("count").reset_index()


def check_page_counts(answer, payload: list[dict], seconds: float = 120) -> Feedback:
    """A streaming count per page and 1-hour window, with a watermark (any delay): run here to
    the end of the topic, its counts must be those of the events sent."""
    if answer is None:
        return NOT_ATTEMPTED
    if not getattr(answer, "isStreaming", False):
        return hint("expected a streaming DataFrame: start from `parsed_stream`, not a batch read")
    plan = answer._jdf.queryExecution().logical().toString()
    if "EventTimeWatermark" not in plan:
        return hint("add a watermark on the event time: `.withWatermark(\"ts\", \"1 hour\")` before grouping")
    table, folder = f"page_counts_{uuid.uuid4().hex[:8]}", Path(tempfile.mkdtemp(prefix="check-"))
    try:  # complete mode: every window, even the ones the watermark would not have closed yet
        query = (answer.writeStream.format("memory").queryName(table).outputMode("complete")
                 .option("checkpointLocation", str(folder)).trigger(availableNow=True).start())
        query.awaitTermination(seconds)
        query.stop()
        got = as_pandas(answer.sparkSession.table(table))
    except Exception as error:  # noqa: BLE001 - a check reports, it never raises
        return hint(f"the query failed: {first_line(error)}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if "window" in got.columns:
        got = got.assign(window_start=[w["start"] if isinstance(w, dict) else w.start for w in got.window])
    if "window_start" not in got.columns or "count" not in got.columns:
        return hint("group by `F.window(\"ts\", \"1 hour\")` and `page`, then `.count()`")
    keyed = lambda frame: frame.assign(key=list(zip(frame.window_start, frame.page, strict=True)))  # noqa: E731
    got = keyed(got.assign(window_start=_naive_utc(got.window_start)))
    expected = keyed(expected_page_counts(payload))
    return check_frame(got[["key", "count"]], expected[["key", "count"]], "key",
                       "one row per page and 1-hour window (`F.window(\"ts\", \"1 hour\")`)")


def expected_last_seen(events: pd.DataFrame) -> pd.DataFrame:
    return events.groupby("user_id").ts.max().rename("last_seen").reset_index()


def check_upsert(upsert, spark, path: str, first, second) -> Feedback:
    """`upsert(batch, batch_id)` keeps one row per user with the latest event time (`last_seen`)
    at `path`. Called with `first` (batch 0), `first` again (batch 0 replayed after a crash),
    then `second` (batch 1), the table must hold each user's latest time once."""
    if upsert is None:
        return NOT_ATTEMPTED
    shutil.rmtree(path, ignore_errors=True)
    try:
        for batch, batch_id in ((first, 0), (first, 0), (second, 1)):
            upsert(batch, batch_id)
        got = as_pandas(spark.read.format("delta").load(path))
    except Exception as error:  # noqa: BLE001
        return hint(f"the upsert failed: {first_line(error)}")
    if "last_seen" not in got.columns or "user_id" not in got.columns:
        return hint("the table needs columns user_id and last_seen")
    if got.user_id.duplicated().any():
        return hint("a user appears twice: a replayed batch was appended again; MERGE on user_id instead")
    both = pd.concat([as_pandas(first), as_pandas(second)])
    seconds = lambda times: (_naive_utc(times) - pd.Timestamp(0)).dt.total_seconds()  # noqa: E731
    expected = expected_last_seen(both.assign(ts=_naive_utc(both.ts)))
    expected, got = (frame.assign(last_seen=seconds(frame.last_seen)) for frame in (expected, got))
    feedback = check_frame(got, expected, "user_id", "keep the later of the stored and the new time")
    return correct("replaying batch 0 changed nothing") if feedback.correct else feedback
