"""Delta Lake on Spark (workshop 06): the package cache, the helpers and the exercise checks.

One Spark session (local[1], in a subprocess) answers the exercise checks wrongly, then rightly,
and prints what they said as JSON; the expectations below read their part. What the lesson shows
itself (concurrent writers, schema enforcement and evolution, CHECK violations, MERGE, the change
data feed, history, time travel, Z-order, VACUUM, streaming exactly once) is checked by workshop
06's own run against its committed outputs, and by its student version on a cluster. Offline
start-up is tested without starting Spark."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from test_spark import run_python

from sparkcourse import get_spark
from sparkcourse.delta import _compact, subfolder
from sparkcourse.packages import (
    MAVEN_PACKAGES,
    MissingPackageError,
    _reason,
    fetch,
    session_conf,
    shipped_by_spark,
)
from sparkcourse.params import CourseError, ParameterError
from sparkcourse.spark import SparkStartError, require_packages

ROOT = Path(__file__).resolve().parents[1]

SCENARIOS = r'''
import json
from pathlib import Path

from sparkcourse import get_spark
from sparkcourse.data.subscriptions import apply_feed, change_feed, newcomers, subscriber_months
from sparkcourse.delta import catalog_conf, reset_catalog, version
from sparkcourse.exercises.delta import check_constraint, check_merge, check_restore, constraints
from sparkcourse.notebook import quiet_python

quiet_python()
folder = Path("tables").absolute()
folder.mkdir()
spark = get_spark("local[1]", "delta-tests", log_file="jvm.log", conf=catalog_conf(folder),
                  packages=("delta",))
reset_catalog(spark, folder)
seen = {}
data = subscriber_months(2000, seed=5)
month = data.months[0]
spark.createDataFrame(month).write.format("delta").saveAsTable("subscribers")

# The constraint check: a loose rule, a strict one, the right one.
good, bad = month.head(3).assign(age=[18, 60, 120]), month.head(4).assign(age=[0, 17, 121, 250])
rows = spark.table("subscribers").count()
feedback = [repr(check_constraint(spark, "subscribers", bad, good, before={}))]
spark.sql("ALTER TABLE subscribers ADD CONSTRAINT positive_age CHECK (age > 0)")
feedback.append(repr(check_constraint(spark, "subscribers", bad, good, before={})))
loose = constraints(spark, "subscribers")
spark.sql("ALTER TABLE subscribers ADD CONSTRAINT too_strict CHECK (age BETWEEN 18 AND 119)")
feedback.append(repr(check_constraint(spark, "subscribers", bad, good, before=loose)))
spark.sql("ALTER TABLE subscribers DROP CONSTRAINT too_strict")
spark.sql("ALTER TABLE subscribers ADD CONSTRAINT adult CHECK (age BETWEEN 18 AND 120)")
feedback.append(repr(check_constraint(spark, "subscribers", bad, good, before=loose)))
seen["constraint_feedback"] = feedback
seen["rows_unchanged"] = spark.table("subscribers").count() == rows
seen["tables"] = sorted(t.name for t in spark.catalog.listTables())

# The MERGE check: nothing yet, updates only, the whole feed.
spark.sql("CREATE TABLE crm USING delta TBLPROPERTIES (delta.enableChangeDataFeed = true, "
          "delta.enableDeletionVectors = true) AS SELECT * FROM subscribers")
current = spark.table("crm").toPandas()
feed = change_feed(current, seed=1, updates=12, deletes=4, inserts=6,
                   new_customers=newcomers(6, seed=2, first_id=10_000))
expected = apply_feed(current, feed)
merge = ["not yet: " + repr(check_merge(spark, "crm", expected, version_before=0))]
spark.createDataFrame(feed[feed.op == "update"]).createOrReplaceTempView("updates_only")
spark.sql("MERGE INTO crm t USING updates_only s ON t.customer_id = s.customer_id "
          "WHEN MATCHED THEN UPDATE SET *")
merge.append("updates only: " + repr(check_merge(spark, "crm", expected, version_before=0)))
spark.sql("RESTORE TABLE crm TO VERSION AS OF 0")
restored = version(spark, "crm")
spark.createDataFrame(feed).createOrReplaceTempView("feed")
spark.sql("""MERGE INTO crm t USING feed s ON t.customer_id = s.customer_id
WHEN MATCHED AND s.op = 'delete' THEN DELETE WHEN MATCHED AND s.op = 'update' THEN UPDATE SET *
WHEN NOT MATCHED AND s.op = 'insert' THEN INSERT *""")
merge.append("whole feed: " + repr(check_merge(spark, "crm", expected, version_before=restored)))
seen["merge"] = merge

# The RESTORE check.
spark.createDataFrame(month.head(50)).write.format("delta").mode("append").saveAsTable("subscribers")
bad_version = version(spark, "subscribers")
restore = [repr(check_restore(spark, "subscribers", None, bad_version)),
           repr(check_restore(spark, "subscribers", bad_version - 2, bad_version)),
           repr(check_restore(spark, "subscribers", bad_version - 1, bad_version))]
spark.sql(f"RESTORE TABLE subscribers TO VERSION AS OF {bad_version - 1}")
restore.append(repr(check_restore(spark, "subscribers", bad_version - 1, bad_version)))
seen["restore"] = restore

seen["all_tables"] = sorted(table.name for table in spark.catalog.listTables() if not table.isTemporary)
seen["java_options"] = spark.sparkContext.getConf().get("spark.driver.extraJavaOptions")
seen["derby_log"] = {"cwd": Path("derby.log").exists(), "folder": (folder / "derby.log").exists()}
print(json.dumps(seen))
'''


def expect_constraint_check_accepts_only_a_rule_that_stops_every_bad_row(seen):
    not_yet, loose, strict, right = seen["constraint_feedback"]
    assert not_yet.startswith("… not attempted yet")
    assert loose.startswith("✘") and "121, 250" in loose and "17" in loose  # age > 0 lets them through
    assert strict.startswith("✘") and "too strict" in strict
    assert right.startswith("✔ correct")
    assert seen["rows_unchanged"] and "subscribers_constraint_check" not in seen["tables"]


def expect_merge_check_names_what_is_missing(seen):
    not_yet, updates_only, whole = seen["merge"]
    assert "not attempted" in not_yet
    assert "customers missing" in updates_only
    assert whole.endswith("✔ correct")


def expect_restore_check_names_the_version(seen):
    none, wrong, not_restored, restored = seen["restore"]
    assert none.startswith("… not attempted") and "not the one just before" in wrong
    assert "not a RESTORE" in not_restored and restored.startswith("✔ correct")


def expect_the_catalog_lives_in_the_notebooks_folder(seen):
    assert "log4j2.properties" in seen["java_options"] and "derby.stream.error.file" in seen["java_options"]
    assert seen["derby_log"] == {"cwd": False, "folder": True}
    assert seen["all_tables"] == ["crm", "subscribers"]


@pytest.mark.slow
def test_delta_on_spark(tmp_path, subtests):
    """One Spark run of the scenarios (a fixture shared by several tests would run once per
    pytest-xdist worker), then each expectation as a subtest of its own."""
    result = run_python(SCENARIOS, cwd=tmp_path, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stderr == "", result.stderr[-3000:]  # quiet: nothing reaches a notebook cell
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    for expectation in (expect_constraint_check_accepts_only_a_rule_that_stops_every_bad_row,
                        expect_merge_check_names_what_is_missing,
                        expect_restore_check_names_the_version,
                        expect_the_catalog_lives_in_the_notebooks_folder):
        with subtests.test(expectation.__name__):
            expectation(seen)


def test_missing_package_cache_is_one_line_before_any_jvm(tmp_path, monkeypatch):
    monkeypatch.setenv("SPARKCOURSE_MAVEN_CACHE", str(tmp_path / "empty"))
    with pytest.raises(MissingPackageError) as failure:
        session_conf(["delta"])
    message = str(failure.value)
    assert MAVEN_PACKAGES["delta"] in message and "make setup" in message and "\n" not in message
    with pytest.raises(MissingPackageError):
        get_spark("local[1]", log_file=tmp_path / "jvm.log", packages=("delta",))
    assert not (tmp_path / "jvm.log").exists(), "no JVM was started"


def test_unknown_package_and_ivy_failure_reason():
    with pytest.raises(CourseError, match="unknown Spark package"):
        session_conf(["kafka-typo"])
    log = ":: loading settings\n:: UNRESOLVED DEPENDENCIES ::\nunresolved dependency: io.delta#x;9: not found"
    assert _reason(log) == "unresolved dependency: io.delta#x;9: not found"


def test_a_session_started_without_a_package_is_refused(monkeypatch):
    class Session:
        class conf:  # noqa: N801 - shaped like SparkSession.conf
            get = staticmethod(lambda key, default=None: "")

    monkeypatch.delenv("DATABRICKS_RUNTIME_VERSION", raising=False)
    with pytest.raises(SparkStartError, match="restart the kernel"):
        require_packages(Session, ("delta",))
    monkeypatch.setenv("DATABRICKS_RUNTIME_VERSION", "17.3")  # Delta is built in there
    require_packages(Session, ("delta",))


@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs unshare for a network namespace")
def test_fetch_without_network_says_so_in_one_line(tmp_path):
    code = "from sparkcourse.packages import main; import sys; sys.exit(main())"
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("this machine does not allow network namespaces")
    env = {"SPARKCOURSE_MAVEN_CACHE": str(tmp_path), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    result = subprocess.run(["unshare", "-n", sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120, env=env)
    assert result.returncode == 1
    assert result.stderr.startswith("error: could not fetch io.delta:") and "Maven Central" in result.stderr
    assert result.stderr.count("\n") == 1


def test_jars_that_spark_ships_are_excluded_from_a_session(tmp_path, monkeypatch):
    jars = tmp_path / "jars"
    jars.mkdir()
    for name in ("org.apache.hadoop_hadoop-client-api-3.4.2.jar", "io.delta_delta-spark_4.2_2.13-4.4.0.jar",
                 "com.github.luben_zstd-jni-1.5.7-3.jar", "io.unitycatalog_unitycatalog-client-0.6.0.jar"):
        (jars / name).touch()
    expected = ["com.github.luben:zstd-jni", "org.apache.hadoop:hadoop-client-api"]
    assert shipped_by_spark(tmp_path) == expected
    (tmp_path / "fetched.txt").write_text(MAVEN_PACKAGES["delta"] + "\n")
    monkeypatch.setenv("SPARKCOURSE_MAVEN_CACHE", str(tmp_path))
    assert session_conf(["delta"])["spark.jars.excludes"] == ",".join(expected)


def test_fetch_does_nothing_when_cached(tmp_path):
    (tmp_path / "fetched.txt").write_text("\n".join(MAVEN_PACKAGES.values()) + "\n")
    assert fetch(cache=tmp_path) == []


def test_history_hides_expression_ids():
    assert _compact({"predicate": '["(customer_id#1234L = 5)"]', "other": "x"}, ("predicate",)) == (
        'predicate=["(customer_id = 5)"]')


def test_table_root_stays_inside_the_work_folder(tmp_path):
    assert subfolder(tmp_path, "tables") == (tmp_path / "tables").resolve()
    for name in ("", "..", "../elsewhere", "/tmp/x"):
        with pytest.raises(ParameterError, match="table_root"):
            subfolder(tmp_path, name)
