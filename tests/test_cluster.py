"""The notebooks run unchanged against a standalone cluster (master + 2 workers on 127.0.0.1).

One cluster serves every notebook; its tests share one xdist worker (`--dist loadgroup`),
so two clusters never compete for ports or cores.
"""

import pytest
from notebooks import KERNEL, SOLUTIONS, course_notebooks, execute
from test_notebooks import assert_clean_outputs, check_feedback, output_text

from sparkcourse.cluster import LocalCluster

NOTEBOOKS = course_notebooks(SOLUTIONS)
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("cluster")]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    with LocalCluster(workers=2, cores=1, memory="2g",
                      folder=tmp_path_factory.mktemp("cluster")) as running:
        processes = list(running.processes)
        yield running
    assert all(process.poll() is not None for process in processes), "a cluster process outlived stop()"


@pytest.mark.parametrize("source", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_notebook_runs_on_a_local_standalone_cluster(source, cluster, tmp_path):
    assert cluster.alive_workers() == 2
    executed = execute(source, tmp_path / source.name,
                       {"spark_master": cluster.master_url}, cwd=tmp_path, kernel=KERNEL)
    assert_clean_outputs(executed)
    assert all(text.startswith("✔ correct") for text in check_feedback(executed))
    if source.name.startswith("00"):
        text = "".join(output_text(o) for c in executed.cells for o in c.get("outputs", []))
        assert f"on {cluster.master_url} with 2 parallel tasks" in text
