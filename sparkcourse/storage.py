"""The data root: a folder or URI that the driver and every executor see (a local folder on a
laptop; NFS, HDFS, S3 or DBFS on a cluster). Spark reads nothing from anywhere else.

Spark takes the paths as they are. The driver's own reads and writes (pandas, the generators)
go through pyarrow's filesystems, so that they reach the same place: local folders and `file:`,
`hdfs:`, `s3:` and `gs:` URIs; `dbfs:/x` is `/dbfs/x` on a Databricks driver.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd

URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:/")


def is_uri(path: str) -> bool:
    return bool(URI.match(path))


def resolve_root(data_root: str, default: Path) -> str:
    """The data root as Spark takes it: `default` when empty, local folders made absolute."""
    from .params import ParameterError

    if not isinstance(data_root, str):
        raise ParameterError(f"data_root must be a folder or URI; got {data_root!r}")
    data_root = data_root.strip().rstrip("/")
    if is_uri(data_root):
        return data_root
    return str(Path(data_root).absolute() if data_root else default.absolute())


def join(root: str, *parts: str) -> str:
    return "/".join([root.rstrip("/"), *(str(part).strip("/") for part in parts)])


def filesystem(path: str):
    """(pyarrow filesystem, path inside it) for a local path or a URI."""
    from pyarrow import fs

    if path.startswith("dbfs:/"):  # Databricks mounts DBFS on its driver at /dbfs
        return fs.LocalFileSystem(), "/dbfs/" + path.removeprefix("dbfs:/").lstrip("/")
    if not is_uri(path):
        return fs.LocalFileSystem(), str(Path(path).absolute())
    return fs.FileSystem.from_uri(path)


def fresh(path: str) -> str:
    """An empty folder at `path` (what an earlier run left there is removed)."""
    system, inner = filesystem(path)
    system.create_dir(inner, recursive=True)
    system.delete_dir_contents(inner, missing_dir_ok=True)
    return path


def write_parquet(frame: pd.DataFrame, path: str) -> str:
    """Write a pandas DataFrame as one Parquet file at `path` (folders created); return `path`."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    system, inner = filesystem(path)
    system.create_dir(inner.rsplit("/", 1)[0], recursive=True)
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), inner, filesystem=system)
    return path


def read_parquet(paths: str | list[str]) -> pd.DataFrame:
    """Parquet files (or folders of them) under the data root, read on the driver into pandas."""
    import pyarrow.parquet as pq

    paths = [paths] if isinstance(paths, str) else paths
    system, _ = filesystem(paths[0])
    inner = [filesystem(path)[1] for path in paths]
    return pq.ParquetDataset(inner if len(inner) > 1 else inner[0], filesystem=system).read().to_pandas()


def list_files(folder: str, suffix: str) -> list[str]:
    """The files in `folder` whose names end with `suffix`, sorted, as paths under the same root."""
    from pyarrow import fs

    system, inner = filesystem(folder)
    names = sorted(info.base_name for info in system.get_file_info(fs.FileSelector(inner))
                   if info.type == fs.FileType.File and info.base_name.endswith(suffix))
    return [join(folder, name) for name in names]


def copy_in(local_file: Path, path: str) -> str:
    """Copy a driver-local file to `path` under the data root, unless the same size is there."""
    system, inner = filesystem(path)
    if system.get_file_info(inner).size != local_file.stat().st_size:
        system.create_dir(inner.rsplit("/", 1)[0], recursive=True)
        with local_file.open("rb") as source, system.open_output_stream(inner) as target:
            shutil.copyfileobj(source, target)
    return path


def exists(path: str) -> bool:
    from pyarrow import fs

    system, inner = filesystem(path)
    return system.get_file_info(inner).type != fs.FileType.NotFound
