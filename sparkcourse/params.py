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
    """How big a run is: every workshop's data sizes and the Spark settings that suit them."""

    name: str
    description: str
    shuffle_partitions: int  # spark.sql.shuffle.partitions
    driver_memory: str  # spark.driver.memory, local mode only
    optimizing_jit: bool  # JVMs compile hot code twice (C1, then C2); False: C1 only, see spark.py
    repeats: int  # timed runs of each way in a comparison (their median; 1: a smoke test, no warm-up)
    users: int  # 01: users in the generated clickstream (about 60 events each)
    max_evals: int  # 02: trials per search
    trial_cost: float  # 02: extra CPU seconds per trial, standing in for a bigger model
    digit_copies: int  # 02: jittered copies of the 1,797 digit images
    subscribers: int  # 03, 06: rows of the churn table
    small_files: int  # 06: files of the small-file table (1,000 rows each)
    stores: int  # 04: stores, one model each
    sweep_stores: int  # 04: stores timed per model cost
    pandas_stores: int  # 05: stores of weekly sales
    claims: int  # 08: insurance claims for pandas against Spark
    vehicles: int  # 09: vehicles in the fleet
    people: int  # 10: people in the simulated population
    aa_tests: int  # 11: simulated A/A tests (and A/B tests for the power)
    tuning_seeds: int  # 11: seeds that TrainValidationSplit and CrossValidator each tune with
    bandit_runs: int  # 11: simulated runs of each bandit policy
    clicks: int  # 12: clickstream events sent through the collector (about)
    click_rate: int  # 12: events per second the load generator sends
    rec_users: int  # 13: users of the generated catalogue
    rec_items: int  # 13: items of the generated catalogue


def _table(*rows: tuple) -> dict[str, Scale]:
    return {row[0]: Scale(*row) for row in rows}


# One row a scale. `ci` is the smallest run that still takes every code path and passes every
# check (the tests' student and cluster runs); `small` is what the committed outputs show.
SCALES = _table(
    # name, description, shuffle partitions, driver memory, optimizing JIT, timing repeats,
    #   users, max evals, trial cost, digit copies, subscribers, small files, stores, sweep stores,
    #   pandas stores, claims, vehicles, people, A/A tests, tuning seeds, bandit runs, clicks, click rate,
    #   recommender users, recommender items
    ("ci", "the tests: every code path, at the smallest size that passes every check", 2, "2g", False, 1,
     300, 2, 0.1, 1, 4_000, 20, 200, 40, 300, 200_000, 24, 200_000, 2_000, 2, 20, 2_000, 4_000, 1_000, 300),
    ("small", "Binder and the committed outputs: every notebook in a minute or two", 4, "2g", True, 3,
     2_000, 8, 0.5, 1, 20_000, 100, 1_000, 100, 2_000, 2_000_000, 60, 1_000_000, 10_000, 4, 60,
     10_000, 5_000, 3_000, 1_000),
    ("medium", "a laptop: a few minutes, big enough to see trends", 8, "4g", True, 3,
     20_000, 16, 4.0, 10, 200_000, 400, 10_000, 1_000, 20_000, 10_000_000, 600, 20_000_000, 50_000, 8,
     200, 100_000, 20_000, 30_000, 5_000),
    ("large", "a workstation or cluster: where Spark pays off", 64, "8g", True, 5,
     200_000, 32, 10.0, 100, 2_000_000, 2_000, 100_000, 10_000, 200_000, 100_000_000, 6000, 200_000_000,
     200_000, 10, 400, 1_000_000, 50_000, 200_000, 10_000),
)

_HOST_PORT = r"[A-Za-z0-9.\-]+:\d{1,5}"
BOOTSTRAP_PATTERN = re.compile(rf"{_HOST_PORT}(,{_HOST_PORT})*")
MASTER_PATTERN = re.compile(
    r"local(\[(\*|[1-9]\d*)(,[1-9]\d*)?\])?"  # local, local[4], local[*], local[2,3]
    rf"|spark://{_HOST_PORT}(,{_HOST_PORT})*"  # standalone, with optional standby masters
    r"|yarn|k8s://\S+"
    rf"|sc://{_HOST_PORT}(/;\S+)?"  # Spark Connect, with optional ;key=value parameters
)


def check_scale(scale: object) -> Scale:
    if scale not in SCALES:
        raise ParameterError(f"scale must be one of {', '.join(SCALES)}; got {scale!r}")
    return SCALES[scale]


def check_master(master: object) -> str:
    if not isinstance(master, str) or not MASTER_PATTERN.fullmatch(master.strip()):
        raise ParameterError(
            "spark_master must look like 'local[*]', 'local[4]', 'spark://host:7077' or "
            "'sc://host:15002'; "
            f"got {master!r}"
        )
    return master.strip()


def check_bootstrap(name: str, value: object) -> str:
    """Kafka's bootstrap servers, `host:port[,host:port...]`, or empty (start a broker here)."""
    if not isinstance(value, str) or (value.strip() and not BOOTSTRAP_PATTERN.fullmatch(value.strip())):
        raise ParameterError(f"{name} must be host:port (several: comma-separated), or empty; got {value!r}")
    return value.strip()


def check_int(name: str, value: object, minimum: int = 0, maximum: int | None = None) -> int:
    """An integer parameter (seed, size, count, port) at or above `minimum` (and at most `maximum`)."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise ParameterError(f"{name} must be a whole number; got {value!r}")
    if value < minimum:
        raise ParameterError(f"{name} must be >= {minimum}; got {value}")
    if maximum is not None and value > maximum:
        raise ParameterError(f"{name} must be <= {maximum}; got {value}")
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
