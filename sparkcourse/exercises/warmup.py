"""Check for workshop 00's warm-up exercise."""

from __future__ import annotations

from . import Feedback, check_value


def check_multiples_of_seven(answer, n: int) -> Feedback:
    """How many of 0, 1, ..., n-1 are multiples of 7."""
    return check_value(answer, (n - 1) // 7 + 1,
                       "Filter spark.range(n) on `id % 7 == 0`, then count(). Zero counts too.")
