"""Spark's Maven packages: the one list, fetched once at set-up into a cache the course owns.

Set-up (`make setup`, the Docker build, Binder's postBuild) runs `python -m sparkcourse.packages`,
which resolves every package below with Spark's own resolver (Ivy) from Maven Central into
`package_cache()`. Sessions then resolve them from that cache, offline.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from .params import CourseError

# name -> Maven coordinate, for the pinned pyspark 4.2 (Scala 2.13). Versions live here only.
MAVEN_PACKAGES = {
    "delta": "io.delta:delta-spark_4.2_2.13:4.4.0",
    "kafka": "org.apache.spark:spark-sql-kafka-0-10_2.13:4.2.0",  # Spark's Kafka source and sink
}
# Not for Spark: the jars of a Kafka broker (workshop 12's `LocalKafka`), Apache's own build, with
# log4j 2 as its logger, since Kafka only ships the logging API.
KAFKA_BROKER = ("org.apache.kafka:kafka_2.13:4.1.1", "org.apache.logging.log4j:log4j-slf4j-impl:2.24.3")
# The settings a session needs, beyond the jars, for each package.
PACKAGE_CONF = {
    "delta": {
        "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
        "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
    },
}
FETCH_TIMEOUT = 900  # seconds: a first download of every jar on a slow line


class MissingPackageError(CourseError, RuntimeError):
    """A Maven package the notebook needs is not in the course's cache."""


def course_cache() -> Path:
    """What the course fetches or builds once per machine: ~/.cache/scaling-ml-spark (XDG)."""
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "scaling-ml-spark"


def package_cache() -> Path:
    """Spark's Ivy home for the course: `SPARKCOURSE_MAVEN_CACHE`, else under the course's cache."""
    return Path(os.environ.get("SPARKCOURSE_MAVEN_CACHE", course_cache() / "maven")).expanduser()


def coordinates(names) -> list[str]:
    unknown = sorted(set(names) - set(MAVEN_PACKAGES))
    if unknown:
        raise CourseError(f"unknown Spark package(s) {unknown}; the course has {sorted(MAVEN_PACKAGES)}")
    return [MAVEN_PACKAGES[name] for name in names]


def _fetched_list(cache: Path) -> Path:
    return cache / "fetched.txt"


def fetched(cache: Path | None = None) -> set[str]:
    """The coordinates a successful fetch put in the cache."""
    path = _fetched_list(cache or package_cache())
    return set(path.read_text().split()) if path.exists() else set()


_FETCHED_LOCK = threading.Lock()  # set-up fetches Spark's packages and the broker at once


def _mark_fetched(cache: Path, done) -> None:
    with _FETCHED_LOCK:
        _fetched_list(cache).write_text("\n".join(sorted(fetched(cache) | set(done))) + "\n")


def session_conf(names) -> dict[str, str]:
    """The settings that give a new session these packages, resolved from the cache only.

    Raises MissingPackageError, with what to run, when one was never fetched."""
    if not names:
        return {}
    wanted, cache = coordinates(names), package_cache()
    missing = [coordinate for coordinate in wanted if coordinate not in fetched(cache)]
    if missing:
        raise MissingPackageError(
            f"Spark package {', '.join(missing)} is not in the course's cache ({cache}): run "
            "`make setup` (or `python -m sparkcourse.packages`) once with access to Maven Central")
    conf = {"spark.jars.packages": ",".join(wanted), "spark.jars.ivy": str(cache),
            "spark.jars.ivySettings": str(_offline_settings(cache))}
    shipped = shipped_by_spark(cache)
    if shipped:
        conf["spark.jars.excludes"] = ",".join(shipped)
    for name in names:
        conf |= PACKAGE_CONF.get(name, {})
    return conf


_JAR = re.compile(r"(?P<artifact>.+?)-(?P<version>\d[^/]*)\.jar")  # delta-spark_4.2_2.13-4.4.0.jar


