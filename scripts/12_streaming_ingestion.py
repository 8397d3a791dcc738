# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3.11 (Scaling ML with Spark)
#     language: python
#     name: scaling-ml-spark
# ---

# %% [markdown] slideshow={"slide_type": "slide"}
# # 12 · Streaming ingestion: from clicks to features and scores
# *From events to models · about 85 minutes*
#
# **Topics:** Apache Kafka (KRaft, topics, partitions, offsets, consumer groups), a web app that produces events, Structured Streaming from Kafka, a quarantine for bad messages, event time and watermarks, `availableNow` and micro-batches, bronze and silver Delta tables, `foreachBatch` with `MERGE`, checkpoints and exactly-once, Delta's change data feed, streaming features and scoring, `StreamingQueryListener`, back-pressure, orchestration
#
# **Spark Connect:** no: the lesson reads the checkpoint's files and listens to query progress from Python, which need the classic session. Run it in local mode or on a standalone cluster.
#
# Every notebook so far started from files. Real pipelines start from **events**: a web app
# records what users do and sends it, as it happens, to a log that many readers consume. This
# workshop builds that pipeline on this machine, with real parts:
#
# | Step | Here | In production |
# |---|---|---|
# | a web app records clicks | a Flask app on 127.0.0.1, fed by a load generator over HTTP | the site's collector |
# | a durable log of events | **Apache Kafka 4**, one broker | a Kafka cluster (or a managed one) |
# | raw events land in storage | Structured Streaming → a **bronze** Delta table | the same, on object storage |
# | cleaned, sessionised data | `foreachBatch` + `MERGE` → a **silver** table | the same |
# | features and predictions | a streaming feature table, a model scored per micro-batch | the same |
# | scheduling | `trigger(availableNow=True)` jobs | Airflow, Databricks Jobs, cron |
#
# By the end you will be able to:
# - explain **topics, partitions, offsets and consumer groups**, and check that messages arrive;
# - read Kafka with **Structured Streaming**, parse JSON with a schema, and **quarantine** what
#   does not parse;
# - tell **event time** from processing time, and measure what a **watermark** drops;
# - write **bronze and silver** Delta tables, and show **exactly-once** results across a crash;
# - stream a table's **change data feed**, and score a model on **each micro-batch**;
# - watch throughput and latency with a **listener**, and bound batches with **back-pressure**.

# %% [markdown]
# ### Kafka without ZooKeeper
# Kafka 4 (2025) removed ZooKeeper: a Kafka cluster now keeps its own metadata with **KRaft**, a
# quorum of *controller* processes. Older tutorials start ZooKeeper first; with Kafka 4 you do
# not. Here one process is both the broker and its controller. `make setup` fetched Apache's
# own jars of Kafka 4.1 from Maven Central (about 44 MB); the notebook starts it with
# `sparkcourse.kafka.LocalKafka` on 127.0.0.1, and stops it at the end. To run it by hand:
# `python -m sparkcourse.kafka`. Spark reads Kafka with its own connector,
# `spark-sql-kafka-0-10`, from the course's package cache too.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Parameters
# `events` is about how many clickstream events the load generator sends (0 takes the scale's:
# 10,000 *small*, 100,000 *medium*, 1,000,000 *large*), at `events_per_second` (0 takes the
# scale's). `partitions` is the topic's number of partitions. `kafka_bootstrap` points at an
# existing Kafka cluster (`host:port`); empty, the notebook starts its own broker.

# %% tags=["parameters"]
scale: str = "small"  # data size: ci (tests), small (Binder), medium (laptop), large (cluster)
spark_master: str = "local[*]"  # where Spark runs: local[*], local[N] or spark://host:port
seed: int = 42  # random seed for the data and the model
work_dir: str = "work"  # the driver's folder for this notebook's files (Spark's log, the broker)
data_root: str = ""  # folder that driver and executors see, for tables and checkpoints; empty: work_dir
events: int = 0  # about how many events to send; 0 takes the scale's
events_per_second: int = 0  # the load generator's rate; 0 takes the scale's
partitions: int = 2  # partitions of the clicks topic
kafka_bootstrap: str = ""  # host:port of an existing Kafka cluster; empty: start a broker here

# %%
import json
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from delta.tables import DeltaTable
from pyspark.errors import StreamingQueryException
from pyspark.sql import Window
from pyspark.sql import functions as F
from pyspark.sql.streaming import StreamingQueryListener
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from sparkcourse import check_int, record, setup_notebook, storage
from sparkcourse.clickapp import collector, send
from sparkcourse.data.clickstream import SESSION_GAP, generate_clickstream
from sparkcourse.data.deliveries import LATE_BY, MALFORMED, deliver
from sparkcourse.exercises.streaming import check_page_counts, check_parsed, check_upsert
from sparkcourse.kafka import delete_topic, kafka_broker
from sparkcourse.params import check_bootstrap
from sparkcourse.spark import driver_address

run = setup_notebook("12_streaming_ingestion", scale=scale, spark_master=spark_master, seed=seed,
                     work_dir=work_dir, data_root=data_root, classic_api="checkpoint files, listener")
