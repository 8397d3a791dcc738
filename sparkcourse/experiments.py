"""Workshop 11: the statistics behind comparing models and running experiments.

Each test takes the counts or sums that one Spark aggregation returns and turns them into a
statistic and a p-value, so that the notebook can compute the aggregates on any size of data
and check the result against scipy or statsmodels. The A/B-test and bandit simulators are plain
NumPy, one simulation per call, so that Spark can run thousands of them side by side.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats


@dataclass(frozen=True)
class TestResult:
    """A test statistic, its p-value and the degrees of freedom of its reference distribution."""

    name: str
    statistic: float
    p_value: float
    dof: float | None = None

    def __str__(self) -> str:
        dof = "" if self.dof is None else f", {self.dof:g} degree{'s' if self.dof != 1 else ''} of freedom"
        return f"{self.name}: statistic {self.statistic:.4g}{dof}, p-value {self.p_value:.4g}"


def binomial_test(errors: int, trials: int, expected_rate: float) -> TestResult:
    """Exact two-sided test that an error rate is `expected_rate`: the probability, under that
    rate, of an error count no more likely than the one observed."""
    counts = np.arange(trials + 1)
    probabilities = stats.binom.pmf(counts, trials, expected_rate)
    observed = stats.binom.pmf(errors, trials, expected_rate)
    p_value = probabilities[probabilities <= observed * (1 + 1e-7)].sum()
    return TestResult("binomial test", errors / trials, float(min(1.0, p_value)))


def mcnemar(only_second_right: int, only_first_right: int, correction: bool = True) -> TestResult:
    """McNemar's test from the discordant pairs: e01 (the first model wrong, the second right)
    and e10 (the other way round). Chi-squared with 1 degree of freedom; `correction` subtracts
    Edwards' 1 from |e01 - e10|."""
    discordant = only_second_right + only_first_right
    gap = max(0.0, abs(only_second_right - only_first_right) - (1 if correction else 0))
    statistic = gap**2 / discordant if discordant else 0.0
    name = "McNemar" + (" (continuity-corrected)" if correction else "")
    return TestResult(name, statistic, float(stats.chi2.sf(statistic, 1)), 1)


def five_by_two_t(differences: np.ndarray) -> TestResult:
    """Dietterich's 5x2 cross-validated paired t-test. `differences[i, j]` is the score of model
    A minus that of model B in replication i (of 5), fold j (of 2). t has 5 degrees of freedom."""
    differences = np.asarray(differences, dtype=float)
    if differences.shape != (5, 2):
        raise ValueError(f"5 replications of 2 folds are needed; got shape {differences.shape}")
    variances = ((differences - differences.mean(axis=1, keepdims=True)) ** 2).sum(axis=1)
    statistic = differences[0, 0] / math.sqrt(variances.mean())
    return TestResult("5x2cv paired t", statistic, float(2 * stats.t.sf(abs(statistic), 5)), 5)


def one_way_anova(groups: pd.DataFrame) -> pd.DataFrame:
    """The one-way ANOVA table from per-group aggregates: columns `n`, `mean` and `variance`
    (the sample variance), one row per group, as one Spark `groupBy().agg()` returns them."""
    n, k = groups.n.sum(), len(groups)
    grand_mean = (groups.n * groups["mean"]).sum() / n
    between = (groups.n * (groups["mean"] - grand_mean) ** 2).sum()
    within = ((groups.n - 1) * groups.variance).sum()
    dof = (k - 1, n - k)
    f_value = (between / dof[0]) / (within / dof[1])
    return pd.DataFrame({
        "df": dof, "sum_sq": [between, within], "mean_sq": [between / dof[0], within / dof[1]],
        "F": [f_value, np.nan], "p_value": [stats.f.sf(f_value, *dof), np.nan],
    }, index=pd.Index(["between groups", "residual"], name="source"))


