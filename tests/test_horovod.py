"""The opt-in Horovod path of workshop 03: build Horovod (once per machine), then train with it."""

import subprocess

import pytest
from notebooks import KERNEL, ROOT, SOLUTIONS, execute
from test_notebooks import assert_clean_outputs, output_text

from sparkcourse.report import read_metrics

NAME = "03_distributed_training.ipynb"


@pytest.mark.slow
@pytest.mark.exclusive
@pytest.mark.timeout(2400)  # a fresh machine builds Horovod first (about 6 minutes)
def test_workshop_03_trains_with_horovod(tmp_path):
    build = subprocess.run([str(ROOT / "ci" / "build_horovod.sh")], capture_output=True,
                           text=True, timeout=1800)
    assert build.returncode == 0, build.stdout[-1000:] + build.stderr[-3000:]
    parameters = {"scale": "ci", "spark_master": "local[2]", "use_horovod": True}
    executed = execute(SOLUTIONS / NAME, tmp_path / NAME, parameters, cwd=tmp_path, kernel=KERNEL)
    assert_clean_outputs(executed)
    text = "".join(output_text(o) for cell in executed.cells for o in cell.get("outputs", []))
    assert "processes on the executors" in text and "every rank returned the same: True" in text
    assert read_metrics(executed)["horovod_seconds"] > 0