events = check_int("events", events) or run.scale.clicks
events_per_second = check_int("events_per_second", events_per_second) or run.scale.click_rate
partitions = check_int("partitions", partitions, minimum=1, maximum=64)
kafka_bootstrap = check_bootstrap("kafka_bootstrap", kafka_bootstrap)
TOPIC = "clicks"

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 1 · Events, topics, partitions, offsets
# A **topic** is a named, append-only log of messages. It is split into **partitions**, each an
# ordered sequence whose messages are numbered by **offset** (0, 1, 2, ...). A message has a
# **key** and a **value**, both bytes: messages with the same key go to the same partition, so
# one user's clicks stay in order. Readers remember how far they got as offsets; readers that
# share a **consumer group** split the partitions between them.
#
# First the broker (started on this machine, on the address where Spark's executors reach it:
# 127.0.0.1 in local mode; or the cluster `kafka_bootstrap` names), then the topic:

# %%
kafka = kafka_broker(kafka_bootstrap, run.work / "kafka", partitions, host=driver_address(run.master))
bootstrap = kafka.bootstrap
admin = AdminClient({"bootstrap.servers": bootstrap})
delete_topic(admin, TOPIC)  # a re-run on an existing cluster starts afresh
admin.create_topics([NewTopic(TOPIC, num_partitions=partitions, replication_factor=1)])[TOPIC].result(30)
topic = admin.list_topics(TOPIC, timeout=30).topics[TOPIC]
print(f"topic {TOPIC}: {len(topic.partitions)} partitions, replicas on brokers "
      f"{sorted({b for p in topic.partitions.values() for b in p.replicas})}")
del admin  # a client left open would complain on the console when the broker stops

# %% [markdown]
# ### The web app that produces them
# The site's **collector** is a small Flask app: `POST /events` takes a JSON array of events and
# publishes each to the topic with the Kafka client `confluent-kafka`, keyed by user, and answers
# once Kafka has acknowledged them. A load generator plays the users: workshop 01's seeded
# clickstream, sent in time order, except that a few events arrive a week late (a phone that
# was offline) and a few messages are malformed (a buggy client). The generator knows which.

# %%
clickstream = generate_clickstream(max(10, events // 65), seed=run.seed)
delivery = deliver(clickstream.events, seed=run.seed)
print(delivery)
live_from = len(delivery.payload) * 3 // 4  # the last quarter arrives later, live (section 2)
app = collector(bootstrap, TOPIC, run.work).start()
sent = send(app.url, delivery.payload[:live_from], batch=500, events_per_second=events_per_second)
print(f"sent the first {live_from:,} messages to the collector's /events")

# %% tags=["nbval-ignore-output"]
# Varies from run to run: the send's duration and rate
print(sent)

# %% [markdown]
# ### Check that they arrive
# The first thing to do with a new topic is to read it: a consumer in a group of its own, from
# the earliest offset, a few messages, and the end offset of each partition (the offset the next
# message will get). Every message the app accepted must be there.

# %%
consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "lesson-check",
                     "auto.offset.reset": "earliest", "enable.auto.commit": False})
consumer.subscribe([TOPIC])
first = []
deadline = time.monotonic() + 30  # a bounded wait: messages or a clear failure
while len({m.partition() for m in first}) < len(topic.partitions) and time.monotonic() < deadline:
    first += [m for m in consumer.consume(100, timeout=1) if m.error() is None]
ends = {p: consumer.get_watermark_offsets(TopicPartition(TOPIC, p), timeout=10)[1] for p in topic.partitions}
consumer.close()
print(pd.DataFrame([{"partition": m.partition(), "offset": m.offset(), "key": m.key().decode(),
                     "value": m.value().decode()[:60] + "..."} for m in first if m.offset() < 2]
                   ).sort_values(["partition", "offset"]).to_string(index=False))
print(f"end offsets {ends}: {sum(ends.values()):,} messages, {sent.events:,} accepted by the app")
assert sum(ends.values()) == sent.events == live_from

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 2 · Structured Streaming from Kafka
# Spark reads a topic as an unbounded table: each row one message, with `key`, `value` (bytes),
# `topic`, `partition`, `offset` and `timestamp`. A **streaming query** processes it in
# **micro-batches**: each one reads the offsets that arrived since the last, runs the same plan
# on them, and writes the result.
#
# The value is JSON; we declare its schema instead of inferring it (a stream has no "all the
# data" to infer from). `from_json` gives a missing field, or one of the wrong type, as null: a
# message without a user or a time cannot be used, so it goes to a **quarantine** table, counted,
# instead of disappearing.

# %%
spark = run.spark(packages=("delta", "kafka"))
EVENT_SCHEMA = "user_id BIGINT, ts TIMESTAMP, device STRING, page STRING, event_type STRING, amount DOUBLE"


def parse(messages):
    """Kafka rows -> the event's fields, plus where the message came from."""
    value = F.col("value").cast("string")
    return messages.select("partition", "offset", value.alias("value"),
                           F.from_json(value, EVENT_SCHEMA).alias("event"))