def two_proportion_z(clicks_a, users_a, clicks_b, users_b, alpha: float = 0.05) -> dict:
    """Two-proportion z-test of B against A (pooled standard error), and the (1 - alpha)
    confidence interval of the difference in rates (unpooled). Counts may be NumPy arrays (one
    test each, as a simulation runs them): every value is then an array."""
    rate_a, rate_b = np.divide(clicks_a, users_a), np.divide(clicks_b, users_b)
    pooled = np.divide(np.add(clicks_a, clicks_b), np.add(users_a, users_b))
    z = (rate_b - rate_a) / np.sqrt(pooled * (1 - pooled) * (np.divide(1, users_a) + np.divide(1, users_b)))
    spread = np.sqrt(rate_a * (1 - rate_a) / users_a + rate_b * (1 - rate_b) / users_b)
    margin = stats.norm.ppf(1 - alpha / 2) * spread
    difference = rate_b - rate_a
    return {"rate_a": rate_a, "rate_b": rate_b, "difference": difference, "z": z,
            "p_value": 2 * stats.norm.sf(np.abs(z)), "low": difference - margin,
            "high": difference + margin}


def sample_size_per_arm(base_rate: float, min_effect: float, alpha: float = 0.05,
                        power: float = 0.8) -> int:
    """Users per arm for a two-sided two-proportion test to detect an absolute lift of
    `min_effect` over `base_rate` with the given power."""
    treated = base_rate + min_effect
    mean = (base_rate + treated) / 2
    null_spread = stats.norm.ppf(1 - alpha / 2) * math.sqrt(2 * mean * (1 - mean))
    alt_spread = stats.norm.ppf(power) * math.sqrt(base_rate * (1 - base_rate) + treated * (1 - treated))
    return math.ceil((null_spread + alt_spread) ** 2 / min_effect**2)


def beta_posteriors(clicks_a: int, users_a: int, clicks_b: int, users_b: int, draws: int = 200_000,
                    seed: int = 0, prior: tuple[float, float] = (1.0, 1.0)) -> dict[str, float]:
    """Bayesian reading of an A/B test with Beta(prior) priors: P(B > A) and the expected loss
    of choosing each arm (the click rate given up, on average, if it is the worse one)."""
    rng = np.random.default_rng(seed)
    a = rng.beta(prior[0] + clicks_a, prior[1] + users_a - clicks_a, draws)
    b = rng.beta(prior[0] + clicks_b, prior[1] + users_b - clicks_b, draws)
    return {"p_b_better": float((b > a).mean()), "loss_choosing_a": float(np.maximum(b - a, 0).mean()),
            "loss_choosing_b": float(np.maximum(a - b, 0).mean())}


def aa_test(rate: float, users_per_day: int, days: int, alpha: float, rng: np.random.Generator
            ) -> dict[str, float]:
    """One simulated A/A test: both arms have the same click `rate`. Returns the p-value at the
    end, and whether a daily look (peeking) would have stopped it as significant on some day."""
    clicks = rng.binomial(users_per_day, rate, size=(days, 2)).cumsum(axis=0)
    users = users_per_day * np.arange(1, days + 1)  # per arm, by the end of each day
    with np.errstate(divide="ignore", invalid="ignore"):  # no click yet: no evidence, p = 1
        daily = np.nan_to_num(two_proportion_z(clicks[:, 0], users, clicks[:, 1], users)["p_value"], nan=1.0)
    return {"p_value": float(daily[-1]), "peeking_significant": float(daily.min() < alpha)}


Policy = Callable[[np.ndarray, np.ndarray, int, np.random.Generator], int]


def run_bandit(choose: Policy, rates: np.ndarray, horizon: int, rng: np.random.Generator) -> np.ndarray:
    """Play `horizon` rounds of a Bernoulli bandit with click `rates`; each round `choose(successes,
    failures, round, rng)` picks an arm. Returns the cumulative (expected) regret after each round."""
    rates = np.asarray(rates, dtype=float)
    successes, failures = np.zeros(len(rates)), np.zeros(len(rates))
    regret = np.empty(horizon)
    for step in range(horizon):
        arm = choose(successes, failures, step, rng)
        reward = rng.random() < rates[arm]
        successes[arm] += reward
        failures[arm] += 1 - reward
        regret[step] = rates.max() - rates[arm]
    return regret.cumsum()
