"""`make lab`'s launcher serves JupyterLab on 127.0.0.1 with a token and the course kernel."""

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from notebooks import KERNEL, ROOT

from sparkcourse.cluster import free_port


def get(url, token=None):
    """(status, body) of a GET, with JupyterLab's token if given; (None, b"") while nothing listens."""
    request = urllib.request.Request(url, headers={"Authorization": f"token {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, b""
    except (urllib.error.URLError, ConnectionError):  # not listening yet (or a port published
        # by a container whose server has not started: the connection is reset)
        return None, b""


@pytest.fixture
def lab(tmp_path):
    """`make lab`'s launcher on a free port: (its URL, its token)."""
    port, token = free_port(), "course-test-token-0123456789"
    env = dict(os.environ, PORT=str(port), TOKEN=token, JUPYTER_RUNTIME_DIR=str(tmp_path))
    log = open(tmp_path / "lab.log", "wb")  # noqa: SIM115
    lab = subprocess.Popen([str(ROOT / "ci" / "launch_lab.sh"), "--no-browser"], env=env,
                           stdout=log, stderr=log, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while get(f"{base}/api/status", token)[0] != 200:
            assert lab.poll() is None, (tmp_path / "lab.log").read_text()
            assert time.monotonic() < deadline, "JupyterLab did not answer in 120 s"
            time.sleep(1)
        yield base, token
    finally:
        os.killpg(lab.pid, signal.SIGTERM)
        lab.wait(timeout=30)


@pytest.mark.slow
def test_lab_serves_the_course_with_a_token(lab):
    base, token = lab
    assert get(f"{base}/api/status")[0] == 403  # no token, no access
    specs = json.loads(get(f"{base}/api/kernelspecs", token)[1])
    assert KERNEL in specs["kernelspecs"]
    assert get(f"{base}/api/contents/index.ipynb", token)[0] == 200


SESSION_BEHIND_THE_PROXY = """
from sparkcourse.spark import get_spark, spark_ui_url
spark = get_spark("local[1]", scale="ci", log_file="spark.log")
print(spark_ui_url(spark), flush=True)
input()  # the session runs until the test closes stdin
"""

RUNS_BEHIND_THE_PROXY = """
import mlflow
from sparkcourse.notebook import setup_notebook
from sparkcourse.tracking import mlflow_ui, start_tracking
run = setup_notebook("07_lesson", scale="ci", spark_master="local[1]", seed=0, work_dir="work")
tracking = start_tracking(run, "runs-behind-the-proxy")
with mlflow.start_run(experiment_id=tracking.experiment_id):
    mlflow.log_metric("auc", 0.75)
print(mlflow_ui(tracking), flush=True)
input()  # the UI runs until the test closes stdin
"""


@contextlib.contextmanager
def behind_the_proxy(script: str, tmp_path):
    """Run `script` as the course image and Binder do (JupyterLab proxies the UIs); the path it
    prints, while it runs."""
    env = dict(os.environ, SPARKCOURSE_UI_PROXY="/", PYSPARK_PYTHON=sys.executable)
    process = subprocess.Popen([sys.executable, "-c", script], cwd=tmp_path, env=env,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        yield process.stdout.readline().strip()
    finally:
        process.communicate("\n", timeout=60)


@pytest.mark.slow
def test_the_spark_ui_answers_through_jupyterlab(lab, tmp_path):
    """As in the course image and on Binder: the UI's links lead back through the proxy."""
    base, token = lab
    with behind_the_proxy(SESSION_BEHIND_THE_PROXY, tmp_path) as path:  # /proxy/<port>/jobs/
        assert re.fullmatch(r"/proxy/\d+/jobs/", path), path
        status, page = get(f"{base}{path}", token)
        assert status == 200 and b"Spark Jobs" in page
        assert f'href="{path.removesuffix("jobs/")}stages/"'.encode() in page
        assert b"Spark Jobs" not in get(f"{base}{path}")[1]  # without the token: the login page


@pytest.mark.slow
def test_the_mlflow_ui_answers_through_jupyterlab(lab, tmp_path):
    """MLflow's UI for a notebook's local store, and the runs its pages ask for, through the proxy."""
    base, token = lab
    with behind_the_proxy(RUNS_BEHIND_THE_PROXY, tmp_path) as path:  # /proxy/<port>/
        assert re.fullmatch(r"/proxy/\d+/", path), path
        status, page = get(f"{base}{path}", token)
        assert status == 200 and b"<title>MLflow</title>" in page
        assert b'src="static-files/' in page  # relative: the page's assets come through the proxy too
        status, found = get(f"{base}{path}ajax-api/2.0/mlflow/experiments/search?max_results=10", token)
        assert status == 200
        assert "runs-behind-the-proxy" in {e["name"] for e in json.loads(found)["experiments"]}
        assert b"<title>MLflow</title>" not in get(f"{base}{path}")[1]  # without the token: the login page