is_good = F.col("event.user_id").isNotNull() & F.col("event.ts").isNotNull()
raw = (spark.read.format("kafka").option("kafka.bootstrap.servers", bootstrap)
       .option("subscribe", TOPIC).load())
raw.printSchema()
malformed = parse(raw).filter(~is_good).select("partition", "offset", "value")
malformed.orderBy("partition", "offset").show(4, truncate=False)

# %% [markdown]
# ### Exercise 1 · Parse the value
# From `raw` (a batch read of the topic, as above), build `parsed`: one column per field of
# `EVENT_SCHEMA` (`user_id`, `ts`, `device`, `page`, `event_type`, `amount`). Keep the malformed
# rows or drop them, as you like.

# %%
# BEGIN SOLUTION
# STUDENT: parsed = None  # a DataFrame with one column per event field
parsed = raw.select(F.from_json(F.col("value").cast("string"), EVENT_SCHEMA).alias("event")).select("event.*")
# END SOLUTION

# %%
check_parsed(parsed, delivery.payload[:live_from])

# %% [markdown]
# ### Bronze: every event, as it came
# The ingest query writes each micro-batch twice from `foreachBatch`: the good events to the
# **bronze** table, the rest to the **quarantine**. Each write carries the query's id and the
# batch id (`txnAppId`, `txnVersion`): if a crash makes Spark run a batch again, Delta sees
# that version was already written and skips it. `maxOffsetsPerTrigger` caps a batch's size.
#
# A **listener** receives each batch's progress (rows, rates, durations), on the driver; we keep
# them for section 7.

# %%
class ProgressLog(StreamingQueryListener):
    """Every query's progress reports, as rows."""

    def __init__(self):
        self.rows = []

    def onQueryStarted(self, event):
        pass

    def onQueryProgress(self, event):
        p = event.progress
        self.rows.append({"query": str(p.id), "run": str(p.runId), "batch": p.batchId, "rows": p.numInputRows,
                          "rows_per_second": p.processedRowsPerSecond,
                          "seconds": p.durationMs.get("triggerExecution", 0) / 1000,
                          "dropped_by_watermark": sum(s.numRowsDroppedByWatermark for s in p.stateOperators)})

    def onQueryIdle(self, event):
        pass

    def onQueryTerminated(self, event):
        pass

    def of(self, query, wait=10):
        """The reports of `query`, restarts included, once the listener has those of its last
        run (it hears of them asynchronously)."""
        deadline = time.monotonic() + wait
        while sum(r["run"] == str(query.runId) for r in self.rows) < len(query.recentProgress):
            if time.monotonic() > deadline:
                break
            time.sleep(0.1)
        return pd.DataFrame([r for r in self.rows if r["query"] == str(query.id)])


progress = ProgressLog()
spark.streams.addListener(progress)
tables_root, checkpoints = run.path("tables"), run.local_path("checkpoints")
for folder in (tables_root, str(checkpoints)):
    storage.fresh(folder)  # a re-run starts afresh
tables = {name: storage.join(tables_root, name) for name in ("bronze", "quarantine", "sessions",
                                                       "subscriptions", "cancellations", "features",
                                                       "predictions", "last_seen")}
