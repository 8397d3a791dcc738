"""MLflow tracking that Spark's executors reach too (workshops 02, 04 and 07).

- A tracking URI already configured (Databricks, or MLFLOW_TRACKING_URI set before the kernel
  started) is used as it is, never overridden.
- `tracking_uri` names one explicitly (`http://host:5000`, `sqlite:///…`).
- Otherwise, with Spark in local mode: a fresh SQLite store in the notebook's working folder.
- Otherwise (a cluster): an MLflow server on the driver's address, its database on the driver and
  its artifacts under the data root. Executors log over HTTP; the server stops with the kernel.

`mlflow_ui(tracking)` says where to browse the runs in MLflow's UI: through JupyterLab's proxy
when the UI runs on this machine behind it (Binder, the container), else at its own address.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from .service import Service, answers_http

QUIET_ENVIRONMENT = {
    "MLFLOW_DISABLE_TELEMETRY": "true",  # no attempt to reach a telemetry host (offline)
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
}
_PRECONFIGURED = os.environ.get("MLFLOW_TRACKING_URI")  # as the kernel started, before MLflow set it
_server: Service | None = None  # the tracking server this kernel started (a cluster run)
_ui: tuple[str, Service] | None = None  # (the local store it shows, MLflow's UI on it)


@dataclass(frozen=True)
class Tracking:
    uri: str  # what the driver and the executors log to
    experiment_id: str
    where: str  # one line for the notebook: which store, and why


def start_tracking(run, experiment: str, tracking_uri: str = "") -> Tracking:
    """Point MLflow at the store this run should use and create `experiment` there (a fresh
    one each call, so that a notebook's outputs repeat). Call it before starting Spark: local
    workers inherit the environment set here. `run` is the notebook's `setup_notebook` result."""
    global _server
    os.environ.update(QUIET_ENVIRONMENT)
    import mlflow

    quiet_mlflow()
    stop_tracking()
    preconfigured = _PRECONFIGURED or ("databricks" if os.environ.get("DATABRICKS_RUNTIME_VERSION") else "")
    if tracking_uri or preconfigured:
        uri = tracking_uri or preconfigured
        where = f"MLflow tracking at {uri} ({'as given' if tracking_uri else 'already configured'})"
        if uri.startswith("databricks"):
            experiment = f"/Shared/sparkcourse/{experiment}"
        mlflow.set_tracking_uri(uri)
        name = f"{experiment}-{uuid.uuid4().hex[:6]}" if not uri.startswith("databricks") else experiment
        found = mlflow.get_experiment_by_name(name)
        return Tracking(uri, found.experiment_id if found else mlflow.create_experiment(name), where)

    folder = run.work / "mlflow"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    store = f"sqlite:///{folder / f'store-{uuid.uuid4().hex[:8]}.db'}"  # a new file: MLflow
    # keeps a connection to the previous one open
    if run.master.startswith("local"):
        mlflow.set_tracking_uri(store)
        artifacts = (folder / "artifacts").as_uri()
        where = "MLflow tracking in a SQLite store in this notebook's working folder"
        return Tracking(store, mlflow.create_experiment(experiment, artifacts), where)

    from .spark import driver_address

    _server = tracking_server(driver_address(run.master), store, run.path("mlflow-artifacts"),
                              folder / "server.log")
    uri = _server.url
    mlflow.set_tracking_uri(uri)
    os.environ["MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT"] = "true"  # no link per run in the outputs
    where = f"MLflow tracking on a server this notebook started at {uri} (artifacts under data_root)"
    return Tracking(uri, mlflow.create_experiment(experiment), where)


def tracking_server(host: str, store: str, artifacts: str, log, timeout: float = 90) -> Service:
    """An MLflow tracking server on `host` (a free port), serving artifacts kept at `artifacts`."""
    from .cluster import free_port

    port = free_port(host)
    url = f"http://{host}:{port}"

    command = [sys.executable, "-m", "mlflow", "server", "--host", host, "--port", str(port),
               "--workers", "1", "--backend-store-uri", store, "--artifacts-destination", artifacts]
    # No background job runner (MLflow's GenAI jobs): one process less, a faster start.
    env = QUIET_ENVIRONMENT | {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    server = Service("the MLflow tracking server", command, answers_http(f"{url}/health"), log, env,
                     timeout, url)
    return server.start()


def mlflow_ui(tracking: Tracking) -> str:
    """Where a learner browses `tracking`'s runs in MLflow's UI. A local store gets a UI server of
    its own on 127.0.0.1 (it stops with the kernel); a server's UI is the server."""
    global _ui
    if tracking.uri.startswith("databricks"):
        return "the Experiments page of your Databricks workspace"
    url = tracking.uri
    if tracking.uri.startswith("sqlite:///"):
        if _ui is None or _ui[0] != tracking.uri:
            stop_ui()
            folder = Path(tracking.uri.removeprefix("sqlite:///")).parent
            _ui = tracking.uri, tracking_server("127.0.0.1", tracking.uri, str(folder / "ui-artifacts"),
                                                folder / "ui.log")
        url = _ui[1].url
    from .spark import jupyter_proxy_base

    address, base = urlparse(url), jupyter_proxy_base()
    if base and address.hostname in ("127.0.0.1", "localhost"):
        return f"{base}proxy/{address.port}/"
    return f"{url}/"


def stop_ui() -> None:
    global _ui
    if _ui is not None:
        _ui[1].stop()
        _ui = None


def stop_tracking() -> None:
    """Stop the tracking server and the UI this kernel started, if any (they also stop with the
    kernel)."""
    global _server
    stop_ui()
    if _server is not None:
        _server.stop()
        _server = None


def quiet_mlflow() -> None:
    """MLflow logs each step at INFO level; keep warnings only, but not two that do not apply
    here: the one about integer columns when a dataset is logged, and the one that every
    `spark_udf(..., env_manager="local")` gives (the course's executors run the driver's own
    environment, which is what "local" means)."""
    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # Logging a dataset infers its schema; ours have whole-number columns on purpose (the label).
    warnings.filterwarnings("ignore", message="Hint: Inferred schema contains integer column")
    pyfunc = logging.getLogger("mlflow.pyfunc")
    if not any(isinstance(f, _LocalEnvironmentIsIntended) for f in pyfunc.filters):
        pyfunc.addFilter(_LocalEnvironmentIsIntended())


class _LocalEnvironmentIsIntended(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return 'with `env_manager="local"`' not in record.getMessage()
