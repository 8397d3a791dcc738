"""The session helper: quiet, reused, and one readable line when it cannot start.

Sessions start in subprocesses so that each test sees a fresh JVM and its real stderr."""

import os
import socket
import subprocess
import sys
import textwrap

import pytest

from sparkcourse.connect import connect_server
from sparkcourse.params import SCALES, ParameterError
from sparkcourse.spark import (
    SparkStartError,
    course_conf,
    driver_memory,
    get_spark,
    master_reachable,
    port_open,
    proxied_ui_conf,
    resolve_master,
    server_addresses,
    usable_cores,
)


def run_python(code: str, cwd, timeout=180) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


def printed_lines(code: str, cwd) -> list[str]:
    """The lines a script prints, once it has run without error (e.g. one check's feedback each)."""
    result = run_python(code, cwd=cwd)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout.strip().splitlines()


def test_local_star_is_capped_to_usable_cores():
    assert resolve_master("local[*]") == f"local[{usable_cores()}]"
    assert resolve_master("local[3]") == "local[3]"


def test_course_conf_is_quiet_and_sized():
    conf = course_conf("local[2]", "app", SCALES["small"])
    assert conf["spark.ui.showConsoleProgress"] == "false"
    assert conf["spark.sql.shuffle.partitions"] == str(SCALES["small"].shuffle_partitions)
    assert "log4j2.properties" in conf["spark.driver.extraJavaOptions"]
    assert conf["spark.sql.execution.pythonUDF.arrow.enabled"] == "false"  # SPARK-58241: Spark 4.2.0 hangs
    assert conf["spark.sql.sources.parallelPartitionDiscovery.parallelism"] == conf[
        "spark.sql.shuffle.partitions"]
    assert "spark.driver.host" not in course_conf("spark://10.0.0.5:7077", "app", SCALES["large"])


def test_only_the_smallest_scale_turns_the_optimizing_compiler_off():
    quick = course_conf("spark://10.0.0.5:7077", "app", SCALES["ci"])
    assert quick["spark.driver.extraJavaOptions"].endswith(" -XX:TieredStopAtLevel=1")
    assert quick["spark.executor.extraJavaOptions"] == "-XX:TieredStopAtLevel=1"
    for scale in ("small", "medium", "large"):
        conf = course_conf("local[2]", "app", SCALES[scale])
        assert "TieredStopAtLevel" not in conf["spark.driver.extraJavaOptions"]
        assert "spark.executor.extraJavaOptions" not in conf


def test_bad_master_fails_before_spark():
    with pytest.raises(ParameterError):
        get_spark("spark:/oops")


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_port_open_tells_a_listening_port_from_a_closed_one():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        assert port_open(server.getsockname(), timeout=1)
    assert not port_open(("127.0.0.1", closed_port()), timeout=1)
    assert server_addresses("sc://127.0.0.1:15002/;user_id=a") == [("127.0.0.1", 15002)]


def test_unreachable_master_is_one_line():
    master = f"spark://127.0.0.1:{closed_port()}"
    assert not master_reachable(master, timeout=1)
    with pytest.raises(SparkStartError, match="No Spark master answers"):
        get_spark(master)


def test_unreachable_spark_connect_server_is_one_line():
    with pytest.raises(SparkStartError, match="No Spark Connect server answers at sc://127.0.0.1:"):
        get_spark(f"sc://127.0.0.1:{closed_port()}")


def test_missing_java_is_one_line(monkeypatch, tmp_path):
    monkeypatch.setenv("JAVA_HOME", str(tmp_path))
    with pytest.raises(SparkStartError, match="Java not found"):
        get_spark("local[1]")