batch_size = max(500, events // 4)  # maxOffsetsPerTrigger: the backlog in 3 or 4 batches


def kafka_stream(max_offsets=batch_size):
    reader = (spark.readStream.format("kafka").option("kafka.bootstrap.servers", bootstrap)
              .option("subscribe", TOPIC).option("startingOffsets", "earliest"))
    return (reader.option("maxOffsetsPerTrigger", max_offsets) if max_offsets else reader).load()


def bronze_writer(bronze, quarantine, app_id):
    """foreachBatch: good events to `bronze`, the rest to `quarantine`, each write idempotent."""
    def write(batch, batch_id):
        batch.persist()
        good = batch.filter(is_good).select("event.*", "partition", "offset")
        bad = batch.filter(~is_good).select("value", "partition", "offset")
        for rows, path in ((good, bronze), (bad, quarantine)):
            (rows.write.format("delta").mode("append").option("txnAppId", app_id)
             .option("txnVersion", batch_id).save(path))
        batch.unpersist()
    return write


def start_ingest(trigger):
    return (parse(kafka_stream()).writeStream.queryName("ingest")
            .foreachBatch(bronze_writer(tables["bronze"], tables["quarantine"], "ingest"))
            .option("checkpointLocation", str(checkpoints / "ingest")).trigger(**trigger).start())


ingest = start_ingest({"availableNow": True})  # everything there now, in batches, then stop
ingest.awaitTermination(300)
backlog = progress.of(ingest)
print(backlog[["batch", "rows"]].T.to_string(header=False))


# %%
def count(name):
    return spark.read.format("delta").load(tables[name]).count()


malformed_sent = sum(m in MALFORMED for m in delivery.payload[:live_from])
print(f"bronze {count('bronze'):,} + quarantine {count('quarantine')} = {live_from:,} messages; "
      f"{malformed_sent} malformed were sent")
assert count("bronze") + count("quarantine") == live_from and count("quarantine") == malformed_sent

# %% [markdown]
# ### `availableNow` against continuous micro-batches
# `trigger(availableNow=True)` processes what is there and stops: a **scheduled job** (section
# 7). Without it (or with `processingTime`), the query runs until stopped, starting a batch as
# new data comes. The same query, from the same **checkpoint**, now continues where the first
# stopped, while the last quarter of the traffic arrives live over about four seconds:

# %%
ingest = start_ingest({"processingTime": "1 second"})
live = delivery.payload[live_from:]
sent_live = send(app.url, live, batch=100, events_per_second=len(live) / 4)
ingest.processAllAvailable()  # what has arrived is processed: then stop the query
ingest.stop()

# %% tags=["nbval-ignore-output"]
# Varies from run to run: how many micro-batches the live traffic fell into
reports = progress.of(ingest)
live_batches = reports[(reports.run == str(ingest.runId)) & (reports.rows > 0)]
print(f"{sent_live.events:,} live messages in {len(live_batches)} micro-batches "
      f"(batches {live_batches.batch.min()} to {live_batches.batch.max()} of the same query)")

# %%
bronze = spark.read.format("delta").load(tables["bronze"])
produced = sent.events + sent_live.events
print(f"produced over HTTP: {produced:,} messages = bronze {bronze.count():,} events "
      f"+ quarantine {count('quarantine')} malformed ({delivery.malformed} sent)")
assert bronze.count() == delivery.events and count("quarantine") == delivery.malformed
record(events_produced=produced, bronze_events=bronze.count(), quarantined=count("quarantine"))
assert bronze.select("partition", "offset").distinct().count() == bronze.count()  # each message once

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 3 · Silver: sessions, upserted, exactly once
# Workshop 01 cut each user's events into **sessions** (a new one after 30 minutes without
# events) on a finished table. On a stream, a user's new events can extend a session, start a
# new one, or (arriving late) fall before the others. So each micro-batch **recomputes the
# sessions of the users it touched**, from bronze, and `MERGE`s them into the silver table:
# update what changed, insert what is new, delete what no longer exists.

# %%
by_user = Window.partitionBy("user_id").orderBy("ts")


def sessions_of(events):
    """Workshop 01's sessionising: a new session after SESSION_GAP without events."""
    gap = F.col("ts").cast("double") - F.lag("ts").over(by_user).cast("double")
    starts = (gap.isNull() | (gap > SESSION_GAP.total_seconds())).cast("int")
    numbered = events.withColumn("session", F.sum(starts).over(by_user))
    return numbered.groupBy("user_id", "session").agg(
        F.min("ts").alias("start"), F.max("ts").alias("end"), F.count("*").alias("events"),
        F.sum((F.col("event_type") == "purchase").cast("int")).alias("purchases"))


def update_sessions(batch, batch_id):
    users = [row.user_id for row in batch.select("user_id").distinct().collect()]
    touched = spark.read.format("delta").load(tables["bronze"]).filter(F.col("user_id").isin(users))
    (DeltaTable.forPath(spark, tables["sessions"]).alias("t")
     .merge(sessions_of(touched).alias("s"), "t.user_id = s.user_id AND t.session = s.session")
     .whenMatchedUpdateAll().whenNotMatchedInsertAll()
     .whenNotMatchedBySourceDelete(F.col("t.user_id").isin(users))
     .execute())


sessions_of(bronze.limit(0)).write.format("delta").mode("overwrite").save(tables["sessions"])


def start_silver(function):
    return (spark.readStream.format("delta").option("maxFilesPerTrigger", 5).load(tables["bronze"])
            .writeStream.queryName("silver").foreachBatch(function)
            .option("checkpointLocation", str(checkpoints / "silver")).trigger(availableNow=True).start())


# %% [markdown]
# ### A crash between the write and the commit
# A micro-batch ends in two steps: the sink writes, then the checkpoint records the batch as
# done (`commits/`). A crash between the two is the hard case: on restart, Spark runs that
# batch **again**. An append would then write its rows twice; an idempotent sink does not.
# Here batch 1 writes to silver, then the driver "dies":

# %%
def update_then_crash(batch, batch_id):
    update_sessions(batch, batch_id)
    if batch_id == 1:
        raise RuntimeError("the driver died after writing batch 1, before committing it")


silver = start_silver(update_then_crash)
try:
    silver.awaitTermination(300)
except StreamingQueryException as crash:
    print("query stopped:", str(crash).split("RuntimeError: ")[-1].splitlines()[0])


def logged(query, kind):
    """The batch ids in a query's checkpoint: `offsets` (planned) or `commits` (done)."""
    return sorted(int(f.name) for f in (checkpoints / query / kind).iterdir() if f.name.isdigit())


print(f"checkpoint: offsets planned for batches {logged('silver', 'offsets')}, "
      f"commits for {logged('silver', 'commits')}")

# %% [markdown]
# Restarted from the same checkpoint, the query re-runs batch 1, then the rest. `MERGE`
# recomputes the same sessions, so the replay changes nothing:

# %%
silver = start_silver(update_sessions)
silver.awaitTermination(300)
rerun = progress.of(silver)
first_rerun = rerun[rerun.run == str(silver.runId)].batch.min()
print(f"the restart began with batch {first_rerun}: the one that crashed")
sessions = spark.read.format("delta").load(tables["sessions"])
truth = clickstream.truth.set_index("user_id").n_sessions
per_user = sessions.groupBy("user_id").count().toPandas().set_index("user_id")["count"].reindex(truth.index)
in_sessions = sessions.agg(F.sum("events")).first()[0]
print(f"silver: {sessions.count():,} sessions holding {in_sessions:,} events (bronze: {bronze.count():,}); "
      f"users whose sessions match the generator's: {(per_user == truth).sum():,} of {len(truth):,}")
assert in_sessions == bronze.count() and (per_user == truth).all()

# %% [markdown]
# ### The offsets in the checkpoint
# The checkpoint is a folder of small files. `offsets/N` says, before batch N runs, which Kafka
# offsets it will read up to; `commits/N` marks it done. The ingest query's last entry should
# be the end of each partition:

# %%
last = logged("ingest", "offsets")[-1]
stored = json.loads((checkpoints / "ingest" / "offsets" / str(last)).read_text().splitlines()[-1])[TOPIC]
consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "lesson-check"})
ends = {p: consumer.get_watermark_offsets(TopicPartition(TOPIC, p), timeout=10)[1] for p in topic.partitions}
consumer.close()
print(pd.DataFrame({"end offset in Kafka": ends, "the checkpoint's last offsets": {
    int(p): o for p, o in stored.items()}}).rename_axis("partition").to_string())

