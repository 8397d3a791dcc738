"""The SAS-like tables print what SAS prints for the documentation's own examples (the expected
figures below are copied from the SAS/STAT and Base SAS documentation), with pandas and Spark."""

import pandas as pd
import pytest
from test_spark import printed_lines

from sparkcourse.data.claims import FIRST_DAY, MEAN_AMOUNT, MISSING_SHARE, claims
from sparkcourse.exercises import NOT_ATTEMPTED
from sparkcourse.exercises.sas import (
    check_hair_tests,
    check_low_oxygen,
    check_member_totals,
    hair_tests,
    member_totals,
)
from sparkcourse.sas import (
    chisq,
    corr,
    crosstab,
    format_p,
    freq,
    means,
    proportions_test,
    sas_table,
)
from sparkcourse.sas.files import write_sas7bdat
from sparkcourse.sas.printing import best

ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]
FITNESS = pd.read_csv(ROOT / "datasets" / "fitness.csv", na_values=".")
COLOR = pd.read_csv(ROOT / "datasets" / "color.csv")
EYES, HAIR = ["blue", "green", "brown"], ["fair", "red", "medium", "dark", "black"]

# PROC FREQ, ORDER=DATA, TABLES Eyes*Hair / EXPECTED CELLCHI2 CHISQ; WEIGHT Count (printed BEST6.)
PRINTED_EXPECTED = [["66.425", "32.921", "63.22", "53.024", "6.4094"],
                    ["59.543", "29.51", "56.671", "47.53", "5.7454"],
                    ["102.03", "50.568", "97.109", "81.446", "9.8451"]]
PRINTED_CELL_CHI2 = [["0.0998", "0.7357", "0.3613", "0.0772", "0.0262"],
                     ["1.5019", "2.4422", "0.0492", "2.3329", "5.7454"],
                     ["1.4187", "0.2518", "0.0995", "1.935", "3.8478"]]


def test_crosstab_prints_sas_cells_and_chi_square():
    table = crosstab(COLOR, "Eyes", "Hair", "Count", row_order=EYES, column_order=HAIR)
    assert [[best(v, 6) for v in row] for row in table.expected.to_numpy()] == PRINTED_EXPECTED
    assert [[best(v, 6) for v in row] for row in table.cell_chi2.to_numpy()] == PRINTED_CELL_CHI2
    assert table.counts.to_numpy().sum() == 762
    statistics = chisq(table).set_index("Statistic")
    assert statistics.loc["Chi-Square", "DF"] == 8
    assert format_p(statistics.loc["Chi-Square", "Prob"]) == "0.0073"
    assert round(statistics.loc["Phi Coefficient", "Value"], 4) == 0.1657
    assert round(statistics.loc["Cramer's V", "Value"], 4) == 0.1172


def test_one_way_freq_with_weight():
    eyes = freq(COLOR, "Eyes", weight="Count")
    assert eyes.Frequency.to_dict() == {"blue": 222, "brown": 341, "green": 199}
    assert eyes.Percent.round(2).tolist() == [29.13, 44.75, 26.12]
    assert eyes["Cumulative Frequency"].iloc[-1] == 762
    unweighted = freq(COLOR, "Eyes")
    assert unweighted.Frequency.sum() == len(COLOR)


@pytest.mark.parametrize("region, value, p", [(1, "7.7602", "0.1008"), (2, "21.3824", "0.0003")])
def test_testp_by_region(region, value, p):
    hair = freq(COLOR[COLOR.Region == region], "Hair", "Count", order=HAIR)
    test = proportions_test(hair.Frequency, [30, 12, 30, 25, 3])
    assert (f"{test['Chi-Square']:.4f}", test.DF, format_p(test["Pr > ChiSq"])) == (value, 4, p)


