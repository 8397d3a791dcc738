"""The set-up cell of every notebook: validate parameters, fix seeds, prepare folders."""

from __future__ import annotations

import logging
import random
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .params import CourseError, Scale, check_int, check_master, check_scale


@dataclass(frozen=True)
class Run:
    """What one notebook run works with, after its parameters have been checked."""

    name: str
    scale: Scale
    master: str
    seed: int
    work: Path  # this notebook's own folder for the files it writes

    def spark(self, packages: tuple[str, ...] = (), **conf: str):
        """The SparkSession for this run, with Spark `packages` such as ("delta",) (see
        `sparkcourse.get_spark`)."""
        from .spark import get_spark

        return get_spark(
            self.master, self.name, self.scale, self.work / "spark-jvm.log", conf or None, packages
        )


def setup_notebook(
    name: str, *, scale: str, spark_master: str, seed: int, work_dir: str = "work"
) -> Run:
    """Check the common parameters (one clear error if one is wrong), then prepare the run."""
    install_error_printer()
    run = Run(
        name=name,
        scale=check_scale(scale),
        master=check_master(spark_master),
        seed=check_int("seed", seed),
        work=Path(work_dir).absolute() / name,
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