# %% [markdown]
# ### Exercise 2 · An idempotent upsert
# Write `upsert_last_seen(batch, batch_id)`, a `foreachBatch` function that keeps, in the Delta
# table at `tables["last_seen"]`, one row per user (`user_id`, `last_seen`): the latest event
# time seen so far. The check calls it with a batch, with the **same batch again** (a replay
# after a crash), then with a second batch: the table must be right after all three. Create
# the table when it does not exist yet (`DeltaTable.isDeltaTable`).

# %%
# BEGIN SOLUTION
# STUDENT: upsert_last_seen = None  # def upsert_last_seen(batch, batch_id): ...
def upsert_last_seen(batch, batch_id):
    latest = batch.groupBy("user_id").agg(F.max("ts").alias("last_seen"))
    if not DeltaTable.isDeltaTable(spark, tables["last_seen"]):
        latest.write.format("delta").save(tables["last_seen"])
        return
    (DeltaTable.forPath(spark, tables["last_seen"]).alias("t")
     .merge(latest.alias("s"), "t.user_id = s.user_id")
     .whenMatchedUpdate("s.last_seen > t.last_seen", {"last_seen": "s.last_seen"})
     .whenNotMatchedInsertAll().execute())
# END SOLUTION


# %%
check_upsert(upsert_last_seen, spark, tables["last_seen"],
             *bronze.select("user_id", "ts").randomSplit([0.5, 0.5], seed=run.seed))

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 4 · Event time, processing time and watermarks
# Each event carries the time it **happened** (`ts`, *event time*); Spark sees it when it
# **arrives** (*processing time*). Counting clicks per hour of event time means a window may
# receive events long after it ended. Keeping every window open forever would keep all state
# forever; a **watermark** says how late an event may be: Spark keeps a window until the
# latest event time seen, minus the delay, has passed its end, then drops later arrivals.
#
# Here: counts per user, page and hour of event time, read straight from Kafka in about 8
# batches, with a watermark of two days. Why so long? The watermark follows the latest event
# time of *any* partition, and each partition's users have their own bursts: at the same point
# of the backlog one partition can be a day behind another, and a short delay would drop its
# on-time events. Our late events are a week late: the watermark drops those whose window
# it has already closed, and the listener counts them.

# %%
window_counts = pd.DataFrame()


def keep_latest(batch, batch_id):
    """foreachBatch in update mode: the batch holds the windows it changed, with their new counts."""
    global window_counts
    changed = batch.toPandas()
    window_counts = pd.concat([window_counts, changed]).drop_duplicates(["hour", "user_id", "page"],
                                                                        keep="last")


