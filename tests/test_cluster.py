"""The notebooks run unchanged against a standalone cluster (master + 2 workers on 127.0.0.1).

One cluster (two workers of one core each) serves every notebook, at `ci` scale. It takes both
cores, so these tests are `exclusive`: `make test` runs them with nothing else beside them.
"""

import pytest
from notebooks import KERNEL, SOLUTIONS, course_notebooks, execute
from test_notebooks import assert_clean_outputs, check_feedback, output_text
from test_spark import run_python

from sparkcourse.cluster import LocalCluster

NOTEBOOKS = course_notebooks(SOLUTIONS)
pytestmark = [pytest.mark.slow, pytest.mark.exclusive]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    with LocalCluster(workers=2, cores=1, memory="2g",
                      folder=tmp_path_factory.mktemp("cluster")) as running:
        processes = list(running.processes)
        yield running
    assert all(process.poll() is not None for process in processes), "a cluster process outlived stop()"


@pytest.mark.parametrize("source", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_notebook_runs_on_a_local_standalone_cluster(source, cluster, tmp_path):
    assert cluster.alive_workers() == 2
    executed = execute(source, tmp_path / source.name,
                       {"scale": "ci", "spark_master": cluster.master_url}, cwd=tmp_path, kernel=KERNEL)
    assert_clean_outputs(executed)
    assert all(text.startswith("✔ correct") for text in check_feedback(executed))
    if source.name.startswith("00"):
        text = "".join(output_text(o) for c in executed.cells for o in c.get("outputs", []))
        assert f"on {cluster.master_url} with 2 parallel tasks" in text


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