def shipped_by_spark(cache: Path | None = None) -> list[str]:
    """The fetched dependencies that pyspark already ships, as `group:artifact`.

    Delta's jars pull in Hadoop's client, Parquet, Jackson, log4j... in older versions than
    Spark's own. Excluding them keeps a second, older copy off the classpath (Spark loads its
    own first anyway), and the jars that executors download from the driver 75 MB lighter."""
    from pyspark.find_spark_home import _find_spark_home

    spark_jars = Path(_find_spark_home()) / "jars"
    ours = {m["artifact"] for m in map(_JAR.fullmatch, (p.name for p in spark_jars.glob("*.jar"))) if m}
    excluded = []
    for jar in sorted(((cache or package_cache()) / "jars").glob("*.jar")):
        group, _, rest = jar.name.partition("_")  # Ivy names them group_artifact-version.jar
        match = _JAR.fullmatch(rest)
        if match and match["artifact"] in ours:
            excluded.append(f"{group}:{match['artifact']}")
    return excluded


def _offline_settings(cache: Path) -> Path:
    """Ivy settings that resolve from the cache alone: no network at session start."""
    return cache / "offline-ivysettings.xml"


OFFLINE_SETTINGS = """<ivysettings>
  <settings defaultResolver="course-cache"/>
  <caches defaultCacheDir="{cache}/cache" useOrigin="true"/>
  <resolvers>
    <filesystem name="course-cache" checkmodified="false">
      <ivy pattern="{cache}/cache/[organisation]/[module]/ivy-[revision].xml"/>
      <artifact
        pattern="{cache}/cache/[organisation]/[module]/[type]s/[artifact]-[revision](-[classifier]).[ext]"/>
    </filesystem>
  </resolvers>
</ivysettings>
"""


def fetch(names=None, cache: Path | None = None, timeout: int = FETCH_TIMEOUT) -> list[str]:
    """Download the packages (all by default) and their dependencies into the cache, once.

    Returns the coordinates fetched now (empty when all were there already)."""
    cache = cache or package_cache()
    wanted = coordinates(names or list(MAVEN_PACKAGES))
    todo = [coordinate for coordinate in wanted if coordinate not in fetched(cache)]
    if not todo:
        return []
    cache.mkdir(parents=True, exist_ok=True)
    _resolve_online(todo, cache, timeout)
    _offline_settings(cache).write_text(OFFLINE_SETTINGS.format(cache=cache))
    _mark_fetched(cache, todo)
    return todo


def _resolve_online(todo: list[str], cache: Path, timeout: int) -> None:
    """spark-submit resolves `--packages` (then runs an empty script): the jars land in `cache`."""
    from pyspark.find_spark_home import _find_spark_home

    with tempfile.TemporaryDirectory() as scratch:
        script = Path(scratch) / "nothing.py"
        script.write_text("")
        command = [str(Path(_find_spark_home()) / "bin" / "spark-submit"), "--master", "local[1]",
                   "--packages", ",".join(todo), "--conf", f"spark.jars.ivy={cache}", str(script)]
        env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "SPARK_LOCAL_IP": "127.0.0.1"}
        try:
            result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)
        except subprocess.TimeoutExpired:
            raise MissingPackageError(f"fetching {', '.join(todo)} took over {timeout} s") from None
    if result.returncode != 0:
        raise MissingPackageError(f"could not fetch {', '.join(todo)} from Maven Central: "
                                  f"{_reason(result.stderr)}")


def broker_folder(cache: Path | None = None) -> Path:
    return (cache or package_cache()) / "kafka-broker"


def broker_classpath(cache: Path | None = None) -> str:
    """The Kafka broker's classpath; raises MissingPackageError when set-up never fetched it."""
    folder = broker_folder(cache)
    if set(KAFKA_BROKER) - fetched(cache):
        raise MissingPackageError(
            f"the Kafka broker's jars are not in the course's cache ({folder}): run `make setup` "
            "(or `python -m sparkcourse.packages`) once with access to Maven Central")
    return str(folder / "jars" / "*")


