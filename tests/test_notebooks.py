"""Every course notebook: its lesson structure; one papermill run of each solution at `small` on
local[2], within its time budget, whose outputs nbval then checks against the committed ones.
That run times each comparison once (`repeats=1`): timing cells are the ones nbval skips, and
their medians of 3 (the committed outputs) cost a quarter of the run for nothing it checks.
The student versions run at `ci` scale on a standalone cluster (test_cluster). New notebooks are
picked up on their own.

The solution runs take both cores, so `make test` runs them alone, one at a time. A notebook
whose metadata says `course.same_on_one_core` prints the same outputs on one core as committed
on two; its run takes one core (`local[1]`), beside another test, and twice its budget.
"""

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import papermill
import pytest
from notebooks import (
    GOLDEN_MASTER,
    KERNEL,
    MAX_BUDGET,
    ROOT,
    SOLUTIONS,
    course_notebooks,
    execute,
    read,
    runs_under_connect,
    tags,
    time_budget,
)
from papermill.exceptions import PapermillExecutionError

from sparkcourse.cluster import free_port
from sparkcourse.report import read_metrics

NAMES = [path.name for path in course_notebooks(SOLUTIONS)]
ONE_CORE = "local[1]"
COMMON_PARAMETERS = {"scale": "str", "spark_master": "str", "seed": "int", "work_dir": "str",
                     "data_root": "str"}
TIMING_CALLS = ("seconds(", "compare(")  # cells whose output nbval may ignore...
VARIES = "# Varies from run to run: "  # ...and cells that start by saying why theirs changes


def code_cells(notebook):
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def output_text(output) -> str:
    if output.output_type == "stream":
        return output.text
    if output.output_type == "error":
        return f"{output.ename}: {output.evalue}"
    return output.get("data", {}).get("text/plain", "")


def check_feedback(notebook) -> list[str]:
    """The output of every exercise check cell."""
    return ["".join(output_text(o) for o in cell.outputs)
            for cell in code_cells(notebook) if cell.source.startswith("check_")]


def assert_clean_outputs(notebook):
    for cell in code_cells(notebook):
        for output in cell.outputs:
            assert output.output_type != "error", f"error in: {cell.source[:80]}"
            assert output.get("name") != "stderr", f"stderr in: {cell.source[:80]}\n{output.text}"


def assert_nothing_left_beside(notebook: Path) -> None:
    """A run keeps its files in its work folder: nothing else (derby.log, metastore_db,
    spark-warehouse, a stray download) appears next to the executed notebook."""
    left = sorted(path.name for path in notebook.parent.iterdir())
    assert left == sorted([notebook.name, "work"]), f"files left beside {notebook.name}: {left}"


@pytest.mark.parametrize("name", NAMES)
def test_lesson_structure(name):
    notebook = read(SOLUTIONS / name)
    intro, last = notebook.cells[0].source, notebook.cells[-1].source
    assert "about" in intro and "minutes" in intro and "**Topics:**" in intro
    assert "You will" in intro or "By the end" in intro, "learning objectives at the top"
    assert last.startswith("## Summary")
    assert time_budget(notebook) <= MAX_BUDGET, f"a solution may take {MAX_BUDGET} s at most"
    parameters = papermill.inspect_notebook(str(SOLUTIONS / name))
    for parameter, kind in COMMON_PARAMETERS.items():
        assert parameters[parameter]["inferred_type_name"] == kind, parameter
    assert all(p["inferred_type_name"] != "None" and p["help"] for p in parameters.values())
    cell = next(cell for cell in notebook.cells if "parameters" in tags(cell))
    assignments = [line for line in cell.source.splitlines() if " = " in line]
    assert len(parameters) == len(assignments), "papermill skips a line with two '=' (in its comment)"
    cells = code_cells(notebook)
    first = next(i for i, cell in enumerate(cells) if "parameters" in tags(cell))
    assert "setup_notebook(" in cells[first + 1].source, "validate parameters right after them"
    if any("run.scale.repeats" in cell.source for cell in code_cells(notebook)):
        assert "repeats" in parameters, "a notebook that times comparisons takes `repeats`"
    assert runs_under_connect(notebook) or "**Spark Connect:** no: " in intro, "declare Spark Connect"
    assert ("classic_api=" in cells[first + 1].source) != runs_under_connect(notebook), \
        "a notebook that needs the classic API refuses sc:// up front (setup_notebook's classic_api)"
    for i, cell in enumerate(cells):
        if "# BEGIN SOLUTION" in cell.source:
            assert cells[i + 1].source.startswith("check_"), "each exercise has a check cell"
        if "nbval-ignore-output" in tags(cell):
            assert any(call in cell.source for call in TIMING_CALLS) or cell.source.startswith(
                VARIES), "only timing cells, or cells that say why they vary, may skip nbval"


@pytest.mark.parametrize("name", NAMES)
def test_committed_solution_outputs(name):
    notebook = read(SOLUTIONS / name)
    assert all(cell.execution_count for cell in code_cells(notebook)), "run `make solutions`"
    assert_clean_outputs(notebook)
    assert all(text.startswith("✔ correct") for text in check_feedback(notebook))


REFERENCE_SECONDS = 0.05  # the workload below on the quiet 2-core machine the budgets were set on


def reference_workload() -> float:
    start = time.perf_counter()
    sum(i % 7 for i in range(1_000_000))
    return time.perf_counter() - start


def slowness() -> float:
    """How much slower this machine runs than the budgets' reference machine, now (>= 1)."""
    return max(1.0, statistics.median(reference_workload() for _ in range(5)) / REFERENCE_SECONDS)