counts = (parse(kafka_stream(max(100, len(delivery.payload) // 8))).filter(is_good).select("event.*")
          .withWatermark("ts", "2 days")
          .groupBy(F.window("ts", "1 hour"), "user_id", "page").count()
          .select(F.col("window.start").alias("hour"), "user_id", "page", "count"))
windows = (counts.writeStream.queryName("windows").outputMode("update").foreachBatch(keep_latest)
           .option("checkpointLocation", str(checkpoints / "windows")).trigger(availableNow=True).start())
windows.awaitTermination(300)
reported = int(progress.of(windows).dropped_by_watermark.sum())
counted = int(window_counts["count"].sum())
print(f"{delivery.events:,} good events: {counted:,} counted in {len(window_counts):,} windows, "
      f"{delivery.events - counted} dropped by the watermark (the listener reports {reported} rows: "
      f"rows after each task's partial counts); {len(delivery.late)} arrived {LATE_BY.days} days late")

# %% [markdown]
# Which events did it drop? The generator knows which events came late: for every window, the
# events missing from its count must be late ones.

# %%
keys = ["hour", "user_id", "page"]
sent_events = clickstream.events.assign(hour=clickstream.events.ts.dt.floor("h").dt.tz_localize(None))
late_events = delivery.late.assign(hour=delivery.late.ts.dt.floor("h").dt.tz_localize(None))
missing = (sent_events.groupby(keys).size().rename("sent").to_frame()
           .join(window_counts.set_index(keys)["count"]).fillna(0)
           .join(late_events.groupby(keys).size().rename("late")).fillna(0)
           .assign(missing=lambda f: f.sent - f["count"]))
print(f"windows with events missing: {(missing.missing > 0).sum()}; events missing: "
      f"{int(missing.missing.sum())}, all of them late: {(missing.missing <= missing.late).all()}")
assert 0 < missing.missing.sum() <= len(delivery.late) and (missing.missing <= missing.late).all()
record(late_events=len(delivery.late), dropped_by_watermark=int(missing.missing.sum()))

# %% [markdown]
# Not every late event was dropped. Spark judges a batch's late events against the watermark of
# the batch *before* it (so that a chain of stateful operators agrees on what is late): an
# event is dropped only when the watermark had passed its window a batch earlier. A longer
# watermark drops fewer and keeps more state: it is a trade between **completeness and
# memory**. The bronze table, which has no watermark, kept them all.
#
# ### Exercise 3 · A watermarked windowed count
# Build `page_counts`, a streaming DataFrame that counts events **per page and 1-hour window**
# of event time, with a watermark. Start from `parsed_stream` below (the good events of the
# topic, as a stream). The check runs your query to the end of the topic.

# %%
parsed_stream = parse(kafka_stream(0)).filter(is_good).select("event.*")
# BEGIN SOLUTION
# STUDENT: page_counts = None  # a streaming DataFrame: window, page, count
page_counts = parsed_stream.withWatermark("ts", "2 hours").groupBy(F.window("ts", "1 hour"), "page").count()
# END SOLUTION

# %%
check_page_counts(page_counts, delivery.payload)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 5 · Change data capture: a user cancels, the row changes
# Not every stream comes from Kafka. A Delta table with the **change data feed** on records,
# for each commit, the rows inserted, deleted, and updated (before and after). Downstream jobs
# stream those changes instead of re-reading the table. Here a subscriptions table gets its
# subscribers; later some cancel, and a downstream query keeps a table of cancellations.

# %%
subscribers = clickstream.labels.query("subscribed == 1").assign(
    plan=lambda f: np.where(f.user_id % 3 == 0, "annual", "monthly"), status="active")
spark.sql(f"CREATE OR REPLACE TABLE delta.`{tables['subscriptions']}` "
          "(user_id BIGINT, plan STRING, status STRING) USING delta "
          "TBLPROPERTIES (delta.enableChangeDataFeed = true)")
(spark.createDataFrame(subscribers[["user_id", "plan", "status"]]).write.format("delta")
 .mode("append").save(tables["subscriptions"]))


def keep_cancellations(changes, batch_id):
    updated = F.col("_change_type") == "update_postimage"
    cancelled = changes.filter(updated & (F.col("status") == "cancelled"))
    (cancelled.select("user_id", "plan", F.col("_commit_version").alias("version")).write.format("delta")
     .mode("append").option("txnAppId", "cancellations").option("txnVersion", batch_id)
     .save(tables["cancellations"]))


def follow_changes():
    changes = (spark.readStream.format("delta").option("readChangeFeed", "true")
               .option("startingVersion", 0).load(tables["subscriptions"]))
    query = (changes.writeStream.queryName("cdc").foreachBatch(keep_cancellations)
             .option("checkpointLocation", str(checkpoints / "cdc")).trigger(availableNow=True).start())
    query.awaitTermination(300)


follow_changes()
leaving = subscribers.user_id.sample(frac=0.1, random_state=run.seed).tolist()
DeltaTable.forPath(spark, tables["subscriptions"]).update(F.col("user_id").isin(leaving),
                                                          {"status": "'cancelled'"})
follow_changes()  # the scheduled job's next run: only the new commit's changes
(spark.read.format("delta").option("readChangeFeed", "true").option("startingVersion", 2)
 .load(tables["subscriptions"]).filter(F.col("user_id") == min(leaving))
 .select("user_id", "plan", "status", "_change_type", "_commit_version").orderBy("_change_type").show())
print(f"{len(subscribers):,} subscribers, {len(leaving)} cancelled; "
      f"downstream cancellations table: {count('cancellations')} rows")
assert count("cancellations") == len(leaving)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 6 · Features and scores on the stream
# The payoff: a **feature table** that stays current as events arrive, and a model scored on
# each micro-batch. The features are workshop 01's kind, per user: counts of events, sessions,
# active days, purchases, revenue, and a *rolling* count: events in the user's last seven days.
# The model is workshop 01's too: a logistic regression on the log of the counts, trained on
# a snapshot of the same features.

# %%
def features_of(events):
    last = F.max("ts").over(Window.partitionBy("user_id"))
    recent = (F.col("ts") > last - F.expr("INTERVAL 7 DAYS")).cast("int")
    return events.withColumn("recent", recent).groupBy("user_id").agg(
        F.count("*").alias("events"), F.count_distinct(F.to_date("ts")).alias("active_days"),
        F.sum((F.col("event_type") == "purchase").cast("int")).alias("purchases"),
        F.coalesce(F.sum("amount"), F.lit(0.0)).alias("revenue"), F.sum("recent").alias("events_7d"))


FEATURES = ["events", "active_days", "purchases", "revenue", "events_7d", "sessions"]


def with_sessions(features):
    counted = spark.read.format("delta").load(tables["sessions"]).groupBy("user_id").count()
    return features.join(counted.withColumnRenamed("count", "sessions"), "user_id")


labels = spark.createDataFrame(clickstream.labels)
snapshot = with_sessions(features_of(bronze)).join(labels, "user_id").orderBy("user_id").toPandas()
train, test = train_test_split(snapshot, test_size=0.3, random_state=run.seed, stratify=snapshot.subscribed)
model = make_pipeline(FunctionTransformer(np.log1p), StandardScaler(), LogisticRegression(max_iter=1000))
model.fit(train[FEATURES], train.subscribed)
print(f"offline test AUC {roc_auc_score(test.subscribed, model.predict_proba(test[FEATURES])[:, 1]):.3f}")

# %% [markdown]
# Each micro-batch of bronze now updates the features of the users it touched and scores them.
# Scoring runs on the executors: `mapInPandas` hands each task its rows as pandas frames, and
# the model travels to them once per batch.

# %%
def upsert(path, keys):
    """foreachBatch: MERGE the batch into the Delta table at `path`, by `keys` (create it first)."""
    def write(batch, batch_id):
        if not DeltaTable.isDeltaTable(spark, path):
            batch.write.format("delta").save(path)
            return
        condition = " AND ".join(f"t.{key} = s.{key}" for key in keys)
        (DeltaTable.forPath(spark, path).alias("t").merge(batch.alias("s"), condition)
         .whenMatchedUpdateAll().whenNotMatchedInsertAll().execute())
    return write


def score(frames):
    for frame in frames:
        yield frame[["user_id"]].assign(p_subscribe=model.predict_proba(frame[FEATURES])[:, 1])


def features_and_scores(batch, batch_id):
    users = [row.user_id for row in batch.select("user_id").distinct().collect()]
    touched = spark.read.format("delta").load(tables["bronze"]).filter(F.col("user_id").isin(users))
    features = with_sessions(features_of(touched))
    upsert(tables["features"], ["user_id"])(features, batch_id)
    scores = features.mapInPandas(score, "user_id BIGINT, p_subscribe DOUBLE")
    scores = scores.withColumn("batch", F.lit(batch_id))
    upsert(tables["predictions"], ["user_id"])(scores, batch_id)


scoring = (spark.readStream.format("delta").option("maxFilesPerTrigger", 8).load(tables["bronze"])
           .writeStream.queryName("scoring").foreachBatch(features_and_scores)
           .option("checkpointLocation", str(checkpoints / "scoring")).trigger(availableNow=True).start())
scoring.awaitTermination(300)
predictions = spark.read.format("delta").load(tables["predictions"]).toPandas().merge(snapshot, on="user_id")
offline = model.predict_proba(predictions[FEATURES])[:, 1]
print(f"{len(predictions):,} users scored, batch by batch; "
      f"largest gap to the offline scores: {np.abs(predictions.p_subscribe - offline).max():.1e}")
assert len(predictions) == len(snapshot) and np.allclose(predictions.p_subscribe, offline)

# %% [markdown]
# The streamed scores equal the offline ones: the features were computed by the **same
# function** in both places. When training and serving compute features with different code,
# their small differences (*training-serving skew*) quietly cost accuracy.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 7 · Operating a stream
# ### Throughput and latency, from the listener
# Every progress report says how many rows a batch read, how fast it processed them and how
# long it took. The ingest query's reports, batch by batch (the backlog in batches of
# `maxOffsetsPerTrigger`, then the live trickle):

# %% tags=["nbval-ignore-output"]
# Varies from run to run: batch durations and rates, and how the live traffic fell into batches
report = progress.of(ingest).query("rows > 0")
fig, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(7, 4.5))
top.bar(report.batch, report.rows_per_second, color="tab:blue")
top.set(ylabel="rows per second", title="The ingest query, batch by batch")
bottom.bar(report.batch, report.seconds, color="tab:orange")
bottom.set(xlabel="batch", ylabel="batch duration (s)")
plt.show()
print(report[["batch", "rows", "rows_per_second", "seconds"]].round(2).to_string(index=False))
record(ingest_rows_per_second=float(report.rows_per_second.median()))

# %% [markdown]
# A batch costs seconds even when it is small: planning, the Kafka offsets, two Delta commits
# are paid per batch, whatever its rows (and the first batches also pay for the JVM compiling
# the code). So big batches move more rows per second than small ones, and a live batch's
# latency is the trigger interval plus that fixed cost.
#
# ### Back-pressure: `maxOffsetsPerTrigger`
# After an outage, a stream restarts with a **backlog**. Without a cap, its first batch takes
# everything at once: one long batch, all the memory it needs, nothing visible until it ends.
# With `maxOffsetsPerTrigger`, the backlog drains in bounded batches. The same ingest into a
# scratch table, from the start of the topic, without the cap, against the capped backlog above:

# %%
def drain(max_offsets, name):
    scratch = [storage.join(tables_root, table) for table in (name, f"{name}_bad")]
    query = (parse(kafka_stream(max_offsets)).writeStream.queryName(name)
             .foreachBatch(bronze_writer(*scratch, name))
             .option("checkpointLocation", str(checkpoints / name)).trigger(availableNow=True).start())
    query.awaitTermination(300)
    return progress.of(query).query("rows > 0")


capped, uncapped = progress.of(ingest).query("rows > 0 and batch < 3"), drain(0, "uncapped")
print(f"the backlog of {capped.rows.sum():,} messages with maxOffsetsPerTrigger={batch_size:,}: "
      f"{len(capped)} batches of at most {capped.rows.max():,} rows; all {uncapped.rows.sum():,} "
      f"without it: {len(uncapped)} batch")

# %% tags=["nbval-ignore-output"]
# Varies from run to run: batch durations
print(pd.DataFrame({"batches": [len(capped), len(uncapped)],
                    "largest batch (rows)": [capped.rows.max(), uncapped.rows.max()],
                    "longest batch (s)": [capped.seconds.max(), uncapped.seconds.max()]},
                   index=["capped backlog", "no cap"]).round(2).to_string())

# %% [markdown]
# The cap buys a bounded batch: its memory and its duration no longer grow with the backlog.
# Its price is the fixed cost of each batch (planning, the Delta commits), paid more often. (The
# capped batches here also ran first, on a cold JVM, so their seconds are pessimistic.) At this
# scale one batch fits easily; with a day of a busy site's events, the uncapped batch is the one
# that runs out of memory.
#
# ### Scheduling `availableNow` jobs
# A query with `trigger(availableNow=True)` is a batch job that remembers where it stopped: run
# it every hour, and each run processes exactly the new data. An orchestrator such as
# **Apache Airflow** runs it on a schedule, retries it, and runs the jobs in order:
#
# | Airflow | For this pipeline |
# |---|---|
# | a DAG with `schedule="@hourly"` | ingest → silver → features and scores, every hour |
# | a task (`SparkSubmitOperator`, or Databricks' job operator) | one `availableNow` query per task |
# | retries | safe: the checkpoint and the idempotent sinks make a re-run exactly-once |
# | `depends_on_past`, catch-up | not needed: the checkpoint knows what is new |
# | a sensor or an SLA | alert when a run reads nothing or takes too long (the listener's numbers) |
#
# ```python
# with DAG("clickstream", schedule="@hourly", start_date=datetime(2026, 1, 1), catchup=False):
#     ingest = SparkSubmitOperator(task_id="ingest", application="jobs/ingest.py")
#     silver = SparkSubmitOperator(task_id="silver", application="jobs/silver.py")
#     score = SparkSubmitOperator(task_id="score", application="jobs/score.py")
#     ingest >> silver >> score
# ```
#
# A query that must answer in seconds runs continuously instead (`processingTime`), and the
# orchestrator only restarts it when it fails.

# %%
for service in (app, kafka):
    service.stop()  # nothing left running: the collector, then the broker
spark.streams.removeListener(progress)
print("stopped: the collector and", "the broker" if not kafka_bootstrap else "nothing else (not our cluster)")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Summary
# - **Kafka** keeps events in **topics** split into **partitions**; offsets number them, and
#   consumer groups share the reading. Kafka 4 needs no ZooKeeper. Check a new topic by reading it.
# - **Structured Streaming** reads a topic as an unbounded table in **micro-batches**: declare
#   the schema, parse, and **quarantine** what does not parse, counted.
# - `availableNow` runs a stream as a **scheduled job**; `processingTime` keeps it running.
# - **Checkpoints** plus **idempotent sinks** (Delta's `txnVersion`, `MERGE`) give
#   **exactly-once** results, even when a batch runs twice after a crash.
# - **Event time** is not arrival time: a **watermark** bounds the state and drops what comes
#   later than it allows; measure how much.
# - Delta's **change data feed** streams a table's updates downstream.
# - Compute features with **one function** for training and for the stream, and score each
#   micro-batch on the executors.
# - Watch a stream with a **listener**, and bound its batches with **`maxOffsetsPerTrigger`**.
