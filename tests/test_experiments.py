"""Workshop 11's statistics: each against scipy or statsmodels, and the published examples
reproduced to the digits their sources print."""

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats
from statsmodels.formula.api import ols
from statsmodels.stats.anova import anova_lm
from statsmodels.stats.contingency_tables import mcnemar as statsmodels_mcnemar
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

from sparkcourse.data.experiments import TRUE_LIFT, ab_traffic, expected_naive_lift
from sparkcourse.exercises.experiments import (
    check_mcnemar,
    check_sample_size,
    check_thompson_step,
    discordant_counts,
)
from sparkcourse.experiments import (
    aa_test,
    beta_posteriors,
    binomial_test,
    five_by_two_t,
    mcnemar,
    one_way_anova,
    run_bandit,
    sample_size_per_arm,
    two_proportion_z,
)

DATASETS = Path(__file__).parents[1] / "datasets"


@pytest.mark.parametrize("errors, trials, rate", [(12, 100, 0.1), (30, 200, 0.1), (0, 50, 0.02)])
def test_binomial_test_is_scipys(errors, trials, rate):
    expected = stats.binomtest(errors, trials, rate).pvalue
    assert binomial_test(errors, trials, rate).p_value == pytest.approx(expected, rel=1e-9)


def test_mcnemar_reproduces_agrestis_approval_example():
    """Agresti (2007), Table 8.1: z = -4.17 (z squared 17.36), P < 0.001."""
    table = pd.read_csv(DATASETS / "approval_twice.csv").pivot(
        index="first_survey", columns="second_survey", values="count")
    assert table.to_numpy().sum() == 1600
    changed_to_approve, changed_to_disapprove = table.loc["disapprove", "approve"], table.loc[
        "approve", "disapprove"]
    plain = mcnemar(changed_to_approve, changed_to_disapprove, correction=False)
    assert round(plain.statistic, 2) == 17.36 and round(-math.sqrt(plain.statistic), 2) == -4.17
    assert plain.p_value < 0.001
    for correction in (False, True):
        ours = mcnemar(changed_to_approve, changed_to_disapprove, correction)
        theirs = statsmodels_mcnemar(table.to_numpy(), exact=False, correction=correction)
        assert (ours.statistic, ours.p_value) == pytest.approx((theirs.statistic, theirs.pvalue))


def test_five_by_two_t_by_hand_and_its_shape():
    differences = np.array([[1, 3], [2, 2], [0, 2], [1, 1], [2, 4]])  # variances 2, 0, 2, 0, 2
    result = five_by_two_t(differences)
    assert result.statistic == pytest.approx(1 / math.sqrt(1.2))
    assert result.p_value == pytest.approx(2 * stats.t.sf(1 / math.sqrt(1.2), 5)) and result.dof == 5
    with pytest.raises(ValueError, match="5 replications of 2 folds"):
        five_by_two_t(np.ones((10, 1)))


def test_one_way_anova_reproduces_plant_growth():
    """R: anova(lm(weight ~ group, PlantGrowth)): Sum Sq 3.7663 and 10.4921, F 4.8461, p 0.01591."""
    plants = pd.read_csv(DATASETS / "plantgrowth.csv")
    groups = plants.groupby("group").weight.agg(n="count", mean="mean", variance="var")
    table = one_way_anova(groups)
    assert table.df.tolist() == [2, 27]
    assert table.sum_sq.round(4).tolist() == [3.7663, 10.4921]
    assert round(table.F.iloc[0], 4) == 4.8461 and round(table.p_value.iloc[0], 5) == 0.01591
    theirs = anova_lm(ols("weight ~ group", plants).fit())
    assert table.sum_sq.tolist() == pytest.approx(theirs.sum_sq.tolist())
    assert table.F.iloc[0] == pytest.approx(theirs.F.iloc[0])


def test_two_proportion_z_is_statsmodels():
    result = two_proportion_z(200, 5000, 245, 5000)
    z, p_value = proportions_ztest([245, 200], [5000, 5000])
    assert (result["z"], result["p_value"]) == pytest.approx((z, p_value))
    low, high = confint_proportions_2indep(245, 5000, 200, 5000, method="wald")
    assert (result["low"], result["difference"], result["high"]) == pytest.approx((low, 0.009, high))