def nbval_replay(committed, executed) -> subprocess.CompletedProcess:
    """nbval's checks of the committed outputs against those of the executed copy."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "--color=no", "-p", "no:cacheprovider", "-p", "no:xdist",
         "-p", "nbval_replay", "--nbval-replay", str(executed),
         "--nbval-sanitize-with", str(ROOT / "ci" / "nbval_sanitize.cfg"),
         "--rootdir", str(committed.parent), str(committed)],
        cwd=committed.parent, capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT / "ci")})


def golden_runs():
    """(name, master) for each solution, marked `exclusive` when it takes both cores."""
    for name in NAMES:
        if read(SOLUTIONS / name).metadata.get("course", {}).get("same_on_one_core"):
            yield pytest.param(name, ONE_CORE, id=name)
        else:
            yield pytest.param(name, GOLDEN_MASTER, id=name, marks=pytest.mark.exclusive)


@pytest.mark.slow
@pytest.mark.parametrize("name, master", list(golden_runs()))
def test_solution_runs_once_within_budget_to_the_committed_outputs(name, master, tmp_path):
    parameters = {"scale": "small", "spark_master": master}
    if "repeats" in papermill.inspect_notebook(str(SOLUTIONS / name)):
        parameters["repeats"] = 1  # each timing cell once (see the module's docstring)
    before = slowness()
    start = time.perf_counter()
    executed = execute(SOLUTIONS / name, tmp_path / name, parameters, cwd=tmp_path, kernel=KERNEL)
    took = time.perf_counter() - start
    assert_clean_outputs(executed)
    assert_nothing_left_beside(tmp_path / name)
    assert all(text.startswith("✔ correct") for text in check_feedback(executed))
    assert read_metrics(executed), "record() the notebook's key numbers for the course report"
    nbval = nbval_replay(SOLUTIONS / name, tmp_path / name)
    assert nbval.returncode == 0, nbval.stdout[-4000:]
    budget, factor = time_budget(read(SOLUTIONS / name)), max(before, slowness())
    if master == ONE_CORE:
        budget *= 2  # budgets are for the two cores of GOLDEN_MASTER
    assert took <= budget * factor, (f"{name} took {took:.0f} s, over its budget of {budget} s "
                                     f"(x{factor:.2f} for this machine's speed)")


def assert_stops_in_one_line(name: str, parameters: dict, message: str, cell: str, tmp_path: Path) -> None:
    """The notebook stops at `cell` with one line starting with `message`, before any Spark work."""
    with pytest.raises(PapermillExecutionError) as failure:
        execute(SOLUTIONS / name, tmp_path / name, parameters, cwd=tmp_path, kernel=KERNEL)
    assert len(failure.value.traceback) == 1 and failure.value.traceback[0].startswith(message)
    assert cell in failure.value.source
    assert not list(tmp_path.rglob("spark-jvm.log")), "no Spark work before the notebook stops"


@pytest.mark.parametrize("name, parameters, message", [
    ("01_feature_engineering", {"scale": "huge"},
     "ParameterError: scale must be one of ci, small, medium, large; got 'huge'"),
    ("01_feature_engineering", {"spark_master": "spark:/x"}, "ParameterError: spark_master must look like"),
    ("01_feature_engineering", {"n_users": -5}, "ParameterError: n_users must be >= 0; got -5"),
    ("01_feature_engineering", {"seed": "x"}, "ParameterError: seed must be a whole number"),
    ("13_recommenders", {"kafka_bootstrap": "localhost"},
     "ParameterError: kafka_bootstrap must be host:port"),
    ("13_recommenders", {"n_items": 10}, "ParameterError: n_items must be >= 50; got 10"),
    ("13_recommenders", {"serve_port": 70_000}, "ParameterError: serve_port must be <= 65535; got 70000"),
])
def test_bad_parameter_stops_with_one_line_before_spark(name, parameters, message, tmp_path):
    assert_stops_in_one_line(f"{name}.ipynb", parameters, message, "setup_notebook(", tmp_path)


@pytest.mark.parametrize("parameters, message, cell", [
    ({"kafka_bootstrap": "localhost"}, "ParameterError: kafka_bootstrap must be host:port",
     "setup_notebook("),
    ({"partitions": 0}, "ParameterError: partitions must be >= 1; got 0", "setup_notebook("),
    ({"kafka_bootstrap": "UNREACHABLE"}, "ServiceError: no Kafka broker answered at UNREACHABLE within 5 s",
     "kafka_broker("),
], ids=["bootstrap", "partitions", "unreachable"])
def test_streaming_stops_with_one_line_before_spark(parameters, message, cell, tmp_path):
    unreachable = f"127.0.0.1:{free_port()}"  # nothing listens there
    parameters = {key: value.replace("UNREACHABLE", unreachable) if isinstance(value, str) else value
                  for key, value in parameters.items()}
    assert_stops_in_one_line("12_streaming_ingestion.ipynb", parameters,
                             message.replace("UNREACHABLE", unreachable), cell, tmp_path)


def test_readme_says_which_workshops_run_under_spark_connect():
    readme = (ROOT / "README.md").read_text().splitlines()
    table = readme[readme.index("| workshop | local | standalone cluster | Spark Connect | Databricks |"):]
    connect_row = next(line for line in table if "tested: a Connect server" in line)
    listed = {f"{number}_" for number in connect_row.split("|")[1].replace(",", " ").split()}
    assert listed == {name[:3] for name in NAMES if runs_under_connect(read(SOLUTIONS / name))}

