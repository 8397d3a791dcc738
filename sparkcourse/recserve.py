"""Workshop 13's recommendation service: training and prediction endpoints over HTTP.

    catalogue = Catalogue(known_users, popular_items)
    with RecommendationServer(catalogue, train_job, port=0) as server:
        requests.post(f"{server.url}/train")            # 202 {"version": 1, "status": "training"}
        requests.get(f"{server.url}/recommend/42")      # 200 {"items": [...], "source": "model v1"}

`POST /train` runs `train_job(version, settings)` (the notebook's: ALS on its Spark session, then
every user's list precomputed) in a background thread and answers at once with the version it
will be; `GET /models/<version>` says how it went. `GET /recommend/<user>` only looks up the
lists of the newest finished version: no Spark on the request path, so an answer takes
milliseconds. A known user without a list (a cold user) gets the popular items; an unknown user
gets 404, a malformed id 400. The server runs in a thread of the notebook's kernel, on
127.0.0.1, because training needs the kernel's SparkSession; `load` (below) is a second process
that measures the latency under a bounded load.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from .cluster import HOST, free_port
from .params import CourseError

SETTINGS = {"rank": int, "regParam": float, "alpha": float, "maxIter": int}  # what /train accepts


@dataclass
class Catalogue:
    """What the service serves from: every known user, the popular items, and each version's lists."""

    known_users: set[int]
    popular: list[int]
    lists: dict[int, dict[int, list[int]]] = field(default_factory=dict)  # version -> user -> items
    status: dict[int, str] = field(default_factory=dict)  # version -> training, ready, failed: ...

    def newest(self) -> int | None:
        ready = [version for version, state in self.status.items() if state == "ready"]
        return max(ready) if ready else None

    def recommend(self, user: int, k: int) -> tuple[list[int], str]:
        version = self.newest()
        if version is not None and user in self.lists[version]:
            return self.lists[version][user][:k], f"model v{version}"
        return self.popular[:k], "popular (cold start)"


def parse_settings(body: bytes) -> dict:
    """The JSON object of /train's body (may be empty), each setting of the right type."""
    settings = json.loads(body) if body.strip() else {}
    if not isinstance(settings, dict):
        raise ValueError("send a JSON object of settings, e.g. {\"rank\": 10}")
    unknown = sorted(set(settings) - set(SETTINGS))
    if unknown:
        raise ValueError(f"unknown settings {unknown}; known: {sorted(SETTINGS)}")
    for name, value in settings.items():
        kind = SETTINGS[name]
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if not number or value <= 0 or (kind is int and value != int(value)):
            raise ValueError(f"{name} must be a positive {kind.__name__}; got {value!r}")
    return {name: SETTINGS[name](value) for name, value in settings.items()}


TrainJob = Callable[[int, dict], dict[int, list[int]]]  # (version, settings) -> each user's list


def create_app(catalogue: Catalogue, train_job: TrainJob, max_k: int = 100):
    """The Flask app. `train_job(version, settings)` returns the new lists, by user."""
    from flask import Flask, jsonify, request

    app = Flask("recommendations")
    training = threading.Lock()  # one training job at a time

    def refuse(status: int, message: str):
        return jsonify(error=message), status

    def train_in_background(version: int, settings: dict) -> None:
        try:
            catalogue.lists[version] = train_job(version, settings)
            catalogue.status[version] = "ready"
        except Exception as error:  # the service stays up; /models/<version> says why
            catalogue.status[version] = f"failed: {type(error).__name__}: {str(error).splitlines()[0][:200]}"
        finally:
            training.release()

    @app.post("/train")
    def train():
        try:
            settings = parse_settings(request.get_data())
        except ValueError as error:
            return refuse(400, str(error))
        if not training.acquire(blocking=False):
            return refuse(409, "a training job is running; try again when it is done")
        version = max(catalogue.status, default=0) + 1
        catalogue.status[version] = "training"
        threading.Thread(target=train_in_background, args=(version, settings), daemon=True).start()
        return jsonify(version=version, status="training", settings=settings), 202

    @app.get("/models/<int:version>")
    def model(version: int):
        if version not in catalogue.status:
            return refuse(404, f"no model version {version}")
        return jsonify(version=version, status=catalogue.status[version])

    @app.get("/recommend/<user>")
    def recommend(user: str):
        if not user.isdigit():
            return refuse(400, f"a user id is a whole number; got {user!r}")
        k = request.args.get("k", "10")
        if not k.isdigit() or not 1 <= int(k) <= max_k:
            return refuse(400, f"k must be a whole number from 1 to {max_k}; got {k!r}")
        if int(user) not in catalogue.known_users:
            return refuse(404, f"unknown user {user}")
        items, source = catalogue.recommend(int(user), int(k))
        return jsonify(user=int(user), items=items, source=source)

    @app.get("/health")
    def health():
        return jsonify(status="ok", newest=catalogue.newest())

    return app