def test_two_proportion_z_runs_many_tests_at_once():
    clicks_a, clicks_b = np.array([200, 180, 210]), np.array([245, 200, 190])
    together = two_proportion_z(clicks_a, 5000, clicks_b, 5000)
    for i in range(3):
        alone = two_proportion_z(int(clicks_a[i]), 5000, int(clicks_b[i]), 5000)
        assert {key: together[key][i] for key in alone} == pytest.approx(alone)


@pytest.mark.parametrize("base_rate, effect", [(0.10, 0.02), (0.04, 0.005), (0.5, 0.05)])
def test_sample_size_is_the_smallest_with_the_power(base_rate, effect):
    def power(n):  # the normal approximation's power of the two-sided test with n users per arm
        treated = base_rate + effect
        mean = (base_rate + treated) / 2
        critical = stats.norm.ppf(0.975) * math.sqrt(2 * mean * (1 - mean) / n)
        spread = math.sqrt((base_rate * (1 - base_rate) + treated * (1 - treated)) / n)
        return stats.norm.sf((critical - effect) / spread)

    n = sample_size_per_arm(base_rate, effect, alpha=0.05, power=0.8)
    assert power(n) >= 0.8 > power(n - 1)


def test_beta_posteriors_match_integration():
    result = beta_posteriors(40, 1000, 55, 1000, seed=1)
    a, b = stats.beta(41, 961), stats.beta(56, 946)
    exact = integrate.quad(lambda x: b.pdf(x) * a.cdf(x), 0, 1)[0]
    assert result["p_b_better"] == pytest.approx(exact, abs=0.005)
    assert result["loss_choosing_a"] > result["loss_choosing_b"] > 0


def test_aa_tests_are_uniform_and_peeking_inflates_false_positives():
    rng = np.random.default_rng(7)
    runs = pd.DataFrame([aa_test(0.05, 500, 14, 0.05, rng) for _ in range(1000)])
    one = aa_test(0.05, 500, 14, 0.05, np.random.default_rng(3))
    clicks = np.random.default_rng(3).binomial(500, 0.05, size=(14, 2)).sum(axis=0)
    assert one["p_value"] == pytest.approx(two_proportion_z(clicks[0], 7000, clicks[1], 7000)["p_value"])
    assert stats.kstest(runs.p_value, "uniform").pvalue > 0.01
    assert 0.03 < (runs.p_value < 0.05).mean() < 0.07
    assert runs.peeking_significant.mean() > 0.12  # two weeks of daily looks: well above 5%


def thompson(successes, failures, step, rng):
    return int(np.argmax(rng.beta(successes + 1, failures + 1)))


def fifty_fifty(successes, failures, step, rng):
    return step % len(successes)


def test_thompson_regret_grows_sublinearly_and_a_fixed_split_linearly():
    rates = np.array([0.04, 0.06])
    mean_regret = {policy.__name__: np.mean([run_bandit(policy, rates, 3000, np.random.default_rng(seed))
                                             for seed in range(20)], axis=0)
                   for policy in (thompson, fifty_fifty)}
    split = mean_regret["fifty_fifty"]
    assert split[-1] == pytest.approx(0.01 * 3000, rel=0.01)  # half the rounds lose 0.02
    late, early = mean_regret["thompson"][-1] - mean_regret["thompson"][1499], mean_regret["thompson"][1499]
    assert late < 0.8 * early  # the second half costs less than the first: learning
    assert mean_regret["thompson"][-1] < 0.7 * split[-1]


# The exercises' checks: two correct answers each, and a close wrong one with its hint.
PREDICTIONS = pd.DataFrame({"label": [1, 1, 1, 1, 0, 0, 0, 0, 1, 0, 1, 0],
                            "a":     [1, 1, 0, 0, 0, 1, 1, 0, 1, 0, 1, 1],
                            "b":     [1, 0, 1, 1, 0, 0, 0, 0, 0, 0, 1, 0]})  # e01 = 5, e10 = 2


