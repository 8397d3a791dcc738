"""The course's Kafka broker: it starts from the fetched jars, serves producers and a consumer
group, keeps its topics across a restart, and leaves no process behind."""

import os
import time

import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from sparkcourse import packages
from sparkcourse.kafka import LocalKafka, new_cluster_id
from sparkcourse.service import ServiceError
from sparkcourse.spark import port_open


def create_topic(bootstrap: str, name: str, partitions: int) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for future in admin.create_topics([NewTopic(name, partitions, 1)]).values():
        future.result(timeout=30)


def consume(bootstrap: str, topic: str, wanted: int, group: str, seconds: float = 30) -> list:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest"})
    consumer.subscribe([topic])
    messages, deadline = [], time.monotonic() + seconds
    while len(messages) < wanted and time.monotonic() < deadline:
        messages += [m for m in consumer.consume(100, timeout=1) if m.error() is None]
    consumer.close()
    return messages


def test_broker_serves_a_consumer_group_keeps_topics_and_leaves_nothing(tmp_path):
    with LocalKafka(tmp_path, partitions=2) as kafka:
        create_topic(kafka.bootstrap, "clicks", 3)
        producer = Producer({"bootstrap.servers": kafka.bootstrap})
        for i in range(300):
            producer.produce("clicks", str(i).encode(), key=str(i % 10).encode())
        assert producer.flush(30) == 0
        del producer  # before the broker stops, or its client complains on stderr
        messages = consume(kafka.bootstrap, "clicks", 300, group="first")
        group = kafka.process.pid
    assert sorted(int(m.value()) for m in messages) == list(range(300))
    assert {m.partition() for m in messages} == {0, 1, 2}
    with pytest.raises(ProcessLookupError):
        os.killpg(group, 0)
    assert not port_open((kafka.host, kafka.port))

    with LocalKafka(tmp_path) as again:  # the same folder: the topic and its messages are still there
        assert len(consume(again.bootstrap, "clicks", 300, group="second")) == 300


def test_a_taken_port_fails_with_the_brokers_log(tmp_path):
    with LocalKafka(tmp_path / "first") as first, pytest.raises(ServiceError, match="Kafka stopped; its log"):
        LocalKafka(tmp_path / "second", port=first.port, timeout=60).start()


def test_missing_jars_say_what_to_run(tmp_path, monkeypatch):
    monkeypatch.setenv("SPARKCOURSE_MAVEN_CACHE", str(tmp_path))
    with pytest.raises(packages.MissingPackageError, match="Kafka broker's jars .* run `make setup`"):
        LocalKafka(tmp_path / "kafka")


def test_cluster_ids_are_kraft_ids():
    ids = {new_cluster_id() for _ in range(200)}
    assert len(ids) == 200
    assert all(len(i) == 22 and not i.startswith("-") for i in ids)


def test_a_broker_in_a_container_binds_everywhere_and_advertises_its_name(tmp_path):
    kafka = LocalKafka(tmp_path, port=9092, host="0.0.0.0", advertise="kafka")  # compose.yaml's
    settings = kafka.settings.read_text()
    assert "listeners=PLAINTEXT://0.0.0.0:9092," in settings
    assert "advertised.listeners=PLAINTEXT://kafka:9092" in settings
    assert "controller.quorum.voters=1@kafka:" in settings
    assert kafka.bootstrap == "kafka:9092"
