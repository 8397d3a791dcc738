"""The clickstream collector (workshop 12): bad requests get a 4xx with a message, and events sent
over HTTP reach Kafka, then Spark, each once."""

import json
import subprocess
import sys
import urllib.error
import urllib.request

import pytest
from confluent_kafka.admin import AdminClient, NewTopic

from sparkcourse.clickapp import MAX_EVENTS_PER_REQUEST, as_payload, collector, send
from sparkcourse.data.clickstream import generate_clickstream
from sparkcourse.kafka import LocalKafka

TOPIC = "clicks"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    folder = tmp_path_factory.mktemp("clickapp")
    with LocalKafka(folder / "kafka", partitions=2) as kafka:
        admin = AdminClient({"bootstrap.servers": kafka.bootstrap})
        for future in admin.create_topics([NewTopic(TOPIC, 2, 1)]).values():
            future.result(timeout=30)
        del admin
        with collector(kafka.bootstrap, TOPIC, folder) as server:
            server.bootstrap = kafka.bootstrap
            yield server


def post(url: str, body: bytes) -> tuple[int, dict]:
    request = urllib.request.Request(f"{url}/events", body, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


@pytest.mark.parametrize(("body", "status", "message"), [
    (b"{not json", 400, "not JSON"),
    (b'{"user_id": 1}', 400, "JSON array of event objects"),
    (b'[{"user_id": 1}, 2]', 400, "JSON array of event objects"),
    (json.dumps([{}] * (MAX_EVENTS_PER_REQUEST + 1)).encode(), 413, "at most 1000 events"),
])
def test_bad_requests_get_a_4xx_that_says_why(app, body, status, message):
    code, answer = post(app.url, body)
    assert code == status
    assert message in answer["error"]


READ_WITH_SPARK = """
import sys
from pyspark.sql import functions as F
from sparkcourse import get_spark

spark = get_spark("local[1]", scale="ci", packages=("kafka",), log_file="spark.log")
value = F.col("value").cast("string")
rows = (spark.read.format("kafka").option("kafka.bootstrap.servers", sys.argv[1])
        .option("subscribe", sys.argv[2]).load()
        .select(F.col("key").cast("string").alias("key"), F.get_json_object(value, "$.ts").alias("ts"),
                F.get_json_object(value, "$.user_id").alias("user_id")))
rows.toPandas().to_json(sys.stdout, orient="records")
"""


@pytest.mark.slow
def test_events_sent_over_http_reach_spark_once_each(app, tmp_path):
    events = generate_clickstream(5, seed=11).events.head(300)
    sent = send(app.url, as_payload(events), batch=40, events_per_second=2_000)
    assert (sent.events, sent.requests, sent.rejected) == (300, 8, 0)
    assert sent.seconds >= 299 / 2_000  # paced

    # Spark in a process of its own, as a notebook's kernel runs it
    result = subprocess.run([sys.executable, "-c", READ_WITH_SPARK, app.bootstrap, TOPIC], cwd=tmp_path,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    rows = json.loads(result.stdout)
    assert len(rows) == 300
    assert all(row["key"] == row["user_id"] for row in rows)  # keyed by user
    assert sorted(row["ts"] for row in rows) == sorted(event["ts"] for event in as_payload(events))