def test_session_is_quiet_logged_and_reused(tmp_path):
    result = run_python("""
        from sparkcourse import get_spark
        spark = get_spark("local[1]", "quiet", "ci", log_file="logs/jvm.log", warehouse="shared/warehouse")
        numbers = spark.range(1000)
        assert numbers.groupBy(numbers.id % 7).count().count() == 7
        numbers.write.saveAsTable("numbers")  # a managed table
        assert get_spark("local[1]", scale="ci") is spark
        runtime = spark.sparkContext._jvm.java.lang.management.ManagementFactory.getRuntimeMXBean()
        print("ok", "-XX:TieredStopAtLevel=1" in list(runtime.getInputArguments()))
    """, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "ok True\n"  # `ci`: the driver's JVM compiles with C1 only
    assert result.stderr == ""  # no banner, WARN line or progress bar reaches the notebook
    assert (tmp_path / "logs" / "jvm.log").stat().st_size > 0
    assert sorted(path.name for path in tmp_path.iterdir()) == ["logs", "shared"]  # no spark-warehouse
    assert (tmp_path / "shared" / "warehouse" / "numbers").is_dir()


def test_port_clash_is_one_readable_error(tmp_path):
    result = run_python("""
        import socket
        from sparkcourse import SparkStartError, get_spark
        busy = socket.socket(); busy.bind(("127.0.0.1", 0)); busy.listen()
        conf = {"spark.driver.port": str(busy.getsockname()[1]), "spark.port.maxRetries": "0"}
        try:
            get_spark("local[1]", "clash", log_file="jvm.log", conf=conf)
        except SparkStartError as error:
            print(error)
    """, tmp_path)
    assert result.returncode == 0, result.stderr
    message = result.stdout.strip()
    assert message.startswith("Spark did not start:") and "\n" not in message
    assert "BindException" in message or "Address already in use" in message


def test_a_reused_session_takes_what_it_can_and_names_the_rest(tmp_path):
    lines = printed_lines("""
        from sparkcourse import get_spark
        spark = get_spark("local[1]", "first", scale="small", log_file="jvm.log")
        spark.conf.set("spark.sql.shuffle.partitions", "200")  # as a learner's earlier cell might
        barrier = {"spark.scheduler.barrier.maxConcurrentTasksCheck.maxFailures": "1"}
        assert get_spark("local[2]", scale="small", conf=barrier) is spark
        print(spark.conf.get("spark.sql.shuffle.partitions"))
        get_spark("local[1]", scale="small")  # the same master, every setting in place: silent
    """, tmp_path)
    assert len(lines) == 2
    notice, partitions = lines
    assert notice.startswith("Reusing the Spark session already running on local[1], not on local[2]")
    assert "lacks spark.scheduler.barrier.maxConcurrentTasksCheck.maxFailures" in notice
    assert "Restart the kernel" in notice
    assert partitions == str(SCALES["small"].shuffle_partitions)  # set at run time, not reported


@pytest.mark.slow
def test_a_session_under_spark_connect_takes_the_course_settings(tmp_path):
    barrier = "spark.scheduler.barrier.maxConcurrentTasksCheck.maxFailures"
    with connect_server("local[1]", scale="ci", folder=tmp_path / "server") as server:
        lines = printed_lines(f"""
            from sparkcourse import get_spark
            from sparkcourse.spark import is_connect
            spark = get_spark("{server.url}", "connect-test", scale="ci", conf={{"{barrier}": "1"}})
            numbers = spark.range(10)
            print(is_connect(spark), spark.conf.get("spark.sql.shuffle.partitions"),
                  numbers.groupBy((numbers.id % 3).alias("k")).count().count())
        """, tmp_path)
        group = server.process.pid
    assert lines == [f"The Spark Connect server at {server.url} lacks {barrier}: start it with them.",
                     f"True {SCALES['ci'].shuffle_partitions} 3"]
    with pytest.raises(ProcessLookupError):  # the server and its JVM are gone
        os.killpg(group, 0)


def test_a_loopback_address_left_by_a_local_session_is_not_used_for_a_cluster(monkeypatch):
    from sparkcourse.spark import driver_address

    monkeypatch.setenv("SPARK_LOCAL_IP", "10.9.9.9")  # set by the user: kept
    assert driver_address("spark://10.1.2.3:7077") == "10.9.9.9"
    monkeypatch.setenv("SPARK_LOCAL_IP", "127.0.0.1")  # left by a local[*] session: not for a cluster
    try:
        assert driver_address("spark://10.1.2.3:7077") != "127.0.0.1"
    except OSError:
        pytest.skip("no route from this machine toward 10.1.2.3")
    assert driver_address("local[2]") == "127.0.0.1"


def test_behind_jupyterlabs_proxy_the_ui_links_lead_back_through_it(monkeypatch):
    for name in ("SPARKCOURSE_UI_PROXY", "JUPYTERHUB_SERVICE_PREFIX"):
        monkeypatch.delenv(name, raising=False)
    assert proxied_ui_conf() == {}  # a laptop: the UI on its own port, Spark's links as they are
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/user/learner-abc/")  # Binder
    conf = proxied_ui_conf()
    assert conf["spark.ui.proxyBase"] == f"/user/learner-abc/proxy/{conf['spark.ui.port']}"
    monkeypatch.setenv("SPARKCOURSE_UI_PROXY", "/")  # the course image
    conf = proxied_ui_conf()
    assert conf["spark.ui.proxyBase"] == f"/proxy/{conf['spark.ui.port']}"


def test_the_driver_heap_is_the_scales_unless_the_environment_says(monkeypatch):
    monkeypatch.delenv("SPARKCOURSE_DRIVER_MEMORY", raising=False)
    assert driver_memory(SCALES["small"]) == SCALES["small"].driver_memory == "2g"
    monkeypatch.setenv("SPARKCOURSE_DRIVER_MEMORY", "1g")  # Binder's `start`
    assert driver_memory(SCALES["small"]) == "1g"
    monkeypatch.setenv("SPARKCOURSE_DRIVER_MEMORY", "lots")
    refused = r"^SPARKCOURSE_DRIVER_MEMORY must look like 1g or 768m; got 'lots'$"
    with pytest.raises(SparkStartError, match=refused):
        driver_memory(SCALES["small"])
