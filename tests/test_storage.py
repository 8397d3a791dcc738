"""The data root: where notebooks put the data Spark reads, as a local folder or a URI."""

import pandas as pd
import pytest

from sparkcourse import storage
from sparkcourse.notebook import setup_notebook
from sparkcourse.params import ParameterError


def notebook_run(tmp_path, data_root="", master="local[1]"):
    return setup_notebook("07_lesson", scale="ci", spark_master=master, seed=1,
                          work_dir=str(tmp_path / "work"), data_root=data_root)


def test_the_data_root_defaults_to_the_working_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = notebook_run(tmp_path)
    assert run.path("sales.parquet") == f"{tmp_path}/work/07_lesson/sales.parquet"
    assert notebook_run(tmp_path, "shared/").path("a", "b") == f"{tmp_path}/shared/07_lesson/a/b"
    assert notebook_run(tmp_path, "s3a://bucket/course").path("x") == "s3a://bucket/course/07_lesson/x"
    with pytest.raises(ParameterError, match="data_root must be a folder or URI"):
        notebook_run(tmp_path, 3)


def test_driver_reads_need_a_mounted_data_root(tmp_path):
    mounted = notebook_run(tmp_path, str(tmp_path / "nfs"))
    assert mounted.local_path("d") == tmp_path / "nfs" / "07_lesson" / "d"
    with pytest.raises(ParameterError, match="folder that the driver and the executors mount"):
        notebook_run(tmp_path, "hdfs://namenode/course").local_path("d")


@pytest.mark.parametrize("as_uri", [False, True], ids=["folder", "file-uri"])
def test_parquet_round_trip_and_listing(tmp_path, as_uri):
    root = tmp_path.as_uri() if as_uri else str(tmp_path)
    folder = storage.fresh(storage.join(root, "parts"))
    frames = [pd.DataFrame({"x": [i, i + 10]}) for i in range(3)]
    for i, frame in enumerate(frames):
        storage.write_parquet(frame, storage.join(folder, f"part-{i}.parquet"))
    storage.write_parquet(frames[0], storage.join(folder, "notes.txt"))  # not listed
    files = storage.list_files(folder, ".parquet")
    assert [name.rsplit("/", 1)[1] for name in files] == [f"part-{i}.parquet" for i in range(3)]
    assert storage.read_parquet(files[1:]).x.tolist() == [1, 11, 2, 12]
    assert storage.fresh(folder) == folder and storage.list_files(folder, ".parquet") == []


def test_bundled_datasets_are_copied_for_a_cluster_once(tmp_path):
    local = notebook_run(tmp_path, str(tmp_path / "shared"))
    assert local.dataset("cars.csv").endswith("datasets/cars.csv")
    assert not (tmp_path / "shared" / "datasets").exists()  # local mode reads the bundled file
    cluster = notebook_run(tmp_path, str(tmp_path / "shared"), master="spark://10.0.0.1:7077")
    copied = cluster.dataset("cars.csv")
    assert copied == f"{tmp_path}/shared/datasets/cars.csv"
    assert pd.read_csv(copied).equals(pd.read_csv(local.dataset("cars.csv")))
    before = (tmp_path / "shared" / "datasets" / "cars.csv").stat().st_mtime_ns
    cluster.dataset("cars.csv")
    assert (tmp_path / "shared" / "datasets" / "cars.csv").stat().st_mtime_ns == before
