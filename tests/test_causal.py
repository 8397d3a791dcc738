"""Workshop 10's causal helpers: the published figures of its bundled data, adjustment
arithmetic against hand-worked values, pgmpy's identification, the structural model's truth,
and the exercise checks."""

import pandas as pd
import pytest
from test_spark import printed_lines

from sparkcourse.causal import (
    DIAGRAM,
    TRUE_EFFECT,
    backdoor_rates,
    frontdoor_rates,
    identify,
    ph_trial,
    rates,
)
from sparkcourse.data import dataset_path
from sparkcourse.exercises import NOT_ATTEMPTED
from sparkcourse.exercises.causal import DIAGRAMS, check_adjustment_sets, check_admissions

KIDNEY = pd.read_csv(dataset_path("kidney_stones.csv"))
ADMISSIONS = pd.read_csv(dataset_path("ucb_admissions.csv"))


def test_bundled_data_are_the_published_tables():
    assert len(pd.read_csv(dataset_path("cars.csv"))) == 50
    mtcars = pd.read_csv(dataset_path("mtcars.csv"))
    assert mtcars.cyl.value_counts().sort_index().tolist() == [11, 7, 14]
    applicants = ADMISSIONS.admitted.sum() + ADMISSIONS.rejected.sum()
    assert applicants == 4526 and ADMISSIONS.department.nunique() == 6


def test_kidney_stones_reproduce_charig_1986():
    """A 78% (273/350) and B 83% (289/350) overall; A 93% and 73%, B 87% and 69% by size."""
    overall = rates(KIDNEY, ["treatment"], "successes", "patients")
    by_size = rates(KIDNEY, ["treatment", "stone_size"], "successes", "patients")
    assert (overall * 100).round().tolist() == [78, 83]
    assert round(by_size["A", "small"] * 100) == 93 and round(by_size["B", "small"] * 100) == 87
    assert round(by_size["A", "large"] * 100) == 73 and round(by_size["B", "large"] * 100) == 69


def test_backdoor_weights_strata_by_everyone():
    adjusted = backdoor_rates(KIDNEY, "treatment", "stone_size", "successes", "patients")
    small, large = 357 / 700, 343 / 700  # stone sizes of all 700 patients
    assert adjusted["A"] == pytest.approx(81 / 87 * small + 192 / 263 * large)
    assert adjusted["B"] == pytest.approx(234 / 270 * small + 55 / 80 * large)
    assert adjusted["A"] > adjusted["B"]


def test_frontdoor_on_exact_probabilities_gives_the_true_effect():
    """Counts proportional to the structural model's joint distribution: the front-door formula
    (which never sees genes) and the back-door one both give exactly 0.15 x 0.85."""
    rows = []
    for genes, p_genes in [(0, 0.7), (1, 0.3)]:
        for smoking in (0, 1):
            p_smoking = (0.2, 0.8)[genes] if smoking else 1 - (0.2, 0.8)[genes]
            for tar in (0, 1):
                p_tar = (0.05, 0.9)[smoking] if tar else 1 - (0.05, 0.9)[smoking]
                n = 1e6 * p_genes * p_smoking * p_tar
                rows.append({"genes": genes, "smoking": smoking, "tar": tar, "n": n,
                             "cases": n * (0.05 + 0.15 * tar + 0.25 * genes)})
    joint = pd.DataFrame(rows)
    front = frontdoor_rates(joint, "smoking", "tar", "cases", "n")
    back = backdoor_rates(joint, "smoking", "genes", "cases", "n")
    naive = rates(joint, ["smoking"], "cases", "n")
    assert front[1] - front[0] == pytest.approx(TRUE_EFFECT) == pytest.approx(0.1275)
    assert back[1] - back[0] == pytest.approx(TRUE_EFFECT)
    assert naive[1] - naive[0] == pytest.approx(0.1275 + 0.25 * (0.24 / 0.38 - 0.06 / 0.62))


def test_pgmpy_identifies_the_adjustments():
    assert identify(DIAGRAM, "smoking", "cancer") == {"genes"}
    assert identify(DIAGRAM, "smoking", "cancer", latents={"genes"}) is None
    assert identify(DIAGRAM, "smoking", "cancer", latents={"genes"}, method="frontdoor") == {"tar"}
    assert identify([("x", "m"), ("m", "y")], "x", "y") == set()


def test_the_trial_works_only_through_ph():
    import statsmodels.formula.api as smf

    trial = ph_trial(20_000, seed=1)
    assert trial.treated.mean() == pytest.approx(0.5, abs=0.02)
    total = smf.ols("recovered ~ treated", trial).fit().params["treated"]
    direct = smf.ols("recovered ~ treated + ph", trial).fit()
    assert total > 0.3
    assert abs(direct.params["treated"]) < 3 * direct.bse["treated"]


