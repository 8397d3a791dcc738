"""What the ci/ scripts and the tests share: where notebooks are and how to run them."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "solutions"
WORKSHOPS = ROOT / "workshops"
KERNEL = "scaling-ml-spark"  # registered by `make setup`; tests use the current env instead
NOTEBOOK_NAME = re.compile(r"\d\d_[a-z0-9_]+\.ipynb")
# The committed outputs are those of local[2] on any machine: they print the core count, and
# CI (two cores) checks them. Everything else may use what a machine has.
GOLDEN_MASTER = "local[2]"
CELL_TIMEOUT = 300  # seconds one cell may run before the run fails, naming the cell
DEFAULT_BUDGET, MAX_BUDGET = 120, 300  # seconds a solution may take at `small` on a quiet 2-core machine


class NotebookTimeout(RuntimeError):
    """A cell ran longer than its timeout."""


def course_notebooks(folder: Path = SOLUTIONS) -> list[Path]:
    """The numbered notebooks of a folder, in course order."""
    return sorted(p for p in folder.glob("*.ipynb") if NOTEBOOK_NAME.fullmatch(p.name))


def chosen_notebooks(description: str, out: Path) -> tuple[list[Path], Path]:
    """A generator's command line: the workshops it names (`--only 00 07`; all by default) and `--out`."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--only", nargs="*", default=[], help="workshop numbers, e.g. 00 07")
    parser.add_argument("--out", type=Path, default=out)
    args = parser.parse_args()
    return [p for p in course_notebooks() if not args.only or p.name[:2] in args.only], args.out


def runs_under_connect(notebook: nbformat.NotebookNode) -> bool:
    """What the notebook's first cell declares: True for "**Spark Connect:** yes"."""
    return "**Spark Connect:** yes" in notebook.cells[0].source


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def write(notebook: nbformat.NotebookNode, path: Path) -> None:
    nbformat.write(notebook, path)


def tags(cell) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def time_budget(notebook: nbformat.NotebookNode) -> int:
    """Seconds the notebook may take at `small`: its `course.budget_seconds`, else the default."""
    return notebook.metadata.get("course", {}).get("budget_seconds", DEFAULT_BUDGET)


def execute(source: Path, output: Path, parameters: dict, cwd: Path, kernel: str | None = None,
            progress: bool = False, timeout: int = CELL_TIMEOUT) -> nbformat.NotebookNode:
    """Run a notebook with papermill; raises PapermillExecutionError if a cell fails, and
    NotebookTimeout if one runs longer than `timeout` seconds (the kernel is then stopped)."""
    import papermill
    from nbclient.exceptions import CellTimeoutError

    try:
        return papermill.execute_notebook(
            str(source), str(output), parameters=parameters, cwd=str(cwd), kernel_name=kernel,
            progress_bar=progress, log_output=False, request_save_on_cell_execute=False,
            execution_timeout=timeout,
            extra_arguments=["--IPKernelApp.log_level=ERROR"],  # no kernel start-up chatter
        )
    except CellTimeoutError as error:  # its message previews the cell's source
        raise NotebookTimeout(f"{source.name}: {error}") from None


def strip_run_metadata(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Drop what papermill adds (timings, injected cell) so committed notebooks diff cleanly."""
    notebook.cells = [c for c in notebook.cells if "injected-parameters" not in tags(c)]
    notebook.metadata.pop("papermill", None)
    for count, cell in enumerate(notebook.cells, start=1):
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            cell.execution_count = count
            for output in cell.outputs:
                if "execution_count" in output:
                    output.execution_count = count
    return notebook
