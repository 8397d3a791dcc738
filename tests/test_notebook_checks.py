"""The machinery of the notebook tests: nbval's checks applied to an executed copy, and the
per-cell timeout. Small notebooks made here, so these run in seconds (`make check`)."""

import time

import nbformat
import pytest
from notebooks import KERNEL, NotebookTimeout, execute
from test_notebooks import nbval_replay

new_code_cell = nbformat.v4.new_code_cell


def stream(text):
    return nbformat.v4.new_output("stream", name="stdout", text=text)


def notebook(*cells):
    book = nbformat.v4.new_notebook(cells=list(cells))
    for count, cell in enumerate(book.cells, start=1):
        cell.execution_count = count
    return book


def committed_and_executed(tmp_path, committed, executed):
    nbformat.write(committed, tmp_path / "lesson.ipynb")
    nbformat.write(executed, tmp_path / "executed.ipynb")
    return nbval_replay(tmp_path / "lesson.ipynb", tmp_path / "executed.ipynb")


def lesson(answer="42\n", port="4040"):
    return notebook(
        new_code_cell("print('hello')", outputs=[stream("hello\n")]),
        new_code_cell("print(answer)", outputs=[stream(answer)]),
        new_code_cell("print(ui)", outputs=[stream(f"http://127.0.0.1:{port}\n")]),
        new_code_cell("print(seconds())", outputs=[stream("1.5 s\n")],
                      metadata={"tags": ["nbval-ignore-output"]}),
    )


def test_the_same_outputs_pass(tmp_path):
    result = committed_and_executed(tmp_path, lesson(), lesson(port="36123"))
    assert result.returncode == 0, result.stdout
    assert "4 passed" in result.stdout


def test_a_changed_output_fails_naming_the_cell(tmp_path):
    result = committed_and_executed(tmp_path, lesson(), lesson(answer="41\n"))
    assert result.returncode == 1
    assert "Cell 1: Cell outputs differ" in result.stdout and "1 failed, 3 passed" in result.stdout


def test_an_ignored_cell_may_change_but_not_fail(tmp_path):
    executed = lesson()
    executed.cells[3].outputs = [stream("2.5 s\n")]
    assert committed_and_executed(tmp_path, lesson(), executed).returncode == 0
    executed.cells[3].outputs = [nbformat.v4.new_output("error", ename="ValueError", evalue="x",
                                                         traceback=["ValueError: x"])]
    result = committed_and_executed(tmp_path, lesson(), executed)
    assert "Cell 3: Cell execution caused an exception" in result.stdout


def test_a_copy_of_another_notebook_is_refused(tmp_path):
    executed = lesson()
    executed.cells[1].source = "print(other)"
    result = committed_and_executed(tmp_path, lesson(), executed)
    assert "Cell 1: The executed copy is not a run of this notebook" in result.stdout


def test_a_hung_cell_fails_in_seconds_naming_notebook_and_cell(tmp_path):
    source = tmp_path / "hangs.ipynb"
    nbformat.write(notebook(new_code_cell("x = 1"), new_code_cell("import time\ntime.sleep(600)")),
                   source)
    start = time.perf_counter()
    with pytest.raises(NotebookTimeout, match=r"hangs.ipynb: .*after 3 seconds(.|\n)*time.sleep"):
        execute(source, tmp_path / "out.ipynb", {}, cwd=tmp_path, kernel=KERNEL, timeout=3)
    assert time.perf_counter() - start < 60


@pytest.mark.parametrize("error, status", [
    (NotebookTimeout("11.ipynb: A cell timed out after 300 seconds.\nHere is a preview of the cell:\n"
                     "-------------------\nslow()\n-------------------"),
     "failed: 11.ipynb: A cell timed out after 300 seconds."),
    (RuntimeError("Exception encountered at \"In [3]\":\n---------\nValueError: boom\n---------"),
     "failed: ValueError: boom"),
])
def test_a_failed_course_run_says_why_in_one_line(error, status, tmp_path, monkeypatch):
    import run_course

    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr(run_course, "execute", fail)
    source = run_course.SOLUTIONS / "00_environment_check.ipynb"
    assert run_course.run_notebook(source, tmp_path, {}, progress=False)["status"] == status


def test_peak_memory_counts_the_processes_a_run_starts():
    import subprocess
    import sys

    import run_course

    holds_300_mb = "import time; block = b'x' * (300 * 2**20); time.sleep(2)"  # one copy, written
    with run_course.PeakMemory(every=0.1) as memory:
        subprocess.run([sys.executable, "-c", holds_300_mb], check=True, timeout=60)
    assert 300 <= memory.peak_mb < 600
