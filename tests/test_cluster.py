"""The student notebooks, as a learner first meets them (every exercise unanswered), run unchanged
at `ci` scale on a standalone cluster that is honest about being one: its master and workers have
a network namespace of their own (addresses the test makes, not 127.0.0.1) and a mount namespace
in which the driver's folders are empty, so that only the data root is shared (tests/isolation.py).
Where the machine cannot make namespaces, the tests warn and use a cluster on 127.0.0.1.
Workshop 03 trains with Horovod there too where Horovod is built (`make horovod`; `make
test-horovod` builds it, then runs that test).
The notebooks that declare Spark Connect support run as clients of a Connect server that drives
the same cluster, one server per test worker, shared by those notebooks. The solutions run at
`small` in test_notebooks.

Never more task slots than cores (`make test`):
- most notebooks run two at a time, each on the cluster of its own test worker: one Spark worker
  with one core, so one executor JVM beside the driver's;
- workshop 03, whose training processes need two slots at once (a barrier stage), runs alone on a
  cluster of two one-core workers (`exclusive`), which then loses one in the middle of a job.
"""

import os
import shutil
import tempfile
import warnings
from pathlib import Path

import pytest
from isolation import Isolation, IsolationUnavailable
from notebooks import KERNEL, ROOT, WORKSHOPS, course_notebooks, execute, read, runs_under_connect
from test_notebooks import assert_clean_outputs, assert_nothing_left_beside, check_feedback, output_text
from test_spark import run_python

from sparkcourse.cluster import LocalCluster
from sparkcourse.connect import connect_server
from sparkcourse.deep import HOROVOD_ADVICE, horovod_status
from sparkcourse.report import read_metrics
from sparkcourse.spark import QUICK_JIT

NOTEBOOKS = course_notebooks(WORKSHOPS)
HOROVOD = "03_distributed_training"  # trains on two slots at once, with Horovod too
# Parameters some student runs take on the cluster: workshop 13 streams from files there (its
# Kafka path is workshop 12's, which runs against a broker on the cluster's network).
CLUSTER_PARAMETERS = {"13_recommenders": {"kafka_bootstrap": "none"}}
QUICK_JVM = f"-XX:+UseParallelGC {QUICK_JIT}"  # as the driver at `ci` (spark.py): less CPU


