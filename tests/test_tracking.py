"""MLflow tracking: a fresh local store on a laptop, a server on the driver for a cluster, and a
configured tracking URI (Databricks) never overridden."""

import json
import urllib.parse
import urllib.request

import mlflow
import pytest

from sparkcourse import tracking
from sparkcourse.notebook import setup_notebook


@pytest.fixture(autouse=True)
def no_configured_uri(monkeypatch):
    monkeypatch.setattr(tracking, "_PRECONFIGURED", None)
    monkeypatch.delenv("DATABRICKS_RUNTIME_VERSION", raising=False)
    yield
    tracking.stop_tracking()


def notebook_run(tmp_path, master="local[1]"):
    return setup_notebook("02_lesson", scale="ci", spark_master=master, seed=0,
                          work_dir=str(tmp_path / "work"), data_root=str(tmp_path / "shared"))


def test_a_local_run_gets_a_fresh_store(tmp_path):
    run = notebook_run(tmp_path)
    first = tracking.start_tracking(run, "exp")
    with mlflow.start_run(experiment_id=first.experiment_id):
        mlflow.log_metric("loss", 1.0)
    again = tracking.start_tracking(run, "exp")  # same name again: the old store is gone
    assert mlflow.search_runs([again.experiment_id]).empty
    assert again.uri.startswith("sqlite:///") and len(list((run.work / "mlflow").glob("*.db"))) == 1
    assert "SQLite store" in again.where


def test_a_configured_uri_is_kept(tmp_path, monkeypatch):
    store = f"sqlite:///{tmp_path / 'team.db'}"
    monkeypatch.setattr(tracking, "_PRECONFIGURED", store)
    kept = tracking.start_tracking(notebook_run(tmp_path), "exp")
    assert kept.uri == store == mlflow.get_tracking_uri() and "already configured" in kept.where
    given = tracking.start_tracking(notebook_run(tmp_path), "exp", f"sqlite:///{tmp_path / 'mine.db'}")
    assert given.uri.endswith("mine.db") and "as given" in given.where


def test_a_cluster_run_logs_to_a_server_on_the_driver(tmp_path):
    run = notebook_run(tmp_path, master="spark://127.0.0.1:7077")
    served = tracking.start_tracking(run, "exp")
    assert served.uri.startswith("http://127.0.0.1:") and "server" in served.where
    with mlflow.start_run(experiment_id=served.experiment_id) as logged:
        mlflow.log_metric("loss", 0.5)
        mlflow.log_text("hello", "note.txt")  # artifacts go through the server to the data root
    assert mlflow.get_run(logged.info.run_id).data.metrics == {"loss": 0.5}
    assert list((tmp_path / "shared" / "02_lesson" / "mlflow-artifacts").rglob("note.txt"))
    tracking.stop_tracking()
    with pytest.raises(OSError):
        urllib.request.urlopen(f"{served.uri}/health", timeout=2)


def test_a_local_stores_runs_are_browsed_in_a_ui_of_its_own(tmp_path, monkeypatch):
    local = tracking.start_tracking(notebook_run(tmp_path), "exp")
    address = tracking.mlflow_ui(local)
    assert address.startswith("http://127.0.0.1:") and tracking.mlflow_ui(local) == address  # one UI
    with urllib.request.urlopen(f"{address}ajax-api/2.0/mlflow/experiments/get?experiment_id="
                                f"{local.experiment_id}", timeout=10) as answer:
        assert json.load(answer)["experiment"]["name"] == "exp"
    monkeypatch.setenv("SPARKCOURSE_UI_PROXY", "/")  # behind JupyterLab's proxy: its path there
    assert tracking.mlflow_ui(local) == f"/proxy/{urllib.parse.urlparse(address).port}/"
    tracking.start_tracking(notebook_run(tmp_path), "exp")  # a new store: the old UI stops
    with pytest.raises(OSError):
        urllib.request.urlopen(f"{address}health", timeout=2)
