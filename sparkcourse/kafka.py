"""A single-node Apache Kafka broker on this machine, for workshop 12 and its tests.

Kafka 4 runs without ZooKeeper: one process is both the broker and its KRaft controller (the
quorum of one that keeps the cluster's metadata). It binds 127.0.0.1 on free ports, with a small
heap, from Apache's own jars that set-up fetched (`sparkcourse.packages.fetch_broker`).

    with LocalKafka(folder) as kafka:
        producer = Producer({"bootstrap.servers": kafka.bootstrap})

Or from a shell: `python -m sparkcourse.kafka` (Ctrl-C stops it).
"""

from __future__ import annotations

import argparse
import base64
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from .cluster import HOST, free_port
from .java import find_java
from .packages import broker_classpath
from .service import Service, ServiceError
from .spark import port_open

# A heap that fits beside Spark on a laptop; the serial collector and the C1 compiler alone start
# a small JVM faster and keep it lighter on two cores.
JAVA_OPTIONS = ["-Xms128m", "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "-Djava.awt.headless=true"]
READY_LINE = "Kafka Server started"

SERVER_PROPERTIES = """\
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@{advertised}:{controller_port}
listeners=PLAINTEXT://{host}:{port},CONTROLLER://{host}:{controller_port}
advertised.listeners=PLAINTEXT://{advertised}:{port}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs={data}
num.partitions={partitions}
offsets.topic.num.partitions=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
"""
LOG4J2_PROPERTIES = """\
status = error
appender.out.type = Console
appender.out.name = out
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = out
logger.quiet.name = org.apache.kafka.common.config
logger.quiet.level = WARN
"""


def new_cluster_id() -> str:
    """A KRaft cluster id: 16 random bytes in URL-safe base64 (22 characters), as `kafka-storage
    random-uuid` prints; never starting with '-', which the tools would read as an option."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not text.startswith("-"):
            return text


class LocalKafka(Service):
    """Kafka in `folder` (its data, settings and `broker.log`), bound to `host`, and known to clients
    as `advertise` (default: `host`; a container binds 0.0.0.0 and advertises its name). A second
    start on the same folder keeps the topics and their messages."""

    def __init__(self, folder: str | Path | None = None, port: int = 0, partitions: int = 2,
                 timeout: float = 60, host: str = HOST, advertise: str = ""):
        self.folder = Path(folder or tempfile.mkdtemp(prefix="kafka-"))
        self.host, self.port, self.partitions = host, port or free_port(host), partitions
        self.advertised = advertise or host
        self.classpath = broker_classpath()  # fails first, with `make setup`, when jars are missing
        self.java, self.settings = find_java() or "java", self._settings()
        super().__init__("Kafka", [self.java, *JAVA_OPTIONS, f"-Dlog4j2.configurationFile={self._logging()}",
                                   "-cp", self.classpath, "kafka.Kafka", str(self.settings)],
                         self._ready, self.folder / "broker.log", timeout=timeout, url=self.bootstrap)

    @property
    def bootstrap(self) -> str:
        """What clients pass as `bootstrap.servers` (Spark: `kafka.bootstrap.servers`)."""
        return f"{self.advertised}:{self.port}"

    def _logging(self) -> Path:
        path = self.folder / "log4j2.properties"
        path.write_text(LOG4J2_PROPERTIES)
        return path

    def _settings(self) -> Path:
        path = self.folder / "server.properties"
        self.folder.mkdir(parents=True, exist_ok=True)
        path.write_text(SERVER_PROPERTIES.format(
            host=self.host, advertised=self.advertised, port=self.port,
            controller_port=free_port(self.host),
            data=self.folder / "data", partitions=self.partitions))
        return path

    def _ready(self) -> bool:
        started = READY_LINE in self.log.read_text(errors="replace")
        return started and port_open((self.host, self.port), timeout=1)

    def start(self) -> LocalKafka:
        self._format_storage()
        super().start()
        return self

    def _format_storage(self) -> None:
        """Give a new folder its cluster id (`kafka-storage format`); a used one keeps its own."""
        if (self.folder / "data" / "meta.properties").exists():
            return
        command = [self.java, *JAVA_OPTIONS, "-cp", self.classpath, "kafka.tools.StorageTool", "format",
                   "--cluster-id", new_cluster_id(), "--config", str(self.settings)]
        result = subprocess.run(command, capture_output=True, text=True, timeout=self.timeout)
        if result.returncode != 0:
            lines = (result.stdout + result.stderr).strip().splitlines()
            raise ServiceError(f"Kafka's storage could not be formatted: {lines[-1] if lines else '?'}")


class ExistingKafka:
    """A Kafka cluster the course did not start: checked to answer, never stopped by the course."""

    def __init__(self, bootstrap: str, wait: float = 5):
        from confluent_kafka import KafkaException
        from confluent_kafka.admin import AdminClient

        self.bootstrap = bootstrap
        admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 0})  # 0: no console noise
        try:
            admin.list_topics(timeout=wait)
        except KafkaException:
            raise ServiceError(f"no Kafka broker answered at {bootstrap} within {wait:.0f} s") from None

    def stop(self) -> None:
        pass


def kafka_broker(bootstrap: str, folder: Path, partitions: int = 2, host: str = HOST
                 ) -> LocalKafka | ExistingKafka:
    """The broker a notebook uses: the cluster at `bootstrap`, or, when it is empty, a new
    LocalKafka in `folder` (emptied first: a re-run starts afresh) on `host`, the address where
    Spark's executors reach the driver (127.0.0.1 in local mode)."""
    if bootstrap:
        return ExistingKafka(bootstrap)
    if folder.exists():
        shutil.rmtree(folder)
    return LocalKafka(folder, partitions=partitions, host=host).start()


def delete_topic(admin, name: str, wait: float = 30) -> None:
    """Delete topic `name` if it exists, and wait (at most `wait` seconds) until it is gone."""
    if name not in admin.list_topics(timeout=wait).topics:
        return
    admin.delete_topics([name])[name].result(timeout=wait)
    deadline = time.monotonic() + wait
    while name in admin.list_topics(timeout=wait).topics:
        if time.monotonic() > deadline:
            raise ServiceError(f"topic {name} was still there {wait:.0f} s after its deletion")
        time.sleep(0.5)


def main() -> None:
    parser = argparse.ArgumentParser(description="Run a single-node Kafka broker (KRaft).")
    parser.add_argument("--folder", help="data and logs (default: a new temporary folder)")
    parser.add_argument("--port", type=int, default=9092)
    parser.add_argument("--partitions", type=int, default=2, help="default partitions of a new topic")
    parser.add_argument("--host", default=HOST, help=f"the address to bind (default {HOST})")
    parser.add_argument("--advertise", default="", help="the name clients reach it by (default: --host)")
    args = parser.parse_args()
    broker = LocalKafka(args.folder, args.port, args.partitions, host=args.host, advertise=args.advertise)
    with broker as kafka:
        print(f"Kafka at {kafka.bootstrap} (bootstrap.servers), log in {kafka.log}. Ctrl-C stops it.",
              flush=True)
        try:
            while kafka.running():
                time.sleep(1)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
