"""A Spark Connect server on this machine, started from the pyspark package's own jars and bound
to 127.0.0.1; notebooks then take `spark_master="sc://127.0.0.1:PORT"`.

    with connect_server(master="local[2]") as server:
        spark = get_spark(server.url)

Or from a shell: `python -m sparkcourse.connect` (`make connect`; Ctrl-C stops it).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

from .cluster import free_port, spark_home
from .packages import session_conf
from .params import SCALES
from .service import Service
from .spark import WAREHOUSE, course_conf, driver_address, port_open, resolve_master

SERVER_CLASS = "org.apache.spark.sql.connect.service.SparkConnectServer"
HOST = "127.0.0.1"


def connect_server(master: str = "local[2]", port: int | None = None, scale: str = "small",
                   packages: tuple[str, ...] = (), folder: str | Path | None = None,
                   timeout: float = 120, conf: dict[str, str] | None = None) -> Service:
    """A Spark Connect server (not started yet) running Spark on `master` (local, or a standalone
    cluster's), with the course's settings, Maven `packages` (names in
    `sparkcourse.packages.MAVEN_PACKAGES`) and `conf`. Its clients connect on 127.0.0.1."""
    port, master = port or free_port(), resolve_master(master)
    folder = Path(folder or tempfile.mkdtemp(prefix="spark-connect-"))
    settings = course_conf(master, "Spark Connect server", SCALES[scale]) | session_conf(packages)
    settings[WAREHOUSE] = str(folder / "warehouse")  # not the caller's working folder
    settings |= (conf or {}) | {"spark.connect.grpc.binding.address": HOST,
                                "spark.connect.grpc.binding.port": str(port)}
    command = [str(spark_home() / "bin" / "spark-submit"), "--class", SERVER_CLASS]
    for key, value in settings.items():
        command += ["--conf", f"{key}={value}"]
    command.append("spark-internal")  # the server's class is in Spark's own jars

    env = {"SPARK_HOME": str(spark_home()), "PYSPARK_PYTHON": sys.executable,
           "SPARK_LOCAL_IP": driver_address(master)}  # where the cluster's executors reach it
    ready = partial(port_open, (HOST, port), timeout=1)
    return Service("the Spark Connect server", command, ready, folder / "connect-server.log", env,
                   timeout, url=f"sc://{HOST}:{port}")


def main() -> None:
    parser = argparse.ArgumentParser(description="Run a Spark Connect server on 127.0.0.1.")
    parser.add_argument("--master", default="local[*]", help="where the server runs Spark")
    parser.add_argument("--port", type=int, default=15002)
    parser.add_argument("--packages", nargs="*", default=[], help="Maven packages, e.g. delta")
    args = parser.parse_args()
    with connect_server(args.master, args.port, packages=tuple(args.packages)) as server:
        print(f"Spark Connect at {server.url} (Spark on {args.master}); log: {server.log}. "
              "Pass it as spark_master. Ctrl-C stops it.", flush=True)
        try:
            while server.running():
                time.sleep(1)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
