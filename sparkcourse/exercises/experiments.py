"""Checks for workshop 11's exercises: McNemar's statistic, a sample size, a Thompson-sampling step."""

from __future__ import annotations

import math
from numbers import Real

import numpy as np
import pandas as pd
from scipy import stats

from ..experiments import sample_size_per_arm
from . import NOT_ATTEMPTED, Feedback, correct, first_line, hint


def discordant_counts(predictions: pd.DataFrame, label: str, first: str, second: str) -> tuple[int, int]:
    """(e01, e10): rows only the second model gets right, rows only the first gets right."""
    truth = predictions[label]
    first_right, second_right = predictions[first] == truth, predictions[second] == truth
    return int((~first_right & second_right).sum()), int((first_right & ~second_right).sum())


def check_mcnemar(answer, predictions: pd.DataFrame, label: str, first: str, second: str) -> Feedback:
    """McNemar's chi-squared statistic of the two models' predictions: with or without the
    continuity correction, as a number (or anything whose first item, or `.statistic`, is one)."""
    if answer is None:
        return NOT_ATTEMPTED
    answer = getattr(answer, "statistic", answer)
    if isinstance(answer, tuple | list) and answer:
        answer = answer[0]
    if isinstance(answer, bool) or not isinstance(answer, Real):
        return hint(f"give the statistic as a number, got {type(answer).__name__}")
    e01, e10 = discordant_counts(predictions, label, first, second)
    if e01 + e10 == 0:
        return hint("the two models never disagree on being right: there is nothing to test")
    readings = {"without the continuity correction": (e01 - e10) ** 2 / (e01 + e10),
                "with the continuity correction": (abs(e01 - e10) - 1) ** 2 / (e01 + e10)}
    for reading, value in readings.items():
        if math.isclose(answer, value, rel_tol=1e-6):
            return correct(f"{value:.3f}, {reading}")
    if math.isclose(abs(answer), abs(e01 - e10) / math.sqrt(e01 + e10), rel_tol=1e-6):
        return hint("that is the z form, the square root of the statistic: square it")
    if math.isclose(answer, (e01 - e10) ** 2 / len(predictions), rel_tol=1e-6):
        return hint("divide by the discordant pairs (e01 + e10), not by every row")
    return hint("count the rows only the second model gets right (e01) and only the first gets "
                "right (e10), in one aggregation, then (e01 - e10)^2 / (e01 + e10)")


def power_at(n: float, base_rate: float, effect: float, alpha: float) -> float:
    """The normal approximation's power of a two-sided two-proportion test, `n` users per arm."""
    treated = base_rate + effect
    mean = (base_rate + treated) / 2
    critical = stats.norm.ppf(1 - alpha / 2) * math.sqrt(2 * mean * (1 - mean) / n)
    spread = math.sqrt((base_rate * (1 - base_rate) + treated * (1 - treated)) / n)
    return float(stats.norm.sf((critical - effect) / spread))


def check_sample_size(answer, base_rate: float, effect: float, alpha: float, power: float) -> Feedback:
    """Users per arm: enough for the power, and no more than 5% above the smallest that is.
    Any usual formula passes (pooled or unpooled variances, Cohen's h)."""
    if answer is None:
        return NOT_ATTEMPTED
    if isinstance(answer, bool) or not isinstance(answer, Real) or not answer > 0:
        return hint(f"give a positive number of users per arm, got {answer!r}")
    smallest = sample_size_per_arm(base_rate, effect, alpha, power)
    if smallest * 0.98 <= answer <= smallest * 1.05:
        return correct(f"{math.ceil(answer):,} users per arm ({smallest:,} is the least with "
                       f"{power:.0%} power)")
    if smallest * 1.9 <= answer <= smallest * 2.1:
        return hint("that is about both arms together: the test needs that many in each arm, halve it")
    if math.isclose(answer, sample_size_per_arm(base_rate, effect, 2 * alpha, power), rel_tol=0.05):
        return hint("a two-sided test splits alpha between both tails: use z at 1 - alpha/2")
    return hint(f"with {math.ceil(answer):,} users per arm the power is "
                f"{power_at(answer, base_rate, effect, alpha):.0%}, not {power:.0%}")


def check_thompson_step(answer, draws: int = 4000, seed: int = 0) -> Feedback:
    """`answer(successes, failures, step, rng)` returns an arm: a Thompson-sampling step with a
    uniform Beta(1, 1) prior picks each arm as often as it is probably the best."""
    if answer is None:
        return NOT_ATTEMPTED
    successes, failures = np.array([3.0, 12.0, 0.0]), np.array([17.0, 48.0, 2.0])
    try:
        rng = np.random.default_rng(seed)
        chosen = np.array([int(answer(successes.copy(), failures.copy(), step, rng))
                           for step in range(draws)])
    except Exception as error:  # noqa: BLE001 - a check never raises
        if "a <= 0" in str(error) or "b <= 0" in str(error):  # Beta(0, ...): an arm never won
            return hint("add the uniform prior, Beta(successes + 1, failures + 1): an arm that never "
                        "won has Beta(0, ...), which does not exist")
        return hint(f"the step fails: {first_line(error)}")
    if not np.isin(chosen, [0, 1, 2]).all():
        return hint("return the index of an arm: 0, 1 or 2")
    posterior = np.random.default_rng(seed + 1).beta(successes + 1, failures + 1, size=(200_000, 3))
    expected = np.bincount(posterior.argmax(axis=1), minlength=3) / 200_000
    shares = np.bincount(chosen, minlength=3) / draws
    if np.abs(shares - expected).max() < 0.03:
        return correct(f"arms chosen {shares.round(2).tolist()}, as often as each is probably best")
    if len(set(chosen)) == 1:
        return hint("the step always picks the same arm: draw one sample from each arm's Beta "
                    "posterior and take the largest, so uncertain arms still get tried")
    return hint(f"chosen {shares.round(2).tolist()}, expected about {expected.round(2).tolist()}: "
                "draw one sample from each arm's Beta(successes + 1, failures + 1), take the argmax")
