"""Servers the course starts: a bounded start that fails with the log, and nothing left behind,
even when the process that started them is killed."""

import os
import signal
import subprocess
import sys
import textwrap
import time
import urllib.request

import pytest

from sparkcourse.cluster import free_port
from sparkcourse.service import Service, ServiceError


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1):
            return True
    except OSError:
        return False


def http_server(tmp_path, port: int) -> Service:
    command = [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port)]
    url = f"http://127.0.0.1:{port}/"
    return Service("a web server", command, lambda: answers(url), tmp_path / "server.log", timeout=20)


def test_start_waits_until_ready_and_stop_leaves_nothing(tmp_path):
    port = free_port()
    with http_server(tmp_path, port) as server:
        assert answers(f"http://127.0.0.1:{port}/")
        group = server.process.pid
    assert not answers(f"http://127.0.0.1:{port}/")
    with pytest.raises(ProcessLookupError):
        os.killpg(group, 0)


def test_a_server_that_fails_says_why_in_one_line(tmp_path):
    command = [sys.executable, "-c", "import sys; sys.exit('port 1 is taken')"]
    with pytest.raises(ServiceError, match=r"a web server stopped; its log .* ends: port 1 is taken"):
        Service("a web server", command, lambda: False, tmp_path / "failed.log", timeout=20).start()


def test_a_server_that_never_gets_ready_is_stopped(tmp_path):
    command = [sys.executable, "-c", "import time; print('starting', flush=True); time.sleep(60)"]
    started = time.monotonic()
    with pytest.raises(ServiceError, match="was not ready after 2 s; .* ends: starting"):
        Service("a slow server", command, lambda: False, tmp_path / "slow.log", timeout=2).start()
    assert time.monotonic() - started < 15


def test_a_killed_kernel_leaves_no_server_behind(tmp_path):
    port = free_port()
    kernel = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(os.path.dirname(__file__))!r})
        from pathlib import Path
        from test_service import http_server
        server = http_server(Path({str(tmp_path)!r}), {port}).start()
        print(server.process.pid, flush=True)
        time.sleep(600)
    """)], stdout=subprocess.PIPE, text=True)
    group = int(kernel.stdout.readline())
    assert answers(f"http://127.0.0.1:{port}/")
    kernel.send_signal(signal.SIGKILL)
    kernel.wait()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            break
        time.sleep(0.2)
    else:
        pytest.fail("the server outlived the process that started it")
    assert not answers(f"http://127.0.0.1:{port}/")
