"""The clickstream collector of workshop 12: a small web app that receives events over HTTP and
publishes each one to a Kafka topic, and the load generator that sends them.

    with collector(kafka.bootstrap, "clicks", folder) as app:
        sent = send(app.url, payload, batch=500, events_per_second=5_000)

Like the collectors of real sites it does not judge the events: it checks that a request is a
JSON array of objects, and the stream downstream parses, validates and quarantines them.
Or from a shell: `python -m sparkcourse.clickapp --bootstrap 127.0.0.1:9092 --topic clicks`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .cluster import HOST, free_port
from .service import Service, answers_http

MAX_EVENTS_PER_REQUEST = 1_000
FLUSH_SECONDS = 10  # how long a request waits for Kafka to acknowledge its events


def create_app(bootstrap: str, topic: str):
    """The Flask app: POST /events (a JSON array of event objects), GET /health."""
    from confluent_kafka import Producer
    from flask import Flask, jsonify, request

    app = Flask("clickstream-collector")
    # acks=all and idempotence: an event Kafka acknowledged is stored once, even if a send is
    # retried. murmur2: the partition of a key is the one Kafka's Java clients choose, and messages
    # without a key go to one partition, not a random one (the default), so that every run of a
    # lesson puts each message in the same place.
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True,
                         "linger.ms": 5, "client.id": "clickstream-collector", "partitioner": "murmur2"})

    def refuse(status: int, message: str):
        return jsonify(error=message), status

    @app.post("/events")
    def events():
        try:
            batch = json.loads(request.get_data())
        except ValueError as error:
            return refuse(400, f"the body is not JSON: {error}")
        if not isinstance(batch, list) or not all(isinstance(event, dict) for event in batch):
            return refuse(400, "send a JSON array of event objects")
        if len(batch) > MAX_EVENTS_PER_REQUEST:
            return refuse(413, f"at most {MAX_EVENTS_PER_REQUEST} events per request; got {len(batch)}")
        for event in batch:  # keyed by user: one user's events stay in order, in one partition
            key = event.get("user_id")
            producer.produce(topic, json.dumps(event).encode(), None if key is None else str(key).encode())
        if producer.flush(FLUSH_SECONDS):
            return refuse(503, f"Kafka at {bootstrap} did not acknowledge within {FLUSH_SECONDS} s")
        return jsonify(accepted=len(batch)), 202

    @app.get("/health")
    def health():
        return jsonify(status="ok")

    return app


def collector(bootstrap: str, topic: str, folder: str | Path, port: int = 0, timeout: float = 30) -> Service:
    """The collector as a server on 127.0.0.1 (not started yet), logging to `folder`/collector.log."""
    port = port or free_port(HOST)
    url = f"http://{HOST}:{port}"
    command = [sys.executable, "-m", "sparkcourse.clickapp", "--bootstrap", bootstrap, "--topic", topic,
               "--port", str(port)]
    return Service("the clickstream collector", command, answers_http(f"{url}/health"),
                   Path(folder) / "collector.log", timeout=timeout, url=url)


def as_payload(events: pd.DataFrame) -> list[dict]:
    """Events as the app's clients send them: JSON objects, times in ISO 8601 UTC, no NaN."""
    rows = events.assign(ts=events.ts.dt.strftime("%Y-%m-%dT%H:%M:%S.%f").str[:-3] + "Z")
    return [{key: value for key, value in row.items() if value == value}  # drops NaN amounts
            for row in rows.to_dict(orient="records")]


@dataclass
class Sent:
    requests: int
    events: int  # accepted by the app (202)
    rejected: int  # requests the app refused (4xx or 5xx)
    seconds: float

    def __str__(self) -> str:
        rate = self.events / self.seconds if self.seconds else 0
        return (f"{self.events:,} events accepted in {self.requests:,} requests "
                f"({self.rejected} refused) in {self.seconds:.1f} s, {rate:,.0f} events/s")


def send(url: str, payload: list, batch: int = 500, events_per_second: float = 5_000,
         timeout: float = 30) -> Sent:
    """POST `payload` to `url`/events in requests of `batch` events, at most `events_per_second`.
    Every request has a `timeout`, so the whole send ends after len(payload) / batch of them."""
    start, accepted, rejected, requests = time.monotonic(), 0, 0, 0
    for first in range(0, len(payload), batch):
        chunk = payload[first:first + batch]
        due = start + first / events_per_second  # pace: never ahead of the rate
        time.sleep(max(0.0, due - time.monotonic()))
        body = json.dumps(chunk).encode()
        call = urllib.request.Request(f"{url}/events", body, {"Content-Type": "application/json"})
        requests += 1
        try:
            with urllib.request.urlopen(call, timeout=timeout) as response:
                accepted += json.load(response)["accepted"]
        except urllib.error.HTTPError:
            rejected += 1
    return Sent(requests, accepted, rejected, time.monotonic() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description="Receive clickstream events over HTTP, publish to Kafka.")
    parser.add_argument("--bootstrap", required=True, help="Kafka's bootstrap servers, host:port")
    parser.add_argument("--topic", required=True)
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    from werkzeug.serving import make_server

    server = make_server(HOST, args.port, create_app(args.bootstrap, args.topic), threaded=True)
    print(f"collecting on http://{HOST}:{args.port}/events into {args.topic} at {args.bootstrap}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