def test_corr_prints_sas_simple_statistics_and_pairwise_n():
    result = corr(FITNESS, ["Age", "Weight", "Oxygen", "RunTime"])
    age, weight = result.simple.loc["Age"], result.simple.loc["Weight"]
    assert (age.N, f"{age.Mean:.5f}", f"{age['Std Dev']:.5f}", age.Sum) == (31, "47.67742", "5.21144", 1478)
    assert (weight.N, f"{weight.Mean:.5f}", f"{weight['Std Dev']:.5f}") == (31, "77.44452", "8.32857")
    assert f"{result.r.loc['Weight', 'Oxygen']:.5f}" == "-0.15358"
    assert f"{result.r.loc['Weight', 'RunTime']:.5f}" == "0.20072"
    assert f"{result.r.loc['Oxygen', 'RunTime']:.5f}" == "-0.86843"
    assert result.n.loc["Oxygen", "RunTime"] == 28 and result.n.loc["Weight", "Oxygen"] == 29
    assert format_p(result.p.loc["Oxygen", "RunTime"]) == "<.0001"
    assert "<.0001" in sas_table(result.table(), 5)


def test_means_leaves_out_missing_class_levels_and_counts_non_missing_values():
    data = pd.DataFrame({"group": ["a", "a", None, "b"], "x": [1.0, None, 5.0, 3.0]})
    table = means(data, ["x"], ["group"])
    assert table.group.tolist() == ["a", "b"]
    assert table["N Obs"].tolist() == [2, 1] and table.N.tolist() == [1, 1]
    overall = means(data, ["x"])
    assert overall.N.item() == 3 and overall.Mean.item() == 3.0 and overall["Std Dev"].item() == 2.0


def test_sas_table_and_best():
    assert [best(v, 6) for v in (9.845144, -0.15358, 0.0, 1234567.8)] == ["9.8451", "-0.154", "0", "1234568"]
    frame = pd.DataFrame({"N": [3], "Mean": [1.23456], "Prob": [0.00001]}, index=["x"])
    assert sas_table(frame, {"Mean": 2}).splitlines()[1].split() == ["x", "3", "1.23", "<.0001"]


def test_sas7bdat_written_here_reads_back_with_pandas_and_pyreadstat(tmp_path):
    import pyreadstat

    frame = FITNESS.assign(Group=["old" if a > 48 else "young" for a in FITNESS.Age])
    path = tmp_path / "fitness.sas7bdat"
    write_sas7bdat(frame, path, label="Fitness", column_labels={"Age": "Age (years)"})
    by_pandas = pd.read_sas(path, encoding="utf-8")
    by_readstat, meta = pyreadstat.read_sas7bdat(str(path))
    expected = frame.astype({"Age": float})
    assert by_pandas.equals(expected) and by_readstat.equals(expected)
    assert meta.file_label == "Fitness" and meta.column_names_to_labels["Age"] == "Age (years)"


def test_claims_are_seeded_with_missing_amounts_and_true_means():
    data = claims(200_000, seed=3)
    assert data.equals(claims(200_000, seed=3))
    assert abs(data.amount.isna().mean() - MISSING_SHARE) < 0.003
    assert data.service_day.between(FIRST_DAY, FIRST_DAY + 365).all()
    assert data.groupby("member_id").region.nunique().max() == 1  # a member lives in one region
    table = means(data, ["amount"], ["service"]).set_index("service")
    for service, mean in MEAN_AMOUNT.items():
        assert abs(table.loc[service, "Mean"] / mean - 1) < 0.05


def test_exercise_checks():
    sample = claims(300, seed=1, members=20)
    expected = member_totals(sample)
    assert check_member_totals(None, sample) == NOT_ATTEMPTED
    assert check_member_totals(expected, sample).correct
    counted_amounts = expected.assign(n_claims=sample.groupby("member_id").amount.count().to_numpy())
    assert check_member_totals(counted_amounts, sample).status == "hint"

    tests = hair_tests(COLOR)
    assert [f"{v:.4f}" for v in tests["Chi-Square"]] == ["7.7602", "21.3824"]
    assert check_hair_tests(tests, COLOR).correct
    assert check_hair_tests(tests.assign(**{"Chi-Square": [7.0, 21.0]}), COLOR).status == "hint"
    assert check_hair_tests(None, COLOR) == NOT_ATTEMPTED

    assert check_low_oxygen(10, 2, FITNESS).correct
    assert "Spark's count" in check_low_oxygen(8, 2, FITNESS).message
    assert check_low_oxygen(10, 1, FITNESS).status == "hint"
    assert check_low_oxygen(None, None, FITNESS) == NOT_ATTEMPTED


