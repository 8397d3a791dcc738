"""Workshop 13's recommendation service: training starts in the background and gives a version,
known users get that version's lists, cold users the popular items, bad input a 4xx that says
why; latency is measured from a second process; the server stops and frees its port."""

import threading

import pytest

from sparkcourse.cluster import HOST
from sparkcourse.recserve import Catalogue, RecommendationServer, call, load, parse_settings, wait_for_version
from sparkcourse.spark import port_open

KNOWN, COLD = {1, 2, 3}, 3  # user 3 is known, but no model has a list for them


class TrainJob:
    """Stands in for ALS: each version's lists hold that version's number; `hold` keeps a job
    running until the test lets it finish."""

    def __init__(self):
        self.hold, self.settings = threading.Event(), []
        self.hold.set()

    def __call__(self, version, settings):
        self.settings.append(settings)
        self.hold.wait(30)
        if settings.get("rank") == 99:
            raise RuntimeError("ALS ran out of memory")
        return {1: [100 + version, 7, 8], 2: [200 + version, 9]}


@pytest.fixture
def service():
    job = TrainJob()
    with RecommendationServer(Catalogue(set(KNOWN), popular=[50, 51, 52, 53]), job) as server:
        server.job = job
        yield server
    assert not port_open((HOST, server.port)), "the server still listens after stop()"


def train(url, settings=None):
    status, answer = call(f"{url}/train", "POST", settings)
    assert status == 202, answer
    return answer["version"], wait_for_version(url, answer["version"], timeout=30)


def test_training_gives_versions_and_known_users_get_the_newest(service):
    assert call(f"{service.url}/recommend/1")[1]["source"] == "popular (cold start)"  # no model yet
    assert train(service.url, {"rank": 8, "alpha": 5}) == (1, "ready")
    assert service.job.settings == [{"rank": 8, "alpha": 5.0}]
    assert call(f"{service.url}/recommend/1?k=2")[1] == {"user": 1, "items": [101, 7], "source": "model v1"}
    assert train(service.url) == (2, "ready")
    assert call(f"{service.url}/recommend/2")[1]["items"] == [202, 9]


def test_a_cold_user_gets_the_popular_items(service):
    train(service.url)
    assert call(f"{service.url}/recommend/{COLD}?k=3") == (
        200, {"user": COLD, "items": [50, 51, 52], "source": "popular (cold start)"})


@pytest.mark.parametrize(("path", "status", "message"), [
    ("/recommend/404", 404, "unknown user 404"),
    ("/recommend/alice", 400, "a user id is a whole number"),
    ("/recommend/-1", 400, "a user id is a whole number"),
    ("/recommend/1?k=0", 400, "k must be a whole number from 1 to 100"),
    ("/recommend/1?k=ten", 400, "k must be a whole number"),
    ("/models/7", 404, "no model version 7"),
])
def test_bad_requests_get_a_4xx_that_says_why(service, path, status, message):
    code, answer = call(service.url + path)
    assert code == status and message in answer["error"]


@pytest.mark.parametrize(("body", "message"), [
    ({"rank": -3}, "rank must be a positive int"),
    ({"rank": 2.5}, "rank must be a positive int"),
    ({"alpha": "high"}, "alpha must be a positive float"),
    ({"learning_rate": 0.1}, "unknown settings ['learning_rate']"),
    ([1, 2], "send a JSON object of settings"),
])
def test_bad_training_settings_get_a_400(service, body, message):
    code, answer = call(f"{service.url}/train", "POST", body)
    assert code == 400 and message in answer["error"]


def test_one_training_job_at_a_time_and_a_failed_one_says_why(service):
    service.job.hold.clear()
    status, first = call(f"{service.url}/train", "POST", {"rank": 99})
    assert status == 202 and call(f"{service.url}/models/1")[1]["status"] == "training"
    assert call(f"{service.url}/train", "POST")[0] == 409
    service.job.hold.set()
    status = wait_for_version(service.url, first["version"], timeout=30)
    assert status == "failed: RuntimeError: ALS ran out of memory"
    assert call(f"{service.url}/recommend/1")[1]["source"] == "popular (cold start)"  # still serving


def test_latency_is_measured_from_a_second_process(service):
    train(service.url)
    milliseconds = load(service.url, [1, 2, COLD], requests=60, concurrency=3, timeout=60)
    assert len(milliseconds) == 60 and all(0 < ms < 5_000 for ms in milliseconds)


def test_settings_parse_to_their_types():
    assert parse_settings(b"") == {}
    assert parse_settings(b'{"rank": 4, "regParam": 1}') == {"rank": 4, "regParam": 1.0}