def fetch_broker(cache: Path | None = None, timeout: int = FETCH_TIMEOUT) -> list[str]:
    """Download the Kafka broker's jars and their dependencies into the cache, once."""
    cache = cache or package_cache()
    if not set(KAFKA_BROKER) - fetched(cache):
        return []
    _resolve_with_ivy(KAFKA_BROKER, broker_folder(cache), timeout)
    _mark_fetched(cache, KAFKA_BROKER)
    return list(KAFKA_BROKER)


IVY_MODULE = """<ivy-module version="2.0">
  <info organisation="course" module="kafka-broker"/>
  <dependencies>
{dependencies}
  </dependencies>
</ivy-module>
"""
IVY_DEPENDENCY = '    <dependency org="{0}" name="{1}" rev="{2}" conf="default->default"/>'
MAVEN_CENTRAL_SETTINGS = """<ivysettings>
  <settings defaultResolver="central"/>
  <caches defaultCacheDir="{folder}/ivy-cache"/>
  <resolvers><ibiblio name="central" m2compatible="true" root="https://repo1.maven.org/maven2/"/></resolvers>
</ivysettings>
"""


def _resolve_with_ivy(wanted, folder: Path, timeout: int) -> None:
    """Ivy's command line (the jar pyspark ships) resolves `wanted` into `folder`/jars."""
    from pyspark.find_spark_home import _find_spark_home

    from .java import find_java

    ivy_jar = next((Path(_find_spark_home()) / "jars").glob("ivy-*.jar"))
    folder.mkdir(parents=True, exist_ok=True)
    module, settings = folder / "ivy.xml", folder / "ivysettings.xml"
    module.write_text(IVY_MODULE.format(dependencies="\n".join(
        IVY_DEPENDENCY.format(*coordinate.split(":")) for coordinate in wanted)))
    settings.write_text(MAVEN_CENTRAL_SETTINGS.format(folder=folder))
    command = [find_java() or "java", "-jar", str(ivy_jar), "-settings", str(settings), "-ivy", str(module),
               "-confs", "default", "-retrieve", f"{folder}/jars/[artifact]-[revision](-[classifier]).[ext]"]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise MissingPackageError(f"fetching {', '.join(wanted)} took over {timeout} s") from None
    if result.returncode != 0:
        raise MissingPackageError(f"could not fetch {', '.join(wanted)} from Maven Central: "
                                  f"{_reason(result.stdout + result.stderr)}")
    shutil.rmtree(folder / "ivy-cache", ignore_errors=True)  # the jars are in folder/jars now


def _reason(log: str) -> str:
    """The line of Ivy's output that says why a resolution failed."""
    for pattern in (r"unresolved dependency: .*", r"Server access error.*", r"[\w.]+Exception: .*"):
        match = re.search(pattern, log)
        if match:
            return match.group(0).strip()
    lines = log.strip().splitlines()
    return lines[-1] if lines else "spark-submit failed"


def main() -> int:
    from concurrent.futures import ThreadPoolExecutor

    try:  # both at once: each spends most of its time waiting for Maven Central
        with ThreadPoolExecutor(2) as pool:
            spark_packages, kafka_broker = pool.submit(fetch), pool.submit(fetch_broker)
            done, broker = spark_packages.result(), kafka_broker.result()
    except CourseError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    cache = package_cache()
    if done:
        jars = _megabytes(cache / "jars")
        print(f"Spark packages fetched: {', '.join(done)} ({jars} MB of jars in {cache})")
    if broker:
        folder = broker_folder(cache) / "jars"
        print(f"Kafka broker fetched: {', '.join(broker)} ({_megabytes(folder)} MB of jars in {folder})")
    return 0


def _megabytes(folder: Path) -> int:
    return round(sum(jar.stat().st_size for jar in folder.glob("*.jar")) / 1e6)


if __name__ == "__main__":
    sys.exit(main())
