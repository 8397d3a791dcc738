"""A model served over HTTP by `mlflow models serve` (Workshop 07): started on 127.0.0.1 on a free
port with a bounded wait, called from Python, and stopped with everything it started."""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from .cluster import HOST, free_port
from .service import Service, answers_http
from .tracking import QUIET_ENVIRONMENT


def model_server(model_uri: str, log: Path, port: int = 0, timeout: float = 120) -> Service:
    """An MLflow scoring server for `model_uri` (not started yet), in this kernel's Python
    environment (`--env-manager local`: no conda, no download). It finds `models:/` URIs in the
    tracking store this kernel uses."""
    import mlflow

    port = port or free_port(HOST)
    url = f"http://{HOST}:{port}"

    command = [sys.executable, "-m", "mlflow", "models", "serve", "--model-uri", model_uri,
               "--env-manager", "local", "--host", HOST, "--port", str(port), "--workers", "1"]
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])  # its uvicorn
    env = QUIET_ENVIRONMENT | {"MLFLOW_TRACKING_URI": mlflow.get_tracking_uri(), "PATH": path}
    return Service("the MLflow model server", command, answers_http(f"{url}/ping"), log, env, timeout, url)


def invoke(url: str, rows: pd.DataFrame, timeout: float = 30) -> list:
    """The server's predictions for `rows` (one POST to /invocations)."""
    body = json.dumps({"dataframe_split": json.loads(rows.to_json(orient="split", index=False))})
    request = urllib.request.Request(f"{url}/invocations", data=body.encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())["predictions"]


def call_latencies(call: Callable[[pd.DataFrame], object], rows: pd.DataFrame, calls: int) -> list[float]:
    """Milliseconds of `calls` calls of `call`, each on one row (taken in turn from `rows`)."""
    times = []
    for i in range(calls):
        one = rows.iloc[[i % len(rows)]]
        start = time.perf_counter()
        call(one)
        times.append((time.perf_counter() - start) * 1000)
    return times


def latency_summary(milliseconds: list[float]) -> dict[str, float]:
    """Median and 95th percentile of call latencies."""
    ordered = sorted(milliseconds)
    return {"calls": len(ordered), "median_ms": statistics.median(ordered),
            "p95_ms": ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]}
