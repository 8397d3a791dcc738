import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "ci"))

# The longest tests start first, so that two test workers end together (`make test`, which
# hands tests out one at a time); then those that need their test worker's cluster core, before
# the notebooks under Spark Connect hold it (test_cluster's SharedConnectServer).
FIRST = ("[13_recommenders.ipynb]", "[13_recommenders]", "[06_delta_lake]", "[11_experiment_design.ipynb]",
         "[12_streaming_ingestion.ipynb]",
         "[12_streaming_ingestion]", "[07_mlflow_to_production]", "[02_hyperparameter_tuning]",
         "test_cluster.py::test_workers_", "[11_experiment_design]", "[04_many_models]")


def pytest_collection_modifyitems(items):
    def rank(item) -> tuple[int, bool]:
        position = next((i for i, part in enumerate(FIRST) if part in item.nodeid), len(FIRST))
        return position, item.get_closest_marker("slow") is None

    items.sort(key=rank)


def pytest_terminal_summary(terminalreporter):
    """What tests measured (`record_property("report", ...)`), shown after the run."""
    measured = [value for report in terminalreporter.stats.get("passed", [])
                for name, value in report.user_properties if name == "report"]
    if measured:
        terminalreporter.section("measured")
        for line in measured:
            terminalreporter.line(line)
