"""The student notebooks, as a learner first meets them (every exercise unanswered), run unchanged
against a standalone cluster on 127.0.0.1 at `ci` scale; workshop 03 trains with Horovod there too
where Horovod is built (`make horovod`; `make test-horovod` builds it, then runs this test).
The solutions run at `small` in test_notebooks.

Never more task slots than cores (`make test`):
- most notebooks run two at a time, each on the cluster of its own test worker: one Spark worker
  with one core, so one executor JVM beside the driver's;
- workshop 03, whose training processes need two slots at once (a barrier stage), runs alone on a
  cluster whose one worker has both cores (`exclusive`).
"""

import pytest
from notebooks import KERNEL, WORKSHOPS, course_notebooks, execute
from test_notebooks import assert_clean_outputs, check_feedback, output_text

from sparkcourse.cluster import LocalCluster
from sparkcourse.deep import HOROVOD_ADVICE, horovod_status
from sparkcourse.report import read_metrics

NOTEBOOKS = course_notebooks(WORKSHOPS)
HOROVOD = "03_distributed_training"  # trains on two slots at once, with Horovod too
QUICK_JVM = "-XX:TieredStopAtLevel=1"  # short runs of small data: compile less, start faster


def start_cluster(cores: int, folder):
    """A one-worker cluster; every one of its processes is gone once its tests are done."""
    with LocalCluster(workers=1, cores=cores, memory="3g", java_options=QUICK_JVM,
                      folder=folder) as running:
        processes = list(running.processes)
        yield running
    assert all(process.poll() is not None for process in processes), "a cluster process outlived stop()"


@pytest.fixture(scope="session")  # one per test worker, however pytest-xdist orders the tests
def one_core_cluster(tmp_path_factory):
    yield from start_cluster(1, tmp_path_factory.mktemp("cluster"))


@pytest.fixture(scope="module")
def two_core_cluster(tmp_path_factory):
    yield from start_cluster(2, tmp_path_factory.mktemp("cluster"))


def run_student(source, cluster, tmp_path, **parameters) -> tuple:
    """The student notebook run on `cluster`: clean outputs, every check still waiting for an answer."""
    assert cluster.alive_workers() == 1
    parameters = {"scale": "ci", "spark_master": cluster.master_url, **parameters}
    executed = execute(source, tmp_path / source.name, parameters, cwd=tmp_path, kernel=KERNEL)
    assert_clean_outputs(executed)
    feedback = check_feedback(executed)
    assert feedback and all(text.startswith("… not attempted yet") for text in feedback)
    return executed, "".join(output_text(o) for c in executed.cells for o in c.get("outputs", []))


@pytest.mark.slow
@pytest.mark.parametrize("source", [path for path in NOTEBOOKS if path.stem != HOROVOD],
                         ids=lambda path: path.stem)
def test_student_notebook_runs_on_a_one_core_cluster(source, one_core_cluster, tmp_path):
    _, text = run_student(source, one_core_cluster, tmp_path)
    if source.name.startswith("00"):
        assert f"on {one_core_cluster.master_url} with " in text


@pytest.mark.slow
@pytest.mark.exclusive
def test_distributed_training_on_two_slots_with_horovod(two_core_cluster, tmp_path):
    source = WORKSHOPS / f"{HOROVOD}.ipynb"
    executed, text = run_student(source, two_core_cluster, tmp_path, use_horovod=True)
    assert read_metrics(executed)["ddp_executor_speedup"] > 0  # DDP ran on the executors
    if horovod_status()[0]:  # built here: it trains with it
        assert "processes on the executors" in text and "every rank returned the same: True" in text
        assert read_metrics(executed)["horovod_seconds"] > 0
    else:  # not built: the notebook says how, and carries on
        assert HOROVOD_ADVICE in text and "horovod_seconds" not in read_metrics(executed)
