"""The notebooks run unchanged against a standalone cluster on 127.0.0.1, at `ci` scale, and
workshop 03 trains with Horovod there too (built once per machine by `ci/build_horovod.sh`).

One cluster serves every notebook: one worker with two cores, so one executor JVM beside the
driver's (two one-core workers cost a JVM more for the same slots on two cores). It takes both
cores, so these tests are `exclusive`: `make test` runs them with nothing else beside them.
"""

import subprocess

import pytest
from notebooks import KERNEL, ROOT, SOLUTIONS, course_notebooks, execute
from test_notebooks import assert_clean_outputs, check_feedback, output_text
from test_spark import run_python

from sparkcourse.cluster import LocalCluster
from sparkcourse.report import read_metrics

NOTEBOOKS = course_notebooks(SOLUTIONS)
HOROVOD = "03_distributed_training"  # also trains with Horovod, on the cluster's executors
QUICK_JVM = "-XX:TieredStopAtLevel=1"  # short runs of small data: compile less, start faster
pytestmark = [pytest.mark.slow, pytest.mark.exclusive]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    with LocalCluster(workers=1, cores=2, memory="3g", java_options=QUICK_JVM,
                      folder=tmp_path_factory.mktemp("cluster")) as running:
        processes = list(running.processes)
        yield running
    assert all(process.poll() is not None for process in processes), "a cluster process outlived stop()"


@pytest.fixture(scope="module")
def horovod():
    """Horovod built and installed (a fresh machine builds it once: about 3 to 6 minutes)."""
    build = subprocess.run([str(ROOT / "ci" / "build_horovod.sh")], capture_output=True,
                           text=True, timeout=1800)
    assert build.returncode == 0, build.stdout[-1000:] + build.stderr[-3000:]


def by_notebook():
    """Every notebook; the one that builds Horovod first may take longer."""
    return [pytest.param(path, id=path.stem,
                         marks=[pytest.mark.timeout(2400)] * (path.stem == HOROVOD))
            for path in NOTEBOOKS]


@pytest.mark.parametrize("source", by_notebook())
def test_notebook_runs_on_a_local_standalone_cluster(source, cluster, tmp_path, request):
    assert cluster.alive_workers() == 1
    parameters = {"scale": "ci", "spark_master": cluster.master_url}
    if source.stem == HOROVOD:
        request.getfixturevalue("horovod")
        parameters["use_horovod"] = True
    executed = execute(source, tmp_path / source.name, parameters, cwd=tmp_path, kernel=KERNEL)
    assert_clean_outputs(executed)
    assert all(text.startswith("✔ correct") for text in check_feedback(executed))
    text = "".join(output_text(o) for c in executed.cells for o in c.get("outputs", []))
    if source.name.startswith("00"):
        assert f"on {cluster.master_url} with 2 parallel tasks" in text
    if source.stem == HOROVOD:
        assert "processes on the executors" in text and "every rank returned the same: True" in text
        assert read_metrics(executed)["horovod_seconds"] > 0


TRAINING_PROCESS_ENVIRONMENT = """
from pyspark.ml.torch.distributor import TorchDistributor
from sparkcourse import get_spark
from sparkcourse.deep import FAIL_FAST_BARRIER, QUIET_EXECUTORS, quiet_distributed_training

def environment():
    import os
    return {{name: os.environ.get(name) for name in ("OMP_NUM_THREADS", "TORCH_CPP_LOG_LEVEL")}}

quiet_distributed_training()
spark = get_spark("{master}", log_file="jvm.log", conf=FAIL_FAST_BARRIER | QUIET_EXECUTORS)
print(TorchDistributor(num_processes=2, local_mode=False, use_gpu=False).run(environment))
"""


def test_training_processes_on_executors_log_errors_only(cluster, tmp_path):
    # The workers' environment is not the notebook's: without QUIET_EXECUTORS a rank that ends
    # first can print PyTorch's C++ "[W ... TCPStore.cpp] ... Connection was likely closed".
    result = run_python(TRAINING_PROCESS_ENVIRONMENT.format(master=cluster.master_url), cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "{'OMP_NUM_THREADS': '1', 'TORCH_CPP_LOG_LEVEL': 'ERROR'}"
    assert not [line for line in result.stderr.splitlines() if line.startswith("[W")]
