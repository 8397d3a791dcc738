"""LocalCluster's start-up, without Spark: what counts as the master answering, and no process
left behind when the cluster does not come up."""

import json
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from sparkcourse.cluster import LocalCluster


def serve(body: bytes, content_type: str) -> ThreadingHTTPServer:
    """An HTTP server on 127.0.0.1 that answers every GET with `body`."""
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the name http.server calls
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.mark.parametrize("body, content_type, alive", [
    (b"<!DOCTYPE html><html>a worker's web UI</html>", "text/html", 0),  # another service on the port
    (json.dumps({"workers": [{"state": "ALIVE"}, {"state": "DEAD"}]}).encode(), "application/json", 1),
])
def test_only_the_masters_json_counts_as_an_answer(body, content_type, alive, tmp_path):
    server = serve(body, content_type)
    try:
        cluster = LocalCluster(folder=tmp_path)
        cluster.ui_port = server.server_address[1]
        assert (cluster.master_state() is not None) == (content_type == "application/json")
        assert cluster.alive_workers() == alive
    finally:
        server.shutdown()
        server.server_close()


def test_the_ui_port_differs_from_the_masters_port(tmp_path):
    cluster = LocalCluster(folder=tmp_path)
    assert cluster.ui_port != cluster.port


@pytest.mark.parametrize("failure", [None, ValueError("not JSON")])
def test_a_cluster_that_does_not_come_up_leaves_no_process(failure, tmp_path, monkeypatch):
    cluster, launched = LocalCluster(folder=tmp_path), []

    def launch(name, *args):  # a process that would run for a minute
        launched.append(subprocess.Popen(["sleep", "60"]))
        cluster.processes.append(launched[-1])

    def answer():
        if failure:
            raise failure
        return None  # the master never answers

    monkeypatch.setattr(cluster, "_launch", launch)
    monkeypatch.setattr(cluster, "master_state", answer)
    with pytest.raises(type(failure) if failure else RuntimeError):
        cluster.start(timeout=1)
    assert launched and all(process.poll() is not None for process in launched)
