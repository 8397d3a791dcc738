"""Every course notebook: its lesson structure, a papermill run at CI scale, an nbval validation
of the committed outputs in the same folder (so a second run must match), and its student
version run top to bottom. New notebooks in solutions/ are picked up automatically."""

import shutil
import subprocess
import sys

import papermill
import pytest
from notebooks import KERNEL, ROOT, SOLUTIONS, WORKSHOPS, course_notebooks, execute, read, tags
from papermill.exceptions import PapermillExecutionError

from sparkcourse.report import read_metrics

NAMES = [path.name for path in course_notebooks(SOLUTIONS)]
COMMON_PARAMETERS = {"scale": "str", "spark_master": "str", "seed": "int", "work_dir": "str"}
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


@pytest.mark.parametrize("name", NAMES)
def test_lesson_structure(name):
    notebook = read(SOLUTIONS / name)
    intro, last = notebook.cells[0].source, notebook.cells[-1].source
    assert "about" in intro and "minutes" in intro and "**Topics:**" in intro
    assert "You will" in intro or "By the end" in intro, "learning objectives at the top"
    assert last.startswith("## Summary")
    parameters = papermill.inspect_notebook(str(SOLUTIONS / name))
    for parameter, kind in COMMON_PARAMETERS.items():
        assert parameters[parameter]["inferred_type_name"] == kind, parameter
    assert all(p["inferred_type_name"] != "None" and p["help"] for p in parameters.values())
    cells = code_cells(notebook)
    first = next(i for i, cell in enumerate(cells) if "parameters" in tags(cell))
    assert "setup_notebook(" in cells[first + 1].source, "validate parameters right after them"
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


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_solution_runs_and_reruns_to_the_committed_outputs(name, tmp_path):
    shutil.copy(SOLUTIONS / name, tmp_path / name)
    executed = execute(tmp_path / name, tmp_path / f"executed_{name}", {"scale": "small"},
                       cwd=tmp_path, kernel=KERNEL)
    assert_clean_outputs(executed)
    assert all(text.startswith("✔ correct") for text in check_feedback(executed))
    assert read_metrics(executed), "record() the notebook's key numbers for the course report"
    nbval = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval",
         "--nbval-current-env", "--nbval-sanitize-with", str(ROOT / "ci" / "nbval_sanitize.cfg"),
         "--rootdir", str(tmp_path), str(tmp_path / name)],
        cwd=tmp_path, capture_output=True, text=True, timeout=1200)
    assert nbval.returncode == 0, nbval.stdout[-4000:]


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_student_notebook_runs_top_to_bottom(name, tmp_path):
    executed = execute(WORKSHOPS / name, tmp_path / name, {}, cwd=tmp_path, kernel=KERNEL)
    assert_clean_outputs(executed)
    feedback = check_feedback(executed)
    assert feedback and all(text.startswith("… not attempted yet") for text in feedback)


@pytest.mark.parametrize("parameters, message", [
    ({"scale": "huge"}, "ParameterError: scale must be one of small, medium, large; got 'huge'"),
    ({"spark_master": "spark:/x"}, "ParameterError: spark_master must look like"),
    ({"n_users": -5}, "ParameterError: n_users must be >= 0; got -5"),
    ({"seed": "x"}, "ParameterError: seed must be a whole number"),
])
def test_bad_parameter_stops_with_one_line_before_spark(parameters, message, tmp_path):
    name = "01_feature_engineering.ipynb"
    with pytest.raises(PapermillExecutionError) as failure:
        execute(SOLUTIONS / name, tmp_path / name, parameters, cwd=tmp_path, kernel=KERNEL)
    assert len(failure.value.traceback) == 1 and failure.value.traceback[0].startswith(message)
    assert "setup_notebook(" in failure.value.source
    assert not list(tmp_path.rglob("spark-jvm.log")), "no Spark work before validation"
