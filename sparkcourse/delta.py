"""Delta tables with `deltalake` (delta-rs), and Spark reading their snapshots (Workshop 06).

delta-spark needs jars from Maven Central; delta-rs speaks the same Delta protocol from Python.
Spark computes on a table by reading exactly the Parquet files of one snapshot.
"""

from __future__ import annotations

import multiprocessing
import shutil
from pathlib import Path

import pandas as pd
import pyarrow as pa


def fresh_folder(path: Path) -> Path:
    """An empty folder at `path`: what an earlier run of the notebook left there is removed."""
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def history(table) -> pd.DataFrame:
    """The table's commits, oldest first: version, operation and its main parameters."""
    rows = []
    for commit in table.history():
        parameters = commit.get("operationParameters", {})
        shown = {key: value for key, value in parameters.items()
                 if key in ("mode", "predicate", "version", "numFiles", "name", "expr")}
        rows.append({"version": commit["version"], "operation": commit["operation"],
                     "parameters": ", ".join(f"{k}={v}" for k, v in shown.items())})
    return pd.DataFrame(rows).sort_values("version", ignore_index=True)


def active_files(table) -> pd.DataFrame:
    """The Parquet files of the table's current snapshot: path, size and rows."""
    actions = pa.table(table.get_add_actions(flatten=True)).to_pandas()
    return actions[["path", "size_bytes", "num_records"]].sort_values("path", ignore_index=True)


def read_snapshot(spark, table):
    """A Spark DataFrame of exactly one snapshot of a Delta table (not every file in its folder)."""
    return spark.read.parquet(*table.file_uris())


def _append_batches(path: str, writer: int, batches: int, rows: int) -> None:
    from deltalake import write_deltalake

    for batch in range(batches):
        frame = pd.DataFrame({"writer": writer, "batch": batch, "row": range(rows)})
        write_deltalake(path, frame, mode="append")


def append_concurrently(path: str, writers: int, batches: int, rows: int) -> None:
    """`writers` processes each append `batches` batches of `rows` rows to the table at `path`.

    Processes are spawned, not forked: delta-rs' runtime does not survive a fork."""
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_append_batches, args=(path, writer, batches, rows))
                 for writer in range(writers)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=300)
    failed = [p.exitcode for p in processes if p.exitcode != 0]
    if failed:
        raise RuntimeError(f"{len(failed)} writer process(es) failed: exit codes {failed}")


def subfolder(work: Path, name: str) -> Path:
    """`work / name`, refusing names that would leave `work` (the notebook cleans this folder)."""
    from .params import ParameterError

    path = (work / name).resolve()
    if not name or Path(name).is_absolute() or work.resolve() not in path.parents:
        raise ParameterError(f"table_root must be a folder name inside {work.name}/; got {name!r}")
    return path


def read_changes(table, starting_version: int) -> pd.DataFrame:
    """The table's change data feed from `starting_version` on, as pandas."""
    return pa.table(table.load_cdf(starting_version=starting_version).read_all()).to_pandas()
