"""Delta Lake on Spark (workshop 06): the package cache, the helpers and the exercise checks.

The checks' every wrong answer is tested on a fake of the few Delta calls they make (FakeDelta);
their right answers and Delta itself are checked by workshop 06's own run against its committed
outputs, and the student version ("not attempted") on a cluster. What the lesson shows itself
(concurrent writers, schema enforcement and evolution, CHECK violations, MERGE, the change data
feed, history, time travel, Z-order, VACUUM, streaming exactly once) is checked by those runs too.
Offline start-up is tested without starting Spark."""

import shutil
import subprocess
import sys
import threading
import time
from types import SimpleNamespace

import pandas as pd
import pytest

from sparkcourse import get_spark
from sparkcourse.data.subscriptions import apply_feed, change_feed, newcomers, subscriber_months
from sparkcourse.delta import _compact, subfolder, wait_for_file
from sparkcourse.exercises import NOT_ATTEMPTED
from sparkcourse.exercises.delta import CONSTRAINT, check_constraint, check_merge, check_restore, constraints
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


class FakeDelta:
    """The few Delta Lake calls the exercise checks make, on pandas frames: tables with versions,
    a history, and CHECK constraints (a SQL text and the Python rule it stands for) that refuse
    a write as Delta does. Delta itself answers the checks in workshop 06's own runs; this tests
    every wrong answer a learner may give, in milliseconds."""

    def __init__(self, **tables: pd.DataFrame):
        self.versions = {name: [frame] for name, frame in tables.items()}
        self.operations = {name: ["CREATE TABLE AS SELECT"] for name in tables}
        self.rules = {name: {} for name in tables}
        self.read = self

    def commit(self, table: str, frame: pd.DataFrame, operation: str) -> None:
        self.versions[table].append(frame.reset_index(drop=True))
        self.operations[table].append(operation)

    def add_constraint(self, table: str, name: str, sql: str, rule) -> None:
        self.rules[table][name] = (sql, rule)
        self.commit(table, self.versions[table][-1], "ADD CONSTRAINT")

    def drop_constraint(self, table: str, name: str) -> None:
        del self.rules[table][name]
        self.commit(table, self.versions[table][-1], "DROP CONSTRAINT")

    def sql(self, statement: str):
        words = statement.split()
        if statement.startswith("SHOW TBLPROPERTIES"):
            rules = self.rules[words[2]].items()
            return Rows([SimpleNamespace(key=CONSTRAINT + name, value=sql) for name, (sql, _) in rules])
        if statement.startswith("CREATE OR REPLACE TABLE"):  # ... SHALLOW CLONE source
            clone, source = words[4], words[-1]
            self.versions[clone], self.operations[clone] = [self.versions[source][-1]], ["CLONE"]
            self.rules[clone] = dict(self.rules[source])
        elif statement.startswith("DROP TABLE IF EXISTS"):
            for store in (self.versions, self.operations, self.rules):
                store.pop(words[-1], None)
        elif statement.startswith("DESCRIBE HISTORY"):
            newest = [SimpleNamespace(version=v, operation=operation)
                      for v, operation in reversed(list(enumerate(self.operations[words[2]])))]
            return Rows(newest[:int(words[-1])] if "LIMIT" in words else newest)
        else:
            raise AssertionError(f"not faked: {statement}")
        return Rows([])

    def createDataFrame(self, rows: pd.DataFrame):  # noqa: N802 - Spark's name
        return Writer(self, rows)

    def table(self, name: str, version: int | None = None):
        frame = self.versions[name][-1 if version is None else version]
        return SimpleNamespace(toPandas=frame.copy)

    def option(self, key: str, version: int):  # spark.read.option("versionAsOf", v).table(name)
        return SimpleNamespace(table=lambda name: self.table(name, version))


class Rows(list):
    """What `spark.sql(...)` returns, as far as the checks use it."""

    def collect(self):
        return list(self)

    def first(self):
        return self[0]


class Writer:
    def __init__(self, spark: FakeDelta, rows: pd.DataFrame):
        self.spark, self.rows = spark, rows
        self.write = self

    def format(self, _):
        return self

    def mode(self, _):
        return self

    def saveAsTable(self, table: str) -> None:  # noqa: N802 - Spark's name
        for name, (sql, rule) in self.spark.rules[table].items():
            broken = self.rows[~self.rows.apply(rule, axis=1)]
            if len(broken):
                raise RuntimeError(f"[DELTA_VIOLATE_CONSTRAINT_WITH_VALUES] CHECK constraint {name} ({sql}) "
                                   f"violated by row with values:\n - age : {broken.age.iloc[0]}")
        current = self.spark.versions[table][-1]
        self.spark.commit(table, pd.concat([current, self.rows]), "WRITE")


