"""The course image, built from docker/Dockerfile with Debian's podman (CI's machines have no Docker
engine and reach no registry: ci/image.sh), then run two ways (`make test-image`):
- alone, as `docker run` starts it: JupyterLab answers with its token only, as a non-root user,
  and workshop 00 says READY inside it;
- as docker/compose.yaml's stack: a notebook runs from the JupyterLab container on the Spark
  master and two workers in containers of their own, MLflow's server container logs a run, and
  the Kafka container answers by its name.
"""

import json
import os
import subprocess
import time
import uuid

import pytest
from notebooks import ROOT, read
from test_launch import get

from sparkcourse.cluster import free_port, master_state

pytestmark = pytest.mark.image
IMAGE = "scaling-ml-spark:latest"  # the name docker/compose.yaml runs
CONTAINERS_CONF = str(ROOT / "docker" / "containers.conf")
ENV = dict(os.environ, CONTAINERS_CONF=CONTAINERS_CONF)
TOKEN = "image-test-token-0123456789"
COURSE = "/home/learner/course"


def podman(*args, timeout=120, check=True, env=ENV):
    result = subprocess.run(["podman", *args], capture_output=True, text=True, timeout=timeout, env=env)
    if check and result.returncode != 0:
        raise AssertionError(f"podman {' '.join(args[:3])} ... failed: {result.stderr.strip()[-2000:]}")
    return result.stdout.strip()


def wait_for(what, answered, timeout=180):
    deadline = time.monotonic() + timeout
    while not answered():
        assert time.monotonic() < deadline, f"{what} did not answer within {timeout} s"
        time.sleep(1)


def papermill_in(container, notebook, output, *parameters, timeout=900):
    """Run `notebook` (a path in the course folder) with papermill inside `container`."""
    flags = [flag for name, value in parameters for flag in ("-p", name, str(value))]
    podman("exec", "--workdir", COURSE, container, "papermill", "--no-progress-bar", "--cwd", COURSE,
           notebook, output, *flags, timeout=timeout)


def stdout_of(container, path, tmp_path):
    podman("cp", f"{container}:{path}", str(tmp_path / "out.ipynb"))
    outputs = [o for cell in read(tmp_path / "out.ipynb").cells for o in cell.get("outputs", [])]
    return "".join(o.get("text", "") for o in outputs if o.get("name") == "stdout")


@pytest.fixture(scope="module")
def image():
    """ci/image.sh: the base once per machine, then the build (podman's layer cache makes a
    rebuild redo only what changed)."""
    result = subprocess.run([str(ROOT / "ci" / "image.sh")], capture_output=True, text=True, timeout=1500,
                            env=dict(ENV, IMAGE=IMAGE))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return IMAGE


@pytest.fixture
def lab(image):
    port, name = free_port(), f"course-lab-{uuid.uuid4().hex[:8]}"
    podman("run", "--detach", "--rm", "--name", name, "--publish", f"127.0.0.1:{port}:8888",
           "--env", f"TOKEN={TOKEN}", image)
    try:
        yield name, f"http://127.0.0.1:{port}"
    finally:
        podman("rm", "--force", "--time", "5", name, check=False)


def test_the_container_serves_the_course_as_a_learner_and_is_ready(lab, tmp_path):
    name, url = lab
    wait_for("JupyterLab in the container", lambda: get(f"{url}/api/status", TOKEN)[0] == 200)
    assert get(f"{url}/api/status")[0] == 403  # no token, no access
    assert get(f"{url}/api/contents/index.ipynb", TOKEN)[0] == 200
    assert podman("exec", name, "id", "-u") == "1000"  # never root
    papermill_in(name, "workshops/00_environment_check.ipynb", "/tmp/00.ipynb", ("scale", "ci"))
    assert "READY: all" in stdout_of(name, "/tmp/00.ipynb", tmp_path)


@pytest.fixture
def stack(image, tmp_path):
    """docker/compose.yaml brought up by podman-compose under a project name of its own, on free
    host ports; taken down with its volume afterwards."""
    ports = {name: free_port() for name in ("LAB_PORT", "SPARK_UI_PORT", "MLFLOW_PORT")}
    project = f"course-test-{uuid.uuid4().hex[:8]}"
    env = dict(ENV, **{k: str(v) for k, v in ports.items()}, TOKEN=TOKEN)
    compose = [str(ROOT / ".venv" / "bin" / "podman-compose"), "--project-name", project,
               "--file", str(ROOT / "docker" / "compose.yaml")]
    up = subprocess.run([*compose, "up", "--detach", "--no-build"], capture_output=True, text=True,
                        timeout=300, env=env)
    try:
        assert up.returncode == 0, up.stderr[-3000:]
        yield project, ports
    finally:
        subprocess.run([*compose, "down", "--volumes", "--timeout", "10"], capture_output=True,
                       timeout=300, env=env)


def test_a_notebook_runs_across_containers_and_mlflow_logs_to_its_server(stack, tmp_path):
    project, ports = stack
    lab = f"{project}_lab_1"
    master_ui = f"http://127.0.0.1:{ports['SPARK_UI_PORT']}"
    workers = lambda: (master_state(master_ui) or {}).get("workers", [])  # noqa: E731
    wait_for("two Spark workers", lambda: sum(w["state"] == "ALIVE" for w in workers()) == 2)
    papermill_in(lab, "workshops/01_feature_engineering.ipynb", "/tmp/01.ipynb", ("scale", "ci"),
                 ("spark_master", "spark://spark-master:7077"), ("data_root", "/data"))
    apps = master_state(master_ui)["completedapps"]
    assert apps and all(app["cores"] == 2 for app in apps)  # one core on each worker container
    run_id = podman("exec", lab, "python", "-c", MLFLOW_CALL, timeout=120).splitlines()[-1]
    mlflow = f"http://127.0.0.1:{ports['MLFLOW_PORT']}/api/2.0/mlflow"
    run = json.loads(get(f"{mlflow}/runs/get?run_id={run_id}")[1])["run"]
    assert run["data"]["metrics"][0]["value"] == 0.5
    podman("exec", lab, "python", "-c", KAFKA_ANSWERS, timeout=120)  # workshop 12's broker, by name
    stored = podman("exec", f"{project}_mlflow_1", "find", "/data/mlflow/artifacts", "-name", "note.txt")
    assert f"/{run_id}/artifacts/note.txt" in stored  # uploaded through the server, kept in /data


KAFKA_ANSWERS = "from sparkcourse.kafka import ExistingKafka; ExistingKafka('kafka:9092', wait=60)"
MLFLOW_CALL = """
import os
os.environ["MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT"] = "true"
import mlflow
mlflow.set_tracking_uri("http://mlflow:5000")
mlflow.set_experiment("image-test")
with mlflow.start_run() as run:
    mlflow.log_metric("accuracy", 0.5)
    mlflow.log_text("artifacts go through the server", "note.txt")
print(run.info.run_id)
"""
