"""The notebooks run unchanged against a standalone cluster (master + 2 workers on 127.0.0.1)."""

import pytest
from notebooks import KERNEL, SOLUTIONS, course_notebooks, execute
from test_notebooks import assert_clean_outputs, check_feedback, output_text

from sparkcourse.cluster import LocalCluster

NOTEBOOKS = course_notebooks(SOLUTIONS)


@pytest.mark.slow
@pytest.mark.parametrize("source", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_notebook_runs_on_a_local_standalone_cluster(source, tmp_path):
    with LocalCluster(workers=2, cores=1, memory="2g", folder=tmp_path / "cluster") as cluster:
        assert cluster.alive_workers() == 2
        executed = execute(source, tmp_path / source.name,
                           {"spark_master": cluster.master_url}, cwd=tmp_path, kernel=KERNEL)
        assert_clean_outputs(executed)
        assert all(text.startswith("✔ correct") for text in check_feedback(executed))
        if source.name.startswith("00"):
            text = "".join(output_text(o) for c in executed.cells for o in c.get("outputs", []))
            assert f"on {cluster.master_url} with 2 parallel tasks" in text
    assert not any(p.poll() is None for p in cluster.processes)