def _quiet_handler():
    """Werkzeug's request handler without its one log line per request (on the notebook's stderr)."""
    from werkzeug.serving import WSGIRequestHandler

    class QuietHandler(WSGIRequestHandler):
        def log_request(self, *args, **kwargs) -> None:
            pass

    return QuietHandler


class RecommendationServer:
    """The app on 127.0.0.1 in a thread of this process; `stop()` (or leaving `with`) ends it."""

    def __init__(self, catalogue: Catalogue, train_job: TrainJob, port: int = 0):
        from werkzeug.serving import make_server

        self.port = port or free_port(HOST)
        self.url = f"http://{HOST}:{self.port}"
        self.server = make_server(HOST, self.port, create_app(catalogue, train_job), threaded=True,
                                  request_handler=_quiet_handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> RecommendationServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        if self.thread.is_alive():
            self.server.shutdown()
            self.thread.join(10)
        self.server.server_close()

    def __enter__(self) -> RecommendationServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class ServiceCallError(CourseError, RuntimeError):
    """The service answered with an error, or not in time."""


def call(url: str, method: str = "GET", body: dict | None = None, timeout: float = 10) -> tuple[int, dict]:
    """(status, JSON answer) of one request; 4xx and 5xx are answers too."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data, {"Content-Type": "application/json"}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def wait_for_version(url: str, version: int, timeout: float = 300) -> str:
    """Poll /models/<version> until it is no longer training (at most `timeout` seconds)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = call(f"{url}/models/{version}")[1]["status"]
        if status != "training":
            return status
        time.sleep(0.2)
    raise ServiceCallError(f"model version {version} was still training after {timeout:.0f} s")


def _timed_get(url: str, timeout: float) -> float:
    start = time.perf_counter()
    with urllib.request.urlopen(url, timeout=timeout) as response:
        response.read()
    return (time.perf_counter() - start) * 1000


def measure(url: str, users: Iterable[int], requests: int, concurrency: int,
            timeout: float = 5) -> list[float]:
    """Milliseconds of each of `requests` GET /recommend calls, `concurrency` at a time."""
    users = list(users)
    urls = [f"{url}/recommend/{users[i % len(users)]}" for i in range(requests)]
    with ThreadPoolExecutor(concurrency) as pool:
        return list(pool.map(lambda u: _timed_get(u, timeout), urls))


def load(url: str, users: list[int], requests: int = 500, concurrency: int = 4,
         timeout: float = 120) -> list[float]:
    """`measure` from a second process (a bounded load: `requests` calls, then it ends), so that
    the client does not share the server's interpreter."""
    command = [sys.executable, "-m", "sparkcourse.recserve", url, "--requests", str(requests),
               "--concurrency", str(concurrency), "--users", ",".join(map(str, users))]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as error:
        raise ServiceCallError(f"the load generator did not finish within {timeout:.0f} s") from error
    if done.returncode:
        raise ServiceCallError(f"the load generator failed: {done.stderr.strip().splitlines()[-1]}")
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description="GET /recommend/<user> under a bounded load; "
                                                 "prints the milliseconds of each call.")
    parser.add_argument("url")
    parser.add_argument("--users", required=True, help="comma-separated user ids, asked for in turn")
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    users = [int(user) for user in args.users.split(",")]
    print(json.dumps(measure(args.url, users, args.requests, args.concurrency)))


if __name__ == "__main__":
    main()