def test_check_mcnemar_takes_either_reading_and_hints_at_the_z_form():
    assert discordant_counts(PREDICTIONS, "label", "a", "b") == (5, 2)
    assert repr(check_mcnemar(9 / 7, PREDICTIONS, "label", "a", "b")).startswith("✔ correct")
    corrected = statsmodels_mcnemar([[0, 2], [5, 0]], exact=False, correction=True)
    assert repr(check_mcnemar(corrected, PREDICTIONS, "label", "a", "b")).startswith("✔ correct")
    assert "square it" in repr(check_mcnemar(3 / math.sqrt(7), PREDICTIONS, "label", "a", "b"))
    assert "not attempted" in repr(check_mcnemar(None, PREDICTIONS, "label", "a", "b"))


def test_check_sample_size_takes_any_usual_formula_and_hints_at_both_arms():
    ours = sample_size_per_arm(0.10, 0.02)
    cohens_h = 2 * ((stats.norm.ppf(0.975) + stats.norm.ppf(0.8))
                    / (2 * math.asin(math.sqrt(0.12)) - 2 * math.asin(math.sqrt(0.10)))) ** 2
    for answer in (ours, cohens_h):
        assert repr(check_sample_size(answer, 0.10, 0.02, 0.05, 0.8)).startswith("✔ correct"), answer
    assert "halve it" in repr(check_sample_size(2 * ours, 0.10, 0.02, 0.05, 0.8))
    one_sided = sample_size_per_arm(0.10, 0.02, alpha=0.10)
    assert "1 - alpha/2" in repr(check_sample_size(one_sided, 0.10, 0.02, 0.05, 0.8))


def test_check_thompson_step_takes_two_formulations_and_hints_at_greed_and_the_prior():
    def by_loop(successes, failures, step, rng):
        draws = [rng.beta(s + 1, f + 1) for s, f in zip(successes, failures, strict=True)]
        return max(range(len(draws)), key=draws.__getitem__)

    for step in (thompson, by_loop):
        assert repr(check_thompson_step(step)).startswith("✔ correct"), step.__name__
    greedy = lambda s, f, step, rng: int(np.argmax(s / np.maximum(s + f, 1)))  # noqa: E731
    assert "always picks the same arm" in repr(check_thompson_step(greedy))
    no_prior = lambda s, f, step, rng: int(np.argmax(rng.beta(s, f)))  # noqa: E731
    assert "uniform prior" in repr(check_thompson_step(no_prior))


def test_biased_assignment_flips_the_naive_conclusion_and_strata_recover_the_truth():
    assert expected_naive_lift("biased") < 0 < TRUE_LIFT == expected_naive_lift("random")
    traffic = ab_traffic(400_000, seed=3, assignment="biased")
    rates = traffic.groupby("variant").clicked.mean()
    assert rates.B - rates.A == pytest.approx(expected_naive_lift("biased"), abs=0.002)
    by_segment = traffic.groupby(["segment", "variant"]).clicked.mean().unstack()
    assert (by_segment.B - by_segment.A).to_numpy() == pytest.approx([TRUE_LIFT] * 2, abs=0.003)


def test_a_colliding_experiment_shrinks_the_measured_lift_with_its_share():
    lifts = []
    for share in (0.0, 0.5, 1.0):
        traffic = ab_traffic(300_000, seed=5, colliding=True, new_layout_share=share)
        truth = traffic.groupby("variant").click_rate.mean()
        lifts.append(truth.B - truth.A)
    assert lifts == pytest.approx([TRUE_LIFT, TRUE_LIFT / 2, 0.0], abs=0.0003)
    with pytest.raises(ValueError, match="assignment must be"):
        ab_traffic(10, seed=0, assignment="sideways")


def test_a_shadow_test_cannot_see_the_effect_it_would_have():
    shadow = ab_traffic(400_000, seed=3, assignment="shadow")
    assert shadow.variant.eq("B").mean() == pytest.approx(0.5, abs=0.01)  # B decided for half...
    truth = shadow.groupby("variant").click_rate.mean()
    assert truth.B == pytest.approx(truth.A, abs=0.0003)  # ...but served to none
    served = ab_traffic(400_000, seed=3)
    truth = served.groupby("variant").click_rate.mean()
    assert truth.B - truth.A == pytest.approx(TRUE_LIFT, abs=0.0003)
