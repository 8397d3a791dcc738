"""The set-up cell of every notebook: validate parameters, fix seeds, prepare folders."""

from __future__ import annotations

import logging
import random
import sys
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from . import storage
from .params import CourseError, ParameterError, Scale, check_int, check_master, check_scale


@dataclass(frozen=True)
class Run:
    """What one notebook run works with, after its parameters have been checked."""

    name: str
    scale: Scale
    master: str
    seed: int
    work: Path  # this notebook's own folder on the driver (Spark's log, a local MLflow store)
    data_root: str  # a folder or URI that the driver and every executor see
    worker_python: str | None = None  # the Python the workers run (None: PYSPARK_PYTHON or ours)

    def path(self, *parts: str) -> str:
        """A path under this notebook's folder of the data root, for Spark and the generators."""
        return storage.join(self.data_root, self.name, *parts)

    def local_path(self, *parts: str) -> Path:
        """`path(*parts)` for a notebook that also opens these files with Python on the driver
        (pandas, plots): the data root must then be a folder the driver mounts, not a URI."""
        if storage.is_uri(self.data_root):
            raise ParameterError(
                f"{self.name} also reads its data with Python on the driver: give data_root as a "
                f"folder that the driver and the executors mount (NFS, /dbfs/...); got {self.data_root!r}")
        return Path(self.path(*parts))

    def dataset(self, name: str) -> str:
        """A bundled dataset (`datasets/`) where Spark's executors can read it: copied to the
        data root unless Spark runs in this process (local mode)."""
        from .data import dataset_path

        local = dataset_path(name)
        if self.master.startswith("local"):
            return str(local)
        return storage.copy_in(local, storage.join(self.data_root, "datasets", name))

    def spark(self, packages: tuple[str, ...] = (), **conf: str):
        """The SparkSession for this run, with Spark `packages` such as ("delta",) (see
        `sparkcourse.get_spark`)."""
        from .spark import get_spark

        return get_spark(self.master, self.name, self.scale, self.work / "spark-jvm.log",
                         conf or None, packages, self.worker_python, warehouse=self.path("warehouse"))


def setup_notebook(
    name: str, *, scale: str, spark_master: str, seed: int, work_dir: str = "work",
    data_root: str = "", worker_python: str | None = None, classic_api: str = "", repeats: int = 0,
) -> Run:
    """Check the common parameters (one clear error if one is wrong), then prepare the run.

    `data_root` is where the data Spark reads goes: a folder or URI that the driver and every
    executor see; empty, it is `work_dir` (enough for local mode and one-machine clusters).
    `classic_api` names what the notebook needs Spark's classic API for (RDDs, SparkContext),
    which Spark Connect lacks; empty, the notebook runs under Spark Connect too.
    `repeats` overrides the scale's timed runs of each way in a comparison (0: the scale's; 1:
    each timing cell runs once, without a warm-up, for a quick pass through the lesson)."""
    install_error_printer()
    work = Path(work_dir).absolute() / name
    master = check_master(spark_master)
    if classic_api and master.startswith("sc://"):
        raise ParameterError(
            f"{name} needs Spark's classic API ({classic_api}), which Spark Connect does not "
            f"have: run it with spark_master local[*] or spark://host:port; got {master!r}")
    scale = check_scale(scale)
    if check_int("repeats", repeats):
        scale = replace(scale, repeats=repeats)
    run = Run(
        name=name,
        scale=scale,
        master=master,
        seed=check_int("seed", seed),
        work=work,
        data_root=storage.resolve_root(data_root, work.parent),
        worker_python=worker_python,
    )
    run.work.mkdir(parents=True, exist_ok=True)
    set_seeds(run.seed)
    quiet_python()
    plot_defaults()
    return run


def set_seeds(seed: int) -> None:
    """Seed Python, NumPy and (if loaded) PyTorch."""
    random.seed(seed)
    np.random.seed(seed)
    if "torch" in sys.modules:
        sys.modules["torch"].manual_seed(seed)


def quiet_python() -> None:
    """Keep library chatter out of cell outputs; the lesson's own output stays."""
    logging.getLogger("py4j").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=FutureWarning, module="pyspark")
    # Raised when a library (Hyperopt) starts Spark jobs from its own threads; harmless.
    warnings.filterwarnings("ignore", message="Spark session is not provided")
    # tqdm (imported by Optuna) asks for ipywidgets; its progress bars are off anyway.
    warnings.filterwarnings("ignore", message="IProgress not found")
    # Spark Connect's client repeats this JVM warning (kept in Spark's log) as a Python warning.
    warnings.filterwarnings("ignore", message="WARN WindowExpression: No Partition Defined")
    # PySpark also logs every analysis error as a JSON line on stderr; the exception still reaches
    # the caller. Created through PySparkLogger, whose .exception() takes extra fields.
    from pyspark.logger import PySparkLogger

    for name in ("SQLQueryContextLogger", "DataFrameQueryContextLogger"):
        PySparkLogger.getLogger(name).setLevel(logging.CRITICAL)


def plot_defaults() -> None:
    """One plot style for the whole course: compact figures with a grid."""
    import matplotlib as mpl

    mpl.rcParams.update({"figure.figsize": (7, 3.6), "figure.dpi": 90, "axes.grid": True})


def _print_course_error(shell, etype, value, tb, tb_offset=None):
    """IPython handler: a course error is shown as one line, not a traceback."""
    line = [f"{etype.__name__}: {value}"]
    shell._showtraceback(etype, value, line)  # the kernel's hook for error outputs
    return line


def install_error_printer() -> None:
    """In IPython/Jupyter, show CourseError (bad parameter, Spark start) as one line."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None:
        shell.set_custom_exc((CourseError,), _print_course_error)