SPARK_SCRIPT = """
import pandas as pd
from sparkcourse import get_spark
from sparkcourse.sas import corr, crosstab, match_merge, means, nodupkey, with_first_last, from_sas_date
spark = get_spark("local[1]", scale="ci", log_file="jvm.log")
fitness = pd.read_csv(r"{root}/datasets/fitness.csv", na_values=".")
color = pd.read_csv(r"{root}/datasets/color.csv")
fitness_sdf = spark.read.csv(r"{root}/datasets/fitness.csv", header=True, inferSchema=True, nullValue=".")
color_sdf = spark.read.csv(r"{root}/datasets/color.csv", header=True, inferSchema=True)
names = ["Age", "Weight", "Oxygen", "RunTime"]
on_spark, on_pandas = corr(fitness_sdf, names), corr(fitness, names)
print("corr", ((on_spark.r - on_pandas.r).abs().max().max() < 1e-12) and on_spark.n.equals(on_pandas.n))
tables = [crosstab(data, "Eyes", "Hair", "Count").counts for data in (color_sdf, color)]
print("crosstab", tables[0].equals(tables[1]))
grouped = fitness.assign(old=fitness.Age > 48)
a = means(spark.createDataFrame(grouped), ["Oxygen"], ["old"])
b = means(grouped, ["Oxygen"], ["old"])
numbers = ["N Obs", "N", "Mean", "Std Dev", "Minimum", "Maximum"]
print("means", a.old.equals(b.old) and ((a[numbers] - b[numbers]).abs().max().max() < 1e-9))
left = spark.createDataFrame(pd.DataFrame({{"id": [1, 1, 2, 3, 3, 3], "visit": list("abcdef")}}))
labs = ["L1", "L2", "L3", "L4", "L5", "L6"]
right = spark.createDataFrame(pd.DataFrame({{"id": [1, 2, 2, 3, 3, 4], "lab": labs}}))
print("merge", [tuple(r) for r in match_merge(left, right, ["id"]).collect()])
rows = spark.createDataFrame(pd.DataFrame({{"id": [2, 1, 2, 1], "day": [5, 3, 1, 3], "row": [0, 1, 2, 3]}}))
flags = with_first_last(rows, ["id"], ["day", "row"]).orderBy("id", "day", "row")
print("flags", [(r.row, r.first_id, r.last_id) for r in flags.collect()])
print("nodupkey", [r.row for r in nodupkey(rows, ["id"], "row").collect()])
days = spark.createDataFrame([(0,), (23376,)], "day int").select(from_sas_date("day").alias("d"))
print("dates", [str(r.d) for r in days.collect()])
"""


@pytest.mark.slow
def test_spark_translations_match_pandas_and_sas_semantics(tmp_path):
    lines = printed_lines(SPARK_SCRIPT.format(root=ROOT), cwd=tmp_path)
    assert lines[:3] == ["corr True", "crosstab True", "means True"]
    # SAS's match-merge pairs rows by position inside a BY group and repeats a data set's last row
    assert lines[3] == ("merge [(1, 'a', 'L1'), (1, 'b', 'L1'), (2, 'c', 'L2'), (2, 'c', 'L3'), "
                        "(3, 'd', 'L4'), (3, 'e', 'L5'), (3, 'f', 'L5'), (4, None, 'L6')]")
    assert lines[4] == "flags [(1, True, False), (3, False, True), (2, True, False), (0, False, True)]"
    assert lines[5] == "nodupkey [1, 0]"
    assert lines[6] == "dates ['1960-01-01', '2024-01-01']"