def test_check_adjustment_sets():
    assert check_adjustment_sets(None) == NOT_ATTEMPTED
    assert check_adjustment_sets({name: None for name in DIAGRAMS}) == NOT_ATTEMPTED
    assert check_adjustment_sets({"exercise": {"age"}, "drug": set(), "fame": set()}).correct
    assert check_adjustment_sets({"exercise": "age", "drug": [], "fame": ()}).correct
    assert check_adjustment_sets({"exercise": ["age"], "drug": "", "fame": []}).correct
    assert "drug" in check_adjustment_sets({"exercise": "age", "drug": "blood_pressure", "fame": ()}).message
    assert "fame" in check_adjustment_sets({"exercise": {"age"}, "drug": set(), "fame": {"fame"}}).message
    assert not check_adjustment_sets({"exercise": set(), "drug": set(), "fame": set()}).correct


def test_check_admissions():
    assert check_admissions(None, ADMISSIONS) == NOT_ATTEMPTED
    assert "crude" in check_admissions({"female": 557 / 1835, "male": 1198 / 2691}, ADMISSIONS).message
    feedback = check_admissions({"female": 0.429955, "male": 0.387319}, ADMISSIONS)
    assert feedback.correct and "women 43.0%, men 38.7%" in feedback.message
    assert not check_admissions({"female": 0.4}, ADMISSIONS).correct


SPARK_SCRIPT = """
from sparkcourse import get_spark
from sparkcourse.causal import backdoor_rates, frontdoor_rates, line_fits, rates, smoking_population
spark = get_spark("local[1]", scale="ci", log_file="jvm.log")
cars = spark.read.csv(r"{root}/datasets/cars.csv", header=True, inferSchema=True)
for x, y in [("speed", "dist"), ("dist", "speed")]:
    fit = line_fits(cars, x, y).iloc[0]
    print(f"{{y}} {{fit.intercept:.3f}} {{fit.slope:.4f}} {{fit.r2:.4f}}")
mtcars = spark.read.csv(r"{root}/datasets/mtcars.csv", header=True, inferSchema=True)
print("carb", " ".join(f"{{s:.3f}}" for s in line_fits(mtcars, "drat", "carb", by="cyl").slope))
people = smoking_population(spark, 400_000, 7)
strata = people.groupBy("genes", "smoking", "tar").count().toPandas()
strata = strata.merge(people.groupBy("genes", "smoking", "tar").sum("cancer").toPandas())
again = smoking_population(spark, 400_000, 7).groupBy("genes").count().orderBy("genes").collect()
first = people.groupBy("genes").count().orderBy("genes").collect()
print("same draws", first == again)
for name, rate in [("naive", rates(strata, ["smoking"], "sum(cancer)", "count")),
                   ("back", backdoor_rates(strata, "smoking", "genes", "sum(cancer)", "count")),
                   ("front", frontdoor_rates(strata, "smoking", "tar", "sum(cancer)", "count"))]:
    print(name, round(rate[1] - rate[0], 4))
do = [smoking_population(spark, 400_000, 7, smoking=s) for s in (0, 1)]
print("genes kept", do[0].select("genes").collect() == people.select("genes").collect())
print("do", round(do[1].agg({{"cancer": "avg"}}).first()[0] - do[0].agg({{"cancer": "avg"}}).first()[0], 4))
"""


@pytest.mark.slow
def test_spark_fits_and_simulation(tmp_path):
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    lines = printed_lines(SPARK_SCRIPT.format(root=root), cwd=tmp_path)
    # R: lm(dist ~ speed) -17.579, 3.932 (R² 0.6511); lm(speed ~ dist) 8.284, 0.1656
    assert lines[0] == "dist -17.579 3.9324 0.6511"
    assert lines[1] == "speed 8.284 0.1656 0.6511"
    assert lines[2] == "carb 0.318 2.988 1.817"
    assert lines[3] == "same draws True"
    effects = {line.split()[0]: float(line.split()[1]) for line in lines[4:7]}
    assert effects["naive"] == pytest.approx(0.2615, abs=0.01)
    assert effects["back"] == pytest.approx(TRUE_EFFECT, abs=0.01)
    assert effects["front"] == pytest.approx(TRUE_EFFECT, abs=0.01)
    assert lines[7] == "genes kept True"
    assert float(lines[8].split()[1]) == pytest.approx(TRUE_EFFECT, abs=0.005)
