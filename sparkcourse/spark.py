"""One SparkSession for every notebook: local, a standalone master, or one already running.

The JVM's stderr (banner, WARN lines) goes to a log file, never into notebook cells.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import sys
import tempfile
import urllib.request
from functools import cache
from pathlib import Path

from .java import JavaError, java_version
from .params import SCALES, CourseError, Scale, check_master

CONF_DIR = Path(__file__).parent / "conf"
JAVA_OPTIONS = "spark.driver.extraJavaOptions"
EXECUTOR_JAVA_OPTIONS = "spark.executor.extraJavaOptions"
# C1 only: a JVM that lives a minute spends more CPU in C2, the optimizing compiler, than C2's
# code gives back. `ci` runs on one core: workshop 01 77 s -> 50 s, 06 246 s -> 218 s. At
# `small`, C2 pays: 06 took 203 s with C1 only, 162 and 187 s without.
QUICK_JIT = "-XX:TieredStopAtLevel=1"
WAREHOUSE = "spark.sql.warehouse.dir"  # where managed tables go (a new session's setting)
# The course's settings that a running session can take at run time (SQL settings).
SESSION_SETTINGS = (
    "spark.sql.shuffle.partitions",
    "spark.sql.session.timeZone",
    "spark.sql.execution.arrow.pyspark.enabled",
    "spark.sql.execution.pythonUDF.arrow.enabled",
)
# Set to JupyterLab's base URL where learners reach this machine's ports only through JupyterLab
# (jupyter-server-proxy's /proxy/<port>/): the course image sets "/"; Binder has its own prefix.
UI_PROXY_VARIABLES = ("SPARKCOURSE_UI_PROXY", "JUPYTERHUB_SERVICE_PREFIX")
# The local driver's heap instead of the scale's, e.g. "1g": Binder's `start` sets it, since a
# Binder session has 2 GB for everything (the kernel, the JVM, Python workers, servers).
DRIVER_MEMORY_VARIABLE = "SPARKCOURSE_DRIVER_MEMORY"
_log_file: Path | None = None


class SparkStartError(CourseError, RuntimeError):
    """Spark could not start; the message says why and where the log is."""


def driver_memory(scale: Scale) -> str:
    """The local driver's heap: SPARKCOURSE_DRIVER_MEMORY when set (e.g. 1g), else the scale's."""
    value = os.environ.get(DRIVER_MEMORY_VARIABLE, "").strip()
    if value and not re.fullmatch(r"[1-9]\d*[mg]", value):
        raise SparkStartError(f"{DRIVER_MEMORY_VARIABLE} must look like 1g or 768m; got {value!r}")
    return value or scale.driver_memory


def usable_cores() -> int:
    """Cores this process may use: CPU affinity and a cgroup quota both count (containers)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()
        if quota != "max":
            cores = min(cores, max(1, int(quota) // int(period)))
    except (OSError, ValueError):
        pass
    return max(1, cores or 1)


def resolve_master(master: str) -> str:
    """`local` and `local[*]` become `local[N]` with N the cores this machine gives us."""
    master = check_master(master)
    if master in ("local[*]", "local"):
        return f"local[{usable_cores()}]" if master == "local[*]" else "local[1]"
    return master


def server_addresses(master: str) -> list[tuple[str, int]]:
    """(host, port) of each master in a `spark://h1:p1,h2:p2` URL, or of an `sc://` server."""
    hosts = master.removeprefix("spark://").removeprefix("sc://").split("/")[0].split(",")
    return [(host, int(port)) for host, port in (h.rsplit(":", 1) for h in hosts)]


def port_open(address: tuple[str, int], timeout: float = 3.0) -> bool:
    """True if something accepts TCP connections at (host, port)."""
    try:
        socket.create_connection(address, timeout=timeout).close()
        return True
    except OSError:
        return False


def master_reachable(master: str, timeout: float = 3.0) -> bool:
    """True if a standalone master accepts TCP connections (local masters always are)."""
    if not master.startswith("spark://"):
        return True
    return any(port_open(address, timeout) for address in server_addresses(master))


def _on_loopback(master: str) -> bool:
    if master.startswith("local"):
        return True
    if master.startswith(("spark://", "sc://")):
        return all(h in ("127.0.0.1", "localhost") for h, _ in server_addresses(master))
    return False


def driver_address(master: str) -> str:
    """The address executors reach this driver at: the one this machine has toward the master."""
    if _on_loopback(master):
        return "127.0.0.1"
    configured = os.environ.get("SPARK_LOCAL_IP", "")
    if configured and not configured.startswith("127."):  # not one a local session left behind
        return configured
    if master.startswith(("spark://", "sc://")):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(server_addresses(master)[0])  # UDP: picks a route, sends nothing
            return probe.getsockname()[0]
    return socket.gethostbyname(socket.gethostname())


def course_conf(master: str, app_name: str, scale: Scale) -> dict[str, str]:
    """The settings that make Spark quiet, deterministic and sized for the scale."""
    conf = {
        "spark.master": master,
        "spark.app.name": app_name,
        "spark.sql.shuffle.partitions": str(scale.shuffle_partitions),
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        # Spark 4.2.0 hangs a plain Python UDF over a columnar scan (Parquet, Delta) when Arrow
        # runs it (SPARK-58241, fixed in 4.2.1, which delta-spark 4.4 does not allow yet).
        "spark.sql.execution.pythonUDF.arrow.enabled": "false",
        # File listing (many paths, VACUUM) and Delta's log replay run this many tasks, not the
        # 10,000 and 50 sized for a cluster (2 cores: a VACUUM DRY RUN over 200 files, 69 s -> 6 s).
        "spark.sql.sources.parallelPartitionDiscovery.parallelism": str(scale.shuffle_partitions),
        "spark.databricks.delta.snapshotPartitions": str(scale.shuffle_partitions),
        # The throughput collector: G1's concurrent threads cost a small driver about 15% more
        # CPU (measured on workshop 06's Delta scenarios, 2 cores).
        JAVA_OPTIONS: f"-Dlog4j2.configurationFile={CONF_DIR / 'log4j2.properties'} -XX:+UseParallelGC",
    }
    if not scale.optimizing_jit:
        conf[JAVA_OPTIONS] += f" {QUICK_JIT}"
        conf[EXECUTOR_JAVA_OPTIONS] = QUICK_JIT
    if master.startswith("local"):
        conf["spark.driver.memory"] = driver_memory(scale)
    if _on_loopback(master):
        conf["spark.driver.host"] = "127.0.0.1"
        conf["spark.driver.bindAddress"] = "127.0.0.1"
    return conf


def jupyter_proxy_base() -> str | None:
    """JupyterLab's base URL when the Spark UI is reached through its proxy (see UI_PROXY_VARIABLES)."""
    base = next((os.environ[name] for name in UI_PROXY_VARIABLES if os.environ.get(name)), None)
    return base.rstrip("/") + "/" if base else None


def proxied_ui_conf() -> dict[str, str]:
    """Behind JupyterLab's proxy: the UI on a port chosen here, its links under /proxy/<port>."""
    from .cluster import free_port

    base = jupyter_proxy_base()
    if base is None:
        return {}
    port = free_port()
    return {"spark.ui.port": str(port), "spark.ui.proxyBase": f"{base}proxy/{port}"}


def spark_ui_url(session) -> str | None:
    """Where a learner opens the session's Spark UI: its path behind JupyterLab's proxy there is
    one, else the driver's own address (None under Spark Connect: the UI is the server's)."""
    if is_connect(session):
        return None
    context = session.sparkContext
    proxied = context.getConf().get("spark.ui.proxyBase", None)
    return f"{proxied}/jobs/" if proxied else context.uiWebUrl


def spark_log_file() -> Path | None:
    """The file the JVM of this notebook's session writes to (None for a session we reused)."""
    return _log_file


def _prepare_environment(master: str, worker_python: str | None) -> str:
    """Set the Python the workers run (returned) and, on this host, the address Spark binds."""
    python = worker_python or os.environ.get("PYSPARK_PYTHON") or sys.executable
    os.environ["PYSPARK_PYTHON"] = python  # read once, when the SparkContext starts
    if master.startswith(("local", "spark://")):  # bind where the executors reach us
        os.environ["SPARK_LOCAL_IP"] = driver_address(master)
    return python


def check_worker_python(session, python: str) -> None:
    """Raise SparkStartError unless the executors can run `python` with pandas and pyarrow."""
    def imports(_):
        import pandas  # noqa: F401
        import pyarrow  # noqa: F401

        return [sys.version_info[:2]]

    try:
        session.sparkContext.parallelize([0], 1).mapPartitions(imports).collect()
    except Exception as error:  # Py4J: the executor's own message is deep in the text
        cause = next((line.strip() for line in str(error).splitlines()
                      if "IOException" in line or "Error:" in line), "see the JVM log")
        session.stop()  # or the next get_spark would reuse a session that cannot run Python
        raise SparkStartError(
            f"the workers cannot run Python {python!r} with the course's packages ({cause}): "
            "set worker_python (or PYSPARK_PYTHON) to a Python 3.11 that every worker has, "
            "with requirements.txt installed") from None


def _explain(error: BaseException, log_file: Path) -> str:
    """One readable line from a failed start: the Java exception if there is one."""
    java_error = getattr(error, "java_exception", None)
    if java_error is not None:
        reason = str(java_error.toString())
    else:
        lines = log_file.read_text(errors="replace").splitlines() if log_file.exists() else []
        errors = [line for line in lines if re.search(r"Exception|Error|error:", line)]
        reason = errors[-1].strip() if errors else str(error).splitlines()[0]
    return f"Spark did not start: {reason}. JVM log: {log_file}"


@cache
def _package_zip() -> str:
    """This package as a zip, for executors on machines where it is not installed."""
    folder = tempfile.mkdtemp(prefix="sparkcourse-")
    package = Path(__file__).parent
    return shutil.make_archive(f"{folder}/sparkcourse", "zip", package.parent, package.name)


def get_spark(
    master: str = "local[*]",
    app_name: str = "sparkcourse",
    scale: Scale | str = "small",
    log_file: str | Path = "work/spark-jvm.log",
    conf: dict[str, str] | None = None,
    packages: tuple[str, ...] = (),
    worker_python: str | None = None,
    warehouse: str | None = None,
):
    """The notebook's SparkSession.

    An active session (Databricks, the `pyspark` shell, an earlier cell) is reused once it is
    known to have the `packages` (names in `sparkcourse.packages.MAVEN_PACKAGES`): it takes the
    settings it can at run time, and one printed line names the rest and a different master.
    Otherwise a new one starts on `master` with the course's quiet settings, the packages from
    the course's cache, and `conf`; on a cluster, the workers run `worker_python` (default:
    PYSPARK_PYTHON, else this kernel's Python), and managed tables go to `warehouse` (unless
    `conf` says otherwise; Spark's default is the kernel's working folder, which executors on
    other machines do not see). Failures raise SparkStartError with one line.
    """
    from pyspark import SparkConf, SparkContext
    from pyspark.sql import SparkSession

    from .packages import session_conf

    scale = SCALES[scale] if isinstance(scale, str) else scale
    if master.startswith("sc://"):
        return connect_session(master, app_name, scale, conf or {})
    active = SparkSession.getActiveSession()
    if active is not None:
        require_packages(active, packages)
        adopt_session(active, master, scale, conf or {})
        return active

    global _log_file
    master = resolve_master(master)
    try:
        java_version()
    except JavaError as error:
        raise SparkStartError(str(error)) from None
    if not master_reachable(master):
        raise SparkStartError(f"No Spark master answers at {master}: is it running?")

    python = _prepare_environment(master, worker_python)
    course, conf = course_conf(master, app_name, scale), conf or {}
    settings = course | proxied_ui_conf() | session_conf(packages) | conf
    if warehouse:
        settings.setdefault(WAREHOUSE, warehouse)
    for option in (JAVA_OPTIONS, EXECUTOR_JAVA_OPTIONS):  # the course's and the caller's, both
        if option in course and option in conf:
            settings[option] = f"{course[option]} {conf[option]}"
    spark_conf = SparkConf(loadDefaults=False).setAll(list(settings.items()))
    log_file = Path(log_file).absolute()
    log_file.parent.mkdir(parents=True, exist_ok=True)
    try:
        gateway = SparkContext._gateway  # a stopped session leaves its JVM (and log) running
        if gateway is None:
            gateway, _log_file = _launch_gateway(spark_conf, log_file), log_file
        context = SparkContext(conf=spark_conf, gateway=gateway)
    except Exception as error:  # Py4J and PySpark errors: turn them into one line
        raise SparkStartError(_explain(error, _log_file or log_file)) from None
    session = SparkSession.builder.getOrCreate()
    if not master.startswith("local"):
        context.addPyFile(_package_zip())
        check_worker_python(session, python)
    return session


def adopt_session(session, master: str, scale: Scale, conf: dict[str, str]) -> None:
    """Give a reused session what this notebook asks for where Spark allows it at run time.

    One printed line names a different master and the settings it could not take (those read
    when Spark starts, such as the barrier scheduler's), with the restart that applies them.
    """
    lacking = take_settings(session, scale, conf)
    running = session.conf.get("spark.master", None)
    other_master = running is not None and not _same_master(running, master)
    if other_master or lacking:
        where = f"on {running}, not on {master}" if other_master else f"on {running}"
        needs = f"; it lacks {', '.join(lacking)}" if lacking else ""
        print(f"Reusing the Spark session already running {where}{needs}. "
              "Restart the kernel to start Spark as this notebook asks.")


def take_settings(session, scale: Scale, conf: dict[str, str]) -> list[str]:
    """Set the course's run-time settings and `conf` on a running session where Spark allows it;
    return the keys it could not take (those read when Spark starts)."""
    course = course_conf("local[1]", "", scale)
    lacking = []
    for key, value in ({key: course[key] for key in SESSION_SETTINGS} | conf).items():
        if session.conf.get(key, None) == value:
            continue
        if session.conf.isModifiable(key):
            session.conf.set(key, value)
        else:
            lacking.append(key)
    return lacking


def connect_session(url: str, app_name: str, scale: Scale, conf: dict[str, str]):
    """A Spark Connect session to the server at `url` (`sc://host:port`), with the course's
    run-time settings; one printed line names the settings the server must be started with."""
    from pyspark.sql import SparkSession

    if not port_open(server_addresses(url)[0]):
        raise SparkStartError(f"No Spark Connect server answers at {url}: is it running (`make connect`)?")
    session = SparkSession.builder.remote(url).appName(app_name).getOrCreate()
    if not (session.conf.get("spark.master", None) or "local").startswith("local"):
        session.addArtifacts(_package_zip(), pyfile=True)  # for executors on other machines
    lacking = take_settings(session, scale, conf)
    if lacking:
        print(f"The Spark Connect server at {url} lacks {', '.join(lacking)}: start it with them.")
    return session


def is_connect(session) -> bool:
    """True for a Spark Connect session, which has no SparkContext and no RDDs."""
    return type(session).__module__.startswith("pyspark.sql.connect")


def task_slots(session) -> int:
    """How many tasks Spark runs at once (its executors' cores, or local mode's threads).

    Under Spark Connect, which has no SparkContext, the server's `spark.default.parallelism`
    or local master says; one printed line tells when neither does."""
    if not is_connect(session):
        context = session.sparkContext
        if context.master.startswith("spark://"):  # its defaultParallelism is at least 2
            return _executor_cores(context) or context.defaultParallelism
        return context.defaultParallelism
    configured = session.conf.get("spark.default.parallelism", None)
    if configured:
        return int(configured)
    local = re.fullmatch(r"local\[(\d+)\]", session.conf.get("spark.master", None) or "")
    if local:
        return int(local.group(1))
    print("The Spark Connect server does not say how many tasks it runs at once: assuming 2 "
          "(start it with spark.default.parallelism set to its executors' cores).")
    return 2


def _executor_cores(context) -> int | None:
    """The cores of the executors registered so far, from Spark's monitoring API (None if the
    UI is off or unreachable)."""
    if not context.uiWebUrl:
        return None
    url = f"{context.uiWebUrl}/api/v1/applications/{context.applicationId}/executors"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            executors = json.load(response)
    except (OSError, ValueError):
        return None
    return sum(executor["totalCores"] for executor in executors if executor["id"] != "driver") or None


def _same_master(running: str, requested: str) -> bool:
    if running == requested:
        return True
    try:
        return resolve_master(running) == resolve_master(requested)
    except CourseError:
        return False


def require_packages(session, packages) -> None:
    """Raise SparkStartError if a running session lacks one of the packages (Databricks has them)."""
    from .packages import MAVEN_PACKAGES

    if os.environ.get("DATABRICKS_RUNTIME_VERSION"):
        return
    loaded = session.conf.get("spark.jars.packages", "") or ""
    for name in packages:
        if MAVEN_PACKAGES[name] not in loaded:
            raise SparkStartError(
                f"the running Spark session was started without {MAVEN_PACKAGES[name]}: "
                "restart the kernel, so that this notebook starts Spark with it")


def _launch_gateway(spark_conf, log_file: Path):
    from pyspark.java_gateway import launch_gateway

    with open(log_file, "ab") as log:  # the JVM keeps its own handle on the file
        return launch_gateway(spark_conf, popen_kwargs={"stdout": log, "stderr": log})