@pytest.fixture
def month():
    return subscriber_months(300, seed=5).months[0]


def test_constraint_check_accepts_only_a_rule_that_stops_every_bad_row(month):
    spark = FakeDelta(subscribers=month)
    good, bad = month.head(3).assign(age=[18, 60, 120]), month.head(4).assign(age=[0, 17, 121, 250])
    assert check_constraint(spark, "subscribers", bad, good, before={}) == NOT_ATTEMPTED
    spark.add_constraint("subscribers", "positive_age", "age > 0", lambda row: row.age > 0)
    loose = check_constraint(spark, "subscribers", bad, good, before={})
    assert loose.status == "hint" and "age 17, 121, 250 got through" in loose.message
    before = constraints(spark, "subscribers")
    assert before == {"positive_age": "age > 0"}
    spark.add_constraint("subscribers", "too_strict", "age BETWEEN 18 AND 119",
                         lambda row: 18 <= row.age <= 119)
    strict = check_constraint(spark, "subscribers", bad, good, before=before)
    assert strict.status == "hint" and "too strict" in strict.message
    spark.drop_constraint("subscribers", "too_strict")
    spark.add_constraint("subscribers", "adult", "age BETWEEN 18 AND 120", lambda row: 18 <= row.age <= 120)
    assert check_constraint(spark, "subscribers", bad, good, before=before).correct
    assert len(spark.table("subscribers").toPandas()) == len(month), "the checks wrote to a clone"
    assert set(spark.versions) == {"subscribers"}, "the clone is dropped"


def test_merge_check_names_what_is_missing(month):
    spark = FakeDelta(crm=month)
    feed = change_feed(month, seed=1, updates=12, deletes=4, inserts=6,
                       new_customers=newcomers(6, seed=2, first_id=10_000))
    expected = apply_feed(month, feed)
    assert check_merge(spark, "crm", expected, version_before=0) == NOT_ATTEMPTED
    spark.commit("crm", month.head(10), "DELETE")
    assert "no MERGE commit since version 0" in check_merge(spark, "crm", expected, version_before=0).message
    spark.commit("crm", apply_feed(month, feed[feed.op == "update"]), "MERGE")
    assert "customers missing" in check_merge(spark, "crm", expected, version_before=1).message
    spark.commit("crm", expected.assign(op="insert"), "MERGE")
    assert "do not insert the `op` column" in check_merge(spark, "crm", expected, version_before=2).message
    spark.commit("crm", expected.assign(monthly_fee=expected.monthly_fee + 1), "MERGE")
    assert "some values differ" in check_merge(spark, "crm", expected, version_before=3).message
    spark.commit("crm", expected.sample(frac=1, random_state=0), "MERGE")
    assert check_merge(spark, "crm", expected, version_before=4).correct  # in any row order


def test_restore_check_names_the_version(month):
    spark = FakeDelta(subscribers=month)
    spark.commit("subscribers", pd.concat([month, month.head(50)]), "WRITE")  # the bad write: version 1
    assert check_restore(spark, "subscribers", None, 1) == NOT_ATTEMPTED
    assert "not the one just before" in check_restore(spark, "subscribers", 1, 1).message
    assert "not a RESTORE" in check_restore(spark, "subscribers", 0, 1).message
    spark.commit("subscribers", month.head(5), "RESTORE")
    assert "rows differ from version 0" in check_restore(spark, "subscribers", 0, 1).message
    spark.commit("subscribers", month, "RESTORE")
    restored = check_restore(spark, "subscribers", 0, 1)
    assert restored.correct and restored.message.startswith("version 3 holds the rows of version 0")


def test_wait_for_file_returns_when_it_appears_or_gives_up(tmp_path):
    signal = tmp_path / "b_committed"
    threading.Timer(0.3, signal.touch).start()
    start = time.monotonic()
    assert wait_for_file(signal, seconds=10) and time.monotonic() - start < 5
    start = time.monotonic()
    assert not wait_for_file(tmp_path / "never", seconds=0.3)
    assert 0.3 <= time.monotonic() - start < 2


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