@pytest.fixture(scope="session")
def data_root():
    """The one folder driver and workers share, outside every folder the workers cannot see."""
    folder = Path(tempfile.mkdtemp(prefix="sparkcourse-data-root-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def start_cluster(cores: int, index: int, data_root: Path, hidden: list[Path], workers: int = 1):
    """A cluster (one worker unless asked) in namespaces of its own (see the module's docstring); every one of
    its processes is gone once its tests are done."""
    try:
        isolation = Isolation(index, hidden).create()
    except IsolationUnavailable as why:
        warnings.warn(f"the test cluster is NOT isolated ({why}): its workers use 127.0.0.1 and "
                      "see the driver's files", stacklevel=1)
        isolation = None
    folder = Path(tempfile.mkdtemp(prefix="cluster-", dir=data_root))  # logs, the worker's folder
    try:
        with LocalCluster(workers=workers, cores=cores, memory="3g", java_options=QUICK_JVM, folder=folder,
                          host=isolation.cluster_address if isolation else "127.0.0.1",
                          wrap=isolation.wrap if isolation else None) as running:
            running.isolated = isolation is not None
            processes = list(running.processes)
            yield running
        assert all(process.poll() is not None for process in processes), "a cluster process outlived stop()"
    finally:
        if isolation:
            isolation.remove()


def hidden_from_workers(tmp_path_factory) -> list[Path]:
    return [tmp_path_factory.getbasetemp(), ROOT / "datasets"]


@pytest.fixture(scope="session")  # one per test worker, however pytest-xdist orders the tests
def worker_cluster(tmp_path_factory, data_root):
    index = 1 + int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw"))
    yield from start_cluster(1, index, data_root, hidden_from_workers(tmp_path_factory))


class SharedConnectServer:
    """One Spark Connect server per test worker, the driver of its one-core cluster, shared by the
    notebooks that declare Connect support (each notebook gets a session of its own). Its JVMs, the
    driver and the executor, stay warm from one notebook to the next: a server per notebook paid
    their start and the compiler's warm-up every time. While it runs it holds the cluster's only
    core, so a test that needs that core stops it first (`release`); the tests' longest-first order
    (conftest) runs the classic notebooks first, so it starts about once per test worker."""

    def __init__(self, master: str, folder: Path):
        self.master, self.folder, self.server = master, folder, None

    def url(self) -> str:
        if self.server is None or not self.server.running():
            self.server = connect_server(self.master, scale="ci", folder=self.folder,
                                         conf={"spark.default.parallelism": "1"}).start()
        return self.server.url

    def release(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None


@pytest.fixture(scope="session")
def shared_connect(worker_cluster, tmp_path_factory):
    shared = SharedConnectServer(worker_cluster.master_url, tmp_path_factory.mktemp("connect"))
    yield shared
    shared.release()


@pytest.fixture
def one_core_cluster(worker_cluster, shared_connect):
    """The test worker's cluster, its only core free (the shared Connect server stopped)."""
    shared_connect.release()
    return worker_cluster


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory, data_root):
    """Two one-core workers: workshop 03's two training processes on two executors, talking over
    the network; the last test of this module kills one of them."""
    yield from start_cluster(1, 9, data_root, hidden_from_workers(tmp_path_factory), workers=2)


def run_student(source, cluster, tmp_path, data_root, **parameters) -> tuple:
    """The student notebook run on `cluster`: clean outputs, every check still waiting for an answer."""
    assert cluster.alive_workers() == cluster.workers
    parameters = {"scale": "ci", "spark_master": cluster.master_url, "data_root": str(data_root),
                  **parameters}
    executed = execute(source, tmp_path / source.name, parameters, cwd=tmp_path, kernel=KERNEL)
    assert_clean_outputs(executed)
    assert_nothing_left_beside(tmp_path / source.name)
    feedback = check_feedback(executed)
    assert feedback and all(text.startswith("… not attempted yet") for text in feedback)
    return executed, "".join(output_text(o) for c in executed.cells for o in c.get("outputs", []))


@pytest.mark.slow
@pytest.mark.parametrize("source", [path for path in NOTEBOOKS if path.stem != HOROVOD],
                         ids=lambda path: path.stem)
def test_student_notebook_runs_on_a_one_core_cluster(source, worker_cluster, shared_connect, tmp_path,
                                                     data_root):
    """A notebook that declares Spark Connect support runs as a Connect client: its driver is the
    test worker's shared Connect server on this host (SharedConnectServer), which drives the
    isolated cluster. The others run as classic drivers."""
    parameters = CLUSTER_PARAMETERS.get(source.stem, {})
    if runs_under_connect(read(source)):
        _, text = run_student(source, worker_cluster, tmp_path, data_root, spark_master=shared_connect.url(),
                              **parameters)
    else:
        shared_connect.release()
        _, text = run_student(source, worker_cluster, tmp_path, data_root, **parameters)
    if source.name.startswith("00"):
        assert f"on {worker_cluster.master_url} with 1 parallel tasks" in text


@pytest.mark.slow
def test_workers_see_the_data_root_but_not_the_drivers_folders(one_core_cluster, tmp_path, data_root):
    if not one_core_cluster.isolated:
        pytest.skip("the test cluster is not isolated on this machine (see the warning)")
    result = run_python(f"""
        import os
        from sparkcourse import get_spark
        from sparkcourse.spark import task_slots
        spark = get_spark("{one_core_cluster.master_url}", scale="ci", log_file="jvm.log")
        folders = [{str(tmp_path)!r}, {str(ROOT / "datasets")!r}, {str(data_root)!r}]
        seen = spark.sparkContext.parallelize([0], 1).map(
            lambda _: [os.path.isdir(f) and len(os.listdir(f)) > 0 for f in folders]).first()
        executors = spark.sparkContext._jsc.sc().statusTracker().getExecutorInfos()
        print(seen, sorted({{info.host() for info in executors}}))
        print(task_slots(spark), spark.sparkContext.defaultParallelism)
    """, tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    seen, slots = result.stdout.strip().splitlines()
    assert slots == "1 2", "one core: one task slot, where defaultParallelism says at least 2"
    driver = one_core_cluster.master_url.removeprefix("spark://").rsplit(".", 1)[0] + ".1"
    cluster = one_core_cluster.master_url.removeprefix("spark://").split(":")[0]
    assert seen == f"[False, False, True] {sorted([driver, cluster])}"


@pytest.mark.slow
def test_workers_without_the_notebooks_python_fail_in_one_line(one_core_cluster, tmp_path):
    result = run_python(f"""
        from sparkcourse import SparkStartError, get_spark
        try:
            get_spark("{one_core_cluster.master_url}", scale="ci", worker_python="/nowhere/python3.11")
        except SparkStartError as error:
            print(error)
    """, tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    message = result.stdout.strip()
    assert message.startswith("the workers cannot run Python '/nowhere/python3.11'"), message
    assert "\n" not in message and "worker_python" in message


@pytest.mark.slow
@pytest.mark.exclusive
def test_distributed_training_on_two_slots_with_horovod(two_workers, tmp_path, data_root):
    source = WORKSHOPS / f"{HOROVOD}.ipynb"
    executed, text = run_student(source, two_workers, tmp_path, data_root, use_horovod=True)
    assert read_metrics(executed)["ddp_executor_speedup"] > 0  # DDP ran on the executors
    if horovod_status()[0]:  # built here: it trains with it
        assert "processes on the executors" in text and "every rank returned the same: True" in text
        assert read_metrics(executed)["horovod_seconds"] > 0
    else:  # not built: the notebook says how, and carries on
        assert HOROVOD_ADVICE in text and "horovod_seconds" not in read_metrics(executed)


# Two shuffles, each stage's tasks a little slow, so that a worker can be lost in the middle. The
# driver kills the second worker (its JVM and its executor) once the second stage is under way.
LOST_WORKER_JOB = """
import os, signal, threading, time
from sparkcourse import get_spark

spark = get_spark("{master}", scale="ci", log_file="jvm.log")
sc = spark.sparkContext

def slowly(rows):  # each task takes half a second more
    time.sleep(0.5)
    return rows

def job():
    pairs = sc.parallelize(range(40_000), 8).map(lambda x: (x % 97, x)).mapPartitions(slowly)
    sums = pairs.reduceByKey(lambda a, b: a + b, 8).mapPartitions(slowly)
    by_digit = sums.map(lambda pair: (pair[0] % 10, pair[1])).reduceByKey(lambda a, b: a + b, 4)
    return sorted(by_digit.collect())

def kill_when_second_stage_runs():
    tracker = sc.statusTracker()
    while True:
        for job_id in tracker.getJobIdsForGroup("lost-worker"):
            stages = sorted(tracker.getJobInfo(job_id).stageIds)
            second = tracker.getStageInfo(stages[1]) if len(stages) > 1 else None
            if second and second.numCompletedTasks >= 2:
                os.killpg({worker_pid}, signal.SIGKILL)
                return
        time.sleep(0.05)

started = time.perf_counter()
expected = job()
undisturbed = time.perf_counter() - started
sc.setJobGroup("lost-worker", "the same job, a worker lost in the middle")
killer = threading.Thread(target=kill_when_second_stage_runs, daemon=True)
killer.start()
started = time.perf_counter()
result = job()
with_a_lost_worker = time.perf_counter() - started
print(result == expected, not killer.is_alive(), round(undisturbed, 1), round(with_a_lost_worker, 1))
"""


@pytest.mark.slow
@pytest.mark.exclusive
def test_a_job_survives_a_worker_lost_in_the_middle(two_workers, tmp_path, record_property):
    """The module's last test: it leaves the cluster one worker short."""
    worker = two_workers.processes[2]  # master, worker-0, worker-1
    script = LOST_WORKER_JOB.format(master=two_workers.master_url, worker_pid=worker.pid)
    result = run_python(script, cwd=tmp_path, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    same, killed, undisturbed, lost = result.stdout.split()
    assert same == "True" and killed == "True", result.stdout
    assert worker.poll() is not None and two_workers.alive_workers() == 1
    record_property("report", f"a worker lost mid-job cost {float(lost) - float(undisturbed):.1f} s "
                              f"({undisturbed} s undisturbed, {lost} s with the loss)")
