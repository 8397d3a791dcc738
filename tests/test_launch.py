"""`make lab`'s launcher serves JupyterLab on 127.0.0.1 with a token and the course kernel."""

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request

import pytest
from notebooks import KERNEL, ROOT

from sparkcourse.cluster import free_port


def get(url, token=None):
    request = urllib.request.Request(url, headers={"Authorization": f"token {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, b""
    except urllib.error.URLError:  # not listening yet
        return None, b""


@pytest.mark.slow
def test_lab_serves_the_course_with_a_token(tmp_path):
    port, token = free_port(), "course-test-token-0123456789"
    env = dict(os.environ, PORT=str(port), TOKEN=token, JUPYTER_RUNTIME_DIR=str(tmp_path))
    log = open(tmp_path / "lab.log", "wb")  # noqa: SIM115
    lab = subprocess.Popen([str(ROOT / "ci" / "launch_lab.sh"), "--no-browser"], env=env,
                           stdout=log, stderr=log, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while get(f"{base}/api/status", token)[0] != 200:
            assert lab.poll() is None, (tmp_path / "lab.log").read_text()
            assert time.monotonic() < deadline, "JupyterLab did not answer in 120 s"
            time.sleep(1)
        assert get(f"{base}/api/status")[0] == 403  # no token, no access
        specs = json.loads(get(f"{base}/api/kernelspecs", token)[1])
        assert KERNEL in specs["kernelspecs"]
        assert get(f"{base}/api/contents/index.ipynb", token)[0] == 200
    finally:
        os.killpg(lab.pid, signal.SIGTERM)
        lab.wait(timeout=30)
