"""Helpers for the course "Scaling Machine Learning with Apache Spark"."""

from .measure import compare, crossover, interleaved_seconds, plot_comparison, seconds, verdict
from .notebook import Run, set_seeds, setup_notebook
from .params import SCALES, CourseError, ParameterError, Scale, check_choice, check_int, check_number
from .report import record
from .spark import SparkStartError, get_spark, spark_log_file

__all__ = [
    "SCALES", "CourseError", "ParameterError", "Run", "Scale", "SparkStartError",
    "check_choice", "check_int", "check_number", "compare", "crossover", "get_spark", "interleaved_seconds",
    "plot_comparison", "record", "seconds", "set_seeds", "setup_notebook", "spark_log_file", "verdict",
]
