"""The student notebooks are generated from the solutions and must not drift."""

import nbformat
import pytest
from make_workshops import (
    MarkupError,
    exercise_answers,
    lesson_header,
    stale_files,
    student_notebook,
    student_source,
)
from notebooks import ROOT, SOLUTIONS, WORKSHOPS, course_notebooks, read

SOLVED = """\
total = 1
# BEGIN SOLUTION
# STUDENT: answer = None  # your code here
answer = total + 41
# END SOLUTION
print(total)"""


def test_solution_region_becomes_the_student_lines():
    assert student_source(SOLVED, "x") == "total = 1\nanswer = None  # your code here\nprint(total)"


def test_indentation_of_the_region_is_kept():
    source = "def f():\n    # BEGIN SOLUTION\n    # STUDENT: return None\n    return 42\n    # END SOLUTION"
    assert student_source(source, "x") == "def f():\n    return None"


@pytest.mark.parametrize("source", [
    "# BEGIN SOLUTION\n# STUDENT: a = None\na = 1",
    "a = 1\n# END SOLUTION",
    "# BEGIN SOLUTION\na = 1\n# END SOLUTION",  # no STUDENT line: the student would get nothing
    "# BEGIN SOLUTION\n# BEGIN SOLUTION\n# END SOLUTION",
])
def test_bad_markup_is_refused(source):
    with pytest.raises(MarkupError):
        student_source(source, "cell 3")


def test_student_notebook_drops_answers_and_outputs():
    solution = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# 99 · Test\nabout 5 minutes"),
        nbformat.v4.new_code_cell(SOLVED, outputs=[nbformat.v4.new_output("stream", text="1")]),
        nbformat.v4.new_markdown_cell("The answer is 42.", metadata={"tags": ["solution"]}),
    ])
    student = student_notebook(solution, "99_test.ipynb")
    assert len(student.cells) == 2
    assert student.cells[1].outputs == [] and "41" not in student.cells[1].source


def test_the_answer_sheet_has_each_exercise_its_answer_and_its_check():
    solution = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("## 2 · Sums\n### Exercise 1 · The answer"),
        nbformat.v4.new_code_cell(SOLVED),
        nbformat.v4.new_code_cell("check_answer(answer)"),
        nbformat.v4.new_markdown_cell("Prose."),
        nbformat.v4.new_code_cell("# BEGIN SOLUTION\n# STUDENT: b = None\nb = 2\n# END SOLUTION"),
    ])
    first, second = exercise_answers(solution, "99_test.ipynb")
    assert first.startswith("### Exercise 1 · The answer\n") and "judged by `check_answer`" in first
    assert "answer = total + 41" in first and "STUDENT" not in first and "print(total)" not in first
    assert second.startswith("### Exercise 1 · The answer") and "judged" not in second and "b = 2" in second


def test_every_solution_has_a_student_notebook_and_a_header():
    solutions = course_notebooks(SOLUTIONS)
    assert [p.name for p in solutions] == [p.name for p in course_notebooks(WORKSHOPS)]
    for path in solutions:
        header = lesson_header(read(path))
        assert header["title"].startswith(path.name[:2]) and header["minutes"] and header["topics"]


def test_generated_files_are_in_sync():
    stale = [str(p.relative_to(ROOT)) for p in stale_files()]
    assert not stale, f"run `make workshops`: {stale}"
