"""nbval without a second execution: check a notebook's committed outputs against a run that has
already happened (papermill's executed copy), with nbval's own cell collection, tags and comment
markers, sanitising, stream handling, comparison and failure report ("Cell 7: Cell outputs differ").

    pytest -p nbval_replay --nbval-replay EXECUTED.ipynb --nbval-sanitize-with CFG COMMITTED.ipynb

Each solution is then executed once per `make test`, and still validated the way nbval does.
"""

from __future__ import annotations

import nbformat
import pytest
from nbval.plugin import IPyNbCell, IPyNbFile, coalesce_streams


def pytest_addoption(parser):
    parser.addoption("--nbval-replay", metavar="EXECUTED",
                     help="compare with this executed copy instead of running a kernel")


def pytest_collect_file(file_path, parent):
    executed = parent.config.option.nbval_replay
    if executed and file_path.suffix == ".ipynb":
        return ReplayedNotebook.from_parent(parent, path=file_path, executed=executed)
    return None


def executed_code_cells(path: str) -> list:
    """The executed copy's code cells, without the cell papermill injects for the parameters."""
    notebook = nbformat.read(path, as_version=4)
    return [cell for cell in notebook.cells if cell.cell_type == "code"
            and "injected-parameters" not in cell.metadata.get("tags", [])]


class ReplayedNotebook(IPyNbFile):
    def __init__(self, *args, executed: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.executed = executed
        self.executed_cells: list = []

    def setup(self):  # no kernel: the sanitise patterns and the executed cells are all it needs
        self.setup_sanitize_files()
        self.executed_cells = executed_code_cells(self.executed)

    def teardown(self):
        pass

    def collect(self):
        for cell in super().collect():
            yield ReplayedCell.from_parent(self, name=cell.name, cell_num=cell.cell_num,
                                           cell=cell.cell, options=cell.options)


class ReplayedCell(IPyNbCell):
    def runtest(self):
        if self.options["skip"]:
            pytest.skip()
        cells = self.parent.executed_cells
        if self.cell_num >= len(cells) or cells[self.cell_num].source != self.cell.source:
            self.raise_cell_error("The executed copy is not a run of this notebook")
        outputs = coalesce_streams(cells[self.cell_num].outputs)
        errors = [o for o in outputs if o.output_type == "error"]
        if errors and not self.options["check_exception"]:
            self.raise_cell_error("Cell execution caused an exception",
                                  "\n" + "\n".join(errors[0].traceback))
        unrun = self.cell.execution_count is None
        if unrun and self.cell.outputs:
            self.raise_cell_error("Unrun reference cell has outputs")
        if self.options["check"] and not unrun and not self.compare_outputs(
                outputs, coalesce_streams(self.cell.outputs)):
            self.raise_cell_error("Cell outputs differ", "\n".join(self.comparison_traceback))
