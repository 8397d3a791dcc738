"""A Spark standalone cluster on this machine: one master and some workers on 127.0.0.1,
started from the pyspark package's own launcher, stopped by the PIDs it started.

    with LocalCluster(workers=2) as cluster:
        spark = get_spark(cluster.master_url)

Or from a shell: `python -m sparkcourse.cluster --workers 2` (Ctrl-C stops it).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

HOST = "127.0.0.1"


def free_port(host: str = HOST) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def master_state(ui_url: str) -> dict | None:
    """A standalone master's state from its web UI at `ui_url`; None while it does not answer,
    or while something else answers on its port."""
    try:
        with urllib.request.urlopen(f"{ui_url}/json/", timeout=2) as response:
            state = json.load(response)
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) and "workers" in state else None


def spark_home() -> Path:
    import pyspark

    return Path(pyspark.__file__).parent


class LocalCluster:
    def __init__(self, workers: int = 2, cores: int = 1, memory: str = "2g",
                 folder: str | Path | None = None, port: int | None = None, java_options: str = "",
                 host: str = HOST, wrap: Callable[[list[str]], list[str]] | None = None):
        """`java_options` go to every JVM of the cluster, executors included (JAVA_TOOL_OPTIONS):
        `-XX:+UseParallelGC` costs small heaps less CPU than G1, as in the tests.
        `host` is the address master and workers bind; `wrap` turns each process's command into
        the one to run (the tests start them in namespaces of their own that way)."""
        self.workers, self.cores, self.memory = workers, cores, memory
        self.java_options, self.host, self.wrap = java_options, host, wrap or (lambda command: command)
        self.folder = Path(folder or tempfile.mkdtemp(prefix="spark-cluster-"))
        self.port = port or free_port()
        self.ui_port = next(p for p in iter(free_port, None) if p != self.port)
        self.processes: list[subprocess.Popen] = []

    @property
    def master_url(self) -> str:
        return f"spark://{self.host}:{self.port}"

    def _launch(self, name: str, *args: str) -> None:
        env = dict(os.environ, SPARK_LOCAL_IP=self.host, PYSPARK_PYTHON=sys.executable,
                   SPARK_HOME=str(spark_home()))
        if self.java_options:
            env["JAVA_TOOL_OPTIONS"] = self.java_options
        log = open(self.folder / f"{name}.log", "ab")  # noqa: SIM115 - the process owns it
        command = self.wrap([str(spark_home() / "bin" / "spark-class"), *args])
        self.processes.append(subprocess.Popen(command, stdout=log, stderr=log, env=env,
                                               stdin=subprocess.DEVNULL, start_new_session=True))
        (self.folder / f"{name}.pid").write_text(str(self.processes[-1].pid))

    def master_state(self) -> dict | None:
        return master_state(f"http://{self.host}:{self.ui_port}")

    def alive_workers(self) -> int:
        workers = (self.master_state() or {}).get("workers", [])
        return sum(worker["state"] == "ALIVE" for worker in workers)

    def start(self, timeout: float = 90) -> str:
        """Start the master, then (once it answers, its ports bound) the workers, whose web UIs
        take ports the system picks; stop everything started if the cluster does not come up."""
        self.folder.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + timeout
        try:
            self._launch("master", "org.apache.spark.deploy.master.Master", "--host", self.host,
                         "--port", str(self.port), "--webui-port", str(self.ui_port))
            self._wait_until(lambda: self.master_state() is not None, deadline)
            for i in range(self.workers):
                work = self.folder / f"worker-{i}"
                work.mkdir(exist_ok=True)
                self._launch(f"worker-{i}", "org.apache.spark.deploy.worker.Worker", self.master_url,
                             "--host", self.host, "--cores", str(self.cores), "--memory", self.memory,
                             "--webui-port", "0", "--work-dir", str(work))
            self._wait_until(lambda: self.alive_workers() >= self.workers, deadline)
        except BaseException:
            self.stop()
            raise
        return self.master_url

    def _wait_until(self, ready: Callable[[], bool], deadline: float) -> None:
        while not ready():
            if time.monotonic() > deadline or any(p.poll() is not None for p in self.processes):
                raise RuntimeError(f"the local cluster did not come up; logs in {self.folder}")
            time.sleep(0.5)

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        self.processes.clear()

    def __enter__(self) -> LocalCluster:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description="Run a Spark standalone cluster on 127.0.0.1.")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--cores", type=int, default=1, help="cores per worker")
    parser.add_argument("--memory", default="2g", help="memory per worker")
    parser.add_argument("--port", type=int, default=7077)
    args = parser.parse_args()
    with LocalCluster(args.workers, args.cores, args.memory, port=args.port) as cluster:
        print(f"Master {cluster.master_url}, UI http://{HOST}:{cluster.ui_port}, "
              f"logs in {cluster.folder}. Ctrl-C stops it.", flush=True)
        try:
            while all(p.poll() is None for p in cluster.processes):
                time.sleep(1)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
