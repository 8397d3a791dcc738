"""Notebook parameters: the scales the course runs at, and validation with one clear message."""

from __future__ import annotations

import re
from dataclasses import dataclass
from numbers import Integral, Real


class CourseError(Exception):
    """An error a learner can fix; notebooks print it as one line, without a traceback."""


class ParameterError(CourseError, ValueError):
    """A notebook parameter is invalid."""


@dataclass(frozen=True)
class Scale:
    """How big a run is: data sizes and the Spark settings that suit them."""

    name: str
    n_users: int  # users in the generated clickstream (about 60 events each)
    shuffle_partitions: int  # spark.sql.shuffle.partitions
    driver_memory: str  # spark.driver.memory, local mode only
    description: str


SCALES = {
    "small": Scale("small", 2_000, 4, "2g", "CI and Binder: every notebook in a minute or two"),
    "medium": Scale("medium", 20_000, 8, "4g", "a laptop: a few minutes, big enough to see trends"),
    "large": Scale("large", 200_000, 64, "8g", "a workstation or cluster: where Spark pays off"),
}

_HOST_PORT = r"[A-Za-z0-9.\-]+:\d{1,5}"
MASTER_PATTERN = re.compile(
    r"local(\[(\*|[1-9]\d*)(,[1-9]\d*)?\])?"  # local, local[4], local[*], local[2,3]
    rf"|spark://{_HOST_PORT}(,{_HOST_PORT})*"  # standalone, with optional standby masters
    r"|yarn|k8s://\S+"
)


def check_scale(scale: object) -> Scale:
    if scale not in SCALES:
        raise ParameterError(f"scale must be one of {', '.join(SCALES)}; got {scale!r}")
    return SCALES[scale]


def check_master(master: object) -> str:
    if not isinstance(master, str) or not MASTER_PATTERN.fullmatch(master.strip()):
        raise ParameterError(
            "spark_master must look like 'local[*]', 'local[4]' or 'spark://host:7077'; "
            f"got {master!r}"
        )
    return master.strip()


def check_int(name: str, value: object, minimum: int = 0) -> int:
    """An integer parameter (seed, size, count) at or above `minimum`."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise ParameterError(f"{name} must be a whole number; got {value!r}")
    if value < minimum:
        raise ParameterError(f"{name} must be >= {minimum}; got {value}")
    return int(value)


def check_number(name: str, value: object, minimum: float = 0.0) -> float:
    """A real-valued parameter (seconds, a fraction) at or above `minimum`."""
    if isinstance(value, bool) or not isinstance(value, Real) or value != value:
        raise ParameterError(f"{name} must be a number; got {value!r}")
    if value < minimum:
        raise ParameterError(f"{name} must be >= {minimum}; got {value}")
    return float(value)


def check_choice(name: str, value: object, choices: tuple) -> object:
    if value not in choices:
        raise ParameterError(f"{name} must be one of {', '.join(map(str, choices))}; got {value!r}")
    return value
