"""Plumbing for workshop 06 (Delta Lake on Spark): the notebook's catalog, readable history and
errors, and the number of files a query read. The Delta operations themselves are in the notebook.
"""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import pandas as pd

# What `history()` shows of each commit's operationParameters and operationMetrics.
SHOWN_PARAMETERS = ("mode", "predicate", "name", "expr", "version", "zOrderBy", "isManaged")
SHOWN_METRICS = ("numOutputRows", "numFiles", "numAddedFiles", "numRemovedFiles", "numDeletedRows",
                 "numUpdatedRows", "numTargetRowsInserted", "numTargetRowsUpdated",
                 "numTargetRowsDeleted", "numDeletionVectorsAdded", "numConvertedFiles",
                 "numRestoredFiles", "numOfFilesAfterRestore")


def fresh_folder(path: Path) -> Path:
    """An empty folder at `path`: what an earlier run of the notebook left there is removed."""
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def subfolder(work: Path, name: str) -> Path:
    """`work / name`, refusing names that would leave `work` (the notebook cleans this folder)."""
    from .params import ParameterError

    path = (work / name).resolve()
    if not name or Path(name).is_absolute() or work.resolve() not in path.parents:
        raise ParameterError(f"table_root must be a folder name inside {work.name}/; got {name!r}")
    return path


def catalog_conf(folder: Path, metastore: Path | None = None) -> dict[str, str]:
    """Session settings for a catalog of the notebook's own: a warehouse for managed tables in
    `folder` (under the data root, where executors write), and a Hive metastore (Derby, which
    only the driver opens) in `metastore`, by default `folder` too."""
    metastore = metastore or folder
    return {
        "spark.sql.catalogImplementation": "hive",
        "spark.sql.warehouse.dir": str(folder / "warehouse"),
        "spark.hadoop.javax.jdo.option.ConnectionURL":
            f"jdbc:derby:;databaseName={metastore / 'metastore_db'};create=true",
        "spark.driver.extraJavaOptions": f"-Dderby.stream.error.file={metastore / 'derby.log'}",
    }


EXPRESSION_ID = re.compile(r"#\d+L?")


def reset_catalog(spark, folder: Path) -> None:
    """Start the notebook's tables afresh: drop every table of the current database, then remove
    what else an earlier run left in `folder` (the metastore stays: the session has it open)."""
    for table in spark.catalog.listTables():
        if not table.isTemporary:
            spark.sql(f"DROP TABLE IF EXISTS {table.name}")
    for path in folder.iterdir():
        if path.name not in ("metastore_db", "derby.log"):
            shutil.rmtree(path) if path.is_dir() else path.unlink()


def _compact(mapping: dict | None, keys: tuple[str, ...]) -> str:
    """`key=value` pairs of the chosen keys; expression ids (`id#123L`) dropped, as they vary."""
    mapping = mapping or {}
    return ", ".join(f"{key}={EXPRESSION_ID.sub('', str(mapping[key]))}" for key in keys if key in mapping)


def history(spark, table: str, last: int | None = None) -> pd.DataFrame:
    """DESCRIBE HISTORY as a short table, oldest first: version, operation, its main parameters
    and metrics."""
    rows = spark.sql(f"DESCRIBE HISTORY {table}" + (f" LIMIT {last}" if last else "")).collect()
    frame = pd.DataFrame([{"version": row.version, "operation": row.operation,
                           "parameters": _compact(row.operationParameters, SHOWN_PARAMETERS),
                           "metrics": _compact(row.operationMetrics, SHOWN_METRICS)} for row in rows])
    return frame.sort_values("version", ignore_index=True)


def version(spark, table: str) -> int:
    """The table's current version."""
    return spark.sql(f"DESCRIBE HISTORY {table} LIMIT 1").first().version


def wait_for_file(path: Path, seconds: float) -> bool:
    """Wait until `path` exists (another job's signal, seen through the shared data root), at
    most `seconds`; return whether it appeared."""
    deadline = time.monotonic() + seconds
    while not Path(path).exists():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def error_line(error: BaseException) -> str:
    """`ExceptionClass: the first two sentences of its message`, for a PySpark, Delta or Java
    exception (Delta's messages go on with advice and links)."""
    java = getattr(error, "java_exception", None)
    if java is not None:  # a Java exception PySpark does not translate (a CHECK violation)
        name, message = java.getClass().getSimpleName(), str(java.getMessage())
    else:
        name, message = type(error).__name__, str(error)
    first = message.strip().splitlines()[0] if message.strip() else ""
    return f"{name}: {'. '.join(first.split('. ')[:2])}"


def files_read(frame) -> int:
    """Run the query and return how many files its scans read (the Spark UI's "number of files
    read"), after Delta's data skipping."""
    frame.collect()
    counts = []

    def walk(plan):
        if plan.nodeName().startswith("AdaptiveSparkPlan"):
            plan = plan.executedPlan()
        metrics = plan.metrics()
        if plan.nodeName().startswith("Scan") and metrics.contains("numFiles"):
            counts.append(metrics.apply("numFiles").value())
        children = plan.children()
        for index in range(children.size()):
            walk(children.apply(index))

    walk(frame._jdf.queryExecution().executedPlan())
    return int(sum(counts))
